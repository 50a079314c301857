'use strict';
// Benchmark baseline: the service's original design (its protocol: docs/protocol.md), on Node `ws`.
//
// The WebSocketService class below follows the original design's class definition: a Map of clients
// ({ ws, topics, lastPing }), a heartbeat that pings every 10 s and terminates clients silent
// for 30 s, an initial snapshot, broadcast / broadcastToTopic, getClientCount /
// getTopicSubscribers, and subscribe / unsubscribe / ping handling. It is plain JavaScript
// (the original design is TypeScript) so that it runs on Node without a build step.
//
// Changes from the original design, and only these:
//  * FIX: the original design's topic filter compared the wrong field, so per-topic delivery never matched.
//    Here the filter compares the message's `topic` with the client's topics (or 'all'). This is
//    the minimum needed for topic delivery to work at all.
//  * Kept as in the original design: nothing limits what is queued for a slow client (ws buffers without
//    bound), and the message is JSON.stringify'd once per broadcast.
//  * Added for the benchmark contract: `?topics=a,b` on the connection URL (default 'all'), and a
//    plain `http` server with POST /api/publish (X-Api-Key), GET /api/stats and GET /health.
//    No express: the original design's express app only hosts the HTTP server.
// Environment: WS_HOST (default 0.0.0.0), WS_PORT (default 5000), PUBLISH_API_KEY (default 'bench-publish-key').

const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const TOPICS = ['cameras', 'weather', 'airQuality', 'accidents', 'patterns', 'congestion'];

class WebSocketService {
  constructor(wss) {
    this.wss = wss;
    this.clients = new Map();
    this.heartbeatInterval = null;
    this.HEARTBEAT_INTERVAL = 10000; // 10 seconds
    this.HEARTBEAT_TIMEOUT = 30000; // 30 seconds
    this.snapshotProvider = null;
    this.initialize();
  }

  // Snapshot
  setSnapshotProvider(provider) {
    this.snapshotProvider = provider;
  }

  // Broadcasting
  broadcast(message) {
    const payload = JSON.stringify(message);
    this.clients.forEach((client, ws) => {
      // FIX (see header): compare the message's topic, not another field.
      if (message.topic && !client.topics.includes(message.topic) && !client.topics.includes('all')) {
        return;
      }
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(payload);
      }
    });
  }

  broadcastToTopic(topic, message) {
    this.broadcast({ ...message, topic });
  }

  // Client management
  getClientCount() {
    return this.clients.size;
  }

  getTopicSubscribers(topic) {
    let n = 0;
    this.clients.forEach((client) => {
      if (client.topics.includes(topic) || client.topics.includes('all')) n++;
    });
    return n;
  }

  // Lifecycle
  initialize() {
    this.wss.on('connection', (ws, req) => {
      const topics = topicsFromUrl(req.url);
      this.clients.set(ws, { ws, topics, lastPing: Date.now() });

      ws.send(JSON.stringify({
        type: 'connection',
        message: 'Connected to HCMC Traffic Monitoring System',
        timestamp: new Date().toISOString(),
        heartbeatInterval: this.HEARTBEAT_INTERVAL,
      }));
      if (this.snapshotProvider) {
        this.sendInitialSnapshot(ws, this.snapshotProvider());
      }

      ws.on('pong', () => {
        const client = this.clients.get(ws);
        if (client) client.lastPing = Date.now();
      });
      ws.on('message', (message) => {
        try {
          const data = JSON.parse(message.toString());
          this.handleClientMessage(ws, data);
        } catch (error) {
          console.error('Invalid message format:', error.message);
        }
      });
      ws.on('error', (error) => {
        console.error('WebSocket error:', error.message);
        this.clients.delete(ws);
      });
      ws.on('close', () => {
        this.clients.delete(ws);
      });
    });
    this.startHeartbeat();
  }

  startHeartbeat() {
    this.heartbeatInterval = setInterval(() => {
      const now = Date.now();
      const staleClients = [];
      this.clients.forEach((client, ws) => {
        // Check for stale connections
        if (now - client.lastPing > this.HEARTBEAT_TIMEOUT) {
          staleClients.push(ws);
          ws.terminate();
          return;
        }
        // Send ping to active clients
        if (ws.readyState === WebSocket.OPEN) {
          ws.ping();
        }
      });
      // Remove stale clients
      staleClients.forEach((ws) => this.clients.delete(ws));
    }, this.HEARTBEAT_INTERVAL);
  }

  handleClientMessage(ws, data) {
    const client = this.clients.get(ws);
    if (!client) return;
    const topics = Array.isArray(data.topics) ? data.topics : [];
    switch (data.action) {
      case 'subscribe':
        topics.forEach((t) => { if (!client.topics.includes(t)) client.topics.push(t); });
        break;
      case 'unsubscribe':
        client.topics = client.topics.filter((t) => !topics.includes(t));
        break;
      case 'ping':
        ws.send(JSON.stringify({ type: 'PONG', data: null, timestamp: new Date().toISOString() }));
        break;
      default:
        break;
    }
  }

  sendInitialSnapshot(ws, snapshot) {
    ws.send(JSON.stringify({ type: 'SNAPSHOT', data: snapshot, timestamp: new Date().toISOString() }));
  }
}

function topicsFromUrl(url) {
  const q = new URL(url || '/', 'http://localhost').searchParams.get('topics');
  if (!q) return ['all'];
  const topics = q.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  return topics.length > 0 ? topics : ['all'];
}

// ---- HTTP side: publish / stats / health -------------------------------------------------
const HOST = process.env.WS_HOST || '0.0.0.0';
const PORT = Number(process.env.WS_PORT || 5000);
const API_KEY = process.env.PUBLISH_API_KEY || 'bench-publish-key';

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/health') {
    return reply(res, 200, { status: 'ok' });
  }
  if (req.method === 'GET' && path === '/api/stats') {
    const topics = {};
    TOPICS.forEach((t) => { topics[t] = wsService.getTopicSubscribers(t); });
    return reply(res, 200, { clients: wsService.getClientCount(), topics });
  }
  if (req.method === 'POST' && path === '/api/publish') {
    if (req.headers['x-api-key'] !== API_KEY) {
      req.resume();
      return reply(res, 401, { error: 'invalid api key' });
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch (e) {
        return reply(res, 400, { error: 'invalid JSON' });
      }
      if ((body.type !== 'UPDATE' && body.type !== 'ALERT') || !TOPICS.includes(body.topic)) {
        return reply(res, 400, { error: 'type must be UPDATE or ALERT and topic a known topic' });
      }
      wsService.broadcast({ type: body.type, topic: body.topic, data: body.data, timestamp: new Date().toISOString() });
      return reply(res, 202, { accepted: true });
    });
    return undefined;
  }
  return reply(res, 404, { error: 'not found' });
});

function reply(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const wss = new WebSocketServer({ server });
const wsService = new WebSocketService(wss);
const emptySnapshot = {};
TOPICS.forEach((t) => { emptySnapshot[t] = []; });
wsService.setSnapshotProvider(() => emptySnapshot);

server.listen(PORT, HOST, () => {
  console.log(`node-ws baseline listening on http://${HOST}:${PORT} (pid ${process.pid})`);
});

const stop = () => {
  clearInterval(wsService.heartbeatInterval);
  wss.clients.forEach((ws) => ws.terminate());
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// permessage-deflate measurements against a running service (see README.md in this directory).
//   node measure.js bytes URL                  -> bytes on the wire per frame type/topic, compressed vs not
//   node measure.js cpu URL PID N K ROUNDS     -> server CPU per delivery at N subscribers, K publishes, ROUNDS interleaved off/on pairs
// Prints one JSON object per line.
'use strict';
const net = require('net');
const zlib = require('zlib');
const fs = require('fs');
const WebSocket = require('ws');

const [mode, url, ...rest] = process.argv.slice(2);
const target = new URL(url || 'http://127.0.0.1:5000');
const apiKey = process.env.PUBLISH_API_KEY || 'bench-publish-key';

// A bare TCP WebSocket client: the only way to see each frame's size on the wire and its RSV1 bit.
function rawClient(offer, onFrame) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname);
    let buffer = Buffer.alloc(0), head = null;
    socket.on('connect', () => socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      (offer ? `Sec-WebSocket-Extensions: ${offer}\r\n` : '') + '\r\n'));
    socket.on('error', reject);
    socket.on('data', chunk => {
      buffer = Buffer.concat([buffer, chunk]);
      if (head === null) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 4);
        resolve({ head, socket });
      }
      while (buffer.length >= 2) {
        let length = buffer[1] & 0x7f, offset = 2;
        if (length === 126) { if (buffer.length < 4) return; length = buffer.readUInt16BE(2); offset = 4; }
        else if (length === 127) { if (buffer.length < 10) return; length = Number(buffer.readBigUInt64BE(2)); offset = 10; }
        if (buffer.length < offset + length) return;
        const rsv1 = (buffer[0] & 0x40) !== 0, opcode = buffer[0] & 0x0f;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        if (opcode !== 1) continue;
        const json = rsv1 ? zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : payload;
        onFrame({ wire: offset + length, payload: length, rsv1, json: JSON.parse(json.toString('utf8')), plainBytes: json.length });
      }
    });
  });
}

function key(message) { return message.topic ? `${message.type}:${message.topic}` : message.type; }

// Both clients see the same frames (all topics); each frame's wire size is compared per type/topic.
async function bytes() {
  const seconds = Number(rest[0] || 20);
  const stats = {};
  let largest = null;
  const record = (which) => (frame) => {
    const k = key(frame.json);
    const s = stats[k] ??= { frames: { off: 0, on: 0 }, wire: { off: 0, on: 0 }, json: { off: 0, on: 0 }, rsv1: 0 };
    s.frames[which]++; s.wire[which] += frame.wire; s.json[which] += frame.plainBytes; if (frame.rsv1) s.rsv1++;
    // The largest UPDATE's data is what the CPU measurement publishes (a realistic payload).
    if (process.env.PAYLOAD_OUT && frame.json.type === 'UPDATE' && frame.plainBytes > (largest ?? 0)) {
      largest = frame.plainBytes;
      fs.writeFileSync(process.env.PAYLOAD_OUT, JSON.stringify(frame.json.data));
    }
  };
  const off = await rawClient(null, record('off'));
  const on = await rawClient('permessage-deflate; client_max_window_bits', record('on'));
  const extension = /sec-websocket-extensions: *(.*)/i.exec(on.head)?.[1] ?? null;
  await new Promise(r => setTimeout(r, seconds * 1000));
  off.socket.destroy(); on.socket.destroy();
  for (const [k, s] of Object.entries(stats).sort()) {
    const avg = (w) => s.frames[w] ? Math.round(s.wire[w] / s.frames[w]) : null;
    console.log(JSON.stringify({ metric: 'bytes', frame: k, framesOff: s.frames.off, framesOn: s.frames.on, compressedFrames: s.rsv1,
      avgWireBytesOff: avg('off'), avgWireBytesOn: avg('on'), ratio: avg('off') && avg('on') ? +(avg('on') / avg('off')).toFixed(3) : null }));
  }
  console.log(JSON.stringify({ metric: 'negotiated', extension }));
}

function cpuTicks(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}

async function publish(body) {
  const response = await fetch(new URL('/api/publish', target), {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`publish: ${response.status} ${await response.text()}`);
}

async function connectAll(n, deflate) {
  const clients = [];
  let received = 0;
  const counter = { get received() { return received; } };
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise((resolve, reject) => {
      const ws = new WebSocket(new URL('/ws?topics=accidents', target.href.replace(/^http/, 'ws')), { perMessageDeflate: deflate });
      let greeted = 0;
      ws.on('message', (data) => {
        if (greeted < 2) { if (++greeted === 2) resolve(); return; } // connection ack, SNAPSHOT
        received++;
      });
      ws.on('error', reject);
      clients.push(ws);
    })));
  }
  return { clients, counter };
}

async function cpu() {
  const [pid, n, k, rounds] = [Number(rest[0]), Number(rest[1] || 1000), Number(rest[2] || 20), Number(rest[3] || 3)];
  const data = JSON.parse(fs.readFileSync(process.env.PAYLOAD || `${__dirname}/payload.json`, 'utf8'));
  const ticksPerSecond = 100; // getconf CLK_TCK
  for (let round = 1; round <= rounds; round++) {
    for (const deflate of [false, true]) {
      const { clients, counter } = await connectAll(n, deflate);
      await new Promise(r => setTimeout(r, 1000)); // let the connect burst's work finish before counting
      const before = cpuTicks(pid), started = process.hrtime.bigint();
      for (let i = 0; i < k; i++) {
        await publish({ type: 'ALERT', topic: 'accidents', data });
        await new Promise(r => setTimeout(r, 50));
      }
      while (counter.received < n * k) await new Promise(r => setTimeout(r, 10));
      const ticks = cpuTicks(pid) - before, ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(JSON.stringify({ metric: 'cpu', compression: deflate, subscribers: n, publishes: k, round,
        payloadJsonBytes: Buffer.byteLength(JSON.stringify(data)), deliveries: n * k, serverCpuMs: ticks * 1000 / ticksPerSecond,
        cpuMicrosPerDelivery: +((ticks * 1e6 / ticksPerSecond) / (n * k)).toFixed(2), wallMs: Math.round(ms) }));
      await Promise.all(clients.map(ws => new Promise(r => { ws.once('close', r); ws.terminate(); })));
      await new Promise(r => setTimeout(r, 1000));
    }
  }
}

(mode === 'bytes' ? bytes() : cpu()).then(() => process.exit(0), e => { console.error(e); process.exit(1); });

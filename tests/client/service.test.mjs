// The client library against the real service (the built Traffic.Host on 127.0.0.1): snapshot,
// UPDATE and ALERT through the publish API, RTT, reconnect with back-off when the server goes
// away and comes back, and a dead link found by its missing PONG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficClient, TOPICS } from '../../src/Traffic.Host/wwwroot/client/traffic-client.js';
import { Service, until } from '../support/service.mjs';
import { Proxy } from '../support/proxy.mjs';

// Scheduled UPDATEs every second; positions (when the server has them) on every message.
const service = new Service({ UPDATE_INTERVALS_MS: 'cameras=1000,weather=1000,airQuality=1000,accidents=1000,patterns=1000,congestion=1000' });
const clients = [];
before(() => service.start());
after(async () => { for (const c of clients) c.close(); await service.stop(); });

function client(url, options = {}) {
  const c = new TrafficClient(url, { pingIntervalMs: 300, pongTimeoutMs: 2000, backoff: { initialMs: 100, maxMs: 500 }, ...options });
  clients.push(c);
  return c.connect();
}

/** Resolves with the first `event` payload that matches (events already past do not count). */
function next(c, event, match = () => true, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no matching '${event}' within ${timeoutMs} ms`)); }, timeoutMs);
    const off = c.on(event, payload => { if (match(payload)) { clearTimeout(timer); off(); resolve(payload); } });
  });
}

/** The connection delivered its state: a SNAPSHOT, or (a resume that recovered everything) a RESUMED. */
function live(c, timeoutMs = 60000) {
  return Promise.race([next(c, 'snapshot', () => true, timeoutMs), next(c, 'resumed', () => true, timeoutMs)]);
}

test('connects, holds every topic of the SNAPSHOT and measures the round trip', async () => {
  const c = client(service.ws);
  await next(c, 'snapshot');
  const state = c.getState();
  assert.equal(state.connection, 'open');
  assert.match(state.clientId, /^client-/);
  for (const topic of TOPICS) assert.ok(Array.isArray(state.topics[topic]) && state.topics[topic].length > 0, `${topic} has entities`);
  const rtt = await until(() => c.getState().rtt, { what: 'an RTT' });
  assert.ok(rtt >= 0 && rtt < 5000, `rtt ${rtt}`);
  c.close();
});

test('an UPDATE published through the API replaces its topic; an ALERT is reported', async () => {
  const c = client(service.ws, { topics: ['weather', 'accidents'] });
  await next(c, 'snapshot');
  const weather = [{ id: 'urn:test:Weather:1', name: 'Test weather', temperature: 41 }];
  // The state as the client holds it when that UPDATE arrives: a scheduled UPDATE of the simulated
  // weather (every second here) may replace it again before this test's code runs on.
  let held;
  const updated = next(c, 'update', u => {
    if (u.topic !== 'weather' || u.data?.[0]?.id !== 'urn:test:Weather:1') return false;
    held = c.getState().topics.weather;
    return true;
  });
  await service.publish('UPDATE', 'weather', weather);
  await updated;
  assert.deepEqual(held, weather);

  const alerted = next(c, 'alert', a => a.data?.id === 'urn:test:Accident:1');
  await service.publish('ALERT', 'accidents', { id: 'urn:test:Accident:1', severity: 'high' });
  const alert = await alerted;
  assert.equal(alert.topic, 'accidents');
  assert.equal(c.getState().alerts[0].data.id, 'urn:test:Accident:1');
  c.close();
});

test('a scheduled UPDATE keeps the topic whole (full list, or a delta applied to it)', async () => {
  const withDeltas = client(service.ws, { topics: ['cameras'], delta: true });
  const full = client(service.ws, { topics: ['cameras'], delta: false });
  await Promise.all([next(withDeltas, 'snapshot'), next(full, 'snapshot')]);
  // Three scheduled UPDATEs later both clients hold the same cameras (the same message offsets when positions exist).
  for (let i = 0; i < 3; i++) await next(withDeltas, 'update', u => u.topic === 'cameras');
  await until(() => JSON.stringify(withDeltas.getState().topics.cameras) === JSON.stringify(full.getState().topics.cameras),
    { what: 'the same cameras on both clients' });
  assert.ok(withDeltas.getState().topics.cameras.length > 0);
  withDeltas.close(); full.close();
});

test('shows disconnected when the server stops, reconnects when it is back, and says ALERTs may have been missed', async () => {
  const own = new Service({ UPDATE_INTERVALS_MS: 'accidents=1000' });
  await own.start();
  try {
    const c = client(own.ws, { topics: ['accidents'] });
    await next(c, 'snapshot');
    const disconnected = next(c, 'state', s => s.connection === 'disconnected');
    await own.stop();
    const state = await disconnected;
    assert.ok([1001, 1012].includes(state.closeCode), `the server said it is going away or restarting: ${state.closeCode}`);
    const missed = next(c, 'missed', () => true, 60000);
    const reopened = next(c, 'snapshot', () => true, 60000);
    await own.start(); // same port
    await reopened;
    assert.equal(c.getState().connection, 'open');
    // A restarted single node has a new epoch (or no positions at all): it cannot replay.
    const streams = (await missed).map(m => m.stream);
    assert.ok(streams.includes('accidents'), `missed: ${streams}`);
    c.close();
  } finally {
    await own.stop();
  }
});

test('a link that stops carrying anything is found dead by its missing PONG and replaced', async () => {
  const proxy = await new Proxy(service.port).listen();
  try {
    const c = client(proxy.ws, { topics: ['weather'], pingIntervalMs: 200, pongTimeoutMs: 800 });
    await next(c, 'snapshot');
    await until(() => c.getState().rtt !== null, { what: 'an RTT' });
    const errors = [];
    c.on('error', e => errors.push(e.message));
    const dead = next(c, 'state', s => s.connection === 'disconnected');
    proxy.freeze();
    await dead;
    assert.ok(errors.some(m => m.includes('no answer to ping')), errors.join('; '));
    proxy.frozen = false;
    await live(c);
    assert.equal(c.getState().connection, 'open');
    c.close();
  } finally {
    await proxy.close();
  }
});

test('reconnect attempts back off exponentially up to the cap, and start again from the first step once connected', async () => {
  const proxy = await new Proxy(service.port).listen();
  try {
    const c = client(proxy.ws, { topics: ['weather'], backoff: { initialMs: 100, factor: 2, maxMs: 400, jitter: 0 } });
    await next(c, 'snapshot');
    const attempts = [];
    const waits = [];
    const off = c.on('state', s => {
      if (s.connection === 'connecting') attempts.push(Date.now());
      if (s.connection === 'disconnected') waits.push(s.retryDelay); // the wait it chose
    });
    await proxy.cut(); // connection refused from now on
    await until(() => attempts.length >= 5, { what: 'five attempts' });
    off();
    // Chosen waits 100, 200, 400 (the cap), 400, 400 ms; and it really waited them (a loaded machine only adds).
    assert.deepEqual(waits.slice(0, 5), [100, 200, 400, 400, 400]);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    [200, 400, 400, 400].forEach((expected, i) => assert.ok(gaps[i] >= expected - 5, `gap ${i}: ${gaps[i]} ms, at least ${expected}`));
    await proxy.restore();
    await live(c);
    assert.equal(c.getState().attempt, 0);
    c.close();
  } finally {
    await proxy.close();
  }
});

test('`/` is the dashboard for a page request and the WebSocket for an upgrade, also on a reused keep-alive connection', async () => {
  const page = await fetch(`${service.http}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>HCMC traffic/);
  const library = await fetch(`${service.http}/client/traffic-client.js`);
  assert.match(library.headers.get('content-type'), /javascript/);

  const c = client(service.ws.replace(/\/ws$/, '/'), { topics: ['weather'] });
  await next(c, 'snapshot');
  c.close();

  // The page first, then an upgrade on the same connection: it reaches the HTTP pipeline, where the dashboard's files come before the endpoint.
  const { connect } = await import('node:net');
  const socket = connect(service.port, '127.0.0.1');
  let received = '';
  socket.on('data', d => { received += d.toString('latin1'); });
  await new Promise(resolve => socket.once('connect', resolve));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${service.port}\r\n\r\n`);
  await until(() => received.includes('</html>'), { what: 'the page' });
  assert.match(received, /^HTTP\/1\.1 200/);
  received = '';
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${service.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await until(() => received.includes('\r\n\r\n'), { what: 'the upgrade answer' });
  assert.match(received, /^HTTP\/1\.1 101/);
  socket.destroy();
});


test('a link cut while the server stays up resumes: every ALERT published meanwhile arrives once, in order, and nothing is reported missed', async () => {
  const proxy = await new Proxy(service.port).listen();
  try {
    const c = client(proxy.ws, { topics: ['accidents'] });
    await next(c, 'snapshot');
    const seen = [];
    c.on('alert', a => { if (String(a.data?.id).startsWith('urn:test:away:')) seen.push(a.data.id); });
    const missed = [];
    c.on('missed', m => missed.push(...m));
    await service.publish('ALERT', 'accidents', { id: 'urn:test:away:before' });
    await until(() => seen.length === 1, { what: 'the ALERT before the cut' });

    const down = next(c, 'state', s => s.connection === 'disconnected');
    await proxy.cut();
    await down;
    const away = [1, 2, 3, 4, 5].map(n => `urn:test:away:${n}`);
    for (const id of away) await service.publish('ALERT', 'accidents', { id });
    await service.publish('ALERT', null, { id: 'urn:test:away:everyone' });
    const resumed = next(c, 'resumed');
    await proxy.restore();
    const answer = await resumed;
    assert.equal(answer.topics.accidents.recovered, true, JSON.stringify(answer));
    assert.equal(answer.topics.all.recovered, true, JSON.stringify(answer));
    await until(() => seen.length === 7, { what: 'every ALERT published while away' });
    await service.publish('ALERT', 'accidents', { id: 'urn:test:away:after' });
    await until(() => seen.length === 8, { what: 'the live ALERT after the resume' });
    // accidents and `all` are two streams: each in order; the one to everyone may come before or after them.
    assert.deepEqual(seen.filter(id => id !== 'urn:test:away:everyone'), ['urn:test:away:before', ...away, 'urn:test:away:after']);
    assert.ok(seen.includes('urn:test:away:everyone'));
    assert.deepEqual(missed, []);
    assert.deepEqual(c.getState().missed, []);
    c.close();
  } finally {
    await proxy.close();
  }
});

test('with deltas the client holds, at every offset, the same cameras as a client that gets whole lists', async () => {
  const withDeltas = client(service.ws, { topics: ['cameras'], delta: true });
  const full = client(service.ws, { topics: ['cameras'], delta: false });
  const byId = list => JSON.stringify([...list].sort((a, b) => a.id.localeCompare(b.id)));
  const record = c => {
    const at = new Map();
    c.on('update', u => { if (u.topic === 'cameras' && u.message.offset) at.set(u.message.offset, byId(u.data)); });
    return at;
  };
  const deltaStates = record(withDeltas);
  const fullStates = record(full);
  let deltas = 0;
  withDeltas.on('message', m => { if (m.type === 'UPDATE' && m.delta) deltas += 1; });
  await until(() => deltas >= 3, { what: 'three delta UPDATEs', timeoutMs: 30000 });
  await until(() => [...deltaStates.keys()].filter(o => fullStates.has(o)).length >= 3, { what: 'three offsets seen by both' });
  for (const offset of deltaStates.keys()) {
    if (fullStates.has(offset)) assert.equal(deltaStates.get(offset), fullStates.get(offset), `cameras at offset ${offset}`);
  }
  withDeltas.close(); full.close();
});

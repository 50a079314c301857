// The client library's own logic: back-off, delta application, URLs, and its state handling
// frame by frame (SNAPSHOT, UPDATE, delta UPDATE, ALERT, RESUMED, duplicates, resync).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficClient, applyDelta, backoffDelay, buildUrl, streamsOf } from '../../src/Traffic.Host/wwwroot/client/traffic-client.js';
import { FakeSocket } from './fake-socket.mjs';
import { until } from '../support/service.mjs';

const camera = (n, status = 'active') => ({ id: `urn:ngsi-ld:Camera:${n}`, status });
const position = (epoch, offset) => ({ epoch, offset });

function connected(options = {}) {
  FakeSocket.reset();
  const client = new TrafficClient('ws://example.test/ws', { WebSocket: FakeSocket, pingIntervalMs: 60000, pongTimeoutMs: 60000, ...options });
  client.connect();
  FakeSocket.last.open().receive({ type: 'connection', clientId: 'client-1', topics: ['cameras'] });
  return client;
}

function snapshot(positions) {
  return { type: 'SNAPSHOT', data: { cameras: [camera(1), camera(2)], accidents: [] }, ...(positions ? { positions } : {}) };
}

test('back-off doubles from its first step up to its cap, with jitter taking up to its share off', () => {
  const none = () => 0; // no jitter drawn
  const full = () => 0.999999; // the most jitter
  const options = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(a => backoffDelay(a, options, none)), [100, 200, 400, 800, 1000, 1000]);
  assert.deepEqual([0, 1, 4].map(a => backoffDelay(a, options, full)), [50, 100, 500]);
  for (let i = 0; i < 200; i++) {
    const delay = backoffDelay(3, options);
    assert.ok(delay >= 400 && delay <= 800, `${delay} within [400, 800]`);
  }
});

test('a delta replaces entities in place, appends new ones and removes the named ids, leaving the old list alone', () => {
  const before = [camera(1), camera(2), camera(3)];
  const after = applyDelta(before, { base: 5, upserted: [camera(2, 'offline'), camera(4)], removed: [camera(1).id] });
  assert.deepEqual(after, [camera(2, 'offline'), camera(3), camera(4)]);
  assert.deepEqual(before, [camera(1), camera(2), camera(3)]);
  assert.deepEqual(applyDelta(before, {}), before);
});

test('the URL names the topics, asks for deltas and resumes from positions', () => {
  const url = new URL(buildUrl('ws://h:5000/ws', { topics: ['cameras', 'accidents'], delta: true, since: { cameras: position('e1', 41), all: position('e1', 2) } }));
  assert.equal(url.searchParams.get('topics'), 'cameras,accidents');
  assert.equal(url.searchParams.get('delta'), 'true');
  assert.equal(url.searchParams.get('since'), 'cameras:e1:41,all:e1:2');
  assert.deepEqual(streamsOf(['cameras']), ['cameras', 'all']);
  assert.deepEqual(streamsOf(['all']), ['cameras', 'weather', 'airQuality', 'accidents', 'patterns', 'congestion', 'all']);
});

test('SNAPSHOT sets every topic and the positions; a full UPDATE replaces its topic; an ALERT is reported', () => {
  const client = connected({ topics: ['cameras'] });
  const alerts = [];
  client.on('alert', a => alerts.push(a));
  FakeSocket.last.receive(snapshot({ cameras: position('e1', 10), all: position('e1', 0) }));
  assert.equal(client.getState().connection, 'open');
  assert.deepEqual(client.getState().topics.cameras, [camera(1), camera(2)]);
  assert.deepEqual(client.positions.cameras, position('e1', 10));

  FakeSocket.last.receive({ type: 'UPDATE', topic: 'cameras', epoch: 'e1', offset: 11, data: [camera(9)] });
  FakeSocket.last.receive({ type: 'ALERT', topic: 'accidents', epoch: 'e1', offset: 3, data: { id: 'a1', severity: 'high' } });
  FakeSocket.last.receive({ type: 'ALERT', epoch: 'e1', offset: 1, data: { id: 'everyone' } });
  assert.deepEqual(client.getState().topics.cameras, [camera(9)]);
  assert.deepEqual(alerts.map(a => a.data.id), ['a1', 'everyone']);
  assert.deepEqual(client.getState().alerts.map(a => a.data.id), ['everyone', 'a1']);
  assert.deepEqual(client.positions.all, position('e1', 1));
  client.close();
});

test('state objects change identity on every change, so React re-renders', () => {
  const client = connected();
  const before = client.getState();
  FakeSocket.last.receive(snapshot());
  assert.notEqual(client.getState(), before);
  assert.ok(Object.isFrozen(client.getState()));
  client.close();
});

test('a delta that follows the last UPDATE is applied; one that does not makes the client resync without positions', () => {
  const client = connected({ topics: ['cameras'] });
  FakeSocket.last.receive(snapshot({ cameras: position('e1', 10), all: position('e1', 0) }));
  FakeSocket.last.receive({ type: 'UPDATE', topic: 'cameras', epoch: 'e1', offset: 11, data: [camera(1), camera(2), camera(3)] });
  FakeSocket.last.receive({ type: 'ALERT', topic: 'cameras', epoch: 'e1', offset: 12, data: { id: 'x' } });
  FakeSocket.last.receive({ type: 'UPDATE', topic: 'cameras', epoch: 'e1', offset: 13, delta: { base: 11, upserted: [camera(2, 'offline')], removed: [camera(3).id] } });
  assert.deepEqual(client.getState().topics.cameras, [camera(1), camera(2, 'offline')]);
  assert.deepEqual(client.positions.cameras, position('e1', 13));

  const first = FakeSocket.last;
  FakeSocket.last.receive({ type: 'UPDATE', topic: 'cameras', epoch: 'e1', offset: 15, delta: { base: 14, upserted: [camera(7)] } });
  assert.equal(first.closedWith, 1000, 'the out-of-step socket is closed');
  assert.notEqual(FakeSocket.last, first, 'a new connection is opened at once');
  assert.equal(FakeSocket.last.url.searchParams.get('since'), null, 'without positions: a fresh SNAPSHOT');
  assert.deepEqual(client.getState().topics.cameras, [camera(1), camera(2, 'offline')], 'the bad delta was not applied');
  client.close();
});

test('a message already seen (same epoch, offset not newer) is ignored', () => {
  const client = connected({ topics: ['accidents'] });
  const alerts = [];
  client.on('alert', a => alerts.push(a.offset));
  FakeSocket.last.receive(snapshot({ accidents: position('e1', 5), all: position('e1', 0) }));
  for (const offset of [6, 7, 7, 5, 8]) FakeSocket.last.receive({ type: 'ALERT', topic: 'accidents', epoch: 'e1', offset, data: { id: `a${offset}` } });
  assert.deepEqual(alerts, [6, 7, 8]);
  client.close();
});

test('a reconnect resumes from the last positions; RESUMED recovered:false is reported as may-have-missed', () => {
  const client = connected({ topics: ['cameras', 'accidents'], backoff: { initialMs: 1, jitter: 0 } });
  FakeSocket.last.receive(snapshot({ cameras: position('e1', 10), accidents: position('e1', 4), all: position('e1', 2) }));
  FakeSocket.last.receive({ type: 'ALERT', topic: 'accidents', epoch: 'e1', offset: 5, data: { id: 'a5' } });
  const missed = [];
  client.on('missed', m => missed.push(...m));
  FakeSocket.last.drop(1006);
  assert.equal(client.getState().connection, 'disconnected');
  return until(() => FakeSocket.instances.length === 2, { what: 'the reconnect' }).then(() => {
    const socket = FakeSocket.last;
    assert.equal(socket.url.searchParams.get('since'), 'cameras:e1:10,accidents:e1:5,all:e1:2');
    assert.equal(socket.url.searchParams.get('topics'), 'cameras,accidents');
    socket.open().receive({ type: 'connection' }).receive({
      type: 'RESUMED', topics: {
        cameras: { recovered: true, epoch: 'e1' },
        all: { recovered: true, epoch: 'e1', from: 3, to: 3 },
        accidents: { recovered: false, reason: 'too_old', epoch: 'e1', offset: 90 },
      },
    });
    socket.receive({ type: 'ALERT', epoch: 'e1', offset: 3, data: { id: 'replayed' } });
    socket.receive(snapshot({ cameras: position('e1', 10), accidents: position('e1', 90), all: position('e1', 3) }));
    assert.deepEqual(missed.map(m => [m.stream, m.reason]), [['accidents', 'too_old']]);
    assert.deepEqual(client.getState().missed.map(m => m.stream), ['accidents']);
    assert.deepEqual(client.getState().alerts.map(a => a.data.id), ['replayed', 'a5']);
    client.acknowledgeMissed();
    assert.deepEqual(client.getState().missed, []);
    client.close();
  });
});

test('a reconnect to a server without positions reports every subscribed stream as may-have-missed', async () => {
  const client = connected({ topics: ['accidents'], backoff: { initialMs: 1, jitter: 0 } });
  FakeSocket.last.receive(snapshot());
  FakeSocket.last.drop(1001);
  await until(() => FakeSocket.instances.length === 2, { what: 'the reconnect' });
  assert.equal(FakeSocket.last.url.searchParams.get('since'), null);
  FakeSocket.last.open().receive({ type: 'connection' }).receive(snapshot());
  assert.deepEqual(client.getState().missed.map(m => [m.stream, m.reason]), [['accidents', 'no_position'], ['all', 'no_position']]);
  client.close();
});

test('subscribe and unsubscribe are sent while open and kept for the next connection', () => {
  const client = connected({ topics: ['cameras'] });
  client.subscribe(['weather', 'cameras']);
  client.unsubscribe(['cameras']);
  assert.deepEqual(FakeSocket.last.sent.filter(m => m.action !== 'ping'),
    [{ action: 'subscribe', topics: ['weather'], delta: true }, { action: 'unsubscribe', topics: ['cameras'] }]);
  assert.deepEqual(client.topics, ['weather']);
  client.close();
  assert.equal(client.getState().connection, 'closed');
});

test('a server that keeps refusing the positions (up, by its /health) is reconnected to without them; a server that is down keeps them', async () => {
  let serverUp = false;
  const asked = [];
  const fetch = async url => { asked.push(url); if (!serverUp) throw new TypeError('fetch failed'); return { status: 200 }; };
  const client = connected({ topics: ['accidents'], backoff: { initialMs: 1, maxMs: 1, jitter: 0 }, fetch });
  FakeSocket.last.receive(snapshot({ accidents: position('e1', 5), all: position('e1', 1) }));
  let seen = FakeSocket.instances.length;
  const nextAttempt = async () => {
    await until(() => FakeSocket.instances.length > seen, { what: 'the next attempt' });
    seen = FakeSocket.instances.length;
    return FakeSocket.last;
  };
  FakeSocket.last.drop(1006);
  // Down: attempts fail before their ACK; from the third failure on /health is asked, and does not answer.
  for (let i = 0; i < 4; i++) {
    const attempt = await nextAttempt();
    assert.equal(attempt.url.searchParams.get('since'), 'accidents:e1:5,all:e1:1', `attempt ${i + 1} resumes`);
    attempt.drop(1006);
  }
  // Up, and (we say) refusing these positions: the fifth attempt fails while /health answers.
  const refused = await nextAttempt();
  assert.equal(refused.url.searchParams.get('since'), 'accidents:e1:5,all:e1:1');
  serverUp = true;
  refused.drop(1006);
  const fresh = await nextAttempt();
  assert.deepEqual(asked, Array(3).fill('http://example.test/health'));
  assert.equal(fresh.url.searchParams.get('since'), null, 'the sixth starts afresh');
  fresh.open().receive({ type: 'connection', topics: ['accidents'] }).receive(snapshot({ accidents: position('e2', 0), all: position('e2', 0) }));
  assert.equal(client.getState().connection, 'open');
  assert.deepEqual(client.getState().missed.map(m => m.stream), ['accidents', 'all']);
  client.close();
});

test('with recentAlertsMinutes, the ALERTs of the last minutes are asked once the state is in, and added as earlier, without duplicates', async () => {
  const asked = [];
  const alert = (topic, offset, id, timestamp) => ({ type: 'ALERT', ...(topic ? { topic } : {}), epoch: 'e1', offset, data: { id }, timestamp });
  const recent = [
    alert('accidents', 3, 'a3', '2026-12-07T01:00:00Z'),
    alert(null, 1, 'everyone', '2026-12-07T01:01:00Z'),
    alert('accidents', 4, 'a4', '2026-12-07T01:02:00Z'),
    alert('accidents', 6, 'a6-live', '2026-12-07T01:04:00Z'), // past the SNAPSHOT's position: comes live
  ];
  let answer;
  const fetch = async url => { asked.push(url); await new Promise(r => { answer = r; }); return { ok: true, json: async () => ({ minutes: 30, alerts: recent }) }; };
  const client = connected({ recentAlertsMinutes: 30, fetch });
  const earlier = [];
  client.on('earlier', list => earlier.push(...list));
  FakeSocket.last.receive(snapshot({ accidents: position('e1', 5), all: position('e1', 1) }));
  await until(() => asked.length === 1, { what: 'the recent ALERTs asked' });
  assert.equal(new URL(asked[0]).pathname, '/api/alerts/recent');
  assert.equal(new URL(asked[0]).searchParams.get('minutes'), '30');
  assert.equal(new URL(asked[0]).protocol, 'http:');
  FakeSocket.last.receive(alert('accidents', 6, 'a6-live', '2026-12-07T01:04:00Z')); // live, before the answer
  answer();
  await until(() => earlier.length > 0, { what: 'the earlier ALERTs' });
  assert.deepEqual(earlier.map(a => a.data.id), ['a3', 'everyone', 'a4']);
  assert.ok(earlier.every(a => a.earlier === true));
  assert.deepEqual(client.getState().alerts.map(a => `${a.data.id}${a.earlier ? ' (earlier)' : ''}`),
    ['a6-live', 'a4 (earlier)', 'everyone (earlier)', 'a3 (earlier)']);
  // Not asked again while connected; an ALERT already held as earlier is not added twice.
  FakeSocket.last.receive(alert('accidents', 7, 'a7', '2026-12-07T01:05:00Z'));
  assert.equal(asked.length, 1);
  assert.equal(client.getState().alerts.length, 5);
  client.close();
});

test('without recentAlertsMinutes nothing is asked', async () => {
  const asked = [];
  const client = connected({ fetch: async url => { asked.push(url); return { ok: true, json: async () => ({ alerts: [] }) }; } });
  FakeSocket.last.receive(snapshot({ accidents: position('e1', 5) }));
  FakeSocket.last.receive({ type: 'PONG' });
  assert.deepEqual(asked, []);
  client.close();
});

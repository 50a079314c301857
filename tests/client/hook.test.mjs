// The React hook's module: it imports (with React from npm) and shares one client per URL between
// the components that use it, subscribed to the union of their topics, closed after the last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSocket } from './fake-socket.mjs';
import { until } from '../support/service.mjs';

const hook = await import('../../src/Traffic.Host/wwwroot/client/use-traffic-feed.js');

test('the hook module loads with React and exports useTrafficFeed', () => {
  assert.equal(typeof hook.useTrafficFeed, 'function');
  assert.equal(typeof hook.retainTrafficClient, 'function');
});

test('components share one socket per URL, subscribed to the union of their topics, closed after the last leaves', async (t) => {
  FakeSocket.reset();
  const options = { WebSocket: FakeSocket, pingIntervalMs: 60000, pongTimeoutMs: 60000 };
  const map = hook.retainTrafficClient('ws://example.test/ws', ['cameras'], options);
  const panel = hook.retainTrafficClient('ws://example.test/ws', ['cameras', 'accidents'], options);
  t.after(() => { panel.release(); map.release(); });
  assert.equal(map.client, panel.client);
  assert.equal(FakeSocket.instances.length, 1, 'one socket');
  const socket = FakeSocket.last;
  socket.open().receive({ type: 'connection', topics: ['cameras'] }); // accidents came after the URL was built
  assert.equal(socket.url.searchParams.get('topics'), 'cameras');
  assert.deepEqual(socket.sent.filter(m => m.action === 'subscribe').map(m => m.topics), [['accidents']]);

  panel.release(); // accidents is needed by nobody now; cameras still is
  assert.deepEqual(socket.sent.filter(m => m.action === 'unsubscribe').map(m => m.topics), [['accidents']]);
  assert.deepEqual(map.client.topics, ['cameras']);

  map.release();
  await until(() => socket.closedWith !== null, { what: 'the socket closed' });
  assert.equal(map.client.getState().connection, 'closed');
});

test('a StrictMode-style release and retain at once keeps the socket', async () => {
  FakeSocket.reset();
  const options = { WebSocket: FakeSocket, pingIntervalMs: 60000, pongTimeoutMs: 60000 };
  const first = hook.retainTrafficClient('ws://strict.test/ws', ['all'], options);
  first.release();
  const second = hook.retainTrafficClient('ws://strict.test/ws', ['all'], options);
  assert.equal(second.client, first.client);
  await new Promise(resolve => setImmediate(resolve));
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(FakeSocket.last.closedWith, null);
  second.release();
});

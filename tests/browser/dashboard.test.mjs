// The dashboard in real headless Chromium against the built service: what a person looking at
// the page sees (the snapshot, a published UPDATE and ALERT, the connection going and coming back,
// the ALERTs published while the page's link was cut).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Service, until } from '../support/service.mjs';
import { Proxy } from '../support/proxy.mjs';
import { launch } from '../support/browser.mjs';

const service = new Service({ UPDATE_INTERVALS_MS: 'cameras=2000,weather=2000,airQuality=2000,accidents=2000,patterns=2000,congestion=2000' });
let browser;
before(async () => { [browser] = await Promise.all([launch(), service.start()]); });
after(async () => { await browser?.close(); await service.stop(); });

// Fast dead-link detection and back-off for the tests; the page's defaults are for people.
const FAST = '?ping=300&pongTimeout=2000&maxBackoff=500';

async function open(base) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.goto(`${base}/${FAST}`);
  await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
  return { page, errors };
}

const text = (page, testid) => page.locator(`[data-testid=${testid}]`).textContent();

async function snapshotCounts() {
  // What the service itself says: a plain WebSocket's SNAPSHOT.
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(service.ws);
    ws.onmessage = e => { const m = JSON.parse(e.data); if (m.type === 'SNAPSHOT') { ws.close(); resolve(m); } };
    ws.onerror = () => reject(new Error('no snapshot'));
  });
}

test('the page loads and shows the snapshot: every topic, the map, the connection and its RTT', async () => {
  const { page, errors } = await open(service.http);
  const snapshot = await snapshotCounts();
  for (const [topic, list] of Object.entries(snapshot.data)) {
    // The simulated city keeps its cameras, sensors, roads and zones; accidents come and go.
    const shown = Number(await text(page, `count-${topic}`));
    if (topic === "accidents") assert.ok(Number.isInteger(shown), `${topic}: ${shown}`); // accidents come and go between UPDATEs
    else assert.equal(shown, list.length, topic);
  }
  const cameras = snapshot.data.cameras.length;
  await until(async () => (await page.locator('.leaflet-cameras-pane path.camera').count()) === cameras, { what: 'a marker per camera' });
  assert.equal(await page.locator('.leaflet-airQuality-pane path.aqi').count(), snapshot.data.airQuality.length, 'a marker per AQI sensor');
  await until(async () => /^\d+ ms$/.test(await text(page, 'rtt')), { what: 'an RTT on the page' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a ?ws= pointing at another server is ignored: the page shows only the service that serves it', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const warnings = [];
  page.on('console', m => { if (m.type() === 'warning') warnings.push(m.text()); });
  await page.goto(`${service.http}/${FAST}&ws=${encodeURIComponent('ws://127.0.0.1:9/ws')}`);
  await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
  assert.equal(await page.evaluate(() => new URL(globalThis.trafficClient.url).host), new URL(service.http).host);
  assert.ok(warnings.some(w => w.includes('ignored')), warnings.join('\n'));
  await page.close();
});

test('an UPDATE and an ALERT posted to /api/publish appear on the page', async () => {
  // A service of its own on the default schedule (the original topic table): the shared one's weather UPDATE every 2 s could
  // replace the posted list before a loaded machine draws it.
  const own = new Service({});
  await own.start();
  try {
    await publishedUpdateAndAlertAppear(own);
  } finally {
    await own.stop();
  }
});

async function publishedUpdateAndAlertAppear(service) {
  const { page } = await open(service.http);
  // The page is "open" at the connection ACK; publishes reach it from its SNAPSHOT on.
  await until(async () => Number(await text(page, 'count-weather')) > 0, { what: 'the SNAPSHOT on the page' });
  await service.publish('UPDATE', 'weather', [{ id: 'urn:test:Weather:B1', name: 'Browser test weather', temperature: 33.3, weatherType: 'sunny',
    location: { latitude: 10.78, longitude: 106.7 } }]);
  const row = page.locator('[data-testid=panel-weather] li[data-id="urn:test:Weather:B1"]');
  await row.waitFor({ timeout: 60000 });
  assert.match(await row.textContent(), /Browser test weather.*33\.3 °C · sunny/);

  await service.publish('ALERT', 'accidents', { id: 'urn:test:Accident:B1', severity: 'high', alertType: 'severeAccident', message: 'Browser test crash on Nguyen Hue' });
  const alert = page.locator('[data-testid=alerts] li[data-id="urn:test:Accident:B1"]');
  await alert.waitFor({ timeout: 60000 });
  assert.match(await alert.textContent(), /^\d{2}:\d{2}:\d{2}AccidentsSevere accidentBrowser test crash on Nguyen Hue$/);
  assert.match(await alert.getAttribute('class'), /severity-high/);
  await page.close();
}

test('shows disconnected when the server stops, reconnects when it comes back and says alerts may have been missed', async () => {
  const own = new Service({ UPDATE_INTERVALS_MS: 'accidents=1000' });
  await own.start();
  try {
    const { page } = await open(own.http);
    assert.equal(await page.locator('[data-testid=missed]').isVisible(), false);
    await own.stop();
    // Waited for as a whole (state and words): read afterwards, a loaded machine may already show the next attempt.
    await page.locator('[data-testid=connection][data-state=disconnected]', { hasText: /disconnected · retry in \d+ s/ }).waitFor({ timeout: 60000 });
    await own.start(); // same port; a new process: a new epoch, nothing to replay
    await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
    await page.locator('[data-testid=missed]').waitFor({ state: 'visible', timeout: 60000 });
    assert.match(await text(page, 'missed'), /The service restarted.*; alerts raised while this screen was away may be missing\./);
    await page.close();
  } finally {
    await own.stop();
  }
});

test('after its link was cut while the server stayed up, the page shows every ALERT published meanwhile', async () => {
  const proxy = await new Proxy(service.port).listen();
  try {
    const { page } = await open(proxy.http);
    await proxy.cut();
    await page.locator('[data-testid=connection][data-state=disconnected]').waitFor({ timeout: 60000 });
    const ids = [1, 2, 3, 4, 5].map(n => `urn:test:Accident:away-${n}`);
    for (const id of ids) await service.publish('ALERT', 'accidents', { id, severity: 'high', message: id });
    await service.publish('ALERT', null, { id: 'urn:test:Everyone:away', message: 'to everyone' });
    await proxy.restore();
    await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
    for (const id of [...ids, 'urn:test:Everyone:away']) {
      await page.locator(`[data-testid=alerts] li[data-id="${id}"]`).waitFor({ timeout: 60000 });
    }
    // Each once, in the order published (newest first on the page).
    const shown = await page.locator('[data-testid=alerts] li').evaluateAll(rows => rows.map(r => r.dataset.id).filter(id => id.includes('away')));
    assert.deepEqual(shown, ['urn:test:Everyone:away', ...ids.toReversed()]);
    assert.equal(await page.locator('[data-testid=missed]').isVisible(), false, 'nothing was missed');
    await page.close();
  } finally {
    await proxy.close();
  }
});

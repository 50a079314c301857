// The control-room wall (issue 21) in real headless Chromium against the built service: the base
// map's tiles from a fake tile server on 127.0.0.1, the recent ALERTs listed on open, the outage
// strip (service stopped, and a link that goes quiet while still open), the words an operator
// reads, and every panel's rows drawn in a full-page capture and in print.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Service, until } from '../support/service.mjs';
import { Proxy } from '../support/proxy.mjs';
import { TileServer, TILE_BACKGROUND } from '../support/tiles.mjs';
import { inspectPixels } from '../support/pixels.mjs';
import { launch } from '../support/browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const FAST = '?ping=300&pongTimeout=2000&maxBackoff=500';

async function open(url, viewport = { width: 1400, height: 1000 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
  return { page, errors };
}

const text = (page, testid) => page.locator(`[data-testid=${testid}]`).textContent();
const hex = color => [1, 3, 5].map(i => parseInt(color.slice(i, i + 2), 16));

async function withService(env, body) {
  const service = new Service(env);
  await service.start();
  try { return await body(service); } finally { await service.stop(); }
}

test('with DASHBOARD_TILE_URL the map draws the tiles of that server (allowed by the page\'s CSP) under the markers', async () => {
  const tiles = await new TileServer().listen();
  try {
    await withService({ DASHBOARD_TILE_URL: tiles.template, DASHBOARD_TILE_ATTRIBUTION: 'Fake tiles for the test' }, async service => {
      const { page, errors } = await open(`${service.http}/${FAST}`);
      await page.locator('#map[data-base=tiles]').waitFor({ timeout: 60000 });
      await until(() => tiles.requests.length > 0, { what: 'a tile asked of the fake tile server' });
      // Loaded and decoded (a tile refused by the CSP never gets leaflet-tile-loaded).
      await until(() => page.locator('img.leaflet-tile-loaded').count(), { what: 'a tile drawn' });
      const loaded = await page.locator('img.leaflet-tile-loaded').evaluateAll(imgs => imgs.map(i => ({ src: i.src, w: i.naturalWidth })));
      assert.ok(loaded.every(t => t.src.startsWith(tiles.origin) && t.w === 256), JSON.stringify(loaded.slice(0, 3)));
      assert.match(await page.locator('.leaflet-control-attribution').textContent(), /Fake tiles for the test/);
      // Every tile asked for is at the city's zoom, around Ho Chi Minh City (z 10..16 covers it).
      assert.ok(tiles.requests.every(r => r.z >= 10 && r.z <= 16), JSON.stringify(tiles.requests.slice(0, 5)));
      // The markers sit on it.
      await until(async () => (await page.locator('.leaflet-cameras-pane path.camera').count()) > 0, { what: 'camera markers on the map' });
      // And it is what the screen shows: the tiles' paper colour covers much of the map.
      await until(async () => (await page.locator('img.leaflet-tile').count()) === (await page.locator('img.leaflet-tile-loaded').count()), { what: 'every tile in view loaded' });
      const box = await page.locator('#map').boundingBox();
      const [{ share }] = await inspectPixels(browser, await page.screenshot(), [box], hex(TILE_BACKGROUND));
      assert.ok(share > 0.3, `tile background on ${Math.round(share * 100)} % of the map`);
      assert.deepEqual(errors.filter(e => /Content Security Policy|Refused/.test(e)), []);
      await page.close();
    });
  } finally {
    await tiles.close();
  }
});

test('without a tile server the offline view names the districts where their entities are, and a marker has its details', async () => {
  await withService({ UPDATE_INTERVALS_MS: 'cameras=600000,weather=600000,airQuality=600000,accidents=600000,patterns=600000,congestion=600000' }, async service => {
    const { page, errors } = await open(`${service.http}/${FAST}`);
    await page.locator('#map[data-base=offline]').waitFor({ timeout: 60000 });
    await until(async () => Number(await text(page, 'count-cameras')) > 0, { what: 'the SNAPSHOT on the page' });
    const districts = await page.evaluate(() => {
      const names = new Set();
      for (const list of Object.values(globalThis.trafficClient.getState().topics)) for (const e of list) if (e.district) names.add(e.district);
      return [...names].sort();
    });
    assert.ok(districts.length > 5, districts.join());
    await until(async () => (await page.locator('.district-label').count()) === districts.length, { what: 'a label per district' });
    assert.deepEqual((await page.locator('.district-label').allTextContents()).sort(), districts);
    assert.equal(await page.locator('img.leaflet-tile').count(), 0, 'no tiles asked for');
    // A camera's popup: its name, status and the image link.
    const camera = await page.evaluate(() => globalThis.trafficClient.getState().topics.cameras[0]);
    await page.locator('.leaflet-cameras-pane path.camera').first().click({ force: true });
    const popup = page.locator('.leaflet-popup-content');
    await popup.waitFor({ timeout: 30000 });
    assert.match(await popup.textContent(), /Camera .*Status(working|off)/);
    assert.ok(await popup.locator('a', { hasText: 'Camera image' }).count() === 1 || !camera.imageUrl);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

test('a page opened after three ALERTs lists them at once, in order, marked as earlier; a live one comes on top', async () => {
  await withService({ SIMULATOR_ENABLED: 'false' }, async service => {
    await service.publish('ALERT', 'accidents', { id: 'urn:test:early-1', severity: 'high', alertType: 'severeAccident', description: 'Bus and truck collision', roadName: 'Cach Mang Thang Tam' });
    await service.publish('ALERT', 'airQuality', { id: 'urn:test:early-2', aqi: 172, alertType: 'airQualityUnhealthy', name: 'Air quality Hang Xanh' });
    await service.publish('ALERT', null, { id: 'urn:test:early-3', severity: 'medium', alertType: 'announcement', message: 'Road works on Nguyen Hue from 22:00' });
    const { page } = await open(`${service.http}/${FAST}`);
    const rows = page.locator('[data-testid=alerts] li');
    await until(async () => (await rows.count()) === 3, { what: 'the three earlier ALERTs on the page' });
    const shown = await rows.evaluateAll(list => list.map(r => ({ id: r.dataset.id, earlier: r.dataset.earlier === 'true', text: r.textContent })));
    assert.deepEqual(shown.map(r => r.id), ['urn:test:early-3', 'urn:test:early-2', 'urn:test:early-1'], 'newest first, as published');
    assert.ok(shown.every(r => r.earlier && r.text.includes('earlier')), JSON.stringify(shown));
    assert.match(shown[2].text, /AccidentsSevere accidentearlierBus and truck collision on Cach Mang Thang Tam$/);
    assert.match(shown[1].text, /Air qualityAir quality unhealthyearlierAir quality unhealthy: Air quality Hang Xanh$/);
    assert.match(shown[0].text, /EveryoneAnnouncementearlierRoad works on Nguyen Hue from 22:00$/);

    await service.publish('ALERT', 'accidents', { id: 'urn:test:live-1', severity: 'low', type: 'RoadAccident', roadName: 'Le Duan' });
    await page.locator('[data-testid=alerts] li[data-id="urn:test:live-1"]').waitFor({ timeout: 60000 });
    const after = await rows.evaluateAll(list => list.map(r => `${r.dataset.id}${r.dataset.earlier ? ' (earlier)' : ''}`));
    assert.deepEqual(after, ['urn:test:live-1', 'urn:test:early-3 (earlier)', 'urn:test:early-2 (earlier)', 'urn:test:early-1 (earlier)']);
    assert.match(await rows.first().textContent(), /Road accident on Le Duan$/, 'a title from its type and road, not its id');
    assert.equal(await text(page, 'alert-count'), '4');
    await page.close();
  });
});

test('the service stopped: a strip across the top, dimmed panels and LIVE off within seconds, the data\'s age counting; all cleared after the restart, with the banner in plain words', async () => {
  await withService({ UPDATE_INTERVALS_MS: 'accidents=1000' }, async service => {
    const { page } = await open(`${service.http}/${FAST}`);
    await until(async () => (await page.locator('[data-testid=live]').getAttribute('data-live')) === 'true', { what: 'LIVE on' });
    assert.equal(await page.locator('[data-testid=outage]').isVisible(), false);
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('main')).opacity), '1');

    await service.stop();
    const strip = page.locator('[data-testid=outage]');
    await strip.waitFor({ state: 'visible', timeout: 30000 });
    assert.match(await strip.textContent(), /No connection to the traffic service\. Lost at \d{2}:\d{2}; data from \d+ s ago: what is shown is not live\. Trying again/);
    assert.equal(await page.locator('[data-testid=live]').getAttribute('data-live'), 'false');
    assert.equal(await text(page, 'live'), 'not live');
    const opacity = () => page.evaluate(() => Number(getComputedStyle(document.querySelector('main')).opacity));
    await until(async () => (await opacity()) < 0.6, { what: 'panels dimmed', timeoutMs: 10000 });
    // At the top of the window, over everything.
    const box = await strip.boundingBox();
    assert.equal(Math.round(box.y), 0);
    assert.ok(box.width >= 1390, `${box.width}`);
    // The age counts up while the service is away.
    const age = async () => Number(/data from (\d+) s ago/.exec(await strip.textContent())?.[1] ?? NaN);
    const first = await age();
    await until(async () => (await age()) > first, { what: 'the data\'s age counting up', timeoutMs: 30000 });

    const restartFrom = new Date();
    await service.start(); // same port; a new process: a new epoch
    await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
    await strip.waitFor({ state: 'hidden', timeout: 30000 });
    await until(async () => (await page.locator('[data-testid=live]').getAttribute('data-live')) === 'true', { what: 'LIVE on again' });
    await until(async () => (await opacity()) === 1, { what: 'panels no longer dimmed', timeoutMs: 10000 });
    assert.equal(await page.evaluate(() => document.body.dataset.outage ?? ''), '');

    // The banner: when the service restarted, in words (its start time, as the service reports it).
    const banner = page.locator('[data-testid=missed]');
    await until(async () => /restarted at/.test(await banner.textContent()), { what: 'the restart time in the banner' });
    const words = (await page.locator('#missed-text').textContent()).trim();
    const minutes = [restartFrom, new Date(restartFrom.getTime() - 60000), new Date()].map(d =>
      d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })); // as the dashboard: 00:03, never 24:03
    const at = /^The service restarted at (\d{2}:\d{2}); alerts raised while this screen was away may be missing\.$/.exec(words);
    assert.ok(at, words);
    assert.ok(minutes.includes(at[1]), `${at[1]} in ${minutes}`);
    assert.doesNotMatch(words, /epoch|airQuality|patterns|_/);
    await page.close();
  });
});

test('a link that goes quiet while still open is called stale after three intervals, and clears when data flows again', async () => {
  await withService({ UPDATE_INTERVALS_MS: 'cameras=1000,weather=1000,airQuality=1000,accidents=1000,patterns=1000,congestion=1000' }, async service => {
    const proxy = await new Proxy(service.port).listen();
    try {
      // Pings far apart: the frozen link is not found dead, so the page stays "open" and must notice the silence itself.
      const { page } = await open(`${proxy.http}/?ping=600000&pongTimeout=600000&maxBackoff=500`);
      await until(async () => (await page.locator('[data-testid=live]').getAttribute('data-live')) === 'true', { what: 'LIVE on' });
      proxy.freeze();
      const strip = page.locator('[data-testid=outage]');
      await strip.waitFor({ state: 'visible', timeout: 30000 });
      assert.equal(await page.locator('[data-testid=connection]').getAttribute('data-state'), 'open', 'still connected');
      assert.equal(await page.evaluate(() => document.body.dataset.outage), 'stale');
      assert.match(await strip.textContent(), /No new data from the traffic service\. Nothing for \d+ s \(updates are due every 1 s\); data from \d+ s ago/);
      assert.equal(await text(page, 'live'), 'stale');
      // The link is broken for good (bytes were dropped): the page reconnects and clears.
      await proxy.cut();
      await proxy.restore();
      await strip.waitFor({ state: 'hidden', timeout: 60000 });
      await until(async () => (await page.locator('[data-testid=live]').getAttribute('data-live')) === 'true', { what: 'LIVE on again' });
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

/** Every row of every topic panel, with its box in the page and the topic's list length. */
async function panelRows(page) {
  return page.evaluate(() => {
    const state = globalThis.trafficClient.getState();
    return [...document.querySelectorAll('[data-testid^=panel-]')].map(panel => {
      const topic = panel.dataset.topic;
      const scroller = panel.querySelector('.rows').getBoundingClientRect();
      const rows = [...panel.querySelectorAll('.rows li')].map(li => {
        const r = li.querySelector('.text').getBoundingClientRect();
        return { id: li.dataset.id, x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height,
          visible: r.bottom <= scroller.bottom + 0.5 && r.top >= scroller.top - 0.5 };
      });
      return { topic, listed: state.topics[topic].length, rows };
    });
  });
}

test('a full-page capture and a print draw every panel\'s rows, none blank', async () => {
  // Nothing changes after the SNAPSHOT (10-minute schedule): rows stay where they were measured.
  const slow = 'cameras=600000,weather=600000,airQuality=600000,accidents=600000,patterns=600000,congestion=600000';
  await withService({ UPDATE_INTERVALS_MS: slow }, async service => {
    const { page } = await open(`${service.http}/${FAST}`, { width: 1400, height: 900 });
    await until(async () => Number(await text(page, 'count-cameras')) > 0, { what: 'the SNAPSHOT on the page' });

    // On screen: a full-page capture of a page taller than the window.
    const screen = await panelRows(page);
    for (const { topic, listed, rows } of screen) assert.equal(rows.length, listed, `${topic}: a row per entity`);
    assert.ok(Math.max(...screen.flatMap(p => p.rows.map(r => r.y))) > 900, 'some rows are below the window');
    const inView = screen.flatMap(p => p.rows.filter(r => r.visible).map(r => ({ ...r, topic: p.topic })));
    const screenInk = await inspectPixels(browser, await page.screenshot({ fullPage: true }), inView);
    const blankOnScreen = inView.filter((r, i) => screenInk[i].ink < 8).map(r => `${r.topic} ${r.id} at y=${Math.round(r.y)}`);
    assert.deepEqual(blankOnScreen, [], 'rows drawn in the full-page capture');

    // In print: every row of every panel, not only those a panel's scroll box shows.
    await page.emulateMedia({ media: 'print' });
    const printed = await panelRows(page);
    const all = printed.flatMap(p => p.rows.map(r => ({ ...r, topic: p.topic })));
    assert.equal(all.length, printed.reduce((n, p) => n + p.listed, 0));
    assert.ok(all.every(r => r.visible), 'no panel clips its rows in print');
    const printInk = await inspectPixels(browser, await page.screenshot({ fullPage: true }), all);
    const blankInPrint = all.filter((r, i) => printInk[i].ink < 8).map(r => `${r.topic} ${r.id} at y=${Math.round(r.y)}`);
    assert.deepEqual(blankInPrint, [], 'rows drawn in print');
    await page.close();
  });
});

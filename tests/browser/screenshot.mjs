// Takes docs/images/dashboard.png: the built service on the simulated city, a few ALERTs posted
// to /api/publish before the page opens (listed as earlier) and one after, the page in headless
// Chromium. The base map comes from the fake tile server of tests/support/tiles.mjs (no internet
// here); `--offline` takes the offline view instead (no DASHBOARD_TILE_URL).
//   node --experimental-websocket tests/browser/screenshot.mjs [--offline] [path.png]   (after dotnet build -c Release)
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Service, until } from '../support/service.mjs';
import { TileServer } from '../support/tiles.mjs';
import { launch } from '../support/browser.mjs';

const offline = process.argv.includes('--offline');
const named = process.argv.slice(2).find(a => a.endsWith('.png'));
const out = named ? path.resolve(named) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'images', 'dashboard.png');
const tiles = offline ? null : await new TileServer().listen();
const service = await new Service({
  UPDATE_INTERVALS_MS: 'cameras=3000,weather=3000,airQuality=3000,accidents=3000,patterns=3000,congestion=3000',
  ...(tiles ? { DASHBOARD_TILE_URL: tiles.template, DASHBOARD_TILE_ATTRIBUTION: 'Test tiles (fake tile server)' } : {}),
}).start();
const browser = await launch();
try {
  const before = [
    ['ALERT', 'accidents', { id: 'urn:ngsi-ld:RoadAccident:demo-1', severity: 'high', alertType: 'severeAccident', description: 'Multi-vehicle collision, two lanes blocked', roadName: 'Vo Van Kiet' }],
    ['ALERT', 'airQuality', { id: 'urn:ngsi-ld:AirQualityObserved:demo', aqi: 168, alertType: 'airQualityUnhealthy', message: 'AQI 168 at Hang Xanh (unhealthy)' }],
  ];
  for (const [type, topic, data] of before) await service.publish(type, topic, data);
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  await page.goto(`${service.http}/`);
  await page.locator('[data-testid=connection][data-state=open]').waitFor();
  await page.locator('[data-testid=alerts] li[data-earlier=true]').nth(1).waitFor();
  await service.publish('ALERT', null, { id: 'urn:demo:everyone', severity: 'medium', alertType: 'announcement', message: 'Road works on Nguyen Hue from 22:00' });
  await page.locator('[data-testid=alerts] li[data-id="urn:demo:everyone"]').waitFor();
  if (tiles) {
    // Every tile in view loaded and faded in (Leaflet fades each one from transparent).
    await until(() => page.evaluate(() => {
      const all = [...document.querySelectorAll('img.leaflet-tile')];
      return all.length > 0 && all.every(t => t.classList.contains('leaflet-tile-loaded') && getComputedStyle(t).opacity === '1');
    }), { what: 'tiles drawn' });
  }
  await until(async () => /^\d+ ms$/.test(await page.locator('[data-testid=rtt]').textContent()), { what: 'an RTT' });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  console.log(`wrote ${out} (${tiles ? 'base map from the fake tile server' : 'offline view'})`);
} finally {
  await browser.close();
  await service.stop();
  await tiles?.close();
}

// Takes docs/images/dashboard.png: the built service on the simulated city, a few ALERTs posted
// to /api/publish so the feed has something in it, the page in headless Chromium.
//   node --experimental-websocket tests/browser/screenshot.mjs   (after dotnet build -c Release)
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Service } from '../support/service.mjs';
import { launch } from '../support/browser.mjs';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'images', 'dashboard.png');
const service = await new Service({ UPDATE_INTERVALS_MS: 'cameras=3000,weather=3000,airQuality=3000,accidents=3000,patterns=3000,congestion=3000' }).start();
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  await page.goto(`${service.http}/`);
  await page.locator('[data-testid=connection][data-state=open]').waitFor();
  const alerts = [
    ['ALERT', 'accidents', { id: 'urn:ngsi-ld:RoadAccident:demo-1', severity: 'high', alertType: 'severeAccident', message: 'Multi-vehicle collision on Vo Van Kiet, two lanes blocked', location: { latitude: 10.7565, longitude: 106.684 } }],
    ['ALERT', 'airQuality', { id: 'urn:ngsi-ld:AirQualityObserved:demo', aqi: 168, alertType: 'airQualityUnhealthy', message: 'AQI 168 at Hang Xanh (unhealthy)' }],
    ['ALERT', null, { id: 'urn:demo:everyone', severity: 'medium', alertType: 'announcement', message: 'Road works on Nguyen Hue from 22:00' }],
  ];
  for (const [type, topic, data] of alerts) { await service.publish(type, topic, data); await new Promise(r => setTimeout(r, 700)); }
  await page.waitForTimeout(4000); // a scheduled UPDATE or two, and the RTT
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await service.stop();
}

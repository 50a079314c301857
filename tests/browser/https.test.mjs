// The dashboard over https:// in real headless Chromium: the service with a certificate of its own
// (docs/operations.md, "TLS"), the page loaded from the TLS port, its WebSocket on wss:// to the same
// port, and a published ALERT shown. Chromium is told to accept the test's self-signed certificate
// (--ignore-certificate-errors), as a browser would once the operator's CA is trusted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Service, freePort } from '../support/service.mjs';
import { chromiumPath } from '../support/browser.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'https-test-'));
const cert = path.join(dir, 'server.crt.pem');
const key = path.join(dir, 'server.key.pem');
// A self-signed certificate for 127.0.0.1 and localhost, as an operator would make one for a trial.
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=traffic-browser-test',
  '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });

let service;
let httpsPort;
let browser;

before(async () => {
  httpsPort = await freePort();
  service = new Service({ TLS_CERT_PATH: cert, TLS_KEY_PATH: key, HTTPS_PORT: String(httpsPort) });
  if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: apt-get install -y chromium (dotnet cake --target=TestTools does it)`);
  [browser] = await Promise.all([
    chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--ignore-certificate-errors'] }),
    service.start(), // waits for /health on the plain port, which stays on (HTTP_ENABLED defaults to true)
  ]);
});
after(async () => {
  await browser?.close();
  await service?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the dashboard over https:// connects on wss:// to the same port and shows a published ALERT', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  const origin = `https://127.0.0.1:${httpsPort}`;
  const response = await page.goto(`${origin}/?ping=300&pongTimeout=2000&maxBackoff=500`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()['content-security-policy']?.includes("connect-src 'self'"), true);
  await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 60000 });
  assert.equal(await page.evaluate(() => globalThis.trafficClient.url), `wss://127.0.0.1:${httpsPort}/ws`);
  // The SNAPSHOT came in over TLS.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=count-cameras]')?.textContent) > 0, null, { timeout: 60000 });

  await service.publish('ALERT', 'accidents', { id: 'urn:test:Accident:TLS1', severity: 'high', alertType: 'severeAccident', message: 'Crash seen over wss' });
  const alert = page.locator('[data-testid=alerts] li[data-id="urn:test:Accident:TLS1"]');
  await alert.waitFor({ timeout: 60000 });
  assert.match(await alert.textContent(), /Crash seen over wss/);
  assert.deepEqual(errors, []);
  await page.close();
});

// Headless Chromium (Debian's `chromium`, driven by playwright-core) for the dashboard tests.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launch() {
  if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: apt-get install -y chromium (dotnet cake --target=TestTools does it)`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; a container's
  // /dev/shm may be too small for it, hence --disable-dev-shm-usage.
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

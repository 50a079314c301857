// A fake tile server on 127.0.0.1 for the dashboard's base map (DASHBOARD_TILE_URL): answers
// /{z}/{x}/{y}.svg with a plain street-map-like SVG tile (a paper background, a few "streets", the
// tile's coordinates) and remembers every request, so a test can tell the tiles were asked for.
import { createServer } from 'node:http';

export const TILE_BACKGROUND = '#efe6d2';

export class TileServer {
  constructor() {
    this.requests = [];
    this.server = null;
    this.port = null;
  }

  get template() { return `http://127.0.0.1:${this.port}/{z}/{x}/{y}.svg`; }
  get origin() { return `http://127.0.0.1:${this.port}`; }

  listen() {
    return new Promise((resolve, reject) => {
      const server = createServer((request, response) => {
        const match = /^\/(\d+)\/(\d+)\/(\d+)\.svg$/.exec(request.url ?? '');
        if (!match) { response.writeHead(404).end(); return; }
        const [, z, x, y] = match.map(Number);
        this.requests.push({ z, x, y });
        response.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-store' });
        response.end(tile(z, x, y));
      });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { this.port = server.address().port; this.server = server; resolve(this); });
    });
  }

  close() { return new Promise(resolve => (this.server ? this.server.close(() => resolve()) : resolve())); }
}

function tile(z, x, y) {
  // Streets at fixed places in each tile, slightly shifted by the tile's position so the map does not look tiled.
  const a = 40 + ((x * 37 + y * 11) % 60);
  const b = 150 + ((x * 13 + y * 29) % 70);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
<rect width="256" height="256" fill="${TILE_BACKGROUND}"/>
<rect x="${b - 60}" y="${a + 20}" width="50" height="40" fill="#cfe3c1"/>
<path d="M0 ${a}H256M0 ${b}H256M${a} 0V256M${b} 0V256" stroke="#ffffff" stroke-width="7"/>
<path d="M0 ${a}H256M${b} 0V256" stroke="#f6cf7d" stroke-width="4"/>
<path d="M0 256L256 ${(x + y) % 2 ? 0 : 128}" stroke="#a9cbe8" stroke-width="10" opacity=".8"/>
<text x="6" y="250" font-family="sans-serif" font-size="10" fill="#a89f8c">${z}/${x}/${y}</text>
</svg>`;
}

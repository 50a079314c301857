// The dashboard's vendored Leaflet (src/Traffic.Host/wwwroot/vendor/leaflet) is the npm package's
// own files, byte for byte, with its licence: the version is pinned in package.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vendored = path.join(repo, 'src', 'Traffic.Host', 'wwwroot', 'vendor', 'leaflet');
const npm = path.join(repo, 'node_modules', 'leaflet');

test('the vendored Leaflet is the pinned npm package\'s files, with its licence', () => {
  const pinned = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).devDependencies.leaflet;
  assert.equal(JSON.parse(fs.readFileSync(path.join(npm, 'package.json'), 'utf8')).version, pinned);
  const files = [
    ['leaflet-src.esm.js', 'dist/leaflet-src.esm.js'], ['leaflet.css', 'dist/leaflet.css'], ['LICENSE', 'LICENSE'],
    ...fs.readdirSync(path.join(npm, 'dist', 'images')).map(f => [`images/${f}`, `dist/images/${f}`]),
  ];
  for (const [mine, theirs] of files) {
    assert.ok(fs.readFileSync(path.join(vendored, mine)).equals(fs.readFileSync(path.join(npm, theirs))), `${mine} differs from leaflet's ${theirs}`);
  }
  assert.match(fs.readFileSync(path.join(vendored, 'README.md'), 'utf8'), new RegExp(`Leaflet ${pinned.replaceAll('.', '\\.')}`));
});

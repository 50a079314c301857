// Bytes per client per minute on the simulated city, with and without delta UPDATEs (added 2026-11-29).
// Starts the built Traffic.Host on 127.0.0.1 with the default schedule (the original design's topic table) and
// the simulated feed, connects two clients to every topic (one with delta=true, one without), and
// counts the UTF-8 bytes of the messages each receives after its SNAPSHOT, per topic.
//   node --experimental-websocket bench/client-bytes.mjs [seconds=300] [results-file.md]
// (build first: dotnet build Traffic.sln -c Release). Payload bytes: add 2 to 4 bytes of
// WebSocket framing per message (and TCP/IP headers) for what crosses the wire.
import fs from 'node:fs';
import { Service } from '../tests/support/service.mjs';

const seconds = Number(process.argv[2] ?? 300);
const out = process.argv[3];
const service = await new Service({}).start(); // default schedule, simulator on

function counter(delta) {
  const stats = { delta, snapshotBytes: 0, bytes: 0, messages: 0, deltaUpdates: 0, fullUpdates: 0, perTopic: {} };
  const ws = new WebSocket(`${service.ws}?topics=all${delta ? '&delta=true' : ''}`);
  let live = false;
  ws.onmessage = e => {
    const bytes = Buffer.byteLength(e.data);
    const m = JSON.parse(e.data);
    if (m.type === 'SNAPSHOT') { stats.snapshotBytes = bytes; live = true; stats.startedAt = Date.now(); return; }
    if (!live) return;
    stats.bytes += bytes;
    stats.messages += 1;
    if (m.type === 'UPDATE') { if (m.delta) stats.deltaUpdates += 1; else stats.fullUpdates += 1; }
    const key = `${m.type} ${m.topic ?? 'all'}`;
    stats.perTopic[key] ??= { messages: 0, bytes: 0 };
    stats.perTopic[key].messages += 1;
    stats.perTopic[key].bytes += bytes;
  };
  // Answer nothing: the server's protocol pings are answered by the WebSocket itself.
  return { ws, stats };
}

const clients = [counter(false), counter(true)];
console.log(`measuring for ${seconds} s on port ${service.port} ...`);
await new Promise(r => setTimeout(r, seconds * 1000)); // the measurement window itself
for (const c of clients) { c.stats.elapsedS = (Date.now() - c.stats.startedAt) / 1000; c.ws.close(); }
await service.stop();

const perMinute = s => Math.round(s.bytes / s.elapsedS * 60);
const [full, delta] = clients.map(c => c.stats);
const topics = [...new Set([...Object.keys(full.perTopic), ...Object.keys(delta.perTopic)])].sort();
const kb = n => (n / 1024).toFixed(1);
const lines = [
  `# Bytes per client per minute, with and without delta UPDATEs`,
  '',
  `${new Date().toISOString()}, commit ${process.env.GIT_COMMIT ?? '(see git log)'}; \`node --experimental-websocket bench/client-bytes.mjs ${seconds}\`.`,
  `One server (the built Traffic.Host, simulated city with its default seed, default schedule: cameras, weather, airQuality,`,
  `congestion every 30 s, accidents every 10 s, patterns every 60 s; the simulated city steps every 5 s), two clients on`,
  `every topic for ${seconds} s; WebSocket message payload bytes after the SNAPSHOT (framing adds 2 to 4 bytes a message).`,
  '',
  '| | whole lists (default) | delta=true | saved |',
  '|---|---|---|---|',
  `| bytes per minute | ${perMinute(full).toLocaleString('en')} (${kb(perMinute(full))} KiB) | ${perMinute(delta).toLocaleString('en')} (${kb(perMinute(delta))} KiB) | ${Math.round(100 * (1 - perMinute(delta) / perMinute(full)))} % |`,
  `| messages | ${full.messages} | ${delta.messages} | |`,
  `| UPDATEs whole / delta | ${full.fullUpdates} / ${full.deltaUpdates} | ${delta.fullUpdates} / ${delta.deltaUpdates} | |`,
  `| SNAPSHOT (once per connect) | ${full.snapshotBytes.toLocaleString('en')} | ${delta.snapshotBytes.toLocaleString('en')} | |`,
  '',
  '| messages | whole lists: count, bytes | delta=true: count, bytes |',
  '|---|---|---|',
  ...topics.map(t => `| ${t} | ${full.perTopic[t]?.messages ?? 0}, ${(full.perTopic[t]?.bytes ?? 0).toLocaleString('en')} | ${delta.perTopic[t]?.messages ?? 0}, ${(delta.perTopic[t]?.bytes ?? 0).toLocaleString('en')} |`),
  '',
];
const text = lines.join('\n');
console.log(text);
if (out) fs.writeFileSync(out, text);
fs.writeFileSync((out ?? 'bench/results/client-bytes.md').replace(/\.md$/, '.json'), JSON.stringify({ seconds, full, delta }, null, 2));

// Publishes ALERTs at RATE/s for SECONDS (bounded), then exits; prints the answers' counts.
const [port, rate, seconds] = process.argv.slice(2).map(Number);
const counts = {};
const end = Date.now() + seconds * 1000;
let n = 0;
while (Date.now() < end) {
  const tick = Date.now();
  await Promise.all(Array.from({ length: rate / 10 }, () => fetch(`http://127.0.0.1:${port}/api/publish`, {
    method: 'POST', headers: { 'X-API-Key': 'retention-check-key-1', 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'ALERT', topic: 'accidents', data: { n: n++, pad: 'x'.repeat(200) } }),
  }).then(r => { counts[r.status] = (counts[r.status] ?? 0) + 1; }, () => { counts.error = (counts.error ?? 0) + 1; })));
  await new Promise(r => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
}
console.log(JSON.stringify(counts));

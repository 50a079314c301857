#!/bin/bash
# Retention: 50 ALERTs/s for 240 s with HISTORY_TTL_MS=60000; journal rows sampled every 20 s.
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$HERE/../.."; OUT="$ROOT/bench/results/tmp/retention"; rm -rf "$OUT"; mkdir -p "$OUT"
PERSISTENCE_PATH=$OUT/data/traffic.db HISTORY_TTL_MS=60000 WS_PORT=5761 WS_HOST=127.0.0.1 PUBLISH_API_KEY=retention-check-key-1 SIMULATOR_ENABLED=false dotnet "$ROOT/src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll" > $OUT/host.log 2>&1 &
HOST=$!
sleep 8
node "$HERE/publish.mjs" 5761 50 240 > $OUT/publish.out &
PUB=$!
for i in $(seq 1 15); do
  sleep 20
  rows=$(python3 -c "import sqlite3; c=sqlite3.connect('file:$OUT/data/traffic.db?mode=ro', uri=True); print(c.execute('select count(*) from journal').fetchone()[0], c.execute('select count(*) from snapshot').fetchone()[0])")
  echo "t=$((i*20))s journal,snapshot rows: $rows  db+wal bytes: $(du -cb $OUT/data/traffic.db* | tail -1 | cut -f1)"
done
wait $PUB; cat $OUT/publish.out
kill $HOST; wait $HOST

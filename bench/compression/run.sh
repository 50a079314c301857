#!/usr/bin/env bash
# permessage-deflate figures: bytes on the wire per frame type, then server CPU per delivery with and without.
# Usage: bench/compression/run.sh [SUBSCRIBERS...]   (default: 1000)
# Env: PUBLISHES (20), ROUNDS (3, interleaved off/on pairs), SERVER_CPU (core the server is pinned to, default 0).
# Builds nothing: build src/Traffic.Host in Release first. Results go to bench/results/compression/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DLL="$ROOT/src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll"
OUT="$ROOT/bench/results/compression"
STAMP="$(date -u +%Y%m%d-%H%M%S)"
PORT="${PORT:-5391}"
mkdir -p "$OUT"
[[ -d "$HERE/node_modules/ws" ]] || (cd "$HERE" && npm install --no-audit --no-fund >/dev/null)
[[ $# -gt 0 ]] || set -- 1000

SERVER_PID=""
start_server() { # extra env assignments
  env WS_HOST=127.0.0.1 WS_PORT="$PORT" PUBLISH_API_KEY=bench-publish-key Logging__LogLevel__Default=Warning \
      "$@" \
      taskset -c "${SERVER_CPU:-0}" dotnet "$DLL" > "$OUT/$STAMP-server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null && return; sleep 0.2; done
  echo "server did not start" >&2; exit 1
}
stop_server() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
trap stop_server EXIT

echo "# bytes: simulator on, every topic every 1 s, 20 s" | tee "$OUT/$STAMP-bytes.jsonl"
start_server SIMULATOR_STEP_MS=1000 UPDATE_INTERVALS_MS="cameras=1000,weather=1000,airQuality=1000,accidents=1000,patterns=1000,congestion=1000"
PAYLOAD_OUT="$OUT/$STAMP-payload.json" node "$HERE/measure.js" bytes "http://127.0.0.1:$PORT" 20 | tee -a "$OUT/$STAMP-bytes.jsonl"
stop_server

for n in "$@"; do
  echo "# cpu: $n subscribers, simulator off, heartbeat 600 s, server pinned to cpu ${SERVER_CPU:-0}" | tee "$OUT/$STAMP-cpu-$n.jsonl"
  # Heartbeats far apart: 10 000 pings every 10 s would be counted against whichever phase lasts longer.
  start_server SIMULATOR_ENABLED=false HEARTBEAT_INTERVAL_MS=600000 HEARTBEAT_TIMEOUT_MS=1200000
  PAYLOAD="$OUT/$STAMP-payload.json" taskset -c "${CLIENT_CPU:-1}" node "$HERE/measure.js" cpu "http://127.0.0.1:$PORT" "$SERVER_PID" "$n" \
    "${PUBLISHES:-20}" "${ROUNDS:-3}" | tee -a "$OUT/$STAMP-cpu-$n.jsonl"
  stop_server
done
echo "results: $OUT/$STAMP-*"

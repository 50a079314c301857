#!/usr/bin/env bash
# Fail-over times: three cluster nodes on 127.0.0.1, accidents UPDATEs every 2 s, a probe client
# (bench/failover_probe.py) on nodes 2 and 3; then SIGTERM or kill -9 of node 1 (the oldest, which
# holds the aggregator and the simulated feed). Prints how long after the signal the survivors'
# first accidents UPDATE came, and the accidents lists before and after (same ids: the same city).
#
#   bash bench/failover.sh term|kill [--no-build] [--port-base P] [--stable-after-ms MS]
#
# Everything listens on 127.0.0.1 and is stopped by its PID. Logs: run/failover-*/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; ROOT="$(cd "$HERE/.." && pwd)"; cd "$ROOT"
MODE="${1:?term or kill}"; shift
BUILD=1; PORT=5700; STABLE=2000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --port-base) PORT="$2"; shift ;;
    --stable-after-ms) STABLE="$2"; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac; shift
done
[[ $BUILD == 1 ]] && dotnet build -c Release src/Traffic.Host > /dev/null
OUT="$ROOT/run/failover-$MODE-$(date +%H%M%S)"; mkdir -p "$OUT"
BIN="$ROOT/src/Traffic.Host/bin/Release/net10.0"
A1=$((PORT + 50)); A2=$((PORT + 51)); A3=$((PORT + 52))
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done; wait 2> /dev/null || true; }
trap cleanup EXIT
for n in 1 2 3; do
  ( cd "$BIN" && exec env AKKA_SEED_NODES=127.0.0.1:$A1,127.0.0.1:$A2 AKKA_HOSTNAME=127.0.0.1 WS_HOST=127.0.0.1 \
      WS_PORT=$((PORT + n)) AKKA_PORT=$((PORT + 50 + n - 1)) AKKA_SBR_STABLE_AFTER_MS=$STABLE \
      UPDATE_INTERVALS_MS=accidents=2000 dotnet Traffic.Host.dll > "$OUT/node$n.log" 2>&1 ) &
  PIDS+=($!)
done
for n in 1 2 3; do
  for i in $(seq 1 120); do curl -fs "127.0.0.1:$((PORT + n))/health/ready" > /dev/null && break; sleep 1; done
done
for n in 2 3; do python3 "$HERE/failover_probe.py" 127.0.0.1 $((PORT + n)) "/ws?topics=accidents" 60 > "$OUT/probe$n.log" & done
sleep 5 # a few UPDATEs before the signal
SIGNAL=$([[ $MODE == kill ]] && echo KILL || echo TERM)
T0=$(date +%s.%N); kill -$SIGNAL "${PIDS[0]}"
for n in 2 3; do
  for i in $(seq 1 400); do
    awk -v t0="$T0" '$2 == "UPDATE" && $3 == "accidents" && $1 > t0 { found++ } END { exit found < 3 }' "$OUT/probe$n.log" && break
    sleep 0.1
  done
done
# The survivors' accidents UPDATEs after the signal (s after it), and the longest silence between
# two of them around the signal: the old aggregator may still send one before it hands over.
for n in 2 3; do
  awk -v t0="$T0" -v n=$n -v sig=$SIGNAL '$2 == "UPDATE" && $3 == "accidents" {
      if ($1 <= t0) { prev = $1; before = $5; next }
      if (k < 6) after = after sprintf(" %.1f", $1 - t0)
      k++; gap = $1 - prev; if (gap > longest) { longest = gap; resumed = $1 - t0; list = $5 }; prev = $1 }
    END { printf "node%d SIG%s: accidents UPDATEs at%s s; longest silence %.1f s, ended %.1f s after the signal; accidents before [%s] after [%s]\n", n, sig, after, longest, resumed, before, list }' "$OUT/probe$n.log"
done

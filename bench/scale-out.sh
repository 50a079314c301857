#!/usr/bin/env bash
# Scale-out on one machine (issue 20): a cluster of N nodes (6) on 127.0.0.1 holding C WebSockets
# (100 000, about 17 000 a node), the clients held by one load generator process per node
# (LoadGen scale-out-clients), each bound to its own source address (127.0.0.2, 127.0.0.3, ...)
# so that local ports do not run out and no process passes the 20 000 open files allowed here.
# A coordinator (LoadGen scale-out) reads each node's RSS before and after, asks each node how
# many clients it holds, then publishes: one ALERT to everyone, 10 times (POST -> last delivery of
# all, median), and a steady 10 ALERTs/s to everyone for 60 s (delivered, lost, p99). Also the
# cluster's formation time (every node started at once -> every node's /health/ready 200).
#
#   bash bench/scale-out.sh [--smoke] [--nodes N] [--connections C] [--rate R] [--seconds S]
#        [--publishes K] [--node-hocon 'HOCON'] [--persistence none|postgres] [--discovery seeds|config]
#        [--node-env 'NAME=VALUE ...'] [--concurrency H] [--no-build] [--out DIR] [--port-base P]
#
# Defaults: 6 nodes, 100 000 connections, 10 ALERT/s for 60 s, 10 publishes, PERSISTENCE=none,
# and --node-hocon 'akka.cluster.failure-detector.acceptable-heartbeat-pause = 60s' (under this
# load a node's heartbeats come late and the default 3 s gets healthy nodes marked unreachable;
# --node-hocon '' for Akka's defaults). --smoke: 2 nodes, 2 000 connections, 3 publishes, 3 s of
# 10/s, about a minute. Nothing pinned: the nodes and the load generators share both cores.
# Everything on 127.0.0.x, bounded in count and time, processes stopped by their PID.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; ROOT="$(cd "$HERE/.." && pwd)"; cd "$ROOT"

SMOKE=0; NODES=""; CONNS=""; RATE=10; SECONDS_STEADY=""; PUBLISHES=""; BUILD=1; OUT=""; PORT=${BENCH_PORT_BASE:-6100}
NODE_HOCON="akka.cluster.failure-detector.acceptable-heartbeat-pause = 60s"; PERSIST=none; DISCOVERY=seeds
NODE_ENV_ARG=""; CONCURRENCY=100
ORIG_ARGS="$*"
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --nodes) NODES="$2"; shift ;;
    --connections) CONNS="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    --seconds) SECONDS_STEADY="$2"; shift ;;
    --publishes) PUBLISHES="$2"; shift ;;
    --node-hocon) NODE_HOCON="$2"; shift ;;
    --persistence) PERSIST="$2"; shift ;;
    --discovery) DISCOVERY="$2"; shift ;;
    --node-env) NODE_ENV_ARG="$2"; shift ;;
    --concurrency) CONCURRENCY="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --out) OUT="$2"; shift ;;
    --port-base) PORT="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "scale-out.sh: unknown argument $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done
if [[ $SMOKE -eq 1 ]]; then NODES=${NODES:-2}; CONNS=${CONNS:-2000}; SECONDS_STEADY=${SECONDS_STEADY:-3}; PUBLISHES=${PUBLISHES:-3}
else NODES=${NODES:-6}; CONNS=${CONNS:-100000}; SECONDS_STEADY=${SECONDS_STEADY:-60}; PUBLISHES=${PUBLISHES:-10}; fi
[[ "$NODES" =~ ^[0-9]+$ && $NODES -ge 1 && $NODES -le 12 ]] || { echo "scale-out.sh: --nodes must be 1..12" >&2; exit 64; }
[[ "$CONNS" =~ ^[0-9]+$ && $CONNS -ge 1 && $CONNS -le 200000 ]] || { echo "scale-out.sh: --connections must be 1..200000" >&2; exit 64; }
PER=$(( (CONNS + NODES - 1) / NODES ))
[[ $PER -le 19000 ]] || { echo "scale-out.sh: $PER connections a node: at most 19 000 (20 000 files a process); add nodes" >&2; exit 64; }
case "$PERSIST" in none|postgres) ;; *) echo "scale-out.sh: --persistence is none or postgres" >&2; exit 64 ;; esac
case "$DISCOVERY" in seeds|config) ;; *) echo "scale-out.sh: --discovery is seeds or config" >&2; exit 64 ;; esac

STAMP="$(date +%Y%m%d-%H%M%S)"
if [[ -z "$OUT" ]]; then if [[ $SMOKE -eq 1 ]]; then OUT="$HERE/results/smoke"; else OUT="$HERE/results"; fi; fi
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
LOGDIR="$OUT/logs/$STAMP-scale-out"; mkdir -p "$LOGDIR"
CTL="$LOGDIR/control"; mkdir -p "$CTL"
# shellcheck source=bench/cluster-lib.sh
source "$HERE/cluster-lib.sh"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || true)"
if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2> /dev/null; then COMMIT="$COMMIT+dirty"; fi

WPIDS=(); CPID=""
cleanup() {
  local p
  for p in "${WPIDS[@]}" $CPID; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${WPIDS[@]}" $CPID; do wait "$p" 2> /dev/null || true; done
  cl_stop_nodes; pg_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $BUILD -eq 1 ]] && cl_build
[[ -f "$OURS_DLL" && -f "$LOADGEN_DLL" ]] || { echo "scale-out.sh: build first (run without --no-build)" >&2; exit 1; }
log "stamp $STAMP-scale-out; $NODES nodes, $CONNS connections ($PER a node, one client process each), PERSISTENCE=$PERSIST, discovery $DISCOVERY; commit ${COMMIT:-none}; fd limit $FDS; load average $(loadavg)"

cl_node_bin "$NODE_HOCON"
# Limits: room for the node's share (MAX_CONNECTIONS); one source address holds a whole node's share,
# so the per-address limits are off (loopback is exempt from MAX_CONNECTIONS_PER_ADDRESS anyway).
NODE_ENV_EXTRA=("MAX_CONNECTIONS=19500" "MAX_CONNECTIONS_PER_ADDRESS=0" "MAX_HANDSHAKES_PER_ADDRESS=0" "PUBLISH_RATE_PER_SECOND=0" "PERSISTENCE=$PERSIST")
# --node-env: more variables for every node (e.g. HEARTBEAT_TIMEOUT_MS=120000), after these.
# shellcheck disable=SC2206
[[ -n "$NODE_ENV_ARG" ]] && NODE_ENV_EXTRA+=($NODE_ENV_ARG)
log "node variables: ${NODE_ENV_EXTRA[*]}"
if [[ "$PERSIST" == postgres ]]; then
  pg_start || exit 1
  pg_createdb "bench_scale_out" || { log "ERROR: createdb"; exit 1; }
  NODE_ENV_EXTRA+=("PERSISTENCE_CONNECTION_STRING=$(pg_conn bench_scale_out)")
fi
CL_DISCOVERY="$DISCOVERY"
cl_plan_nodes "$NODES"
cl_start_cluster $([[ $SMOKE -eq 1 ]] && echo 120 || echo 300) || exit 1
NODE_URLS=""; for i in "${!NODE_HTTP[@]}"; do NODE_URLS+="${NODE_URLS:+,}http://127.0.0.1:${NODE_HTTP[$i]}"; done
PIDS_CSV="$(IFS=,; echo "${NODE_PID[*]}")"

MAXS=$([[ $SMOKE -eq 1 ]] && echo 150 || echo 1800)
# The client processes: worker w holds its node's share, from 127.0.0.(w+2).
left=$CONNS
for w in $(seq 0 $((NODES - 1))); do
  n=$(( left < PER ? left : PER )); left=$((left - n))
  [[ $n -gt 0 ]] || continue
  ( ulimit -n "$FDS" 2> /dev/null || true
    export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
    exec timeout $((MAXS + 60)) dotnet "$LOADGEN_DLL" scale-out-clients --n "$n" --worker "$w" --bind "127.0.0.$((w + 2))" \
      --url "http://127.0.0.1:${NODE_HTTP[$w]}" --dir "$CTL" --concurrency "$CONCURRENCY" --target "worker$w" --stamp "$STAMP-scale-out-workers" \
      --out "$LOGDIR" --max-seconds "$MAXS" $([[ $SMOKE -eq 1 ]] && echo --smoke)
  ) > "$LOGDIR/worker$w.log" 2>&1 &
  WPIDS+=($!)
done
WORKERS=${#WPIDS[@]}
log "$WORKERS client processes started (pids ${WPIDS[*]})"

set +e
( ulimit -n "$FDS" 2> /dev/null || true
  exec timeout $((MAXS + 60)) dotnet "$LOADGEN_DLL" scale-out --workers "$WORKERS" --dir "$CTL" --url "http://127.0.0.1:${NODE_HTTP[0]}" \
    --nodes "$NODE_URLS" --node-pids "$PIDS_CSV" --rounds "$PUBLISHES" --rates "$RATE" --duration-seconds "$SECONDS_STEADY" \
    --target "ours-$NODES-nodes" --out "$OUT" --stamp "$STAMP" --max-seconds "$MAXS" --commit "${COMMIT:-none}" \
    --pinning "not pinned: $NODES nodes and $WORKERS client processes share $(nproc) cpus" \
    --command "bash bench/scale-out.sh $ORIG_ARGS" $([[ $SMOKE -eq 1 ]] && echo --smoke)
) 2>&1 | tee "$LOGDIR/coordinator.log" | grep --line-buffered -v -e '^|' -e '^$'
rc=${PIPESTATUS[0]}
set -e
for p in "${WPIDS[@]}"; do wait "$p" 2> /dev/null || true; done
WPIDS=()
# Did any node leave, or get marked unreachable, under the load?
UNREACH=$(cat "$LOGDIR"/node*.log 2> /dev/null | grep -ci "unreachable" || true)
log "formation ${FORMATION_SECONDS} s; 'unreachable' in the node logs: ${UNREACH:-0} lines; load average $(loadavg)"
echo "{\"formationSeconds\":$FORMATION_SECONDS,\"nodes\":$NODES,\"connections\":$CONNS,\"persistence\":\"$PERSIST\",\"discovery\":\"$DISCOVERY\",\"nodeHocon\":\"$NODE_HOCON\",\"unreachableLines\":${UNREACH:-0},\"loadavgEnd\":\"$(loadavg)\",\"stamp\":\"$STAMP\"}" >> "$OUT/$STAMP-scale-out-cluster.json"
for i in "${!NODE_PID[@]}"; do
  alive=alive; kill -0 "${NODE_PID[$i]}" 2> /dev/null || alive=DEAD
  log "node $i (port ${NODE_HTTP[$i]}, pid ${NODE_PID[$i]}): $alive"
done
cl_stop_nodes
if [[ $rc -ne 0 ]]; then log "FAILED: scale-out exit $rc (logs in $LOGDIR)"; exit 1; fi
log "scale-out OK: results $OUT/$STAMP-scale-out.jsonl, logs $LOGDIR"

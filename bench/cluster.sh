#!/usr/bin/env bash
# Cluster benchmark: the fan-out of THREE cluster nodes on this machine beside ONE node (the
# single-node default), both behind the same nginx (deploy/nginx/traffic.conf, ports replaced),
# driven by the same load generator (bench/LoadGen) through nginx. See docs/operations.md, "Benchmark".
#
#   bash bench/cluster.sh [--smoke] [--scenario fanout|one-to-all] [--rounds K] [--no-build]
#                         [--out DIR] [--port-base P] [--node-env 'NAME=VALUE ...'] [-- LOADGEN_ARGS...]
#
# Targets: "one" = 1 node, no AKKA_* variable (the single-node hot path: publish -> registry ->
# sockets); "three" = 3 nodes in one Akka cluster (publish -> DistributedPubSub -> each node's
# registry -> its sockets). nginx spreads the subscribers over the nodes (least_conn) and the
# publishes too; /api/stats is answered for the whole cluster so the load generator sees every
# client. All servers (the nodes and nginx) are pinned to cpu 0, the load generator to cpu 1, as
# in run.sh: the three nodes SHARE one core, so "three" measures what the cluster path costs on
# the same hardware, not what three machines would add. Interleaved one, three, three, one per
# round. Everything on 127.0.0.1, bounded, processes stopped by their PID.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"

SMOKE=0
SCENARIO="fanout"
ROUNDS=1
BUILD=1
OUT=""
PORT=${BENCH_PORT_BASE:-5600}
LOADGEN_EXTRA=()
NODE_ENV=""
ORIG_ARGS="$*"

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --scenario) SCENARIO="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --out) OUT="$2"; shift ;;
    --port-base) PORT="$2"; shift ;;
    --node-env) NODE_ENV="$2"; shift ;;
    --) shift; LOADGEN_EXTRA=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "cluster.sh: unknown argument $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done
[[ "$SCENARIO" == fanout || "$SCENARIO" == one-to-all ]] || { echo "cluster.sh: --scenario is fanout or one-to-all" >&2; exit 64; }
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 10 ]] || { echo "cluster.sh: --rounds must be 1..10" >&2; exit 64; }

NGINX="$(command -v nginx || true)"
[[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n "$NGINX" ]] || { echo "cluster.sh: nginx is needed (apt-get install -y nginx)" >&2; exit 1; }

STAMP="$(date +%Y%m%d-%H%M%S)"
if [[ -z "$OUT" ]]; then if [[ $SMOKE -eq 1 ]]; then OUT="$HERE/results/smoke"; else OUT="$HERE/results"; fi; fi
mkdir -p "$OUT"
LOGDIR="$OUT/logs/$STAMP-cluster"
mkdir -p "$LOGDIR"
OURS_DLL="$ROOT/src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll"
LOADGEN_DLL="$HERE/LoadGen/bin/Release/net10.0/LoadGen.dll"
log() { echo "[$(date +%H:%M:%S)] $*"; }

if [[ $BUILD -eq 1 ]]; then
  log "building the service and the load generator (Release)"
  dotnet build -c Release "$ROOT/src/Traffic.Host/Traffic.Host.csproj" -nologo -v q > "$LOGDIR/build-ours.log" 2>&1 \
    || { cat "$LOGDIR/build-ours.log" >&2; exit 1; }
  dotnet build -c Release "$HERE/LoadGen/LoadGen.csproj" -nologo -v q > "$LOGDIR/build-loadgen.log" 2>&1 \
    || { cat "$LOGDIR/build-loadgen.log" >&2; exit 1; }
fi
[[ -f "$OURS_DLL" && -f "$LOADGEN_DLL" ]] || { echo "cluster.sh: build first (run without --no-build)" >&2; exit 1; }

NPROC="$(nproc --all 2>/dev/null || nproc)"
if [[ "$NPROC" -ge 2 ]]; then
  PIN_SERVER=(taskset -c 0); PIN_LOADGEN=(taskset -c 1)
  PINNING="nodes and nginx pinned with taskset -c 0 (they share it), load generator with taskset -c 1 (nproc $NPROC)"
else
  PIN_SERVER=(); PIN_LOADGEN=(); PINNING="not pinned: only $NPROC cpu"
fi
FDS="$(ulimit -Hn)"; [[ "$FDS" == "unlimited" ]] && FDS=1048576
ulimit -n "$FDS" 2>/dev/null || true
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"
if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then COMMIT="$COMMIT+dirty"; fi

PIDS=()
NGINX_PID=""
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
next_port() { PORT=$((PORT + 1)); while ! port_free "$PORT"; do PORT=$((PORT + 1)); done; } # sets PORT

stop_all() {
  local pid i
  for pid in "${PIDS[@]}" $NGINX_PID; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}" $NGINX_PID; do
    for i in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  PIDS=(); NGINX_PID=""
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

# start_servers TARGET: the nodes (one, or three in a cluster) and nginx in front; sets NGINX_PORT, PIDS
start_servers() {
  local target="$1" count=1 i
  [[ "$target" == three ]] && count=3
  local http=() akka=()
  for i in $(seq 1 $count); do next_port; http+=("$PORT"); next_port; akka+=("$PORT"); done
  for i in $(seq 0 $((count - 1))); do
    (
      cd "$(dirname "$OURS_DLL")"
      ulimit -n "$FDS" 2> /dev/null || true
      export WS_HOST=127.0.0.1 WS_PORT="${http[$i]}" PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false
      export DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
      # shellcheck disable=SC2086
      [[ -n "$NODE_ENV" ]] && export $NODE_ENV
      if [[ $count -gt 1 ]]; then
        export AKKA_HOSTNAME=127.0.0.1 AKKA_PORT="${akka[$i]}" AKKA_SEED_NODES="127.0.0.1:${akka[0]},127.0.0.1:${akka[1]}"
      fi
      exec "${PIN_SERVER[@]}" dotnet "$OURS_DLL"
    ) > "$LOGDIR/$target-node$i-${http[$i]}.log" 2>&1 &
    PIDS+=($!)
  done

  next_port; NGINX_PORT="$PORT"
  local dir="$LOGDIR/nginx-$target-$NGINX_PORT"
  mkdir -p "$dir"; chmod 777 "$dir"
  # The documented site, with this run's ports, and /api/stats answered for the whole cluster so
  # the load generator's "are all my clients registered" check counts every node's clients.
  local servers=""
  for i in $(seq 0 $((count - 1))); do servers+="    server 127.0.0.1:${http[$i]} max_fails=1 fail_timeout=5s;"$'\n'; done
  awk -v servers="$servers" -v listen="$NGINX_PORT" '
    /server 127\.0\.0\.1:[0-9]+ max_fails/ { if (!done) { printf "%s", servers; done = 1 } next }
    /listen 127\.0\.0\.1:[0-9]+;/ { sub(/127\.0\.0\.1:[0-9]+/, "127.0.0.1:" listen) }
    /location \/ \{/ { print "    location = /api/stats {\n        proxy_pass http://traffic_nodes/api/stats?scope=cluster;\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n    }\n" }
    { print }' "$ROOT/deploy/nginx/traffic.conf" > "$dir/traffic.conf"
  cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $FDS;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 30000; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/traffic.conf;
}
EOF
  ( exec "${PIN_SERVER[@]}" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' ) > "$dir/stdout.log" 2>&1 &
  NGINX_PID=$!

  # Ready: every node Up in its cluster (or started, for one), and nginx answering.
  for i in $(seq 1 300); do
    local ready=1 p
    for p in "${PIDS[@]}" "$NGINX_PID"; do kill -0 "$p" 2> /dev/null || { log "ERROR: a $target process exited at start (logs in $LOGDIR)"; return 1; }; done
    for p in "${http[@]}"; do curl -fsS -m 1 "http://127.0.0.1:$p/health/ready" > /dev/null 2>&1 || ready=0; done
    if [[ $ready -eq 1 ]] && curl -fsS -m 1 "http://127.0.0.1:$NGINX_PORT/health" > /dev/null 2>&1; then
      log "$target up: nodes on ${http[*]} (pids ${PIDS[*]}), nginx on $NGINX_PORT (pid $NGINX_PID)"
      return 0
    fi
    sleep 0.2
  done
  log "ERROR: $target not ready within 60 s (logs in $LOGDIR)"; return 1
}

job_args() {
  if [[ $SMOKE -eq 1 ]]; then echo "$SCENARIO --smoke"; return; fi
  case "$SCENARIO" in
    fanout) echo "fanout --n 1000 --deliveries 10000,20000,50000,100000,150000,200000 --step-seconds 4" ;;
    one-to-all) echo "one-to-all --n 3000" ;;
  esac
}

# CPU seconds (user + system) used so far by the given PIDs, from /proc/PID/stat.
cpu_seconds() {
  local pid total=0 ticks
  ticks="$(getconf CLK_TCK)"
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] || continue
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "scale=2; $total / $ticks" | bc
}

FAILED=()
run_one() { # target round slot
  local target="$1" round="$2" slot="$3" rc max=600
  [[ $SMOKE -eq 1 ]] && max=90
  if ! start_servers "$target"; then FAILED+=("$target/r$round/s$slot:start"); stop_all; return; fi
  log "== $SCENARIO on $target (round $round, slot $slot)"
  local cpu0 t0 servers=("${PIDS[@]}" "$NGINX_PID")
  cpu0="$(cpu_seconds "${servers[@]}")"; t0="$(date +%s.%N)"
  set +e
  # shellcheck disable=SC2046
  ( ulimit -n "$FDS" 2> /dev/null || true
    exec timeout $((max + 30)) "${PIN_LOADGEN[@]}" dotnet "$LOADGEN_DLL" $(job_args) \
      --url "http://127.0.0.1:$NGINX_PORT" --server-pid "${PIDS[0]}" --target "$target" \
      --round "$round" --slot "$slot" --out "$OUT" --stamp "$STAMP-cluster" --max-seconds "$max" \
      --commit "${COMMIT:-none}" --pinning "$PINNING" --command "bash bench/cluster.sh $ORIG_ARGS" "${LOADGEN_EXTRA[@]}"
  ) 2>&1 | tee "$LOGDIR/loadgen-$target-r$round-s$slot.log" | grep --line-buffered -v -e '^|' -e '^$'
  rc=${PIPESTATUS[0]}
  set -e
  log "$target: all its server processes (nodes + nginx) used $(echo "scale=1; 100 * ($(cpu_seconds "${servers[@]}") - $cpu0) / ($(date +%s.%N) - $t0)" | bc)% of a core on average during the run" \
    | tee -a "$LOGDIR/server-cpu.log"
  [[ $rc -eq 0 ]] || { log "FAILED: $SCENARIO on $target: exit $rc"; FAILED+=("$target/r$round/s$slot:exit$rc"); }
  stop_all
}

log "stamp $STAMP-cluster; scenario $SCENARIO; rounds $ROUNDS; $PINNING; commit ${COMMIT:-none}"
for round in $(seq 1 "$ROUNDS"); do
  run_one one "$round" 1
  run_one three "$round" 1
  run_one three "$round" 2
  run_one one "$round" 2
done

dotnet "$LOADGEN_DLL" summarize --out "$OUT" --stamp "$STAMP-cluster" --subject three > "$LOGDIR/summary.log" 2>&1 \
  || { cat "$LOGDIR/summary.log" >&2; FAILED+=("summarize"); }
if [[ -f "$OUT/$STAMP-cluster-summary.md" ]]; then
  sed -n '/^## Figures/,/^## Runs/p' "$OUT/$STAMP-cluster-summary.md" | sed '$d'
  log "summary: $OUT/$STAMP-cluster-summary.md (server CPU and RSS columns are node 0's only)"
fi
if [[ ${#FAILED[@]} -gt 0 ]]; then log "FAILURES: ${FAILED[*]}"; exit 1; fi
log "cluster bench OK"

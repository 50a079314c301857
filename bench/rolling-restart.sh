#!/usr/bin/env bash
# Rolling restart (issue 20): N cluster nodes (3) on 127.0.0.1 behind nginx (deploy/nginx/traffic.conf,
# ports replaced), C clients (3 000) of accidents connected through nginx, each keeping its position
# and resuming with it on every reconnect (?since=accidents:EPOCH:OFFSET, as the client library
# does), ALERTs at R/s (50) published through nginx by a publisher that retries a 503 or a POST
# without an answer until it is answered 202. Each node in turn, the youngest first and the oldest
# (the singletons' node) last: SIGTERM by PID, wait for it to exit, start it again alike (same
# ports, same variables), wait for its /health/ready, let it settle. Then everyone catches up and
# the load generator (LoadGen rolling-restart) reports: clients per node at the end (every client
# on a live node?), lost, duplicated, RESUMED recovered true/false.
#
#   bash bench/rolling-restart.sh [--smoke] [--nodes N] [--clients C] [--rate R]
#        [--persistence none|postgres|both] [--settle-seconds S] [--node-hocon 'HOCON']
#        [--nginx-max-fails N] [--nginx-fail-timeout 10s] [--nginx-connect-timeout 5s] [--no-build] [--out DIR] [--port-base P]
#
# --persistence both: the whole run with PERSISTENCE=none, then again with postgres (a throwaway
# PostgreSQL as in bench/run.sh). --nginx-*: change the bench's copy of the documented nginx
# configuration (the run prints the difference). --smoke: 2 nodes, 100 clients, 20 ALERT/s,
# PERSISTENCE=none, about a minute; it fails only when the run itself breaks (nothing published,
# a node not back, a client never connected), and prints losses as the finding they are.
# Everything on 127.0.0.1, bounded in time, processes stopped by their PID.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; ROOT="$(cd "$HERE/.." && pwd)"; cd "$ROOT"

SMOKE=0; NODES=""; CLIENTS=""; RATE=""; PERSISTS="none"; SETTLE=""; BUILD=1; OUT=""; PORT=${BENCH_PORT_BASE:-6300}
NODE_HOCON=""
ORIG_ARGS="$*"
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --nodes) NODES="$2"; shift ;;
    --clients) CLIENTS="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    --persistence) PERSISTS="$2"; shift ;;
    --settle-seconds) SETTLE="$2"; shift ;;
    --node-hocon) NODE_HOCON="$2"; shift ;;
    --nginx-max-fails) NGINX_MAX_FAILS_ARG="$2"; shift ;;
    --nginx-connect-timeout) NGINX_CONNECT_TIMEOUT_ARG="$2"; shift ;;
    --nginx-fail-timeout) NGINX_FAIL_TIMEOUT_ARG="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --out) OUT="$2"; shift ;;
    --port-base) PORT="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "rolling-restart.sh: unknown argument $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done
if [[ $SMOKE -eq 1 ]]; then NODES=${NODES:-2}; CLIENTS=${CLIENTS:-100}; RATE=${RATE:-20}; SETTLE=${SETTLE:-2}
else NODES=${NODES:-3}; CLIENTS=${CLIENTS:-3000}; RATE=${RATE:-50}; SETTLE=${SETTLE:-10}; fi
[[ "$NODES" =~ ^[0-9]+$ && $NODES -ge 2 && $NODES -le 6 ]] || { echo "rolling-restart.sh: --nodes must be 2..6" >&2; exit 64; }
[[ "$CLIENTS" =~ ^[0-9]+$ && $CLIENTS -ge 1 && $CLIENTS -le 15000 ]] || { echo "rolling-restart.sh: --clients must be 1..15000" >&2; exit 64; }
case "$PERSISTS" in none|postgres) ;; both) PERSISTS="none postgres" ;; *) echo "rolling-restart.sh: --persistence is none, postgres or both" >&2; exit 64 ;; esac

if ! command -v nginx > /dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  # CI's fresh machine may have no nginx: the smoke says so and passes; a real run needs it.
  if [[ $SMOKE -eq 1 ]]; then echo "SKIP rolling-restart --smoke: nginx is not installed (apt-get install -y nginx)"; exit 0; fi
  echo "rolling-restart.sh: nginx is needed (apt-get install -y nginx)" >&2; exit 1
fi
STAMP="$(date +%Y%m%d-%H%M%S)"
if [[ -z "$OUT" ]]; then if [[ $SMOKE -eq 1 ]]; then OUT="$HERE/results/smoke"; else OUT="$HERE/results"; fi; fi
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
LOGDIR="$OUT/logs/$STAMP-rolling-restart"; mkdir -p "$LOGDIR"
# shellcheck source=bench/cluster-lib.sh
source "$HERE/cluster-lib.sh"
NGINX_MAX_FAILS="${NGINX_MAX_FAILS_ARG:-}"; NGINX_FAIL_TIMEOUT="${NGINX_FAIL_TIMEOUT_ARG:-}"; NGINX_CONNECT_TIMEOUT="${NGINX_CONNECT_TIMEOUT_ARG:-}"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || true)"
if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2> /dev/null; then COMMIT="$COMMIT+dirty"; fi

LPID=""
cleanup() { [[ -n "$LPID" ]] && { kill -TERM "$LPID" 2> /dev/null || true; wait "$LPID" 2> /dev/null || true; }; cl_stop_nginx; cl_stop_nodes; pg_stop; }
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $BUILD -eq 1 ]] && cl_build
[[ -f "$OURS_DLL" && -f "$LOADGEN_DLL" ]] || { echo "rolling-restart.sh: build first (run without --no-build)" >&2; exit 1; }
cl_node_bin "$NODE_HOCON"
MAXS=$([[ $SMOKE -eq 1 ]] && echo 240 || echo 1500)
FAILED=()

run_one() { # persistence
  local persist="$1" i ctl="$LOGDIR/control-$1" events="$LOGDIR/events-$1.log"
  mkdir -p "$ctl"; rm -f "$ctl"/*
  log "== rolling restart: $NODES nodes, $CLIENTS clients, $RATE ALERT/s, PERSISTENCE=$persist; load average $(loadavg)"
  NODE_ENV_EXTRA=("PERSISTENCE=$persist" "PUBLISH_RATE_PER_SECOND=0" "MAX_CONNECTIONS_PER_ADDRESS=0")
  if [[ "$persist" == postgres ]]; then
    pg_start || { log "SKIP postgres: PostgreSQL is not installed or did not start"; return 0; }
    local db="bench_rr_$(date +%H%M%S)"
    pg_createdb "$db" || { log "ERROR: createdb $db"; FAILED+=("$persist:createdb"); return 0; }
    NODE_ENV_EXTRA+=("PERSISTENCE_CONNECTION_STRING=$(pg_conn "$db")")
  fi
  cl_plan_nodes "$NODES"
  if ! cl_start_cluster 180; then FAILED+=("$persist:start"); cl_stop_nodes; return 0; fi
  if ! cl_start_nginx; then FAILED+=("$persist:nginx"); cl_stop_nodes; return 0; fi
  [[ -n "$NGINX_CONF_DIFF" ]] && log "nginx: the bench copy differs from deploy/nginx/traffic.conf: $(echo "$NGINX_CONF_DIFF" | tr '\n' ' ')"
  local urls="" pids
  for i in "${!NODE_HTTP[@]}"; do urls+="${urls:+,}http://127.0.0.1:${NODE_HTTP[$i]}"; done
  set +e
  ( ulimit -n "$FDS" 2> /dev/null || true
    export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
    exec timeout $((MAXS + 60)) dotnet "$LOADGEN_DLL" rolling-restart --n "$CLIENTS" --rates "$RATE" --dir "$ctl" \
      --url "http://127.0.0.1:$NGINX_PORT" --nodes "$urls" --persistence "$persist" --concurrency 100 \
      --target "ours-$NODES-nodes-$persist" --out "$OUT" --stamp "$STAMP" --max-seconds "$MAXS" --commit "${COMMIT:-none}" \
      --pinning "not pinned: $NODES nodes, nginx and the load generator share $(nproc) cpus" \
      --command "bash bench/rolling-restart.sh $ORIG_ARGS" $([[ $SMOKE -eq 1 ]] && echo --smoke)
  ) > "$LOGDIR/loadgen-$persist.log" 2>&1 &
  LPID=$!
  set -e
  tail -n +1 -f "$LOGDIR/loadgen-$persist.log" --pid "$LPID" 2> /dev/null | grep --line-buffered -v -e '^|' -e '^$' &
  local tailpid=$!
  local until=$((SECONDS + 240))
  while [[ ! -f "$ctl/publishing" && $SECONDS -lt $until ]] && kill -0 "$LPID" 2> /dev/null; do sleep 0.5; done
  if [[ ! -f "$ctl/publishing" ]]; then
    log "ERROR: the load generator did not start publishing"; FAILED+=("$persist:loadgen")
  else
    sleep "$SETTLE"
    # The youngest first, the oldest (node 0: the singletons) last.
    for i in $(seq $((NODES - 1)) -1 0); do
      local t0=$SECONDS pid="${NODE_PID[$i]}"
      log "node $i (port ${NODE_HTTP[$i]}, pid $pid): SIGTERM; clients per node before: $(node_counts)"
      echo "$(date +%s.%N) node$i SIGTERM pid $pid" >> "$events"
      cl_stop_pid "$pid" 60
      echo "$(date +%s.%N) node$i exited after $STOP_SECONDS s" >> "$events"
      cl_start_node "$i"
      if cl_wait_ready "$i" 180; then
        log "node $i: exited $STOP_SECONDS s after SIGTERM, started again (pid ${NODE_PID[$i]}), ready $((SECONDS - t0)) s after the signal"
        echo "$(date +%s.%N) node$i ready (pid ${NODE_PID[$i]})" >> "$events"
      else
        log "ERROR: node $i not ready within 180 s of its start again"; FAILED+=("$persist:node$i-not-back")
      fi
      sleep "$SETTLE"
    done
    log "every node restarted; clients per node: $(node_counts); stopping the publisher"
  fi
  echo stop > "$ctl/stop"
  set +e; wait "$LPID"; local rc=$?; set -e
  LPID=""
  kill "$tailpid" 2> /dev/null || true; wait "$tailpid" 2> /dev/null || true
  [[ $rc -eq 0 ]] || { log "FAILED: rolling-restart ($persist): load generator exit $rc"; FAILED+=("$persist:exit$rc"); }
  log "'unreachable' lines in the node logs: $(cat "$LOGDIR"/node*.log 2> /dev/null | grep -ci unreachable || true); load average $(loadavg)"
  cl_stop_nginx
  cl_stop_nodes
  for i in "${!NODE_LAUNCH[@]}"; do mv "$LOGDIR/node$i.log" "$LOGDIR/node$i-$persist.log" 2> /dev/null || true; done
}
node_counts() {
  local i out=""
  for i in "${!NODE_HTTP[@]}"; do out+="${NODE_HTTP[$i]}=$(curl -fsS -m 2 "http://127.0.0.1:${NODE_HTTP[$i]}/api/stats" 2> /dev/null | sed -n 's/^{"clients":\([0-9]*\).*/\1/p') "; done
  echo "$out"
}

log "stamp $STAMP-rolling-restart; commit ${COMMIT:-none}; fd limit $FDS; load average $(loadavg)"
for p in $PERSISTS; do run_one "$p"; done
pg_stop
if [[ ${#FAILED[@]} -gt 0 ]]; then log "FAILURES: ${FAILED[*]} (logs in $LOGDIR)"; exit 1; fi
log "rolling-restart OK (the run works; losses, if any, are printed above as findings): results $OUT/$STAMP-rolling-restart.jsonl, logs $LOGDIR"

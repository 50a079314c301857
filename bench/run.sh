#!/usr/bin/env bash
# Benchmark runner: builds the load generator and the baselines, starts each server under test
# pinned to one core (taskset), drives it from the load generator pinned to the other core,
# interleaves baselines and the subject (B, S, S, B per round), and writes JSON lines, Markdown
# tables and a summary with ratios into bench/results/. See bench/README.md.
#
#   bash bench/run.sh [--smoke] [--scenario NAME[,NAME..]] [--targets plain,node,ours] [--rounds K]
#                     [--no-build] [--out DIR] [--server NAME='COMMAND'] [--port-base P] [--no-loadgen-inline]
#                     [--soak-seconds S] [--ready-to-run] [-- LOADGEN_ARGS...]
#   --ready-to-run: ours from a ReadyToRun publish (linux-x64, framework-dependent) in its own folder.
#   durable-publish (PERSISTENCE none, sqlite, postgres interleaved) and restart-storm / restart-storm-kill
#   (SQLite, SIGTERM / SIGKILL in the middle) run the service only.
#
# Everything runs on 127.0.0.1, every load step is bounded in count and time, and servers are
# stopped by the PID this script started (never by name).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"

SMOKE=0
SCENARIOS=""
TARGETS="plain,node,ours"
ROUNDS=1
BUILD=1
OUT=""
PORT=${BENCH_PORT_BASE:-5400}
LOADGEN_INLINE=1
SOAK_SECONDS=${SOAK_SECONDS:-600}
READY_TO_RUN=0
declare -A CUSTOM=()
LOADGEN_EXTRA=()
ORIG_ARGS="$*"

usage() { sed -n '2,15p' "$HERE/$(basename "${BASH_SOURCE[0]}")" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --scenario|--scenarios) SCENARIOS="$2"; shift ;;
    --targets) TARGETS="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --no-loadgen-inline) LOADGEN_INLINE=0 ;;
    --out) OUT="$2"; shift ;;
    --port-base) PORT="$2"; shift ;;
    --soak-seconds) SOAK_SECONDS="$2"; shift ;;
    --ready-to-run) READY_TO_RUN=1 ;;
    --server) CUSTOM["${2%%=*}"]="${2#*=}"; shift ;;
    --) shift; LOADGEN_EXTRA=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 && "$ROUNDS" -le 20 ]] || { echo "run.sh: --rounds must be 1..20" >&2; exit 64; }
[[ "$SOAK_SECONDS" =~ ^[0-9]+$ && "$SOAK_SECONDS" -ge 10 && "$SOAK_SECONDS" -le 3600 ]] || { echo "run.sh: --soak-seconds must be 10..3600" >&2; exit 64; }

STAMP="$(date +%Y%m%d-%H%M%S)"
if [[ -z "$OUT" ]]; then
  if [[ $SMOKE -eq 1 ]]; then OUT="$HERE/results/smoke"; else OUT="$HERE/results"; fi
fi
mkdir -p "$OUT"
LOGDIR="$OUT/logs/$STAMP"
mkdir -p "$LOGDIR"

# ---- pinning and limits ---------------------------------------------------------------------
NPROC="$(nproc --all 2>/dev/null || nproc)"
if [[ "$NPROC" -ge 2 ]]; then
  SERVER_CPUS="${SERVER_CPUS:-0}"
  LOADGEN_CPUS="${LOADGEN_CPUS:-1}"
  PIN_SERVER=(taskset -c "$SERVER_CPUS")
  PIN_LOADGEN=(taskset -c "$LOADGEN_CPUS")
  PINNING="server pinned with taskset -c $SERVER_CPUS, load generator with taskset -c $LOADGEN_CPUS (nproc $NPROC)"
else
  PIN_SERVER=(); PIN_LOADGEN=()
  PINNING="not pinned: only $NPROC cpu (figures not comparable with pinned runs)"
fi
# Each server and the load generator may hold ~19 000 sockets: raise the soft fd limit to the hard one.
FDS="$(ulimit -Hn)"
[[ "$FDS" == "unlimited" ]] && FDS=1048576
ulimit -n "$FDS" 2>/dev/null || true
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"
if [[ -n "$COMMIT" ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then COMMIT="$COMMIT+dirty"; fi
COMMAND="bash bench/run.sh $ORIG_ARGS"

log() { echo "[$(date +%H:%M:%S)] $*"; }

# ---- targets ----------------------------------------------------------------------------------
PLAIN_DLL="$HERE/Baselines/PlainAspNet/bin/Release/net10.0/PlainAspNet.dll"
NODE_DIR="$HERE/Baselines/node-ws"
OURS_DLL="$ROOT/src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll"
# --ready-to-run: the service's code precompiled (ReadyToRun is a publish-time feature and needs a
# runtime identifier), so a fresh server starts without JIT-compiling its hot paths. Its own folder:
# the ordinary build above is left as it is.
OURS_R2R_DIR="$ROOT/src/Traffic.Host/bin/ReadyToRun"
[[ $READY_TO_RUN -eq 1 ]] && OURS_DLL="$OURS_R2R_DIR/Traffic.Host.dll"
LOADGEN_DLL="$HERE/LoadGen/bin/Release/net10.0/LoadGen.dll"

IFS=',' read -r -a TARGET_LIST <<< "$TARGETS"

build() {
  log "building the load generator and the baselines (Release)"
  dotnet build -c Release "$HERE/LoadGen/LoadGen.csproj" -nologo -v q > "$LOGDIR/build-loadgen.log" 2>&1 \
    || { cat "$LOGDIR/build-loadgen.log" >&2; echo "run.sh: LoadGen build failed" >&2; exit 1; }
  for t in "${TARGET_LIST[@]}"; do
    case "$t" in
      plain)
        dotnet build -c Release "$HERE/Baselines/PlainAspNet/PlainAspNet.csproj" -nologo -v q > "$LOGDIR/build-plain.log" 2>&1 \
          || { cat "$LOGDIR/build-plain.log" >&2; echo "run.sh: plain baseline build failed" >&2; exit 1; } ;;
      node)
        if [[ ! -d "$NODE_DIR/node_modules/ws" ]]; then
          (cd "$NODE_DIR" && npm ci --no-audit --no-fund > "$LOGDIR/npm-ci.log" 2>&1) \
            || { cat "$LOGDIR/npm-ci.log" >&2; echo "run.sh: npm ci for the node baseline failed" >&2; exit 1; }
        fi ;;
      ours)
        if [[ -f "$ROOT/src/Traffic.Host/Traffic.Host.csproj" && $READY_TO_RUN -eq 1 ]]; then
          log "publishing src/Traffic.Host (Release, linux-x64, ReadyToRun) into $OURS_R2R_DIR"
          dotnet publish -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$OURS_R2R_DIR" \
            -p:CustomAfterMicrosoftCommonTargets="$HERE/ReadyToRun.targets" \
            "$ROOT/src/Traffic.Host/Traffic.Host.csproj" -nologo -v q > "$LOGDIR/build-ours.log" 2>&1 \
            || log "WARNING: the ReadyToRun publish of src/Traffic.Host failed (see $LOGDIR/build-ours.log)"
        elif [[ -f "$ROOT/src/Traffic.Host/Traffic.Host.csproj" ]]; then
          log "building src/Traffic.Host (Release)"
          dotnet build -c Release "$ROOT/src/Traffic.Host/Traffic.Host.csproj" -nologo -v q > "$LOGDIR/build-ours.log" 2>&1 \
            || log "WARNING: src/Traffic.Host did not build (see $LOGDIR/build-ours.log)"
        fi ;;
    esac
  done
}

if [[ $BUILD -eq 1 ]]; then build; fi
[[ -f "$LOADGEN_DLL" ]] || { echo "run.sh: $LOADGEN_DLL missing (run without --no-build)" >&2; exit 1; }

# Drop targets that cannot run, with a clear message.
RUNNABLE=()
for t in "${TARGET_LIST[@]}"; do
  case "$t" in
    plain) [[ -f "$PLAIN_DLL" ]] && RUNNABLE+=("$t") || { echo "run.sh: plain baseline not built ($PLAIN_DLL)" >&2; exit 1; } ;;
    node) command -v node > /dev/null && [[ -d "$NODE_DIR/node_modules/ws" ]] && RUNNABLE+=("$t") \
            || { echo "run.sh: node or the ws package is missing for the node baseline" >&2; exit 1; } ;;
    ours) if [[ -f "$OURS_DLL" ]]; then RUNNABLE+=("$t"); else log "SKIP ours: $OURS_DLL does not exist (build src/Traffic.Host in Release first; with --ready-to-run, run once without --no-build)"; fi ;;
    *) if [[ -n "${CUSTOM[$t]:-}" ]]; then RUNNABLE+=("$t"); else echo "run.sh: unknown target '$t' (use --server $t='COMMAND')" >&2; exit 64; fi ;;
  esac
done
[[ ${#RUNNABLE[@]} -ge 1 ]] || { echo "run.sh: no target to run" >&2; exit 1; }

# Subject: ours when present, else the last target listed; the others are baselines.
SUBJECT="${RUNNABLE[-1]}"
for t in "${RUNNABLE[@]}"; do [[ "$t" == ours ]] && SUBJECT=ours; done
BASELINES=()
for t in "${RUNNABLE[@]}"; do [[ "$t" != "$SUBJECT" ]] && BASELINES+=("$t"); done

# ---- scenarios --------------------------------------------------------------------------------
# storm and soak are long (minutes each): a full run takes them only when named with --scenario.
ALL_REAL=(idle-memory fanout-1000 fanout-10000 burst seed-load one-to-all connect-storm hold slow-readers reconnect-storm durable-publish restart-storm restart-storm-kill)
ALL_SMOKE=(idle-memory fanout burst seed-load one-to-all connect-storm hold storm soak slow-readers reconnect-storm durable-publish restart-storm restart-storm-kill)
JOBS=()
if [[ -z "$SCENARIOS" ]]; then
  if [[ $SMOKE -eq 1 ]]; then JOBS=("${ALL_SMOKE[@]}"); else JOBS=("${ALL_REAL[@]}"); fi
else
  IFS=',' read -r -a asked <<< "$SCENARIOS"
  for s in "${asked[@]}"; do
    case "$s" in
      fanout) if [[ $SMOKE -eq 1 ]]; then JOBS+=(fanout); else JOBS+=(fanout-1000 fanout-10000); fi ;;
      idle-memory|fanout-1000|fanout-10000|burst|seed-load|one-to-all|connect-storm|hold|storm|soak|slow-readers|reconnect-storm|durable-publish|restart-storm|restart-storm-kill) JOBS+=("$s") ;;
      *) echo "run.sh: unknown scenario '$s' (idle-memory, fanout, fanout-1000, fanout-10000, burst, seed-load, one-to-all, connect-storm, hold, storm, soak, slow-readers, reconnect-storm, durable-publish, restart-storm, restart-storm-kill)" >&2; exit 64 ;;
    esac
  done
fi

# loadgen arguments for a job
job_args() {
  local job="$1"
  if [[ $SMOKE -eq 1 ]]; then
    case "$job" in
      fanout*) echo "fanout --smoke" ;;
      soak) echo "soak --smoke --duration-seconds $((SOAK_SECONDS < 20 ? SOAK_SECONDS : 20))" ;;
      durable-publish) echo "durable-publish --smoke --persistence ${SERVER_PERSISTENCE:-none}" ;;
      restart-storm) echo "restart-storm --smoke --signal TERM --restart-script $SERVER_LAUNCH" ;;
      restart-storm-kill) echo "restart-storm --smoke --signal KILL --restart-script $SERVER_LAUNCH" ;;
      *) echo "$job --smoke" ;;
    esac
    return
  fi
  case "$job" in
    idle-memory) echo "idle-memory --n 10000" ;;
    fanout-1000) echo "fanout --n 1000" ;;
    fanout-10000) echo "fanout --n 10000" ;;
    seed-load) echo "seed-load --n 1000" ;;
    one-to-all) echo "one-to-all --n 10000" ;;
    burst) echo "burst --n 10000 --messages 100 --rounds 6" ;;
    connect-storm) echo "connect-storm" ;;
    hold) echo "hold --n 19000" ;;
    storm) echo "storm --n 5000 --rounds 5 --settle-seconds 30" ;;
    soak) echo "soak --n 2000 --churn 1000 --duration-seconds $SOAK_SECONDS" ;;
    slow-readers) echo "slow-readers --n 1000 --frame-bytes 1024" ;;
    slow-readers-none) echo "slow-readers --n 1000 --frame-bytes 1024 --slow-every 0" ;;
    reconnect-storm) echo "reconnect-storm --n 2000 --rates 50 --away-seconds 2 --step-seconds 5" ;;
    durable-publish) echo "durable-publish --n 10 --rates 200 --step-seconds 10 --in-flight 8,32,64 --persistence ${SERVER_PERSISTENCE:-none}" ;;
    restart-storm) echo "restart-storm --n 2000 --rates 50 --step-seconds 10 --signal TERM --restart-script $SERVER_LAUNCH" ;;
    restart-storm-kill) echo "restart-storm --n 2000 --rates 50 --step-seconds 10 --signal KILL --restart-script $SERVER_LAUNCH" ;;
  esac
}

# ---- server lifecycle -------------------------------------------------------------------------
SERVER_PID=""
SERVER_PORT=""

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Persistence of the service for the next start_server: none (the fan-out scenarios compare
# servers that keep nothing), sqlite (a fresh file under bench/results/tmp/ per run) or postgres
# (a fresh database in the throwaway PostgreSQL server below). durable-publish and restart-storm set it.
SERVER_PERSISTENCE=""
SERVER_ENV_EXTRA=""
SERVER_LAUNCH=""
SERVER_DB_FILE=""

start_server() {
  local target="$1"
  PORT=$((PORT + 1))
  while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
  SERVER_PORT=$PORT
  local logf="$LOGDIR/server-$target-$SERVER_PORT.log"
  local dir="$ROOT" cmd=()
  # A --server command comes first: `ours-*` names are the service's (persistence applies), and
  # an A/B such as --server ours-base='dotnet /elsewhere/Traffic.Host.dll' must run that command,
  # not this tree's build (before 2026-12-07 late it did: see results/20261207-issue22-round5.md).
  if [[ -n "${CUSTOM[$target]:-}" ]]; then cmd=(bash -c "exec ${CUSTOM[$target]}")
  else
    case "$target" in
      plain) cmd=(dotnet "$PLAIN_DLL") ;;
      node) dir="$NODE_DIR"; cmd=(node server.js) ;;
      *) cmd=(dotnet "$OURS_DLL") ;; # ours, and durable-publish's ours-<backend>
    esac
  fi
  local persistence="${SERVER_PERSISTENCE:-${BENCH_PERSISTENCE:-none}}" pextra=""
  # Only the service keeps anything: the baselines have no persistence (nor a /health/ready to wait for).
  [[ "$target" == ours || "$target" == ours-* ]] || persistence=none
  SERVER_DB_FILE=""
  case "$persistence" in
    sqlite)
      mkdir -p "$HERE/results/tmp"
      SERVER_DB_FILE="$HERE/results/tmp/$STAMP-$target-$SERVER_PORT.db"
      rm -f "$SERVER_DB_FILE" "$SERVER_DB_FILE-wal" "$SERVER_DB_FILE-shm"
      pextra="export PERSISTENCE_PATH=$(printf %q "$SERVER_DB_FILE")" ;;
    postgres)
      local db; db="bench_$(echo "$STAMP-$target-$SERVER_PORT" | tr -c 'a-zA-Z0-9\n' '_')"
      pg_createdb "$db" || { log "ERROR: could not create database $db"; return 1; }
      pextra="export PERSISTENCE_CONNECTION_STRING=$(printf %q "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$db;Pooling=true;Timeout=5;Command Timeout=10")" ;;
  esac
  # The server is started by a small script, so that a scenario can start it again exactly alike
  # (restart-storm: same port, same file, same settings); its output is appended to one log.
  SERVER_LAUNCH="$LOGDIR/launch-$target-$SERVER_PORT.sh"
  {
    echo "#!/usr/bin/env bash"
    echo "cd $(printf %q "$dir")"
    echo "ulimit -n $FDS 2> /dev/null || true"
    echo "export WS_HOST=127.0.0.1 WS_PORT=$SERVER_PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false"
    echo "export PERSISTENCE=$persistence"
    [[ -n "$SERVER_ENV_EXTRA" ]] && echo "export $SERVER_ENV_EXTRA"
    [[ -n "$pextra" ]] && echo "$pextra"
    echo "unset DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"
    echo "export DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning"
    printf 'exec'; printf ' %q' "${PIN_SERVER[@]}" "${cmd[@]}"; printf ' >> %q 2>&1\n' "$logf"
  } > "$SERVER_LAUNCH"
  bash "$SERVER_LAUNCH" < /dev/null &
  SERVER_PID=$!
  local i
  for i in $(seq 1 150); do
    if ! kill -0 "$SERVER_PID" 2> /dev/null; then
      log "ERROR: $target exited at start; log $logf:"; tail -20 "$logf" >&2; SERVER_PID=""; return 1
    fi
    if curl -fsS -m 1 "http://127.0.0.1:$SERVER_PORT/health" > /dev/null 2>&1; then
      # With persistence, /health answers before the journal is recovered: wait for readiness too.
      if [[ "$persistence" != none ]]; then
        curl -fsS -m 1 "http://127.0.0.1:$SERVER_PORT/health/ready" > /dev/null 2>&1 || { sleep 0.2; continue; }
      fi
      log "$target up on 127.0.0.1:$SERVER_PORT (pid $SERVER_PID, cpus $(taskset -pc "$SERVER_PID" 2> /dev/null | sed 's/.*: //'), PERSISTENCE=$persistence)"
      return 0
    fi
    sleep 0.2
  done
  log "ERROR: $target did not answer /health within 30 s; log $logf"; stop_server; return 1
}

# ---- a throwaway PostgreSQL server (as tests/Traffic.Tests/Support/Postgres.cs starts one) ------
PG_BIN=""
for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && PG_BIN="$d"; done
PG_DIR=""
PG_PORT=""
pg_run() { # tool args...: as the postgres user when root (PostgreSQL refuses to run as root)
  local tool="$1"; shift
  if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$PG_BIN/$tool" "$@"; else "$PG_BIN/$tool" "$@"; fi
}
pg_start() {
  [[ -n "$PG_DIR" ]] && return 0
  [[ -n "$PG_BIN" ]] || return 1
  PG_DIR="$(mktemp -d /tmp/traffic-bench-pg-XXXXXX)"
  chmod 777 "$PG_DIR"
  PG_PORT=$((PORT + 500))
  while ! port_free "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
  if ! (cd "$PG_DIR" && pg_run initdb -D "$PG_DIR/data" -A trust -U postgres --no-sync > "$LOGDIR/pg-initdb.log" 2>&1 \
        && pg_run pg_ctl -D "$PG_DIR/data" -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" \
             -l "$PG_DIR/log" -w -t 60 start > "$LOGDIR/pg-start.log" 2>&1); then
    log "ERROR: PostgreSQL did not start (see $LOGDIR/pg-*.log)"; cat "$LOGDIR"/pg-*.log >&2 || true; pg_stop; return 1
  fi
  log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') up on 127.0.0.1:$PG_PORT ($PG_DIR; fsync=off as in the tests)"
}
pg_createdb() { (cd "$PG_DIR" && pg_run createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1") >> "$LOGDIR/pg-createdb.log" 2>&1; }
pg_stop() {
  [[ -n "$PG_DIR" ]] || return 0
  (cd "$PG_DIR" && pg_run pg_ctl -D "$PG_DIR/data" -m fast -w -t 60 stop) > /dev/null 2>&1 || true
  cp "$PG_DIR/log" "$LOGDIR/postgres.log" 2> /dev/null || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}

stop_server() {
  if [[ -z "$SERVER_PID" ]]; then drop_db_file; return 0; fi
  kill -TERM "$SERVER_PID" 2> /dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$SERVER_PID" 2> /dev/null || break; sleep 0.2; done
  kill -KILL "$SERVER_PID" 2> /dev/null || true
  wait "$SERVER_PID" 2> /dev/null || true
  SERVER_PID=""
  drop_db_file
}
# The SQLite file of the run that just ended (and its WAL, shared memory and lock files): kept by nobody.
drop_db_file() {
  if [[ -n "$SERVER_DB_FILE" ]]; then rm -f "$SERVER_DB_FILE" "$SERVER_DB_FILE"-wal "$SERVER_DB_FILE"-shm "$SERVER_DB_FILE".lock; SERVER_DB_FILE=""; fi
}
trap 'stop_server; pg_stop' EXIT
trap 'stop_server; pg_stop; exit 130' INT TERM

FAILED=()
run_loadgen() { # target round slot job
  local target="$1" round="$2" slot="$3" job="$4" rc=0 max
  if [[ $SMOKE -eq 1 ]]; then max=60; else max=1800; fi
  [[ "$job" == soak && $SMOKE -eq 0 ]] && max=$((SOAK_SECONDS + 600))
  [[ "$job" == restart-storm* && $SMOKE -eq 1 ]] && max=150
  local lf="$LOGDIR/loadgen-$job-$target-r$round-s$slot.log"
  set +e
  # shellcheck disable=SC2046
  (
    ulimit -n "$FDS" 2> /dev/null || true
    # Socket continuations run inline on the epoll thread: ~20 % less load generator CPU per
    # message than a hop to the thread pool (its continuations are short). --no-loadgen-inline: off.
    [[ $LOADGEN_INLINE -eq 1 ]] && export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
    exec timeout $((max + 30)) "${PIN_LOADGEN[@]}" dotnet "$LOADGEN_DLL" $(job_args "$job") \
      --url "http://127.0.0.1:$SERVER_PORT" --server-pid "$SERVER_PID" --target "$target" \
      --round "$round" --slot "$slot" --out "$OUT" --stamp "$STAMP" --max-seconds "$max" \
      --commit "${COMMIT:-none}" --pinning "$PINNING" --command "$COMMAND" "${LOADGEN_EXTRA[@]}"
  ) 2>&1 | tee "$lf" | grep --line-buffered -v -e '^|' -e '^$'
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc -ne 0 ]]; then
    log "FAILED: $job on $target (round $round, slot $slot): exit $rc"
    FAILED+=("$job/$target/r$round/s$slot:exit$rc")
  fi
  if [[ "$job" == restart-storm* ]]; then
    # The load generator stopped this server itself (the signal is the scenario) and stopped the one it started again.
    wait "$SERVER_PID" 2> /dev/null || true
    SERVER_PID=""
  elif [[ -n "$SERVER_PID" ]] && ! kill -0 "$SERVER_PID" 2> /dev/null; then
    log "FAILED: $target died during $job"
    FAILED+=("$job/$target/r$round/s$slot:server-died")
    SERVER_PID=""
  fi
}

run_one() { # target round slot job...   (one fresh server for the listed jobs)
  local target="$1" round="$2" slot="$3"; shift 3
  if ! start_server "$target"; then FAILED+=("$target/r$round/s$slot:start"); return; fi
  local job
  for job in "$@"; do
    log "== $job on $target (round $round, slot $slot)"
    run_loadgen "$target" "$round" "$slot" "$job"
    [[ -n "$SERVER_PID" ]] || break
  done
  stop_server
}

# One job of a full run. slow-readers is two runs on fresh servers: the reference (nobody stops
# reading) and the real one, in the order reference, slow in odd slots and slow, reference in even
# ones, so that drift of the machine hits both alike; the summary pairs them by round and slot.
run_job() { # target round slot job
  local target="$1" round="$2" slot="$3" job="$4"
  if [[ "$job" == slow-readers ]]; then
    if (( slot % 2 == 1 )); then
      run_one "$target" "$round" "$slot" slow-readers-none; run_one "$target" "$round" "$slot" slow-readers
    else
      run_one "$target" "$round" "$slot" slow-readers; run_one "$target" "$round" "$slot" slow-readers-none
    fi
  else
    run_one "$target" "$round" "$slot" "$job"
  fi
}

# durable-publish: the service with PERSISTENCE=none, sqlite, postgres, one fresh server each (a
# fresh SQLite file, a fresh PostgreSQL database). Without PostgreSQL that leg is skipped, said so.
run_durable() { # round backend
  local round="$1" b="$2"
  if [[ "$b" == postgres ]] && ! pg_start; then
    log "SKIP durable-publish on postgres: PostgreSQL is not installed or did not start (initdb under /usr/lib/postgresql/*/bin; apt-get install -y postgresql)"
    return 0
  fi
  SERVER_PERSISTENCE="$b"
  # The publish rate limit (PUBLISH_RATE_PER_SECOND, 2 000/s by default) would cap the closed loop
  # at the very figure measured: off here, unless set in the environment.
  SERVER_ENV_EXTRA="PUBLISH_RATE_PER_SECOND=${PUBLISH_RATE_PER_SECOND:-0}"
  run_one "ours-$b" "$round" 1 durable-publish
  SERVER_PERSISTENCE=""; SERVER_ENV_EXTRA=""
}
# restart-storm(-kill): the service on SQLite, stopped and started again by the load generator.
run_restart() { # round job
  SERVER_PERSISTENCE=sqlite
  run_one ours "$1" 1 "$2"
  SERVER_PERSISTENCE=""
}
is_service_only() { [[ "$1" == durable-publish || "$1" == restart-storm* ]]; }

log "stamp $STAMP; targets: ${RUNNABLE[*]} (subject $SUBJECT); scenarios: ${JOBS[*]}; rounds $ROUNDS"
log "pinning: $PINNING; fd limit $FDS; commit ${COMMIT:-none}; results in $OUT"
[[ $READY_TO_RUN -eq 1 ]] && log "ours: ReadyToRun publish $OURS_DLL"
T0=$SECONDS
if [[ $SMOKE -eq 1 ]]; then
  # Smoke: one server per target runs every scenario once; slot 1 pairs the subject with each baseline.
  # reconnect-storm needs positions and resume, which only the service has: subject only.
  for t in "${RUNNABLE[@]}"; do
    jobs=()
    for j in "${JOBS[@]}"; do
      is_service_only "$j" && continue
      [[ "$j" == reconnect-storm && "$t" != "$SUBJECT" ]] || jobs+=("$j")
    done
    [[ ${#jobs[@]} -gt 0 ]] && run_one "$t" 1 1 "${jobs[@]}"
  done
  # Persistence (issue 18): a fresh server per leg; PostgreSQL only for its leg of a few seconds.
  for j in "${JOBS[@]}"; do
    is_service_only "$j" || continue
    if [[ "$SUBJECT" != ours ]]; then log "SKIP $j: it measures the service's persistence (target ours)"; continue; fi
    case "$j" in
      durable-publish) run_durable 1 none; run_durable 1 sqlite; run_durable 1 postgres; pg_stop ;;
      restart-storm*) run_restart 1 "$j" ;;
    esac
  done
else
  for round in $(seq 1 "$ROUNDS"); do
    for job in "${JOBS[@]}"; do
      if is_service_only "$job"; then
        if [[ "$SUBJECT" != ours ]]; then log "SKIP $job: it measures the service's persistence (target ours)"; continue; fi
        case "$job" in
          durable-publish) run_durable "$round" none; run_durable "$round" sqlite; run_durable "$round" postgres ;;
          restart-storm*) run_restart "$round" "$job" ;;
        esac
        continue
      fi
      if [[ "$job" == reconnect-storm ]]; then
        # Only the service resumes (the baselines have no positions): no baseline, no ratio.
        run_one "$SUBJECT" "$round" 1 "$job"
        continue
      fi
      if [[ ${#BASELINES[@]} -eq 0 ]]; then
        run_job "$SUBJECT" "$round" 1 "$job"
        [[ "$job" == slow-readers ]] && run_job "$SUBJECT" "$round" 2 "$job"
        continue
      fi
      k=0
      for b in "${BASELINES[@]}"; do
        # B, S, S, B: slots 2k+1 and 2k+2 pair the subject with this baseline.
        s1=$((2 * k + 1)); s2=$((2 * k + 2))
        run_job "$b" "$round" "$s1" "$job"
        run_job "$SUBJECT" "$round" "$s1" "$job"
        run_job "$SUBJECT" "$round" "$s2" "$job"
        run_job "$b" "$round" "$s2" "$job"
        k=$((k + 1))
      done
    done
  done
fi

log "all runs done in $((SECONDS - T0)) s; summarizing"
dotnet "$LOADGEN_DLL" summarize --out "$OUT" --stamp "$STAMP" --subject "$SUBJECT" > "$LOGDIR/summary.log" 2>&1 \
  || { cat "$LOGDIR/summary.log" >&2; FAILED+=("summarize"); }
if [[ -f "$OUT/$STAMP-summary.md" ]]; then
  sed -n '/^## Figures/,/^## Runs/p' "$OUT/$STAMP-summary.md" | sed '$d'
  log "summary: $OUT/$STAMP-summary.md"
fi
if [[ ${#FAILED[@]} -gt 0 ]]; then
  log "FAILURES: ${FAILED[*]}"
  exit 1
fi
log "bench OK"

# Shared helpers of bench/scale-out.sh and bench/rolling-restart.sh (issue 20): cluster nodes on
# 127.0.0.1 started by a launch script each (so that a node is started again exactly alike), nginx
# in front of them from deploy/nginx/traffic.conf (ports replaced), a throwaway PostgreSQL (as
# bench/run.sh and tests/Traffic.Tests/Support/Postgres.cs start one), and stopping by PID only.
# Source it after setting HERE, ROOT, LOGDIR and PORT. Nothing here is stopped by name.

OURS_DLL="$ROOT/src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll"
LOADGEN_DLL="$HERE/LoadGen/bin/Release/net10.0/LoadGen.dll"
FDS="$(ulimit -Hn)"; [[ "$FDS" == "unlimited" ]] && FDS=1048576
[[ "$FDS" -gt 20000 ]] && FDS=20000 # the limit of this machine (and the brief): at most 20 000 files per process
ulimit -n "$FDS" 2> /dev/null || true
log() { echo "[$(date +%H:%M:%S)] $*"; }
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
next_port() { PORT=$((PORT + 1)); while ! port_free "$PORT"; do PORT=$((PORT + 1)); done; } # sets PORT
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

cl_build() {
  log "building the service and the load generator (Release)"
  dotnet build -c Release "$ROOT/src/Traffic.Host/Traffic.Host.csproj" -nologo -v q > "$LOGDIR/build-ours.log" 2>&1 \
    || { cat "$LOGDIR/build-ours.log" >&2; return 1; }
  dotnet build -c Release "$HERE/LoadGen/LoadGen.csproj" -nologo -v q > "$LOGDIR/build-loadgen.log" 2>&1 \
    || { cat "$LOGDIR/build-loadgen.log" >&2; return 1; }
}

# ---- nodes ------------------------------------------------------------------------------------
# The nodes run from NODE_BIN: the build folder, or (with extra HOCON, --node-hocon) a copy of it
# under LOGDIR whose hocon/cluster.hocon has the extra lines appended (later keys win in HOCON).
# The service reads its Akka settings only from those files; no variable takes extra HOCON.
NODE_BIN=""
cl_node_bin() { # extra-hocon
  local extra="$1"
  if [[ -z "$extra" ]]; then NODE_BIN="$(dirname "$OURS_DLL")"; return 0; fi
  NODE_BIN="$LOGDIR/node-bin"
  rm -rf "$NODE_BIN"; cp -r "$(dirname "$OURS_DLL")" "$NODE_BIN"
  printf '\n# bench (--node-hocon), appended by bench/cluster-lib.sh\n%s\n' "$extra" >> "$NODE_BIN/hocon/cluster.hocon"
  log "nodes run from a copy of the build with this appended to hocon/cluster.hocon: $extra"
}

NODE_HTTP=(); NODE_AKKA=(); NODE_MGMT=(); NODE_PID=(); NODE_LAUNCH=()
NODE_ENV_EXTRA=()   # (NAME=VALUE ...) for every node
NODE_PIN=()         # e.g. (taskset -c 0)
CL_DISCOVERY=seeds  # seeds: AKKA_SEED_NODES (the first two nodes); config: Cluster Bootstrap with AKKA_DISCOVERY=config
cl_plan_nodes() { # count: picks the ports
  local count="$1" i
  NODE_HTTP=(); NODE_AKKA=(); NODE_MGMT=(); NODE_PID=(); NODE_LAUNCH=()
  for i in $(seq 0 $((count - 1))); do next_port; NODE_HTTP+=("$PORT"); next_port; NODE_AKKA+=("$PORT"); next_port; NODE_MGMT+=("$PORT"); done
  local seeds="127.0.0.1:${NODE_AKKA[0]}" endpoints=""
  [[ $count -gt 1 ]] && seeds+=",127.0.0.1:${NODE_AKKA[1]}"
  for i in $(seq 0 $((count - 1))); do endpoints+="${endpoints:+,}127.0.0.1:${NODE_MGMT[$i]}"; done
  for i in $(seq 0 $((count - 1))); do
    NODE_LAUNCH[$i]="$LOGDIR/launch-node$i.sh"
    {
      echo "#!/usr/bin/env bash"
      echo "cd $(printf %q "$NODE_BIN")"
      echo "ulimit -n $FDS 2> /dev/null || true"
      echo "export WS_HOST=127.0.0.1 WS_PORT=${NODE_HTTP[$i]} PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false"
      if [[ "$CL_DISCOVERY" == config ]]; then # no seed list: the nodes find each other's management endpoints
        echo "export AKKA_HOSTNAME=127.0.0.1 AKKA_PORT=${NODE_AKKA[$i]} AKKA_DISCOVERY=config AKKA_DISCOVERY_ENDPOINTS=$endpoints AKKA_MANAGEMENT_HOSTNAME=127.0.0.1 AKKA_MANAGEMENT_PORT=${NODE_MGMT[$i]}"
      else
        echo "export AKKA_HOSTNAME=127.0.0.1 AKKA_PORT=${NODE_AKKA[$i]} AKKA_SEED_NODES=$seeds"
      fi
      echo "export DOTNET_CLI_TELEMETRY_OPTOUT=1 ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning"
      local kv
      for kv in "${NODE_ENV_EXTRA[@]}"; do printf 'export %q\n' "$kv"; done
      echo "unset DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"
      printf 'exec'; printf ' %q' "${NODE_PIN[@]}" dotnet "$NODE_BIN/Traffic.Host.dll"; printf ' >> %q 2>&1\n' "$LOGDIR/node$i.log"
    } > "${NODE_LAUNCH[$i]}"
  done
}
cl_start_node() { # index
  bash "${NODE_LAUNCH[$1]}" < /dev/null &
  NODE_PID[$1]=$!
}
cl_node_ready() { curl -fsS -m 2 "http://127.0.0.1:${NODE_HTTP[$1]}/health/ready" > /dev/null 2>&1; }
cl_wait_ready() { # index timeout-seconds: 0 once /health/ready answers 200
  local i="$1" until=$((SECONDS + $2))
  while [[ $SECONDS -lt $until ]]; do
    kill -0 "${NODE_PID[$i]}" 2> /dev/null || { log "ERROR: node $i (pid ${NODE_PID[$i]}) exited; tail of $LOGDIR/node$i.log:"; tail -15 "$LOGDIR/node$i.log" >&2; return 1; }
    cl_node_ready "$i" && return 0
    sleep 0.25
  done
  return 1
}
# Starts every node at once; sets FORMATION_SECONDS (first start -> every node's /health/ready 200).
cl_start_cluster() { # timeout-seconds
  local i t0 rest=()
  t0=$(date +%s.%N)
  for i in "${!NODE_LAUNCH[@]}"; do cl_start_node "$i"; done
  for i in "${!NODE_LAUNCH[@]}"; do
    cl_wait_ready "$i" "$1" || { log "ERROR: node $i not ready within $1 s (log $LOGDIR/node$i.log)"; return 1; }
  done
  FORMATION_SECONDS=$(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f')
  for i in "${!NODE_PID[@]}"; do rest+=("${NODE_HTTP[$i]}:${NODE_PID[$i]}"); done
  log "cluster of ${#NODE_PID[@]} formed and ready in $FORMATION_SECONDS s (port:pid ${rest[*]}); load average $(loadavg)"
}
# The real server process under a launch script (bash exec's dotnet, so it is the same PID).
cl_stop_pid() { # pid [seconds before SIGKILL]: SIGTERM, wait, SIGKILL; sets STOP_SECONDS
  local pid="$1" max="${2:-30}" t0 i
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2> /dev/null || true
  for i in $(seq 1 $((max * 10))); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2> /dev/null; then log "pid $pid still running $max s after SIGTERM: SIGKILL"; kill -KILL "$pid" 2> /dev/null || true; fi
  wait "$pid" 2> /dev/null || true
  STOP_SECONDS=$(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f')
}
cl_stop_nodes() {
  local i
  for i in "${!NODE_PID[@]}"; do [[ -n "${NODE_PID[$i]}" ]] && kill -TERM "${NODE_PID[$i]}" 2> /dev/null || true; done
  for i in "${!NODE_PID[@]}"; do [[ -n "${NODE_PID[$i]}" ]] && cl_stop_pid "${NODE_PID[$i]}" 30; NODE_PID[$i]=""; done
}

# ---- nginx --------------------------------------------------------------------------------------
# deploy/nginx/traffic.conf with this run's ports and its own server parameters. NGINX_MAX_FAILS,
# NGINX_FAIL_TIMEOUT, NGINX_CONNECT_TIMEOUT, when set, replace the file's max_fails, fail_timeout
# and proxy_connect_timeout in the bench copy only (the run prints the difference); /api/stats is answered for the whole cluster as in bench/cluster.sh.
NGINX_PID=""; NGINX_PORT=""; NGINX_MAX_FAILS=""; NGINX_FAIL_TIMEOUT=""; NGINX_CONNECT_TIMEOUT=""
cl_start_nginx() {
  local nginx; nginx="$(command -v nginx || true)"; [[ -z "$nginx" && -x /usr/sbin/nginx ]] && nginx=/usr/sbin/nginx
  [[ -n "$nginx" ]] || { log "ERROR: nginx is needed (apt-get install -y nginx)"; return 1; }
  next_port; NGINX_PORT="$PORT"
  local dir="$LOGDIR/nginx-$NGINX_PORT" servers="" i params
  mkdir -p "$dir"; chmod 777 "$dir"
  # The deploy file's own server parameters (max_fails, fail_timeout, ...), unless overridden.
  params="$(sed -n 's/^ *server 127\.0\.0\.1:[0-9]* \(.*\);.*$/\1/p' "$ROOT/deploy/nginx/traffic.conf" | head -1)"
  [[ -n "$NGINX_MAX_FAILS" ]] && params="$(echo "$params" | sed "s/max_fails=[0-9]*/max_fails=$NGINX_MAX_FAILS/")"
  [[ -n "$NGINX_FAIL_TIMEOUT" ]] && params="$(echo "$params" | sed "s/fail_timeout=[0-9a-z]*/fail_timeout=$NGINX_FAIL_TIMEOUT/")"
  for i in "${!NODE_HTTP[@]}"; do servers+="    server 127.0.0.1:${NODE_HTTP[$i]} $params;"$'\n'; done
  awk -v servers="$servers" -v listen="$NGINX_PORT" -v ct="$NGINX_CONNECT_TIMEOUT" '
    /server 127\.0\.0\.1:[0-9]+ max_fails/ { if (!done) { printf "%s", servers; done = 1 } next }
    /listen 127\.0\.0\.1:[0-9]+;/ { sub(/127\.0\.0\.1:[0-9]+/, "127.0.0.1:" listen) }
    /proxy_connect_timeout/ && ct != "" { sub(/proxy_connect_timeout [0-9a-z]+;/, "proxy_connect_timeout " ct ";") }
    /location \/ \{/ { print "    location = /api/stats {\n        proxy_pass http://traffic_nodes/api/stats?scope=cluster;\n        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n    }\n" }
    { print }' "$ROOT/deploy/nginx/traffic.conf" > "$dir/traffic.conf"
  cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $FDS;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 19000; }
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
  NGINX_CONF_DIFF="$(diff <(sed 's/127\.0\.0\.1:[0-9]*/127.0.0.1:PORT/g' "$ROOT/deploy/nginx/traffic.conf" | grep -v '^ *server 127.0.0.1:PORT ') \
    <(sed 's/127\.0\.0\.1:[0-9]*/127.0.0.1:PORT/g' "$dir/traffic.conf" | grep -v '^ *server 127.0.0.1:PORT ') | grep '^[<>]' || true)"
  [[ "$(sed -n 's/^ *server 127\.0\.0\.1:[0-9]* \(.*\);.*$/\1/p' "$ROOT/deploy/nginx/traffic.conf" | head -1)" != "$params" ]] && NGINX_CONF_DIFF+=" server parameters: $params"
  ( exec "$nginx" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' ) > "$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  for i in $(seq 1 100); do
    curl -fsS -m 1 "http://127.0.0.1:$NGINX_PORT/health" > /dev/null 2>&1 && { log "nginx up on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID; server $params; $(grep -o 'proxy_connect_timeout [^;]*' "$dir/traffic.conf")); conf $dir/traffic.conf"; return 0; }
    kill -0 "$NGINX_PID" 2> /dev/null || { log "ERROR: nginx exited: $(cat "$dir/error.log" "$dir/stdout.log" 2> /dev/null | tail -5)"; return 1; }
    sleep 0.1
  done
  log "ERROR: nginx does not answer on $NGINX_PORT"; return 1
}
cl_stop_nginx() { [[ -n "$NGINX_PID" ]] && cl_stop_pid "$NGINX_PID" 10; NGINX_PID=""; }

# ---- a throwaway PostgreSQL (as bench/run.sh) ---------------------------------------------------
PG_BIN=""
for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && PG_BIN="$d"; done
PG_DIR=""; PG_PORT=""
pg_run() { local tool="$1"; shift; if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$PG_BIN/$tool" "$@"; else "$PG_BIN/$tool" "$@"; fi; }
pg_start() {
  [[ -n "$PG_DIR" ]] && return 0
  [[ -n "$PG_BIN" ]] || return 1
  PG_DIR="$(mktemp -d /tmp/traffic-bench-pg-XXXXXX)"; chmod 777 "$PG_DIR"
  next_port; PG_PORT="$PORT"
  if ! (cd "$PG_DIR" && pg_run initdb -D "$PG_DIR/data" -A trust -U postgres --no-sync > "$LOGDIR/pg-initdb.log" 2>&1 \
        && pg_run pg_ctl -D "$PG_DIR/data" -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
             -l "$PG_DIR/log" -w -t 60 start > "$LOGDIR/pg-start.log" 2>&1); then
    log "ERROR: PostgreSQL did not start (see $LOGDIR/pg-*.log)"; pg_stop; return 1
  fi
  log "PostgreSQL up on 127.0.0.1:$PG_PORT ($PG_DIR; fsync=off as in the tests)"
}
pg_createdb() { (cd "$PG_DIR" && pg_run createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1") >> "$LOGDIR/pg-createdb.log" 2>&1; }
pg_conn() { echo "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$1;Pooling=true;Timeout=5;Command Timeout=10"; }
pg_stop() {
  [[ -n "$PG_DIR" ]] || return 0
  (cd "$PG_DIR" && pg_run pg_ctl -D "$PG_DIR/data" -m fast -w -t 60 stop) > /dev/null 2>&1 || true
  cp "$PG_DIR/log" "$LOGDIR/postgres.log" 2> /dev/null || true
  rm -rf "$PG_DIR"; PG_DIR=""
}

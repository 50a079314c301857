#!/bin/bash
# $1 label; DLL env: which build; idle-memory at 10 000 (with sqlite, as the bench does)
cd /work/main
PORT=$((7900 + RANDOM % 30)); rm -f /tmp/prof/idle.db*
(ulimit -n 30000; env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
   PERSISTENCE=sqlite PERSISTENCE_PATH=/tmp/prof/idle.db taskset -c 0 dotnet ${DLL:-src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll} > /tmp/prof/server-$1.log 2>&1) &
until curl -sf -m 1 http://127.0.0.1:$PORT/health/ready > /dev/null; do sleep 0.5; done
SPID=$(ss -ltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
(ulimit -n 30000; taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll idle-memory --url http://127.0.0.1:$PORT --key bench-publish-key \
   --server-pid $SPID --n 10000 --target $1 --out /tmp/prof/out > /tmp/prof/lg-$1.log 2>&1)
grep "idle-memory:" /tmp/prof/lg-$1.log
kill $SPID; wait 2>/dev/null

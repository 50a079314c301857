#!/bin/bash
# $1 label; $2 extra env; profiles bursts of ours with perf on the pinned server
cd /work/main
PORT=$((7960 + RANDOM % 30)); rm -f /tmp/prof/ab.db*
(ulimit -n 20000; env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false \
   PERSISTENCE=sqlite PERSISTENCE_PATH=/tmp/prof/ab.db DOTNET_PerfMapEnabled=1 $2 taskset -c 0 dotnet ${DLL:-src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll} > /tmp/prof/server-$1.log 2>&1) &
until curl -sf -m 1 http://127.0.0.1:$PORT/health/ready > /dev/null; do sleep 0.5; done
SPID=$(ss -ltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll burst --url http://127.0.0.1:$PORT --key bench-publish-key \
   --server-pid $SPID --n 10000 --messages 100 --rounds ${ROUNDS:-6} --target $1 --out /tmp/prof/out > /tmp/prof/lg-$1.log 2>&1 &
LG=$!
if [ -n "$PERF" ]; then sleep ${PERF_DELAY:-25}; perf record -F 999 -g -p $SPID -o /tmp/prof/perf-$1.data -- sleep 10 2>/dev/null; fi
wait $LG
grep -i "server CPU" /tmp/prof/lg-$1.log
kill $SPID

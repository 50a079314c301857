#!/bin/bash
cd /work/main
PORT=$((7930 + RANDOM % 30))
(ulimit -n 20000; env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning taskset -c 0 dotnet bench/Baselines/PlainAspNet/bin/Release/net10.0/PlainAspNet.dll > /tmp/prof/server-$1.log 2>&1) &
until curl -sf -m 1 http://127.0.0.1:$PORT/health > /dev/null; do sleep 0.5; done
SPID=$(ss -ltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll burst --url http://127.0.0.1:$PORT --key bench-publish-key \
   --server-pid $SPID --n 10000 --messages 100 --rounds ${ROUNDS:-6} --target $1 --out /tmp/prof/out > /tmp/prof/lg-$1.log 2>&1
grep -i "server CPU" /tmp/prof/lg-$1.log
kill $SPID

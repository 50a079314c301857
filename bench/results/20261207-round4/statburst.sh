#!/bin/bash
# $1 label, $2 server: ours|plain ; counts syscalls during bursts 4-.. (perf stat over 12 s from 20 s)
cd /work/main
PORT=$((7960 + RANDOM % 30)); rm -f /tmp/prof/ab.db*
if [ "$2" = plain ]; then
 (env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning taskset -c 0 dotnet bench/Baselines/PlainAspNet/bin/Release/net10.0/PlainAspNet.dll > /tmp/prof/server-$1.log 2>&1) &
 H=health
else
 (env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning \
   PERSISTENCE=sqlite PERSISTENCE_PATH=/tmp/prof/ab.db taskset -c 0 dotnet ${DLL:-src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll} > /tmp/prof/server-$1.log 2>&1) &
 H=health/ready
fi
until curl -sf -m 1 http://127.0.0.1:$PORT/$H > /dev/null; do sleep 0.5; done
SPID=$(ss -ltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll burst --url http://127.0.0.1:$PORT --key bench-publish-key \
   --server-pid $SPID --n 10000 --messages 100 --rounds ${ROUNDS:-14} --target $1 --out /tmp/prof/out > /tmp/prof/lg-$1.log 2>&1 &
LG=$!
sleep ${DELAY:-20}; perf stat -e 'syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex,context-switches' -p $SPID -o /tmp/prof/stat-$1.txt -- sleep 12
wait $LG
grep -i "server CPU" /tmp/prof/lg-$1.log
grep -E "^ +[0-9]" /tmp/prof/stat-$1.txt
kill $SPID

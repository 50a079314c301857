#!/bin/bash
# Round 5 (issue 22): syscalls per delivery in one-to-all (one publish to 10 000 subscribers, again and again).
# Server pinned to core 0 (ours with PERSISTENCE=sqlite), LoadGen one-to-all on core 1; perf stat over 10 s
# once the warm-up publish has arrived everywhere; deliveries = publishes completed in that window x 10 000.
#   bench/results/20261207-round5/statall.sh LABEL ours|plain
LABEL=$1; cd /work/main; OUT=/tmp/r5; rm -f $OUT/$LABEL.db*
PORT=$((7900 + RANDOM % 80))
if [ "$2" = plain ]; then CMD="dotnet bench/Baselines/PlainAspNet/bin/Release/net10.0/PlainAspNet.dll"; P=none; H=health
else CMD="dotnet ${DLL:-src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll}"; P=sqlite; H=health/ready; fi
(exec env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false PERSISTENCE=$P PERSISTENCE_PATH=$OUT/$LABEL.db \
   ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning taskset -c 0 $CMD > $OUT/server-$LABEL.log 2>&1) &
SPID=$!
until curl -sf -m 1 http://127.0.0.1:$PORT/$H > /dev/null; do sleep 0.3; done
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll one-to-all --url http://127.0.0.1:$PORT --key bench-publish-key \
   --server-pid $SPID --n 10000 --rounds 80 --target $LABEL --out $OUT/out > $OUT/lg-all-$LABEL.log 2>&1 &
LG=$!
until grep -q "warm-up" $OUT/lg-all-$LABEL.log; do sleep 0.2; done; sleep 1
before=$(grep -c "one-to-all #" $OUT/lg-all-$LABEL.log)
perf stat -e 'syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield,context-switches' \
   -p $SPID -o $OUT/stat-all-$LABEL.txt -- sleep 10
after=$(grep -c "one-to-all #" $OUT/lg-all-$LABEL.log)
kill $LG 2>/dev/null; wait $LG 2>/dev/null; kill $SPID; wait $SPID 2>/dev/null
echo "$LABEL: publishes completed in the window: $((after - before)) = $(( (after - before) * 10000 )) deliveries"
grep -E "^ +[0-9]" $OUT/stat-all-$LABEL.txt

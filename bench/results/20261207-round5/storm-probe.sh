#!/bin/bash
# Round 5 (issue 22): what limits the connect storm. Starts a server pinned to core 0 as bench/run.sh
# does (PERSISTENCE=sqlite for ours), records System.Runtime counters (dotnet-counters, 1 s, core 1: GC, allocation, JIT) while
# LoadGen connect-storm (core 1) runs the bench's steps, then stops the server by its PID.
#   bench/results/20261207-round5/storm-probe.sh LABEL ours|plain [extra env...]
# (The first runs, o1/cm0/datas0, sampled the service's own /metrics every 0.5 s instead: metrics-storm-ours-before.txt, metrics.py.)
set -u
LABEL=$1; KIND=$2; shift 2
cd /work/main
OUT=/tmp/r5; mkdir -p $OUT; rm -f $OUT/$LABEL.db*
PORT=$((7900 + RANDOM % 80))
if [ "$KIND" = plain ]; then CMD="dotnet bench/Baselines/PlainAspNet/bin/Release/net10.0/PlainAspNet.dll"; P=none
else CMD="dotnet ${DLL:-src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll}"; P=sqlite; fi
(ulimit -n 30000; exec env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false \
   PERSISTENCE=$P PERSISTENCE_PATH=$OUT/$LABEL.db ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning "$@" \
   taskset -c 0 $CMD > $OUT/server-$LABEL.log 2>&1) &
SPID=$!
until curl -sf -m 1 http://127.0.0.1:$PORT/health > /dev/null; do sleep 0.3; done
if [ "$KIND" != plain ]; then until curl -sf -m 1 http://127.0.0.1:$PORT/health/ready > /dev/null; do sleep 0.3; done; fi
taskset -c 1 ~/.dotnet/tools/dotnet-counters collect -p $SPID --counters System.Runtime --refresh-interval 1 --format csv -o $OUT/counters-$LABEL.csv > /dev/null 2>&1 &
MPID=$!
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll connect-storm --url http://127.0.0.1:$PORT --server-pid $SPID \
   ${RATES:+--connect-rates $RATES} --target $LABEL --out $OUT/out > $OUT/lg-$LABEL.log 2>&1
grep "connect-storm .*/s:" $OUT/lg-$LABEL.log | sed "s/^/$LABEL /"
kill $SPID; wait $SPID 2>/dev/null; kill $MPID 2>/dev/null

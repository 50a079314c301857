#!/bin/bash
# Round 5 (issue 22): GC allocation ticks (dotnet-trace, Microsoft-Windows-DotNETRuntime:0x1:5) of a server pinned to core 0
# during 3 x 2 000 connections at 1 000/s (after an untraced warm-up storm). $1 label, $2 ours|plain; DLL= another build of ours.
# Read with: dotnet run -c Release --project bench/results/20261207-round5/alloc -- /tmp/r5/alloc-LABEL.nettrace 6000 40 [OWNER|TypeName]
LABEL=$1; KIND=$2; cd /work/main; OUT=/tmp/r5; rm -f $OUT/$LABEL.db*
PORT=$((7900 + RANDOM % 80))
if [ "$KIND" = plain ]; then CMD="dotnet bench/Baselines/PlainAspNet/bin/Release/net10.0/PlainAspNet.dll"; P=none
else CMD="dotnet ${DLL:-src/Traffic.Host/bin/Release/net10.0/Traffic.Host.dll}"; P=sqlite; fi
(exec env WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench-publish-key SIMULATOR_ENABLED=false PERSISTENCE=$P PERSISTENCE_PATH=$OUT/$LABEL.db ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning taskset -c 0 $CMD > $OUT/server-$LABEL.log 2>&1) &
SPID=$!
until curl -sf -m 1 http://127.0.0.1:$PORT/health > /dev/null; do sleep 0.3; done
[ "$KIND" != plain ] && until curl -sf -m 1 http://127.0.0.1:$PORT/health/ready > /dev/null; do sleep 0.3; done
# a first storm to warm up, untraced
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll connect-storm --url http://127.0.0.1:$PORT --connect-rates 1000,1000 --target w --out $OUT/out > /dev/null 2>&1
taskset -c 1 ~/.dotnet/tools/dotnet-trace collect -p $SPID --providers Microsoft-Windows-DotNETRuntime:0x1:5 --duration 00:00:00:11 -o $OUT/alloc-$LABEL.nettrace > $OUT/trace-$LABEL.log 2>&1 &
TPID=$!; sleep 3
taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll connect-storm --url http://127.0.0.1:$PORT --connect-rates 1000,1000,1000 --target $LABEL --out $OUT/out 2>&1 | grep "connect-storm .*/s:"
wait $TPID; kill $SPID; wait $SPID 2>/dev/null

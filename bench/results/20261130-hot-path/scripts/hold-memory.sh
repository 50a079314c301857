#!/bin/bash
# hold 10000 idle connections; sample server RSS over time; gcdump at GCDUMP_AT s
DIR=$1; PORT=$2; shift 2   # DIR: the repository
ulimit -n 20000
cd $DIR
( export XINLINE=${XINLINE:-0} WS_HOST=127.0.0.1 WS_PORT=$PORT PUBLISH_API_KEY=bench SIMULATOR_ENABLED=false Logging__LogLevel__Default=Warning
  exec taskset -c 0 "$@" ) > ${OUT:-/tmp/prof}/server.log 2>&1 &
SP=$!
for i in $(seq 1 100); do curl -fsS -m1 http://127.0.0.1:$PORT/health >/dev/null 2>&1 && break; sleep 0.2; done
echo "rss at start $(grep VmRSS /proc/$SP/status)"
( export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1; exec taskset -c 1 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll hold --n 10000 --hold-seconds ${HOLD:-30} --url http://127.0.0.1:$PORT --server-pid $SP --target prof --out ${OUT:-/tmp/prof}/out --stamp p ) > ${OUT:-/tmp/prof}/loadgen.log 2>&1 &
LP=$!
for t in $(seq 1 ${SAMPLES:-40}); do
  sleep 1
  c=$(curl -s -m1 http://127.0.0.1:$PORT/api/stats | grep -o '"clients":[0-9]*')
  echo "t=$t $c $(grep VmRSS /proc/$SP/status | tr -s ' ')"
  if [[ " $GCDUMP_AT " == *" $t "* ]]; then ~/.dotnet/tools/dotnet-gcdump collect -p $SP -o ${OUT:-/tmp/prof}/heap-$t.gcdump > ${OUT:-/tmp/prof}/gcdump.log 2>&1; echo "gcdump done: $(grep VmRSS /proc/$SP/status | tr -s ' ')"; fi
done
wait $LP
kill -TERM $SP; wait $SP

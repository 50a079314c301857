#!/bin/bash
# usage: [OUT=dir] ab.sh SCENARIO PAIRS "loadgen args" name="ENV=.. dotnet path.dll" ...  (from the repository; OUT must exist; bench/LoadGen built in Release)
SC=$1; PAIRS=$2; ARGS=$3; shift 3
ulimit -n 20000
cd "${ROOT:-$(git rev-parse --show-toplevel)}"
port=6400
run() { # name dll
  port=$((port+1))
  ( export WS_HOST=127.0.0.1 WS_PORT=$port PUBLISH_API_KEY=bench SIMULATOR_ENABLED=false Logging__LogLevel__Default=Warning
    exec taskset -c 0 env $2 ) > ${OUT:-/tmp/prof}/server-$1.log 2>&1 &
  local SP=$!
  for i in $(seq 1 100); do curl -fsS -m1 http://127.0.0.1:$port/health >/dev/null 2>&1 && break; sleep 0.2; done
  ( export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1; exec taskset -c 1 timeout 600 dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll $SC $ARGS --url http://127.0.0.1:$port --server-pid $SP --target $1 --out ${OUT:-/tmp/prof}/out --stamp ab ) > ${OUT:-/tmp/prof}/lg-$1.log 2>&1
  kill -TERM $SP; wait $SP 2>/dev/null
  echo "$1: $(grep -E '(Median|KBPerConnection|connectionsHeld|Sustained|PerSec) =' ${OUT:-/tmp/prof}/lg-$1.log | sed 's/.*: //' | tr '\n' ' ')"
}
for p in $(seq 1 $PAIRS); do
  if (( p % 2 == 1 )); then order=("$@"); else order=(); for ((i=$#; i>0; i--)); do order+=("${!i}"); done; fi
  for nd in "${order[@]}"; do run "${nd%%=*}" "${nd#*=}"; done
done

#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a Kafka Connect cluster and kconnect-console
# in front of it, and prints the URL to open. Ctrl-C stops everything and removes it.
#   ./deploy/demo.sh          connect-sim: a simulated 3-worker cluster with Jolokia agents
#                             (fast, offline)
#   ./deploy/demo.sh --real   the real stack of the tests (test/real/stack.py): Apache Kafka
#                             (one KRaft broker, two Connect workers) with the real Jolokia agent,
#                             pinned jars fetched once through Maven (then ~/.m2 caches them)
# PORT (default 8080; 0 picks a free one), SIM_CONNECTORS (connect-sim only) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."

real=0
case "${1:-}" in
  "") ;;
  --real) real=1 ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--real]" >&2; exit 2 ;;
esac

bash deploy/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" --target kconnect-console connect-sim

run=$(mktemp -d /tmp/kconnect-demo.XXXXXX)
up_pid='' gw_pid=''
stopped=0
stop_all() {
  ((stopped)) && return
  stopped=1
  [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null
  # stack.py (and connect-sim) stop their processes on TERM; the real stack takes a few seconds
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
    ((real)) && echo "stopping the real stack…"
    kill -TERM "$up_pid" 2>/dev/null
  fi
  # A signal arriving now (Ctrl-C reaches the whole process group) interrupts `wait`: wait on.
  until wait 2>/dev/null; ((!($? > 128))); do :; done
  rm -rf "$run"
}
trap stop_all EXIT
# Once stopping, a further INT/TERM must not exit before the cleanup above has finished.
trap '((stopped)) || { stop_all; exit 130; }' INT
trap '((stopped)) || { stop_all; exit 143; }' TERM

# Polls until file $1 has $2 lines matching $3, while process $4 lives; $5 seconds at most.
wait_lines() {
  local file=$1 want=$2 pattern=$3 pid=$4 deadline=$((SECONDS + $5))
  while ((SECONDS < deadline)); do
    [ "$(grep -c -- "$pattern" "$file" 2>/dev/null)" -ge "$want" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

if ((real)); then
  # Maven's progress shows here the first time; one clear line when it can't reach Central.
  python3 test/real/stack.py fetch
  echo "starting the real stack (Kafka broker, two Connect workers, connectors): ~1 minute…"
  python3 test/real/stack.py up >"$run/stack.out" 2>"$run/stack.err" &
  up_pid=$!
  if ! wait_lines "$run/stack.out" 1 '^real stack:' "$up_pid" 300; then
    tail -n 40 "$run/stack.err"
    echo "the real stack did not start (its log is above)"
    exit 1
  fi
  rest=$(grep '(connect)' "$run/stack.out" | sed -E 's/.*:([0-9]+) .*/\1/')
  jport=$(grep '(jolokia worker=0)' "$run/stack.out" | sed -E 's/.*:([0-9]+) .*/\1/')
  # both workers: the gateway fails over when the first one is down
  connect_url="http://127.0.0.1:$rest,http://127.0.0.2:$rest"
else
  sim_args=(--workers 3 --connect-port 0 --jolokia-port 0 --control-port 0)
  [ -n "${SIM_CONNECTORS:-}" ] && sim_args+=(--connectors "$SIM_CONNECTORS")
  build/release/connect-sim "${sim_args[@]}" >"$run/stack.out" 2>"$run/stack.err" &
  up_pid=$!
  if ! wait_lines "$run/stack.out" 5 'listening on' "$up_pid" 20; then
    cat "$run/stack.err"
    echo "connect-sim did not start"
    exit 1
  fi
  connect=$(grep '(connect)' "$run/stack.out" | sed -E 's/listening on ([^ ]+) .*/\1/')
  control=$(grep '(control)' "$run/stack.out" | sed -E 's/listening on ([^ ]+) .*/\1/')
  jport=$(grep '(jolokia worker=0)' "$run/stack.out" | sed -E 's/.*:([0-9]+) .*/\1/')
  connect_url="http://$connect"
fi

LISTEN_ADDR=0.0.0.0:${PORT:-8080} KAFKA_CONNECT_URL=$connect_url \
  JOLOKIA_URL="http://{host}:$jport/jolokia" METRICS_CACHE_TTL=${METRICS_CACHE_TTL:-5s} \
  build/release/kconnect-console >"$run/gateway.out" 2>"$run/gateway.log" &
gw_pid=$!
if ! wait_lines "$run/gateway.out" 1 'listening on' "$gw_pid" 20; then
  tail -n 20 "$run/gateway.log"
  echo "kconnect-console did not start"
  exit 1
fi
port=$(sed -nE 's/.*listening on [^ ]*:([0-9]+).*/\1/p' "$run/gateway.out" | head -n1)

echo
echo "kconnect-console is running: open http://localhost:$port/"
if ((real)); then
  grep '^real stack:' "$run/stack.out"
  echo "  Kafka Connect REST: http://127.0.0.1:$rest and http://127.0.0.2:$rest   Jolokia: port $jport"
else
  echo "  simulated Connect REST: http://$connect   simulator control API: http://$control"
fi
echo "  gateway log: $run/gateway.log   (Ctrl-C stops the demo and removes everything)"
# Either child ending ends the demo (the real stack exits when one of its JVMs dies).
wait -n "$gw_pid" "$up_pid" || true
echo "a demo process exited; stopping"

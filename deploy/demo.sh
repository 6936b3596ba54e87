#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts connect-sim (a 3-worker Connect cluster
# with Jolokia agents) and kconnect-console in front of it, and prints the URL to open.
# Ctrl-C stops both. PORT (default 8080) and SIM_CONNECTORS (default: demo set) may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)" --target kconnect-console connect-sim

run=$(mktemp -d /tmp/kconnect-demo.XXXXXX)
sim_args=(--workers 3 --connect-port 0 --jolokia-port 0 --control-port 0)
[ -n "${SIM_CONNECTORS:-}" ] && sim_args+=(--connectors "$SIM_CONNECTORS")
build/release/connect-sim "${sim_args[@]}" >"$run/sim.out" 2>"$run/sim.err" &
sim_pid=$!
trap 'kill $sim_pid ${gw_pid:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$run"' EXIT INT TERM

for _ in $(seq 100); do
  [ "$(grep -c 'listening on' "$run/sim.out" 2>/dev/null)" -ge 5 ] && break
  sleep 0.1
done
connect=$(grep '(connect)' "$run/sim.out" | sed -E 's/listening on ([^ ]+) .*/\1/')
control=$(grep '(control)' "$run/sim.out" | sed -E 's/listening on ([^ ]+) .*/\1/')
jport=$(grep '(jolokia worker=0)' "$run/sim.out" | sed -E 's/.*:([0-9]+) .*/\1/')
[ -n "$connect" ] && [ -n "$jport" ] || { cat "$run/sim.err"; echo "connect-sim did not start"; exit 1; }

port=${PORT:-8080}
LISTEN_ADDR=0.0.0.0:$port KAFKA_CONNECT_URL=http://$connect \
  JOLOKIA_URL="http://{host}:$jport/jolokia" METRICS_CACHE_TTL=${METRICS_CACHE_TTL:-5s} \
  build/release/kconnect-console 2>"$run/gateway.log" | sed -u 's/^/kconnect-console: /' &
gw_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
echo
echo "kconnect-console is running: open http://localhost:$port/"
echo "  simulated Connect REST: http://$connect   simulator control API: http://$control"
echo "  gateway log: $run/gateway.log   (Ctrl-C stops the demo)"
wait $gw_pid

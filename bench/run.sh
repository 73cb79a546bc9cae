#!/usr/bin/env bash
# Load benchmarks of osbd with wrk on loopback (bounded in time; traffic stays on 127.0.0.1).
#   GET /v2/catalog           the cached catalog: the HTTP path without the store
#   PUT /v2/service_instances  synchronous provisions: auth, JSON, a plugin call and two durable
#                              SQLite commits (synchronous=FULL) per request
# Prints requests/s, latency percentiles and the broker's peak resident memory.
# Usage: bench/run.sh [BUILD_DIR]   (default: build, configured RelWithDebInfo by scripts/)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/osbd-bench-XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || bash scripts/install-deps.sh
cmake --build "$build" --target runtime >/dev/null

cat >"$work/osbd.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: $work/state
plugin_dir: $build/plugins
log_level: info
auth:
  username: bench
  password: bench-password
YAML
"$build/bin/osbd" --config "$work/osbd.yaml" --plugin-dir "$build/plugins" 2>"$work/osbd.log" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$work/osbd.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "osbd did not start"; cat "$work/osbd.log"; exit 1; }
auth="Authorization: Basic $(printf 'bench:bench-password' | base64)"
url=http://127.0.0.1:$port

echo "== GET /v2/catalog (${duration}s, 2 threads, 32 connections)"
wrk -t2 -c32 -d"${duration}s" --latency -H "$auth" -H 'X-Broker-API-Version: 2.17' \
  "$url/v2/catalog" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== PUT /v2/service_instances/:id, sync plan (${duration}s, 2 threads, 16 connections)"
wrk -t2 -c16 -d"${duration}s" --latency -s bench/provision.lua -H "$auth" \
  -H 'X-Broker-API-Version: 2.17' "$url" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|unexpected' | head -20
echo "== osbd peak resident memory: $(grep VmHWM "/proc/$pid/status" | awk '{print $2, $3}')"

#!/usr/bin/env bash
# The price of running a plugin in a host process of its own: the example plugin in-process and
# out of process (isolation: process, the default), measured in one run with wrk on loopback.
#   provision                synchronous PUT of a new instance, answered once it is durable
#   provision+deprovision    PUT then DELETE of a new instance per connection
#   bind+unbind              PUT then DELETE of a binding on one instance
# Each scenario runs against a fresh osbd per mode (same configuration but for
# plugins.org.osbd.example.isolation): worker_threads 8 (osbd's default; BENCH_WORKER_THREADS)
# and max_concurrent_calls 6 (BENCH_MAX_CONCURRENT_CALLS). Prints req/s and p50/p99 per mode, the ratio
# process/in-process, and the resident memory of osbd and of the plugin host.
# Usage: bench/isolation.sh [BUILD_DIR]   (default: build; BENCH_SECONDS, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${BENCH_SECONDS:-10}
connections=32
work=$(mktemp -d /tmp/osbd-bench-isolation-XXXXXX)
chmod 755 "$work"
osbd_pid=""
cleanup() {
  [ -z "$osbd_pid" ] || { kill -TERM "$osbd_pid" 2>/dev/null || true; wait "$osbd_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || bash scripts/install-deps.sh
cmake --build "$build" --target runtime >/dev/null
auth="Authorization: Basic $(printf 'bench:bench-password' | base64)"
version='X-Broker-API-Version: 2.17'

free_port() {
  for _ in $(seq 1 100); do
    local p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

# start_osbd MODE: a fresh osbd (new state) with the example plugin in MODE; sets url.
start_osbd() {
  local mode=$1 port
  port=$(free_port)
  rm -rf "$work/state"
  cat >"$work/osbd.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $build/plugins
log_level: warn
auth: {username: bench, password: bench-password}
limits:
  # osbd's default pool: a worker waits while its call crosses to the host and back, so more
  # workers than cores keep the cores busy.
  worker_threads: ${BENCH_WORKER_THREADS:-8}
  io_threads: ${BENCH_IO_THREADS:-2}
plugins:
  org.osbd.example:
    isolation: $mode
    max_concurrent_calls: ${BENCH_MAX_CONCURRENT_CALLS:-6}
YAML
  "$build/bin/osbd" --config "$work/osbd.yaml" 2>"$work/osbd-$mode.log" &
  osbd_pid=$!
  url=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$url/v2/catalog" && return 0
    sleep 0.1
  done
  cat "$work/osbd-$mode.log" >&2
  return 1
}

stop_osbd() {
  kill -TERM "$osbd_pid"
  wait "$osbd_pid" 2>/dev/null || true
  osbd_pid=""
}

# measure MODE THREADS LUA: one wrk run on a fresh osbd; sets m_rps m_p50 m_p99 m_err and the
# resident memory of osbd (m_osbd_kb) and of its plugin hosts (m_host_kb) at the end of the run.
measure() {
  local mode=$1 threads=$2 script=$3 out host
  start_osbd "$mode"
  curl -sf -o /dev/null -X PUT -H "$auth" -H "$version" -H 'Content-Type: application/json' \
    -d '{"service_id":"9bf6d9ad-db1c-479b-ba8e-648564c66a55","plan_id":"700556d0-4a22-4ed7-8a5c-004d693b5286","organization_guid":"o","space_guid":"s"}' \
    "$url/v2/service_instances/bench-bind-instance"
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -H "$auth" -H "$version" \
    -s "$script" "$url")
  m_osbd_kb=$(awk '/VmRSS/ {print $2}' "/proc/$osbd_pid/status")
  m_host_kb=0
  for host in $(pgrep -P "$osbd_pid" -f osbd-plugin-host || true); do
    m_host_kb=$((m_host_kb + $(awk '/VmRSS/ {print $2}' "/proc/$host/status")))
  done
  stop_osbd
  m_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  m_p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  m_p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  m_err=$(grep -c "unexpected status" <<<"$out" || true)
}

row() {
  printf '| %-28s | %-10s | %9s | %8s | %8s | %10s | %-22s | %s |\n' "$@"
}

echo "osbd $("$build/bin/osbd" --version | awk '{print $2}'), ${duration}s per scenario and mode, $connections connections, $(nproc) cores"
row scenario isolation 'req/s' p50 p99 unexpected 'resident (osbd + host)' 'process / in-process'
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..30})" ------------ ----------- ---------- ---------- ------------ ------------------------ ----------------------
for scenario in "provision (sync, durable):2:bench/provision.lua" \
  "provision+deprovision (sync):$connections:bench/provision_deprovision.lua" \
  "bind+unbind (sync):$connections:bench/bind_unbind.lua"; do
  IFS=: read -r name threads script <<<"$scenario"
  measure in-process "$threads" "$script"
  in_rps=$m_rps
  row "$name" in-process "$m_rps" "$m_p50" "$m_p99" "$m_err" "$((m_osbd_kb / 1024)) MiB" ""
  measure process "$threads" "$script"
  ratio=$(awk -v a="$m_rps" -v b="$in_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  row "" process "$m_rps" "$m_p50" "$m_p99" "$m_err" \
    "$((m_osbd_kb / 1024)) + $((m_host_kb / 1024)) MiB" "$ratio"
done

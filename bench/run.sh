#!/usr/bin/env bash
# Load benchmarks of osbd with wrk on loopback (bounded in time; traffic stays on 127.0.0.1).
#   catalog (nginx)          nginx serving the same catalog bytes from a file: the ceiling
#   catalog (osbd)           GET /v2/catalog: the HTTP path without the store
#   provision                synchronous PUT of a new instance, answered once it is durable
#   provision+deprovision    synchronous PUT then DELETE of a new instance per connection, each
#                            answered only after its state is durable (SQLite, synchronous=FULL)
#   bind+unbind              synchronous PUT then DELETE of a binding on one instance
# 32 connections each; prints requests/s and p50/p99 latency, then osbd's resident memory, and
# with BENCH_INSTANCES=N (e.g. 100000) the memory after provisioning N instances.
# Usage: bench/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
duration=${BENCH_SECONDS:-10}
connections=32
work=$(mktemp -d /tmp/osbd-bench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  # TERM first: an nginx master that gets KILL leaves its workers behind.
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || bash scripts/install-deps.sh
if ! command -v nginx >/dev/null; then
  # Only the benchmark needs nginx; keep apt from starting the distribution's service.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
cmake --build "$build" --target runtime >/dev/null

free_port() {
  for _ in $(seq 1 100); do
    local p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

port=$(free_port)
cat >"$work/osbd.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $build/plugins
log_level: warn
auth:
  username: bench
  password: bench-password
limits:
  # The example plugin answers in microseconds and requests do not hold a worker while their
  # writes commit, so one worker per core serves it best; database plugins want more (default 8).
  worker_threads: ${BENCH_WORKER_THREADS:-$(nproc)}
  io_threads: ${BENCH_IO_THREADS:-2}
plugins:
  # In-process, as these figures were first measured; bench/isolation.sh compares the two modes.
  org.osbd.example:
    isolation: ${BENCH_ISOLATION:-in-process}
    max_concurrent_calls: $connections
YAML
"$build/bin/osbd" --config "$work/osbd.yaml" 2>"$work/osbd.log" &
osbd_pid=$!
pids+=("$osbd_pid")
url=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$url/v2/catalog" && break
  sleep 0.1
done
auth="Authorization: Basic $(printf 'bench:bench-password' | base64)"
version='X-Broker-API-Version: 2.17'
curl -sf -H "$auth" -H "$version" "$url/v2/catalog" >"$work/catalog.json"

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /v2/catalog { default_type application/json; alias $work/catalog.json; }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" &
pids+=("$!")
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$nginx_port/v2/catalog" && break
  sleep 0.1
done

# run NAME THREADS URL [wrk args...]: one scenario, one summary line.
run() {
  local name=$1 threads=$2 target=$3; shift 3
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -H "$auth" -H "$version" \
    "$@" "$target")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -c "unexpected status" <<<"$out" || true)
  grep -m3 "unexpected status" <<<"$out" >&2 || true
  printf '| %-34s | %10s | %8s | %8s | %s |\n' "$name" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo "osbd $("$build/bin/osbd" --version | awk '{print $2}'), ${duration}s per scenario, $connections connections, $(nproc) cores"
printf '| %-34s | %10s | %8s | %8s | %s |\n' scenario 'req/s' p50 p99 'unexpected'
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" ------------ ---------- ---------- ------------
run "catalog (nginx, same bytes)" 2 "http://127.0.0.1:$nginx_port/v2/catalog"
run "catalog (osbd)" 2 "$url/v2/catalog"
run "provision (sync, durable)" 2 "$url" -s bench/provision.lua
run "provision+deprovision (sync)" "$connections" "$url" -s bench/provision_deprovision.lua
curl -sf -o /dev/null -X PUT -H "$auth" -H "$version" -H 'Content-Type: application/json' \
  -d '{"service_id":"9bf6d9ad-db1c-479b-ba8e-648564c66a55","plan_id":"700556d0-4a22-4ed7-8a5c-004d693b5286","organization_guid":"o","space_guid":"s"}' \
  "$url/v2/service_instances/bench-bind-instance"
run "bind+unbind (sync)" "$connections" "$url" -s bench/bind_unbind.lua
echo "osbd resident memory: $(awk '/VmRSS/ {print $2, $3}' "/proc/$osbd_pid/status") (peak $(awk '/VmHWM/ {print $2, $3}' "/proc/$osbd_pid/status"))"

if [ -n "${BENCH_INSTANCES:-}" ]; then
  start=$(date +%s)
  count=0
  while [ "$count" -lt "$BENCH_INSTANCES" ]; do
    wrk -t"$connections" -c"$connections" -d5s -s bench/provision.lua -H "$auth" -H "$version" "$url" >/dev/null
    count=$(sqlite3 "$work/state/osbd.db" 'SELECT COUNT(*) FROM instances' 2>/dev/null || echo 0)
  done
  echo "after $count instances ($(( $(date +%s) - start ))s): resident $(awk '/VmRSS/ {print $2, $3}' "/proc/$osbd_pid/status")"
fi

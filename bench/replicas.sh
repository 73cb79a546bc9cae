#!/usr/bin/env bash
# What the shared PostgreSQL state store costs: durable synchronous provisions (wrk with
# bench/provision.lua: a PUT of a new instance of the example plugin's sync plan, in-process,
# answered once its records are committed) against, in one run:
#   sqlite                     one osbd on the SQLite store (WAL, fdatasync per group commit)
#   postgresql, 1 replica      one osbd on the PostgreSQL store
#   postgresql, 2 replicas     two osbd on one PostgreSQL store behind HAProxy (roundrobin, the
#                              settings of config/examples/replicas/haproxy.cfg)
# Each setup starts from an empty store (a fresh database and role for PostgreSQL, dropped at the
# end). 32 connections, 2 wrk threads; prints a markdown table of requests/s and p50/p99 latency.
#
# Needs the test PostgreSQL server (the same one as the tests):
#   scripts/test-servers.sh start postgres      # 127.0.0.1:25432, admin osbd_admin
#   bench/replicas.sh [BUILD_DIR]               # default: build
# It reads OSBD_PG_HOST/PORT/ADMIN_USER/ADMIN_PASSWORD (`scripts/test-servers.sh env postgres`;
# the script's values by default). That server is tuned for tests: fsync=off and
# synchronous_commit=off. The benchmark's database gets synchronous_commit=on (each commit waits
# for its WAL write), but with fsync off nothing reaches the disk, while SQLite's figures include
# its fdatasync: the PostgreSQL rows are a lower bound on a production server's latency. The
# settings in force are printed with the table.
# BENCH_SECONDS (default 10) per setup, BENCH_CONNECTIONS (32), BENCH_WORKER_THREADS (osbd's
# default, 8), BENCH_POOL_SIZE (state.postgresql.pool_size, default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=$(cd "${1:-build}" && pwd)
duration=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-32}
workers=${BENCH_WORKER_THREADS:-8}
pool_size=${BENCH_POOL_SIZE:-8}
pg_host=${OSBD_PG_HOST:-127.0.0.1}
pg_port=${OSBD_PG_PORT:-25432}
pg_admin=${OSBD_PG_ADMIN_USER:-osbd_admin}
pg_admin_password=${OSBD_PG_ADMIN_PASSWORD:-osbd-test-admin-password}
work=$(mktemp -d /tmp/osbd-bench-replicas-XXXXXX)
chmod 755 "$work"
pids=()
databases=()

admin_psql() {
  PGPASSWORD=$pg_admin_password PGCONNECT_TIMEOUT=5 psql -XAtq -v ON_ERROR_STOP=1 \
    -h "$pg_host" -p "$pg_port" -U "$pg_admin" -d postgres "$@"
}
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  local db
  for db in "${databases[@]}"; do
    admin_psql -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP ROLE IF EXISTS $db" \
      >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null && command -v haproxy >/dev/null && command -v psql >/dev/null ||
  bash scripts/install-deps.sh
if ! admin_psql -c 'SELECT 1' >/dev/null 2>&1; then
  echo "bench/replicas.sh: no PostgreSQL at $pg_host:$pg_port for $pg_admin;" \
    "start the test server: scripts/test-servers.sh start postgres" >&2
  exit 1
fi
cmake --build "$build" --target runtime >/dev/null
(umask 077 && openssl rand -hex 32 >"$work/credentials.key")

free_port() {
  for _ in $(seq 1 100); do
    local p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  return 1
}

# new_database: a fresh database and role (same name) for a PostgreSQL store, in $db; the role's
# password in $work/$db.password. (Functions that start processes or record names set variables:
# a command substitution would run them in a subshell.)
new_database() {
  local name password
  name=osbd_bench_$(openssl rand -hex 4)
  password=$(openssl rand -hex 16)
  databases+=("$name")
  admin_psql -c "CREATE ROLE $name LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE $name OWNER $name" \
    -c "ALTER DATABASE $name SET synchronous_commit = on" >/dev/null
  (umask 077 && printf '%s\n' "$password" >"$work/$name.password")
  db=$name
}

# start_osbd NAME STATE_YAML: an osbd (config $work/NAME.yaml, log $work/NAME.log) with the
# example plugin in-process; sets $port once it answers.
start_osbd() {
  local name=$1 state=$2
  port=$(free_port)
  cat >"$work/$name.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/$name-data
plugin_dir: $build/plugins
log_level: warn
auth: {username: bench, password: bench-password}
limits:
  worker_threads: $workers
$state
credentials_encryption:
  key_file: $work/credentials.key
plugins:
  org.osbd.example:
    isolation: in-process
    max_concurrent_calls: $connections
YAML
  "$build/bin/osbd" --config "$work/$name.yaml" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "osbd $name did not start:" >&2
  cat "$work/$name.log" >&2
  return 1
}
pg_state() {  # DATABASE REPLICA_ID
  cat <<YAML
state:
  backend: postgresql
  replica_id: $2
  postgresql:
    host: $pg_host
    port: $pg_port
    database: $1
    user: $1
    password_file: $work/$1.password
    sslmode: disable
    pool_size: $pool_size
YAML
}

auth="Authorization: Basic $(printf 'bench:bench-password' | base64)"
version='X-Broker-API-Version: 2.17'
# run NAME URL: one wrk run of bench/provision.lua, one table row.
run() {
  local name=$1 target=$2 out rps p50 p99 errors socket
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -H "$auth" -H "$version" \
    -s bench/provision.lua "$target")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -c "unexpected status" <<<"$out" || true)
  # "Socket errors: connect 0, read 0, write 0, timeout 0", when there were any.
  socket=$(awk '/Socket errors/ { for (i = 4; i <= NF; i += 2) n += $i + 0 } END { print n + 0 }' <<<"$out")
  errors=$((errors + socket))
  grep -m3 "unexpected status" <<<"$out" >&2 || true
  printf '| %-40s | %10s | %8s | %8s | %6s |\n' "$name" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo "osbd $("$build/bin/osbd" --version | awk '{print $2}'), ${duration} s per setup," \
  "$connections connections, $workers worker threads, $(nproc) cores;" \
  "PostgreSQL $(admin_psql -c 'SHOW server_version') at $pg_host:$pg_port" \
  "(fsync=$(admin_psql -c 'SHOW fsync'), synchronous_commit=on for the benchmark's databases," \
  "pool_size $pool_size)"
printf '| %-40s | %10s | %8s | %8s | %6s |\n' setup 'req/s' p50 p99 errors
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" ------------ ---------- ---------- --------

start_osbd sqlite ""
run "SQLite store" "http://127.0.0.1:$port"
stop_all

new_database
start_osbd pg-1 "$(pg_state "$db" bench-1)"
run "PostgreSQL store, 1 replica" "http://127.0.0.1:$port"
stop_all

new_database
start_osbd pg-a "$(pg_state "$db" bench-a)"
port1=$port
start_osbd pg-b "$(pg_state "$db" bench-b)"
port2=$port
proxy_port=$(free_port)
cat >"$work/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout http-request 10s
    timeout client 65s
    timeout server 65s
    timeout http-keep-alive 10s
    timeout queue 10s
    timeout check 2s
    retries 3
    retry-on conn-failure
    option redispatch 1
frontend osb
    bind 127.0.0.1:$proxy_port
    default_backend osbd
backend osbd
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
    server bench-a 127.0.0.1:$port1 check
    server bench-b 127.0.0.1:$port2 check
CFG
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" -H "$version" \
    "http://127.0.0.1:$proxy_port/v2/catalog")" = 200 ] && break
  sleep 0.1
done
run "PostgreSQL store, 2 replicas + HAProxy" "http://127.0.0.1:$proxy_port"
instances=$(PGPASSWORD=$(cat "$work/$db.password") psql -XAtq -h "$pg_host" -p "$pg_port" -U "$db" \
  -d "$db" -c 'SELECT count(*) FROM instances' 2>/dev/null || echo '?')
echo "instances in the two replicas' store after the run: $instances"

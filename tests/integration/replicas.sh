#!/usr/bin/env bash
# Three osbd replicas sharing one PostgreSQL state store, behind HAProxy, under a mixed workload
# while replicas are killed (kill -9) and restarted and PostgreSQL crashes and comes back:
#   - a PostgreSQL server of this test's own (port OSBD_PG_REPLICAS_PORT, default 25435, with the
#     admin of `scripts/test-servers.sh env postgres`; started and removed by this test, like the
#     outage tests' servers, so that crashing it never disturbs the suites running at the same
#     time), holding the state store (a fresh database and role) and the PostgreSQL plugin's
#     databases and roles (a name prefix of this run's own);
#   - one credentials key file (64 hex digits, mode 0600) for the three replicas;
#   - the replicas on free ports with lease_seconds 3, HAProxy in front (haproxy -db, its own
#     free port, the health check and retry policy of config/examples/replicas/haproxy.cfg);
#   - replicas_check.py drive: ~60 s of synchronous provisions, updates, binds, unbinds and
#     deprovisions (PostgreSQL plugin), asynchronous ones polled through last_operation (the
#     example plugin's "async" plan), and the same PUT sent at the same moment straight to two
#     replicas; meanwhile each replica is killed and restarted, and PostgreSQL is stopped as a
#     crash would (pg_ctl stop -m immediate) and started again: while it is away a replica answers
#     OSB requests 503 with Retry-After and /readyz 503, and recovers by itself once it is back;
#   - replicas_check.py check: every acknowledged instance and binding answers identically
#     through every replica, deleted ones are gone everywhere, no operation is left in progress
#     (2 x lease after the last kill at most), the admin inventories are the workload's, and the
#     server holds exactly one database and owner role per live PostgreSQL instance and one
#     login role per live binding, whose acknowledged credentials log in.
# Fails (does not skip) without haproxy, psql or the variables of
# `scripts/test-servers.sh env postgres`.
# Usage: replicas.sh OSBD OSBCTL PLUGIN_DIR
set -euo pipefail
osbd=$(realpath "$1")
osbctl=$(realpath "$2")
plugin_dir=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=script_support.sh
. "$here/script_support.sh"

missing=()
command -v haproxy >/dev/null || missing+=("haproxy (Debian package haproxy; scripts/install-deps.sh)")
[ -x /usr/bin/psql ] || missing+=("/usr/bin/psql (Debian package postgresql-client)")
for v in OSBD_PG_HOST OSBD_PG_PORT OSBD_PG_ADMIN_USER OSBD_PG_ADMIN_PASSWORD; do
  [ -n "${!v:-}" ] || missing+=("$v (eval \"\$(scripts/test-servers.sh env postgres)\")")
done
for f in osb_postgresql.so osb_example.so; do
  [ -f "$plugin_dir/$f" ] || missing+=("$plugin_dir/$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "FAIL replicas: missing:"
  printf '  %s\n' "${missing[@]}"
  exit 1
fi

script_setup osbd-replicas
cd "$work"
pg_port=${OSBD_PG_REPLICAS_PORT:-25435}
pg_started=0
replicas=(1 2 3)
declare -A rpid=() rport=()
haproxy_pid=
driver_pid=
outage_server() {
  OSBD_PG_OUTAGE_PORT=$pg_port bash "$root/tests/integration/outages/outage_server.sh" "$@"
}
cleanup() {
  local rc=$? p
  [ -z "$driver_pid" ] || kill -9 "$driver_pid" 2>/dev/null || true
  for p in "${rpid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -z "$haproxy_pid" ] || kill -TERM "$haproxy_pid" 2>/dev/null || true
  for p in "${rpid[@]}" $haproxy_pid $driver_pid; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ] || [ "${failures:-0}" -gt 0 ]; then
    for n in "${replicas[@]}"; do
      if [ -f "osbd-$n.log" ]; then
        echo "--- osbd-$n.log: its last 20 lines that are not JSON log lines, and its last 20 warnings and errors:"
        grep -v '^{' "osbd-$n.log" | tail -n 20 || true
        grep '"level":"\(warn\|error\)"' "osbd-$n.log" | tail -n 20 || true
      fi
    done
    [ -f haproxy.log ] && { echo "--- haproxy.log (last 20):"; tail -n 20 haproxy.log; }
  fi
  if [ "$pg_started" = 1 ]; then
    # Its data is thrown away: an immediate stop (no shutdown checkpoint), then the removal.
    local started=$SECONDS
    timeout 60 bash -c "$(declare -f outage_server); pg_port=$pg_port root=$root;
      outage_server halt postgres; outage_server cleanup postgres" >pg-cleanup.log 2>&1 || true
    if [ $((SECONDS - started)) -gt 10 ]; then
      echo "stopping this test's PostgreSQL took $((SECONDS - started)) s:"; cat pg-cleanup.log
    fi
  fi
  cd /
  rm -rf "$work"
}
trap cleanup EXIT
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() { echo $((($(now_ms) - t0) / 1000)); }

echo "== a PostgreSQL server of this test's own on $OSBD_PG_HOST:$pg_port"
pg_started=1
outage_server setup postgres >pg-setup.log 2>&1 || { cat pg-setup.log; exit 1; }
admin_psql() {
  PGPASSWORD=$OSBD_PG_ADMIN_PASSWORD PGCONNECT_TIMEOUT=5 /usr/bin/psql -XAtq -v ON_ERROR_STOP=1 \
    -h "$OSBD_PG_HOST" -p "$pg_port" -U "$OSBD_PG_ADMIN_USER" -d postgres "$@"
}
suffix=$(openssl rand -hex 4)
state_db=osbd_state_$suffix
state_user=osbd_state_$suffix
state_password=$(openssl rand -hex 16)
prefix=rep${suffix}_
admin_psql -c "CREATE ROLE $state_user LOGIN PASSWORD '$state_password'" \
  -c "CREATE DATABASE $state_db OWNER $state_user" >/dev/null
(umask 077 && printf '%s\n' "$state_password" >state-db-password)
(umask 077 && openssl rand -hex 32 >credentials.key)
echo "state store: database $state_db, role $state_user; plugin name prefix $prefix"

mkdir -m 700 plugins
cp "$plugin_dir/osb_postgresql.so" "$plugin_dir/osb_example.so" plugins/
lease=3
platform_user=platform
platform_password=replicas-platform-password
admin_user=operator
admin_password=replicas-admin-password
for n in "${replicas[@]}"; do
  rport[$n]=$(free_port)
  cat >"replica-$n.yaml" <<YAML
listen: 127.0.0.1:${rport[$n]}
data_dir: $work/data-$n
plugin_dir: $work/plugins
log_level: info
auth: {username: $platform_user, password: $platform_password}
admin: {username: $admin_user, password: $admin_password}
limits:
  poll_interval_ms: 200
  shutdown_timeout_seconds: 5
state:
  backend: postgresql
  replica_id: replica-$n
  lease_seconds: $lease
  postgresql:
    host: $OSBD_PG_HOST
    port: $pg_port
    database: $state_db
    user: $state_user
    password_file: $work/state-db-password
    sslmode: disable
    pool_size: 4
    statement_timeout_ms: 5000
    connect_timeout_seconds: 2
credentials_encryption:
  key_file: $work/credentials.key
plugins:
  org.osbd.example:
    async_seconds: 2
  org.osbd.postgresql:
    quota_check_seconds: 60
    name_prefix: $prefix
    servers:
      - name: local
        host: $OSBD_PG_HOST
        port: $pg_port
        admin_user: $OSBD_PG_ADMIN_USER
        admin_password: $OSBD_PG_ADMIN_PASSWORD
        sslmode: disable
        connect_timeout_seconds: 2
    services:
      - id: 0bea0f68-793d-4a91-8149-66db78d67528
        name: postgresql
        description: A PostgreSQL database of your own
        plans:
          - id: a50e8c9b-6ed0-414d-b0fb-5766585f0573
            name: small
            description: 100 MB, up to 10 connections
            servers: [local]
            connection_limit: 10
            quota_mb: 100
          - id: 120b925f-8451-4a09-8c99-eb9f68703bc7
            name: large
            description: 1 GB, up to 50 connections
            servers: [local]
            connection_limit: 50
            quota_mb: 1024
YAML
done

# start_replica N: starts replica N (its log appended to osbd-N.log) and waits until it listens
# and /readyz answers 200 (20 s at most).
start_replica() {
  local n=$1 before
  before=$(grep -c '"msg":"listening"' "osbd-$n.log" 2>/dev/null || true)
  "$osbd" --config "replica-$n.yaml" >>"osbd-$n.log" 2>&1 &
  rpid[$n]=$!
  for _ in $(seq 1 200); do
    if [ "$(grep -c '"msg":"listening"' "osbd-$n.log" 2>/dev/null || true)" -gt "${before:-0}" ] &&
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${rport[$n]}/readyz")" = 200 ]; then
      return 0
    fi
    kill -0 "${rpid[$n]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "replica $n did not start (or is not ready):"
  tail -n 30 "osbd-$n.log"
  failures=$((failures + 1))
  exit 1
}
kill_replica() {
  local n=$1
  echo "[$(elapsed) s] kill -9 replica-$n (pid ${rpid[$n]})"
  kill -9 "${rpid[$n]}"
  wait "${rpid[$n]}" 2>/dev/null || true
  last_kill=$(now_ms)
}
restart_replica() {
  local n=$1 started
  started=$(now_ms)
  start_replica "$n"
  echo "[$(elapsed) s] replica-$n restarted (pid ${rpid[$n]}), ready after $(($(now_ms) - started)) ms"
}

echo "== three replicas and HAProxy"
for n in "${replicas[@]}"; do start_replica "$n"; done
proxy_port=$(free_port)
cat >haproxy.cfg <<CFG
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
    server replica-1 127.0.0.1:${rport[1]} check
    server replica-2 127.0.0.1:${rport[2]} check
    server replica-3 127.0.0.1:${rport[3]} check
CFG
haproxy -c -q -f haproxy.cfg
haproxy -f haproxy.cfg -db >haproxy.log 2>&1 &
haproxy_pid=$!
proxy=http://127.0.0.1:$proxy_port
osb() { curl -s -u "$platform_user:$platform_password" -H 'X-Broker-API-Version: 2.17' "$@"; }
for _ in $(seq 1 100); do
  [ "$(osb -o /dev/null -w '%{http_code}' "$proxy/v2/catalog")" = 200 ] && break
  sleep 0.1
done
check "the catalog through HAProxy" 200 "$(osb -o catalog.json -w '%{http_code}' "$proxy/v2/catalog")"
check "it offers the PostgreSQL and the example services" 2 "$(/usr/bin/python3 -c '
import json, sys
ids = {s["id"] for s in json.load(open("catalog.json"))["services"]}
print(len(ids & {"0bea0f68-793d-4a91-8149-66db78d67528", "9bf6d9ad-db1c-479b-ba8e-648564c66a55"}))')"
# etag URL: the ETag of the catalog at URL (HAProxy writes header names in lower case).
etag() { osb -D - -o /dev/null "$1/v2/catalog" | awk 'tolower($1) == "etag:" { print $2 }' | tr -d '\r'; }
proxy_etag=$(etag "$proxy")
for n in "${replicas[@]}"; do
  check "replica-$n serves the same catalog (ETag)" "$proxy_etag" "$(etag "http://127.0.0.1:${rport[$n]}")"
done

echo "== the workload (${OSBD_REPLICAS_SECONDS:-60} s) with kills and a PostgreSQL crash"
replica_args=()
for n in "${replicas[@]}"; do replica_args+=(--replica "http://127.0.0.1:${rport[$n]}"); done
t0=$(now_ms)
last_kill=$t0
/usr/bin/python3 "$here/replicas_check.py" drive --proxy "$proxy" "${replica_args[@]}" \
  --user "$platform_user" --password "$platform_password" --ledger ledger.json \
  --seconds "${OSBD_REPLICAS_SECONDS:-60}" --settle-seconds 40 &
driver_pid=$!
# at SECONDS: sleeps until SECONDS after the start of the workload.
at() {
  local wait_ms=$(($1 * 1000 - ($(now_ms) - t0)))
  [ "$wait_ms" -le 0 ] || sleep "$(awk -v ms="$wait_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
}
scale=${OSBD_REPLICAS_SECONDS:-60}
# s PERCENT: that share of the workload's duration, in seconds.
s() { echo $(($1 * scale / 100)); }
at "$(s 10)"; kill_replica 1
at "$(s 17)"; restart_replica 1
at "$(s 27)"; kill_replica 2
at "$(s 33)"; restart_replica 2

at "$(s 45)"
echo "[$(elapsed) s] PostgreSQL stopped as a crash would (pg_ctl stop -m immediate)"
outage_server halt postgres >pg-halt.log 2>&1 || { cat pg-halt.log; exit 1; }
down_at=$(now_ms)
sleep 2.5
for n in "${replicas[@]}"; do
  check "database away: replica-$n /readyz" 503 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:${rport[$n]}/readyz")"
done
answer=$(osb -D - -o away.body --max-time 15 -w '%{http_code}' \
  "http://127.0.0.1:${rport[1]}/v2/service_instances/none-such") || true
check "database away: an OSB request answers" 503 "${answer##*$'\n'}"
check "with Retry-After" yes "$(if grep -qi '^retry-after:' <<<"$answer"; then echo yes; else echo no; fi)"
echo "  body: $(cat away.body 2>/dev/null)"
at "$(s 55)"
outage_server resume postgres >pg-resume.log 2>&1 || { cat pg-resume.log; exit 1; }
echo "[$(elapsed) s] PostgreSQL back after $(($(now_ms) - down_at)) ms"
back_at=$(now_ms)
recovered=()
for n in "${replicas[@]}"; do
  ready=
  while [ $(($(now_ms) - back_at)) -lt 30000 ]; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${rport[$n]}/readyz")" = 200 ]; then
      ready=$(($(now_ms) - back_at))
      break
    fi
    sleep 0.1
  done
  recovered+=("replica-$n ${ready:-never} ms")
  check "replica-$n recovered by itself (readyz 200 within 30 s)" yes \
    "$(if [ -n "$ready" ]; then echo yes; else echo no; fi)"
  check "with its PID" "${rpid[$n]}" "$(if kill -0 "${rpid[$n]}" 2>/dev/null; then echo "${rpid[$n]}"; else echo gone; fi)"
done
echo "  ready again after the database came back: ${recovered[*]}"

at "$(s 68)"; kill_replica 3
at "$(s 75)"; restart_replica 3
at "$(s 90)"; kill_replica 2
at "$(s 95)"; restart_replica 2

rc=0
wait "$driver_pid" || rc=$?
driver_pid=
check "the workload ran to its end" 0 "$rc"
echo "[$(elapsed) s] workload done; last kill $(($(now_ms) - last_kill)) ms ago"

echo "== checks"
# Operations a killed replica left are taken over within 2 x lease of its last heartbeat: the
# checker waits that long after the last kill (plus 5 s for the poll that finishes them).
quiet=$(( (2 * lease * 1000 - ($(now_ms) - last_kill)) / 1000 + 5 ))
[ "$quiet" -ge 5 ] || quiet=5
rc=0
/usr/bin/python3 "$here/replicas_check.py" check --ledger ledger.json "${replica_args[@]}" \
  --replica-id replica-1 --replica-id replica-2 --replica-id replica-3 \
  --user "$platform_user" --password "$platform_password" \
  --admin-user "$admin_user" --admin-password "$admin_password" --osbctl "$osbctl" \
  --prefix "$prefix" --quiet-seconds "$quiet" \
  --pg-host "$OSBD_PG_HOST" --pg-port "$pg_port" --pg-user "$OSBD_PG_ADMIN_USER" \
  --pg-password "$OSBD_PG_ADMIN_PASSWORD" || rc=$?
check "replicas_check.py check" 0 "$rc"
check "haproxy still runs" yes "$(if kill -0 "$haproxy_pid" 2>/dev/null; then echo yes; else echo no; fi)"
echo "total: $(elapsed) s of workload and checks"
script_result

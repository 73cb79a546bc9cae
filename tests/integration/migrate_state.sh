#!/usr/bin/env bash
# osbd --migrate-state: an SQLite state store copied into a PostgreSQL one.
#   1. osbd with the default SQLite store (its credentials key generated in data_dir) and the
#      PostgreSQL plugin on the test server: 3 instances and 4 bindings, whose credentials are
#      sealed at rest (no password in the SQLite file, osbd-sealed-v1 records instead); stopped.
#   2. osbd --migrate-state --from sqlite:DATADIR --config pg.yaml into a fresh database and role
#      of the test server, pg.yaml with a new credentials key (the old one is read from DATADIR):
#      exit 0, the counts printed (3 instances, 4 bindings, N >= 7 operations); the credentials
#      sealed in PostgreSQL with the new key, none in plain text; run again: refused (the target
#      is not empty), non-zero exit.
#   3. osbd on the PostgreSQL store: every instance and binding answers as before the migration
#      (credentials included), one binding's credentials log in with psql, and the store takes
#      new work (a provision) and removes everything (unbind, deprovision: the plugin's databases
#      are gone).
# Fails (does not skip) without psql, pg_dump, sqlite3 or the variables of
# `scripts/test-servers.sh env postgres`.
# Usage: migrate_state.sh OSBD PLUGIN_DIR
set -euo pipefail
osbd=$(realpath "$1")
plugin_dir=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=script_support.sh
. "$here/script_support.sh"

missing=()
for tool in /usr/bin/psql /usr/bin/pg_dump /usr/bin/sqlite3; do
  [ -x "$tool" ] || missing+=("$tool (scripts/install-deps.sh: postgresql-client, sqlite3)")
done
for v in OSBD_PG_HOST OSBD_PG_PORT OSBD_PG_ADMIN_USER OSBD_PG_ADMIN_PASSWORD; do
  [ -n "${!v:-}" ] || missing+=("$v (eval \"\$(scripts/test-servers.sh env postgres)\")")
done
[ -f "$plugin_dir/osb_postgresql.so" ] || missing+=("$plugin_dir/osb_postgresql.so")
if [ ${#missing[@]} -gt 0 ]; then
  echo "FAIL migrate_state: missing:"
  printf '  %s\n' "${missing[@]}"
  exit 1
fi

script_setup osbd-migrate
cd "$work"
suffix=$(openssl rand -hex 4)
state_db=osbd_mig_$suffix
state_user=osbd_mig_$suffix
prefix=mig${suffix}_
admin_psql() {
  PGPASSWORD=$OSBD_PG_ADMIN_PASSWORD PGCONNECT_TIMEOUT=5 /usr/bin/psql -XAtq -v ON_ERROR_STOP=1 \
    -h "$OSBD_PG_HOST" -p "$OSBD_PG_PORT" -U "$OSBD_PG_ADMIN_USER" -d postgres "$@"
}
# At exit, besides script_setup's clean-up: the state database and role, and whatever the plugin
# left on the shared test server (this run's name prefix).
state_created=0
drop_leftovers() {
  local name
  for name in $(admin_psql -c "SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'" 2>/dev/null); do
    admin_psql -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  for name in $(admin_psql -c "SELECT rolname FROM pg_roles WHERE rolname LIKE '${prefix}%'" 2>/dev/null); do
    admin_psql -c "DROP ROLE IF EXISTS \"$name\"" >/dev/null 2>&1 || true
  done
  if [ "$state_created" = 1 ]; then
    admin_psql -c "DROP DATABASE IF EXISTS $state_db WITH (FORCE)" \
      -c "DROP ROLE IF EXISTS $state_user" >/dev/null 2>&1 || true
  fi
}
trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; show_osbd_reports; drop_leftovers; cd /; rm -rf "$work"' EXIT

mkdir -m 700 plugins
cp "$plugin_dir/osb_postgresql.so" plugins/
platform=platform:migrate-platform-password
admin=operator:migrate-admin-password
service=0bea0f68-793d-4a91-8149-66db78d67528
plan=a50e8c9b-6ed0-414d-b0fb-5766585f0573
# write_config FILE STATE_LINES: a configuration with the PostgreSQL plugin on the test server.
write_config() {
  cat >"$1" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/data
plugin_dir: $work/plugins
log_level: info
auth: {username: platform, password: migrate-platform-password}
admin: {username: operator, password: migrate-admin-password}
$2
plugins:
  org.osbd.postgresql:
    name_prefix: $prefix
    servers:
      - name: local
        host: $OSBD_PG_HOST
        port: $OSBD_PG_PORT
        admin_user: $OSBD_PG_ADMIN_USER
        admin_password: $OSBD_PG_ADMIN_PASSWORD
        sslmode: disable
    services:
      - id: $service
        name: postgresql
        description: A PostgreSQL database of your own
        plans:
          - id: $plan
            name: small
            description: 100 MB
            servers: [local]
            quota_mb: 100
YAML
}
start_osbd() {
  : >osbd.log
  "$osbd" --config "$1" >>osbd.log 2>&1 &
  pid=$!
  wait_listening osbd.log
}
stop_osbd() {
  local rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  pid=
  check "SIGTERM: osbd exits 0" 0 "$rc"
}
url="http://127.0.0.1:$port"
osb() { curl -s -u "$platform" -H 'X-Broker-API-Version: 2.17' "$@"; }
# put PATH BODY SAVE: PUT, the body kept in SAVE; prints the status.
put() {
  osb -o "$3" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' "$url$1" -d "$2"
}
yes_if() { if "$@"; then echo yes; else echo no; fi; }
# same_json A B: whether two answers are the same JSON, but for the storage the plugin measures
# at each fetch (metadata.attributes.storage_bytes), which is not the store's.
same_json() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
def norm(path):
    body = json.load(open(path))
    attributes = body.get("metadata", {}).get("attributes", {})
    attributes.pop("storage_bytes", None)
    return body
sys.exit(0 if norm(sys.argv[1]) == norm(sys.argv[2]) else 1)
PY
}
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credentials"][sys.argv[2]])' "$1" "$2"; }

instances=(i-1 i-2 i-3)
bindings=(i-1/b-1 i-1/b-2 i-2/b-1 i-3/b-1)
mkdir before after

echo "== 1. the SQLite store"
write_config sqlite.yaml ""
start_osbd sqlite.yaml
for i in "${instances[@]}"; do
  check "provision $i" 201 "$(put "/v2/service_instances/$i" \
    "{\"service_id\":\"$service\",\"plan_id\":\"$plan\",\"organization_guid\":\"org-m\",\"space_guid\":\"space-m\"}" \
    "before/$i.provision")"
done
for ib in "${bindings[@]}"; do
  check "bind $ib" 201 "$(put "/v2/service_instances/${ib%/*}/service_bindings/${ib#*/}" \
    "{\"service_id\":\"$service\",\"plan_id\":\"$plan\"}" "before/${ib/\//.}.bind")"
done
for i in "${instances[@]}"; do
  check "fetch $i" 200 "$(osb -o "before/$i.json" -w '%{http_code}' "$url/v2/service_instances/$i")"
done
for ib in "${bindings[@]}"; do
  check "fetch binding $ib" 200 "$(osb -o "before/${ib/\//.}.json" -w '%{http_code}' \
    "$url/v2/service_instances/${ib%/*}/service_bindings/${ib#*/}")"
  # Compared by digest: the log of a test shows no password.
  check "fetched credentials = bind's ($ib)" \
    "$(field "before/${ib/\//.}.bind" password | sha256sum | cut -c1-16)" \
    "$(field "before/${ib/\//.}.json" password | sha256sum | cut -c1-16)"
done
stop_osbd
check "osbd generated its key in data_dir" yes "$(yes_if test -s data/credentials.key)"
sqlite3 data/osbd.db .dump >sqlite.dump
sealed_in_sqlite=$(grep -o 'osbd-sealed-v1:' sqlite.dump | wc -l)
echo "osbd-sealed-v1 records in the SQLite file: $sealed_in_sqlite"
check "credentials sealed in SQLite (at least 4 sealed records)" yes \
  "$(yes_if [ "$sealed_in_sqlite" -ge 4 ])"
plain=0
for ib in "${bindings[@]}"; do
  if grep -qF "$(field "before/${ib/\//.}.bind" password)" sqlite.dump; then plain=$((plain + 1)); fi
done
check "no binding's password in the SQLite file" 0 "$plain"

echo "== 2. --migrate-state into PostgreSQL"
state_password=$(openssl rand -hex 16)
state_created=1
admin_psql -c "CREATE ROLE $state_user LOGIN PASSWORD '$state_password'" \
  -c "CREATE DATABASE $state_db OWNER $state_user" >/dev/null
(umask 077 && printf '%s\n' "$state_password" >state-db-password)
# The replicas' key: a new one. --migrate-state opens the SQLite store's credentials with the key
# in its data directory and seals them again with this one.
(umask 077 && openssl rand -hex 32 >credentials.key)
write_config pg.yaml "state:
  backend: postgresql
  replica_id: migrated-1
  lease_seconds: 5
  postgresql:
    host: $OSBD_PG_HOST
    port: $OSBD_PG_PORT
    database: $state_db
    user: $state_user
    password_file: $work/state-db-password
    sslmode: disable
credentials_encryption:
  key_file: $work/credentials.key"
rc=0
"$osbd" --migrate-state --from "sqlite:$work/data" --config pg.yaml >migrate.out 2>&1 || rc=$?
echo "--- osbd --migrate-state (exit $rc):"; cat migrate.out
check "migration exits 0" 0 "$rc"
count_of() { grep -Eo "[0-9]+ $1" migrate.out | head -n 1 | grep -Eo '^[0-9]+' || echo none; }
check "it printed 3 instances" 3 "$(count_of instances)"
check "it printed 4 bindings" 4 "$(count_of bindings)"
operations=$(count_of operations)
echo "operations copied: $operations"
check "it printed the operations (at least the 3 provisions and 4 binds)" yes \
  "$(yes_if [ "${operations/none/0}" -ge 7 ])"
PGPASSWORD=$OSBD_PG_ADMIN_PASSWORD /usr/bin/pg_dump -h "$OSBD_PG_HOST" -p "$OSBD_PG_PORT" \
  -U "$OSBD_PG_ADMIN_USER" --data-only "$state_db" >pg.dump
sealed_in_pg=$(grep -o 'osbd-sealed-v1:' pg.dump | wc -l)
echo "osbd-sealed-v1 records in the PostgreSQL store: $sealed_in_pg"
check "credentials sealed in PostgreSQL (at least 4 sealed records)" yes \
  "$(yes_if [ "$sealed_in_pg" -ge 4 ])"
plain=0
for ib in "${bindings[@]}"; do
  if grep -qF "$(field "before/${ib/\//.}.bind" password)" pg.dump; then plain=$((plain + 1)); fi
done
check "no binding's password in the PostgreSQL store" 0 "$plain"
key_ids() { grep -o 'osbd-sealed-v1:[^:]*:' "$1" | sort -u | tr '\n' ' '; }
echo "key ids: SQLite $(key_ids sqlite.dump), PostgreSQL $(key_ids pg.dump)"
check "sealed again with the new key (one key id, not the SQLite store's)" yes \
  "$(yes_if [ "$(key_ids pg.dump | wc -w)" = 1 ] && [ "$(key_ids pg.dump)" != "$(key_ids sqlite.dump)" ])"

rc=0
"$osbd" --migrate-state --from "sqlite:$work/data" --config pg.yaml >migrate-again.out 2>&1 || rc=$?
echo "--- the same migration again (exit $rc):"; cat migrate-again.out
check "a second migration is refused (non-zero exit)" yes "$(yes_if [ "$rc" -ne 0 ])"
check "saying the target is not empty" yes \
  "$(yes_if grep -Eqi 'not empty|already holds' migrate-again.out)"

echo "== 3. osbd on the PostgreSQL store"
start_osbd pg.yaml
for i in "${instances[@]}"; do
  check "fetch $i" 200 "$(osb -o "after/$i.json" -w '%{http_code}' "$url/v2/service_instances/$i")"
  check "$i answers as before the migration" yes "$(yes_if same_json "before/$i.json" "after/$i.json")"
done
for ib in "${bindings[@]}"; do
  check "fetch binding $ib" 200 "$(osb -o "after/${ib/\//.}.json" -w '%{http_code}' \
    "$url/v2/service_instances/${ib%/*}/service_bindings/${ib#*/}")"
  check "$ib answers as before the migration (credentials included)" yes \
    "$(yes_if cmp -s "before/${ib/\//.}.json" "after/${ib/\//.}.json")"
done
uri=$(field after/i-2.b-1.json uri)
database=$(field after/i-2.b-1.json database)
check "psql logs in with i-2/b-1's credentials" "$database" \
  "$(PGCONNECT_TIMEOUT=5 /usr/bin/psql -XAtq "$uri" -c 'SELECT current_database()' 2>&1)"
check "and writes" 1 "$(PGCONNECT_TIMEOUT=5 /usr/bin/psql -XAtq "$uri" \
  -c 'CREATE TABLE migrated (x int)' -c 'INSERT INTO migrated VALUES (1)' \
  -c 'SELECT count(*) FROM migrated' 2>&1 | tail -n 1)"
check "the migrated store shows this replica" migrated-1 "$(curl -s -u "$admin" "$url/admin/replicas" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("self"))' 2>/dev/null || echo none)"
check "a new provision" 201 "$(put /v2/service_instances/i-4 \
  "{\"service_id\":\"$service\",\"plan_id\":\"$plan\",\"organization_guid\":\"org-m\",\"space_guid\":\"space-m\"}" \
  after/i-4.provision)"
for ib in "${bindings[@]}"; do
  check "unbind $ib" 200 "$(osb -o /dev/null -w '%{http_code}' -X DELETE \
    "$url/v2/service_instances/${ib%/*}/service_bindings/${ib#*/}?service_id=$service&plan_id=$plan")"
done
for i in "${instances[@]}" i-4; do
  check "deprovision $i" 200 "$(osb -o /dev/null -w '%{http_code}' -X DELETE \
    "$url/v2/service_instances/$i?service_id=$service&plan_id=$plan")"
done
check "the plugin's databases are gone" 0 \
  "$(admin_psql -c "SELECT count(*) FROM pg_database WHERE datname LIKE '${prefix}%'")"
check "and its roles" 0 "$(admin_psql -c "SELECT count(*) FROM pg_roles WHERE rolname LIKE '${prefix}%'")"
stop_osbd
script_result

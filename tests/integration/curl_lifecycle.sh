#!/usr/bin/env bash
# The README's walk-through as a test: a full synchronous lifecycle with curl against
#   osbd --config config/osbd.yaml --listen 127.0.0.1:PORT --data-dir DIR
# with kill -9 between provision and bind. Usage: curl_lifecycle.sh OSBD CONFIG PLUGIN_DIR
set -euo pipefail

osbd=$1
config=$2
plugin_dir=$3
repo=$(cd "$(dirname "$config")/.." && pwd)
data=$(mktemp -d /tmp/osbd-curl-XXXXXX)
log=$data/osbd.log
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# A free port below the ephemeral range.
# shellcheck source=script_support.sh
. "$(dirname "$0")/script_support.sh"
port=$(free_port)

start() {
  (cd "$repo" && exec "$osbd" --config "$config" --listen "127.0.0.1:$port" --data-dir "$data/state" \
     --plugin-dir "$plugin_dir" >>"$log" 2>&1) &
  pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/catalog" && return 0
    sleep 0.1
  done
  echo "osbd did not start:"; cat "$log"; exit 1
}

url=http://127.0.0.1:$port
auth=osbd:osbd-dev-password
service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
plan=700556d0-4a22-4ed7-8a5c-004d693b5286
failures=0
passes=0

# expect STATUS METHOD PATH [BODY]: runs curl, compares the HTTP status, keeps the body in $body.
expect() {
  local want=$1 method=$2 path=$3 data=${4:-}
  local args=(-s -o "$data_file" -w '%{http_code}' -u "$auth" -H 'X-Broker-API-Version: 2.17' -X "$method")
  if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' -d "$data"); fi
  local got
  got=$(curl "${args[@]}" "$url$path")
  body=$(cat "$data_file")
  if [ "$got" = "$want" ]; then
    passes=$((passes + 1)); echo "ok   $method $path -> $got"
  else
    failures=$((failures + 1)); echo "FAIL $method $path -> $got (want $want): $body"
  fi
}
data_file=$data/body

start
expect 200 GET /v2/catalog
echo "$body" | grep -q "$service" || { echo "FAIL catalog lacks the example service"; failures=$((failures + 1)); }
provision="{\"service_id\":\"$service\",\"plan_id\":\"$plan\",\"organization_guid\":\"org-1\",\"space_guid\":\"space-1\",\"parameters\":{\"size\":2}}"
expect 201 PUT /v2/service_instances/i-1 "$provision"
expect 200 PUT /v2/service_instances/i-1 "$provision"
expect 200 GET /v2/service_instances/i-1/last_operation

echo "kill -9 osbd (pid $pid) between provision and bind"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
start

expect 200 GET /v2/service_instances/i-1
expect 200 PUT /v2/service_instances/i-1 "$provision"
bind="{\"service_id\":\"$service\",\"plan_id\":\"$plan\"}"
expect 201 PUT /v2/service_instances/i-1/service_bindings/b-1 "$bind"
echo "$body" | grep -q '"credentials"' || { echo "FAIL bind returned no credentials"; failures=$((failures + 1)); }
expect 200 PUT /v2/service_instances/i-1/service_bindings/b-1 "$bind"
expect 200 DELETE "/v2/service_instances/i-1/service_bindings/b-1?service_id=$service&plan_id=$plan"
expect 410 DELETE "/v2/service_instances/i-1/service_bindings/b-1?service_id=$service&plan_id=$plan"
expect 200 DELETE "/v2/service_instances/i-1?service_id=$service&plan_id=$plan"
expect 410 DELETE "/v2/service_instances/i-1?service_id=$service&plan_id=$plan"

kill -TERM "$pid"
code=0; wait "$pid" || code=$?
pid=
if [ "$code" = 0 ]; then passes=$((passes + 1)); echo "ok   SIGTERM -> exit 0"; else failures=$((failures + 1)); echo "FAIL SIGTERM -> exit $code"; fi

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]

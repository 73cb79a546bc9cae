#!/usr/bin/env bash
# Plugins dropped into the plugin directory of a running osbd (picked up by its inotify watch):
#   1. under a concurrent load of catalog, provision and deprovision requests (wrk), the
#      clang-built example plugin is dropped in and shows in the catalog within two seconds (ten
#      in sanitizer builds, whose plugin hosts take seconds to start), and
#      the load sees no error;
#   2. a broken plugin (ABI major 2) is refused with start-up's message and changes nothing;
#   3. removing a plugin that still has an instance is refused (it keeps serving), a restart
#      refuses to start without it, and once its instance is gone, removing it unloads it.
# Usage: plugin_drop_in.sh BUILD_DIR SOURCE_DIR OSBD OSBCTL FIXTURE_DIR
set -euo pipefail
build=$1
src=$2
osbd=$3
osbctl=$4
fixtures=$5
# shellcheck source=script_support.sh
. "$(dirname "$0")/script_support.sh"
script_setup osbd-drop-in
# Loading a plugin starts its host process, which in a sanitizer build takes seconds to start.
load_bound=2
[ "${OSBD_SANITIZED:-0}" != 1 ] || load_bound=10
cd "$work"

build_clang_example "$build" "$src" "$work/sdk"
mkdir -p plugins
cp "$fixtures/abi_1_0/abi_1_0.so" plugins/
cat >osbd.yaml <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $work/plugins
log_level: info
auth: {username: platform, password: drop-in-platform-password}
admin: {username: operator, password: drop-in-admin-password}
YAML
start_osbd() {
  : >osbd.log
  "$osbd" --config osbd.yaml >>osbd.log 2>&1 &
  pid=$!
  wait_listening osbd.log
}
url="http://127.0.0.1:$port"
osb() { curl -s -u platform:drop-in-platform-password -H 'X-Broker-API-Version: 2.17' "$@"; }
catalog_names() {
  osb "$url/v2/catalog" | grep -o '"name":"[a-z0-9-]*-service"\|"name":"fixture[a-z0-9-]*"' \
    | sed 's/"name":"\(.*\)"/\1/' | sort | tr '\n' ' '
}
catalog_has() { osb "$url/v2/catalog" | grep -q "$1"; }
catalog_lacks() { ! catalog_has "$1"; }
admin_plugins() { curl -s -u operator:drop-in-admin-password "$url/admin/plugins"; }
plugins_say() { admin_plugins | grep -q "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for SECONDS COMMAND...: runs COMMAND every 20 ms until it succeeds; prints the ms it took.
wait_for() {
  local limit=$(($1 * 1000)) start
  shift
  start=$(now_ms)
  while [ $(($(now_ms) - start)) -lt "$limit" ]; do
    if "$@" >/dev/null 2>&1; then
      echo $(($(now_ms) - start))
      return 0
    fi
    sleep 0.02
  done
  echo never
}
# atomic_drop FILE NAME: copies FILE into the plugin directory under NAME, as operators should:
# a temporary name osbd ignores, then a rename.
atomic_drop() {
  cp "$1" "plugins/.$2.tmp"
  mv "plugins/.$2.tmp" "plugins/$2"
}
start_osbd

echo "== 1. drop-in under load"
check "catalog before: the fixture only" "fixture-abi-1-0 " "$(catalog_names)"
# A request may wait as long as the drop-in may take (a host starting under a sanitizer stalls
# osbd's fork for a moment); wrk's own 2 s would count it as a socket error.
wrk -t2 -c2 -d5s --timeout "${load_bound}s" -H 'Authorization: Basic cGxhdGZvcm06ZHJvcC1pbi1wbGF0Zm9ybS1wYXNzd29yZA==' \
  -H 'X-Broker-API-Version: 2.17' -s "$src/tests/integration/drop_in_load.lua" "$url" >wrk.out 2>&1 &
wrk_pid=$!
sleep 1.5
atomic_drop "$clang_example" osb_example.so
took=$(wait_for "$load_bound" catalog_has example-service)
echo "example-service appeared in the catalog after $took ms"
check "clang-built example in the catalog within $load_bound s" yes "$([ "$took" != never ] && echo yes || echo no)"
wait "$wrk_pid"
cat wrk.out
requests=$(grep -o '^ *[0-9]* requests in' wrk.out | grep -o '[0-9]*' | head -n 1)
echo "load: $requests requests"
check "the load made requests" yes "$([ "${requests:-0}" -gt 100 ] && echo yes || echo no)"
check "the load saw no non-2xx answer" 0 "$(grep -o 'Non-2xx or 3xx responses: [0-9]*' wrk.out | grep -o '[0-9]*$' || echo 0)"
check "the load saw no socket error" 0 "$(grep -c 'Socket errors' wrk.out || true)"
check "the load saw no unexpected status" 0 "$(grep -c 'unexpected status' wrk.out || true)"
check "catalog after: fixture and example" "example-service fixture-abi-1-0 " "$(catalog_names)"
check "the drop-in was logged" 1 "$(grep -c '"msg":"plugin loaded".*osb_example.so' osbd.log)"
OSBCTL_URL=$url OSBCTL_USER=operator OSBCTL_PASSWORD=drop-in-admin-password "$osbctl" plugins \
  >plugins.txt
cat plugins.txt
check "osbctl plugins lists the example with its version and ABI" 1 \
  "$(grep -c '^org.osbd.example  *1.0.0  *osbd  *1.1  *.*osb_example.so  *example-service\[default\]' plugins.txt)"

echo "== 2. a broken plugin"
etag_before=$(osb -D - -o /dev/null "$url/v2/catalog" | grep -i '^etag' | tr -d '\r')
atomic_drop "$fixtures/abi_major_mismatch/abi_major_mismatch.so" broken.so
took=$(wait_for "$load_bound" plugins_say broken.so)
check "the broken plugin is refused within $load_bound s" yes "$([ "$took" != never ] && echo yes || echo no)"
refusal=$(admin_plugins | /usr/bin/python3 -c 'import json,sys; print([r["error"] for r in json.load(sys.stdin)["refused"] if r["file"].endswith("broken.so")][0])')
echo "refused: $refusal"
# Start-up says the same of the same file: everything after the file's path is equal.
mkdir -p broken-only
cp "$fixtures/abi_major_mismatch/abi_major_mismatch.so" broken-only/broken.so
startup=$("$osbd" --config osbd.yaml --plugin-dir "$work/broken-only" --check-config 2>&1 || true)
echo "start-up: $startup"
check "start-up gives the same message" "osbd: $work/broken-only/broken.so${refusal#"$work/plugins/broken.so"}" "$startup"
check "the message names the ABI versions" 1 "$(echo "$refusal" | grep -c 'ABI major version mismatch: plugin 2.0, host 1.1')"
check "the catalog is unchanged (same ETag)" "$etag_before" "$(osb -D - -o /dev/null "$url/v2/catalog" | grep -i '^etag' | tr -d '\r')"
check "the refusal was logged" 1 "$(grep -c '"msg":"plugin refused".*broken.so' osbd.log)"
rm plugins/broken.so

echo "== 3. removing a plugin with an instance"
example_service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
sync_plan=700556d0-4a22-4ed7-8a5c-004d693b5286
check "provision on the dropped-in plugin" 201 "$(osb -o /dev/null -w '%{http_code}' -X PUT \
  -H 'Content-Type: application/json' "$url/v2/service_instances/kept-1" \
  -d "{\"service_id\":\"$example_service\",\"plan_id\":\"$sync_plan\",\"organization_guid\":\"o\",\"space_guid\":\"s\"}")"
# Replaced (by a rename, as operators should) while the instance exists: refused the same way.
atomic_drop "$clang_example" osb_example.so
took=$(wait_for 2 plugins_say 'replaced while 1 instance')
check "replacement refused while an instance uses it" yes "$([ "$took" != never ] && echo yes || echo no)"
rm plugins/osb_example.so
took=$(wait_for 2 plugins_say 'removed while 1 instance')
check "removal refused while an instance uses it" yes "$([ "$took" != never ] && echo yes || echo no)"
check "the plugin keeps serving its instance" 200 "$(osb -o /dev/null -w '%{http_code}' "$url/v2/service_instances/kept-1")"
check "and stays in the catalog" "example-service fixture-abi-1-0 " "$(catalog_names)"
kill -TERM "$pid"; wait "$pid" || true; pid=
rc=0
"$osbd" --config osbd.yaml >restart.log 2>&1 || rc=$?
cat restart.log
check "a restart without the plugin refuses to start (exit 78)" 78 "$rc"
check "and says why" 1 "$(grep -c 'osbd does not drop live instances' restart.log)"
atomic_drop "$clang_example" osb_example.so
start_osbd
check "with the plugin back, it starts and serves the instance" 200 "$(osb -o /dev/null -w '%{http_code}' "$url/v2/service_instances/kept-1")"
check "deprovision" 200 "$(osb -o /dev/null -w '%{http_code}' -X DELETE "$url/v2/service_instances/kept-1?service_id=$example_service&plan_id=$sync_plan")"
# Without instances, a replacement is unloaded and the new file loaded.
atomic_drop "$clang_example" osb_example.so
# A "plugin loaded" line after the "unloaded ... replaced" one (start-up logged a load already),
# and the catalog published after it.
replaced() {
  sed -n '/"msg":"plugin unloaded".*"reason":"replaced"/,$p' osbd.log \
    | grep -q '"msg":"plugin loaded".*osb_example.so' && catalog_has example-service
}
took=$(wait_for $((load_bound + 3)) replaced)
check "without instances, a replacement is loaded" yes "$([ "$took" != never ] && echo yes || echo no)"
check "and serves" "example-service fixture-abi-1-0 " "$(catalog_names)"
rm plugins/osb_example.so
took=$(wait_for 2 catalog_lacks example-service)
check "without instances, removing it unloads it within 2 s" yes "$([ "$took" != never ] && echo yes || echo no)"
check "catalog: the fixture only" "fixture-abi-1-0 " "$(catalog_names)"

echo "== 4. catalogs reloaded on SIGHUP"
team_x() {
  curl -s -o /dev/null -w '%{http_code}' -u team-x:team-x-password \
    -H 'X-Broker-API-Version: 2.17' "$url/catalogs/team-x/v2/catalog"
}
check "no catalog team-x yet" 401 "$(team_x)"
cat >>osbd.yaml <<YAML
catalogs:
  team-x:
    credentials: [{username: team-x, password: team-x-password}]
    services: [{service: fixture-abi-1-0, description: Shown to team X}]
YAML
kill -HUP "$pid"
team_x_serves() { [ "$(team_x)" = 200 ]; }
took=$(wait_for 2 team_x_serves)
check "after SIGHUP, catalog team-x serves within 2 s" yes "$([ "$took" != never ] && echo yes || echo no)"
check "with its override" 1 "$(curl -s -u team-x:team-x-password -H 'X-Broker-API-Version: 2.17' \
  "$url/catalogs/team-x/v2/catalog" | grep -c 'Shown to team X')"
echo "garbage: [" >>osbd.yaml
kill -HUP "$pid"
took=$(wait_for 2 grep -q 'configuration not reloaded' osbd.log)
check "a broken configuration is not applied, and says so" yes "$([ "$took" != never ] && echo yes || echo no)"
check "the running catalogs stay" 200 "$(team_x)"
check "osbd still runs" yes "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
script_result

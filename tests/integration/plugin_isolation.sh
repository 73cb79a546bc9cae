#!/usr/bin/env bash
# Each plugin in an osbd-plugin-host process of its own: what a broken plugin can no longer do to
# osbd and to the other plugins.
#   a. containment under load: while wrk drives catalog, provision and deprovision on the example
#      plugin, five broken fixtures (tests/fixtures: crash_on_param, abort_call, spin_forever,
#      sleep_call, hog_memory) are called over and over; the load sees no error, osbd keeps its
#      PID, the fixtures answer only 502 PluginCrashed, 503 PluginUnavailable (with Retry-After)
#      and 504 PluginTimeout, and /admin/plugins, osbctl plugins and /metrics count their
#      restarts and timeouts;
#   b. busy workers: with 4 worker threads and 8 sleeping calls of one plugin whose
#      max_concurrent_calls is 2 (2 in flight, 6 refused after queue_timeout_ms), the example's
#      provision and fetch, /readyz and
#      /admin/instances still answer within 1 s; SIGTERM then ends osbd within
#      limits.shutdown_timeout_seconds (3 s, + 1 s slack) and takes its hosts with it;
#   c. an asynchronous provision whose host is killed (kill -9) mid-operation: the host is
#      restarted with a new PID and the operation still succeeds; none is left in progress.
# With OSBD_SANITIZED=1 (sanitizer builds, where osbd sets no RLIMIT_AS) hog_memory is not called.
# Usage: plugin_isolation.sh OSBD OSBCTL PLUGIN_DIR FIXTURE_DIR
set -euo pipefail
osbd=$(realpath "$1")
osbctl=$(realpath "$2")
plugin_dir=$(realpath "$3")
fixtures=$(realpath "$4")
sanitized=${OSBD_SANITIZED:-0}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=script_support.sh
. "$here/script_support.sh"
script_setup osbd-isolation
cd "$work"

host_binary="$(dirname "$osbd")/osbd-plugin-host"
[ -x "$host_binary" ] || { echo "no osbd-plugin-host next to $osbd"; exit 1; }

mkdir -p plugins
cp "$plugin_dir/osb_example.so" plugins/
broken=(crash_on_param abort_call spin_forever sleep_call hog_memory)
for name in "${broken[@]}"; do
  cp "$fixtures/$name/$name.so" plugins/
done
# Each fixture's number (its service and plan ids, tests/fixtures/fixture_common.h).
declare -A number=([crash_on_param]=15 [abort_call]=16 [spin_forever]=17 [sleep_call]=18
                   [hog_memory]=19)
example=org.osbd.example
example_service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
sync_plan=700556d0-4a22-4ed7-8a5c-004d693b5286
async_plan=234546ec-7332-4da8-86fd-58acefc3580b
platform=platform:isolation-platform-password
admin=operator:isolation-admin-password

# write_config SCENARIO LIMITS PLUGINS: osbd.yaml with the given limits: and plugins: entries
# (YAML lines indented by two spaces), state in state-SCENARIO.
write_config() {
  cat >osbd.yaml <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state-$1
plugin_dir: $work/plugins
log_level: info
auth: {username: platform, password: isolation-platform-password}
admin: {username: operator, password: isolation-admin-password}
limits:
$2
plugins:
$3
YAML
}
# start_osbd: starts osbd on osbd.yaml; its output goes to osbd.log (one per scenario, see
# end_scenario).
start_osbd() {
  : >osbd.log
  "$osbd" --config osbd.yaml >>osbd.log 2>&1 &
  pid=$!
  wait_listening osbd.log
}
# end_scenario NAME: stops osbd (if running) and keeps its log; prints what it wrote besides log
# lines when a check of this scenario failed.
scenario_failures=0
end_scenario() {
  if [ -n "$pid" ]; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
  if [ "$failures" -gt "$scenario_failures" ]; then
    show_osbd_reports
  fi
  scenario_failures=$failures
  mv osbd.log "osbd-$1.log"
}

url="http://127.0.0.1:$port"
osb() { curl -s -u "$platform" -H 'X-Broker-API-Version: 2.17' "$@"; }
admin_get() { curl -s -u "$admin" "$url$1"; }
yes_if() { if "$@"; then echo yes; else echo no; fi; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
provision_body() {  # SERVICE PLAN PARAMETERS
  echo "{\"service_id\":\"$1\",\"plan_id\":\"$2\",\"organization_guid\":\"o\",\"space_guid\":\"s\",\"parameters\":$3}"
}
# plugin_field NAME FIELD: one field of plugin NAME in /admin/plugins ("null", "missing").
plugin_field() {
  admin_get /admin/plugins | /usr/bin/python3 -c '
import json, sys
try:
    found = [p for p in json.load(sys.stdin)["plugins"] if p["name"] == sys.argv[1]]
except Exception:
    found = []
value = found[0].get(sys.argv[2], "missing") if found else "missing"
print("null" if value is None else value)' "$1" "$2"
}
# show_plugins: /admin/plugins as one line per plugin.
show_plugins() {
  admin_get /admin/plugins | /usr/bin/python3 -c '
import json, sys
for p in json.load(sys.stdin)["plugins"]:
    print("  %-32s %s" % (p["name"], " ".join("%s=%s" % (k, json.dumps(p.get(k))) for k in
          ("isolation", "pid", "state", "restarts", "last_exit", "calls_in_flight",
           "call_timeouts"))))' || echo "  (no plugins in /admin/plugins)"
}
# metric NAME PLUGIN: the value of NAME{plugin="PLUGIN"} on /metrics ("missing" without one).
metric() {
  admin_get /metrics | awk -v name="$1{" -v label="plugin=\"$2\"" '
    !found && index($0, name) == 1 && index($0, label) { print $NF; found = 1 }
    END { if (!found) print "missing" }'
}
positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }
at_least() { awk -v v="$1" -v min="$2" 'BEGIN { exit !(v + 0 >= min) }'; }
# within SECONDS TIME: whether TIME (curl's time_total) is below SECONDS.
within() { awk -v limit="$1" -v t="$2" 'BEGIN { exit !(t + 0 < limit) }'; }

echo "== a. containment under load"
fixture_settings="    call_timeout_seconds: 2"
plugins_config="  $example: {async_seconds: 3}"
for name in "${broken[@]}"; do
  plugins_config+=$'\n'"  org.osbd.fixture.$name:"$'\n'"$fixture_settings"
  if [ "$name" = hog_memory ]; then plugins_config+=$'\n'"    max_memory_mb: 256"; fi
done
write_config a "  worker_threads: 8" "$plugins_config"
start_osbd
osbd_pid=$pid
show_plugins
for name in "$example" "${broken[@]/#/org.osbd.fixture.}"; do
  check "$name runs in a process of its own" process "$(plugin_field "$name" isolation)"
  check "$name is up" up "$(plugin_field "$name" state)"
done
example_host=$(plugin_field "$example" pid)
check "the example's host is an osbd-plugin-host" "$(realpath "$host_binary")" \
  "$(readlink "/proc/$example_host/exe" || echo none)"

# The example's load: each connection reads the catalog, provisions and deprovisions (sync plan);
# one connection per wrk thread keeps the three in order.
load_seconds=15
wrk -t3 -c3 -d${load_seconds}s --timeout 5s \
  -H "Authorization: Basic $(printf %s "$platform" | base64)" -H 'X-Broker-API-Version: 2.17' \
  -s "$here/drop_in_load.lua" "$url" -- "$example_service" "$sync_plan" >wrk.out 2>&1 &
wrk_pid=$!

# fixture_provision NAME ID PARAMETERS: one provision of fixture NAME; appends its status to
# codes.NAME (and ID to no-retry-after.NAME for a 503 without Retry-After) and keeps the last
# answer of each status in answer.NAME.CODE.body.
fixture_provision() {
  local name=$1 nn=${number[$1]} code
  code=$(osb -o "answer.$2.body" -D "answer.$2.head" -w '%{http_code}' --max-time 20 \
    -X PUT -H 'Content-Type: application/json' "$url/v2/service_instances/$2" \
    -d "$(provision_body "f0000000-0000-4000-8000-0000000000$nn" \
      "f0000000-0000-4000-8000-0000000001$nn" "$3")") || true
  echo "$code" >>"codes.$name"
  cp "answer.$2.body" "answer.$name.$code.body" 2>/dev/null || true
  if [ "$code" = 503 ] && ! grep -qi '^retry-after:' "answer.$2.head"; then
    echo "$2" >>"no-retry-after.$name"
  fi
  rm -f "answer.$2.body" "answer.$2.head"
  echo "$code"
}
# fixture_loop NAME PARAMETERS: provisions over and over until $deadline.
fixture_loop() {
  local n=0 code
  while [ "$(date +%s)" -lt "$deadline" ]; do
    n=$((n + 1))
    code=$(fixture_provision "$1" "$1-$n" "$2")
    # A spinning host burns a core until it is killed (5 s after the deadline): one at a time.
    if [ "$1" = spin_forever ] && [ "$code" = 504 ]; then
      sleep 5.5
    fi
    sleep 0.2
  done
}
declare -A parameters=([crash_on_param]='{"crash":true}' [abort_call]='{}' [spin_forever]='{}'
                       [sleep_call]='{"sleep_seconds":10}' [hog_memory]='{}')
called=(crash_on_param abort_call spin_forever sleep_call)
if [ "$sanitized" = 1 ]; then
  echo "sanitized build: osbd sets no RLIMIT_AS, hog_memory is not called"
else
  called+=(hog_memory)
fi
for name in "${called[@]}"; do : >"codes.$name"; done
sleep 0.5
deadline=$(($(date +%s) + load_seconds - 2))
loops=()
for name in "${called[@]}"; do
  fixture_loop "$name" "${parameters[$name]}" &
  loops+=($!)
done
for loop in "${loops[@]}"; do wait "$loop"; done
wait "$wrk_pid"
cat wrk.out
requests=$(grep -o '^ *[0-9]* requests in' wrk.out | grep -o '[0-9]*' | head -n 1)
echo "load: ${requests:-0} requests in ${load_seconds} s"
check "the load made requests" yes "$(yes_if [ "${requests:-0}" -gt 100 ])"
check "the load saw no non-2xx answer" 0 \
  "$(grep -o 'Non-2xx or 3xx responses: [0-9]*' wrk.out | grep -o '[0-9]*$' || echo 0)"
check "the load saw no socket error" 0 "$(grep -c 'Socket errors' wrk.out || true)"
check "the load saw no unexpected status" 0 "$(grep -c 'unexpected status' wrk.out || true)"
check "osbd is alive, with its PID" "$(realpath "$osbd")" \
  "$(readlink "/proc/$osbd_pid/exe" || echo gone)"
check "osbd did not start again" 1 "$(grep -c '"msg":"listening"' osbd.log)"
check "osbd answers /healthz" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")"

echo "fixture answers (count status):"
for name in "${called[@]}"; do
  echo "  $name:"
  sort "codes.$name" | uniq -c | sed 's/^/    /'
  check "$name answered only 502, 503 or 504" 0 "$(grep -cv '^50[234]$' "codes.$name" || true)"
  check "$name: every 503 carried Retry-After" 0 \
    "$(lines "no-retry-after.$name")"
done
for name in crash_on_param abort_call; do
  check "$name saw a 502" yes "$(yes_if grep -q '^502$' "codes.$name")"
done
for name in spin_forever sleep_call; do
  check "$name saw a 504" yes "$(yes_if grep -q '^504$' "codes.$name")"
done
[ "$sanitized" = 1 ] ||
  check "hog_memory saw a 502" yes "$(yes_if grep -q '^502$' codes.hog_memory)"
# error_of NAME CODE: the error field of fixture NAME's last answer CODE.
error_of() {
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' \
    "answer.$1.$2.body" 2>/dev/null || echo none
}
if [ -f answer.crash_on_param.502.body ]; then
  echo "502: $(cat answer.crash_on_param.502.body)"
  check "502 is PluginCrashed" PluginCrashed "$(error_of crash_on_param 502)"
  check "and names the plugin and says it can be retried" yes "$(yes_if /usr/bin/python3 -c '
import json, sys
d = json.load(open("answer.crash_on_param.502.body")).get("description", "")
sys.exit(not ("crash_on_param" in d and "retr" in d.lower()))')"
fi
if [ -f answer.sleep_call.504.body ]; then
  echo "504: $(cat answer.sleep_call.504.body)"
  check "504 is PluginTimeout" PluginTimeout "$(error_of sleep_call 504)"
  check "and names the configured call_timeout_seconds (2 s)" yes \
    "$(yes_if grep -q 'within 2 s' answer.sleep_call.504.body)"
fi
for name in "${called[@]}"; do
  if [ -f "answer.$name.503.body" ]; then
    echo "503 ($name): $(cat "answer.$name.503.body")"
    check "503 is PluginUnavailable" PluginUnavailable "$(error_of "$name" 503)"
    break
  fi
done

show_plugins
restarted=(crash_on_param abort_call spin_forever)
[ "$sanitized" = 1 ] || restarted+=(hog_memory)
export OSBCTL_URL=$url OSBCTL_USER=operator OSBCTL_PASSWORD=isolation-admin-password
"$osbctl" plugins || true
"$osbctl" --csv plugins >osbctl-plugins.csv || true
# osbctl_restarts NAME: the RESTARTS column of plugin NAME in osbctl's table ("missing").
osbctl_restarts() {
  /usr/bin/python3 -c '
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1], newline=""))] or [[]]
header = [h.strip().upper() for h in rows[0]]
if "RESTARTS" not in header or "PLUGIN" not in header:
    print("missing"); sys.exit()
for r in rows[1:]:
    if r and r[header.index("PLUGIN")] == sys.argv[2]:
        print(r[header.index("RESTARTS")]); sys.exit()
print("missing")' osbctl-plugins.csv "$1"
}
for name in "${restarted[@]}"; do
  plugin=org.osbd.fixture.$name
  restarts=$(plugin_field "$plugin" restarts)
  metric_restarts=$(metric osbd_plugin_restarts_total "$plugin")
  echo "$name: restarts $restarts (admin), $(osbctl_restarts "$plugin") (osbctl)," \
    "$metric_restarts (metrics), last exit: $(plugin_field "$plugin" last_exit)"
  check "$name restarted (admin)" yes "$(yes_if positive "$restarts")"
  check "$name restarted (osbctl)" yes "$(yes_if positive "$(osbctl_restarts "$plugin")")"
  check "$name restarted (metrics)" yes "$(yes_if positive "$metric_restarts")"
done
if [ "$sanitized" != 1 ]; then
  check "crash_on_param died of SIGSEGV" yes \
    "$(yes_if grep -q 'signal 11' <<<"$(plugin_field org.osbd.fixture.crash_on_param last_exit)")"
fi
check "abort_call died of SIGABRT" yes \
  "$(yes_if grep -q 'signal 6' <<<"$(plugin_field org.osbd.fixture.abort_call last_exit)")"
for name in spin_forever sleep_call; do
  plugin=org.osbd.fixture.$name
  timeouts=$(plugin_field "$plugin" call_timeouts)
  metric_timeouts=$(metric osbd_plugin_call_timeouts_total "$plugin")
  echo "$name: call timeouts $timeouts (admin), $metric_timeouts (metrics)"
  check "$name counted its timeouts (admin)" yes "$(yes_if positive "$timeouts")"
  check "$name counted its timeouts (metrics)" yes "$(yes_if positive "$metric_timeouts")"
done
check "the example never restarted" 0 "$(plugin_field "$example" restarts)"
check "the example kept its host" "$example_host" "$(plugin_field "$example" pid)"
check "osbd_plugin_up of the example" yes "$(yes_if positive "$(metric osbd_plugin_up "$example")")"
end_scenario a

echo "== b. busy workers"
write_config b "  worker_threads: 4"$'\n'"  shutdown_timeout_seconds: 3" \
  "  $example: {async_seconds: 3}
  org.osbd.fixture.sleep_call:
    call_timeout_seconds: 30
    max_concurrent_calls: 2"
start_osbd
rm -f codes.* no-retry-after.* answer.*
: >codes.sleep_call
sleepers=()
for n in $(seq 1 8); do
  fixture_provision sleep_call "sleeper-$n" '{"sleep_seconds":20}' >"sleeper-$n.code" &
  sleepers+=($!)
done
sleep 1
# timed NAME WANT CURL-ARGS...: one request, its status and time printed and checked.
timed() {
  local name=$1 want=$2 answer code seconds
  shift 2
  answer=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "$@") || true
  code=${answer% *}
  seconds=${answer#* }
  echo "$name: $code in $seconds s"
  check "$name answers $want" "$want" "$code"
  check "$name within 1.0 s" yes "$(yes_if within 1.0 "$seconds")"
}
check "2 sleep_call calls in flight" 2 "$(plugin_field org.osbd.fixture.sleep_call calls_in_flight)"
timed "example provision" 201 -u "$platform" -H 'X-Broker-API-Version: 2.17' -X PUT \
  -H 'Content-Type: application/json' "$url/v2/service_instances/busy-1" \
  -d "$(provision_body "$example_service" "$sync_plan" '{}')"
timed "example fetch" 200 -u "$platform" -H 'X-Broker-API-Version: 2.17' \
  "$url/v2/service_instances/busy-1"
timed "/readyz" 200 "$url/readyz"
timed "/healthz" 200 "$url/healthz"
timed "/admin/instances" 200 -u "$admin" "$url/admin/instances"
answered=$(cat sleeper-*.code | sort | uniq -c | tr -s ' ' | tr '\n' ',')
echo "sleep_call answers so far (count status): ${answered:-none}"
check "the 6 calls over max_concurrent_calls got 503" 6 "$(grep -c '^503$' codes.sleep_call || true)"
check "with Retry-After" 0 "$(lines no-retry-after.sleep_call)"
hosts=$(admin_get /admin/plugins | /usr/bin/python3 -c '
import json, sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["plugins"] if p.get("pid")))') || true
echo "hosts: $hosts"
start=$(now_ms)
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null && [ $(($(now_ms) - start)) -lt 15000 ]; do sleep 0.05; done
took=$(($(now_ms) - start))
kill -9 "$pid" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
pid=
echo "osbd exited $took ms after SIGTERM (exit status $rc)"
# Slack for the process to end after the bound: 1 s, 3 s in sanitizer builds (their exit runs
# the sanitizer's own teardown).
slack=1000
[ "$sanitized" != 1 ] || slack=3000
check "osbd exits within shutdown_timeout_seconds (3 s) + $((slack / 1000)) s" yes \
  "$(yes_if [ "$took" -le $((3000 + slack)) ])"
# A zombie (ended, not yet reaped by whichever init adopted it) does not count.
running() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }
hosts_running() {
  local n=0 host
  for host in $hosts; do if running "$host"; then n=$((n + 1)); fi; done
  echo "$n"
}
# A host sees its channel close, gives its calls 0.5 s and exits.
start=$(now_ms)
while [ "$(hosts_running)" != 0 ] && [ $(($(now_ms) - start)) -lt $((1000 + slack)) ]; do
  sleep 0.05
done
left=$(hosts_running)
echo "plugin hosts still running $(($(now_ms) - start)) ms after osbd exited: $left"
for host in $hosts; do kill -9 "$host" 2>/dev/null || true; done
check "no plugin host outlives osbd" 0 "$left"
for sleeper in "${sleepers[@]}"; do wait "$sleeper" || true; done
echo "sleep_call answers (count status): $(sort codes.sleep_call | uniq -c | tr -s ' ' | tr '\n' ',')"
end_scenario b

echo "== c. an asynchronous provision whose host is killed"
write_config c "  poll_interval_ms: 200" "  $example: {async_seconds: 3}"
start_osbd
check "async provision accepted" 202 "$(osb -o /dev/null -w '%{http_code}' -X PUT \
  -H 'Content-Type: application/json' "$url/v2/service_instances/async-1?accepts_incomplete=true" \
  -d "$(provision_body "$example_service" "$async_plan" '{}')")"
old_host=$(plugin_field "$example" pid)
echo "killing the example's host (pid $old_host)"
check "the example's host killed" yes "$(yes_if kill -9 "$old_host")"
start=$(now_ms)
state=
: >poll-codes
while [ $(($(now_ms) - start)) -lt 30000 ]; do
  answer=$(osb -w '\n%{http_code}' "$url/v2/service_instances/async-1/last_operation") || true
  echo "${answer##*$'\n'}" >>poll-codes
  state=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("state"))' \
    "${answer%$'\n'*}" 2>/dev/null || echo none)
  [ "$state" = succeeded ] || [ "$state" = failed ] && break
  sleep 0.25
done
echo "last_operation $state after $(($(now_ms) - start)) ms;" \
  "poll answers (count status): $(sort poll-codes | uniq -c | tr -s ' ' | tr '\n' ',')"
check "the operation succeeded" succeeded "$state"
check "every poll answered 200" 0 "$(grep -cv '^200$' poll-codes || true)"
show_plugins
new_host=$(plugin_field "$example" pid)
check "the example's host was restarted" yes \
  "$(yes_if at_least "$(plugin_field "$example" restarts)" 1)"
check "with a new pid" yes "$(yes_if test "$new_host" != "$old_host" -a "$new_host" != null)"
check "which runs" yes "$(yes_if kill -0 "$new_host")"
check "the example is up" up "$(plugin_field "$example" state)"
check "its last exit was the kill" yes \
  "$(yes_if grep -q 'signal 9' <<<"$(plugin_field "$example" last_exit)")"
check "osbd_plugin_restarts_total of the example" yes \
  "$(yes_if at_least "$(metric osbd_plugin_restarts_total "$example")" 1)"
check "no operation left in progress" 0 "$(admin_get /admin/instances | /usr/bin/python3 -c '
import json, sys
print(sum(1 for i in json.load(sys.stdin)["instances"]
          if i.get("last_operation", {}).get("state") == "in progress"))')"
check "the restarted host serves a provision" 201 "$(osb -o /dev/null -w '%{http_code}' -X PUT \
  -H 'Content-Type: application/json' "$url/v2/service_instances/after-1" \
  -d "$(provision_body "$example_service" "$sync_plan" '{}')")"
end_scenario c
script_result

# shellcheck shell=bash
# shellcheck disable=SC2034  # the constants are used by the campaigns that source this
# Shared by the fault campaigns: source it after `set -euo pipefail`, with $build set to the
# build directory (bin/osbd, plugins/osb_example.so). It sources
# tests/integration/script_support.sh (free_port, check, script_result, wait_listening).
#   faults_setup PREFIX     $work (a temp dir), $port, counters, $osbd, $plugins (a plugin dir
#                           holding only the example plugin), and an EXIT trap that runs
#                           faults_cleanup; campaigns add their own steps to $cleanup_steps
#   write_config FILE [LIMITS_YAML [EXAMPLE_SETTINGS]]   a configuration with the example plugin only
#   start_osbd CONFIG DATA LOG [PREFIX_COMMAND...]   starts osbd into $pid, waits until it listens
#   kill9_osbd / stop_osbd  kill -9 / SIGTERM the osbd in $pid and reap it
#   http STATUS_VAR BODY_VAR METHOD PATH [JSON]       one request with the platform's credentials

faults_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$faults_dir/../.." && pwd)
# shellcheck source=../integration/script_support.sh
. "$repo/tests/integration/script_support.sh"

service_id=9bf6d9ad-db1c-479b-ba8e-648564c66a55
sync_plan=700556d0-4a22-4ed7-8a5c-004d693b5286
async_plan=234546ec-7332-4da8-86fd-58acefc3580b
platform_auth=osbd:osbd-dev-password
cleanup_steps=()

faults_cleanup() {
  local step
  set +e
  if [ -n "${pid:-}" ]; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  for step in "${cleanup_steps[@]}"; do
    eval "$step" 2>/dev/null
  done
  [ -n "${work:-}" ] && rm -rf "$work"
}

faults_setup() {
  script_setup "$1"
  trap faults_cleanup EXIT
  trap 'exit 130' INT TERM
  osbd=$build/bin/osbd
  [ -x "$osbd" ] || { echo "no osbd at $osbd (build the runtime target first)"; exit 1; }
  local example
  example=$(find "$build/plugins" -maxdepth 3 -name 'osb_example.so' | head -n 1)
  [ -n "$example" ] || { echo "no osb_example.so under $build/plugins"; exit 1; }
  plugins=$work/plugins
  mkdir -p "$plugins"
  cp "$example" "$plugins/"
}

# write_config FILE [LIMITS_YAML [EXAMPLE_SETTINGS]]: LIMITS_YAML lines are added under `limits:`
# (two-space indent); EXAMPLE_SETTINGS is the example plugin's settings as a YAML flow mapping.
write_config() {
  local file=$1 extra=${2:-} example=${3:-"{async_seconds: 1}"}
  {
    echo "listen: 127.0.0.1:$port"
    echo "data_dir: $work/data"
    echo "plugin_dir: $plugins"
    echo "log_level: info"
    echo "auth: {username: osbd, password: osbd-dev-password}"
    echo "admin: {username: osbd-admin, password: osbd-dev-admin-password}"
    echo "limits:"
    echo "  io_threads: 2"
    echo "  worker_threads: 8"
    echo "  request_timeout_seconds: 30"
    echo "  poll_interval_ms: 200"
    [ -n "$extra" ] && printf '%s\n' "$extra"
    echo "plugins:"
    echo "  org.osbd.example: $example"
  } >"$file"
}

# config_accepts CONFIG: true when this osbd loads CONFIG (used to find out whether the build
# knows the newer limits keys).
config_accepts() {
  "$osbd" --config "$1" --check-config >/dev/null 2>&1
}

# start_osbd CONFIG DATA LOG [PREFIX_COMMAND...]: starts osbd (through PREFIX_COMMAND, e.g.
# `prlimit --nofile=256:256 --`), in $pid; waits until /healthz answers (10 s at most).
start_osbd() {
  local config=$1 data=$2 log=$3
  shift 3
  "$@" "$osbd" --config "$config" --listen "127.0.0.1:$port" --data-dir "$data" \
    --plugin-dir "$plugins" >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  echo "osbd did not start:"; tail -n 20 "$log"; exit 1
}

kill9_osbd() {
  if [ -n "${pid:-}" ]; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
}

# stop_osbd: SIGTERM, then kill -9 after 10 s. Prints nothing; returns osbd's exit code.
stop_osbd() {
  local code=0
  [ -n "${pid:-}" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || code=$?
  pid=
  return "$code"
}

# http STATUS_VAR BODY_VAR METHOD PATH [JSON]: sets the two variables; status 000 when osbd did
# not answer within 10 s.
http() {
  local -n _status=$1 _body=$2
  local method=$3 path=$4 data=${5:-}
  local out=$work/.http-body
  local args=(-s -o "$out" -w '%{http_code}' --max-time 10 -u "$platform_auth"
              -H 'X-Broker-API-Version: 2.17' -X "$method")
  if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' -d "$data"); fi
  _status=$(curl "${args[@]}" "http://127.0.0.1:$port$path" || true)
  [ -n "$_status" ] || _status=000
  _body=$(cat "$out" 2>/dev/null || true)
  rm -f "$out"
}

# ready_status: the HTTP status of /readyz (000 without an answer).
ready_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/readyz" || true
}

provision_body() {
  echo "{\"service_id\":\"$service_id\",\"plan_id\":\"${1:-$sync_plan}\",\"organization_guid\":\"org-faults\",\"space_guid\":\"space-faults\"}"
}

# check_in NAME GOT ALLOWED...: one check that GOT is one of ALLOWED.
check_in() {
  local name=$1 got=$2 want
  shift 2
  for want in "$@"; do
    if [ "$got" = "$want" ]; then
      passes=$((passes + 1)); echo "ok   $name -> $got"
      return 0
    fi
  done
  failures=$((failures + 1)); echo "FAIL $name -> $got (want one of: $*)"
}

# check_true NAME CONDITION_TEXT RESULT(0/1): a check of a computed condition.
check_true() {
  if [ "$3" = 0 ]; then
    passes=$((passes + 1)); echo "ok   $1 ($2)"
  else
    failures=$((failures + 1)); echo "FAIL $1 ($2)"
  fi
}

#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2154,SC2012  # cleanup steps expand at exit; http() sets variables by name
# Disk-full campaign: osbd's data dir on a small tmpfs that a filler file then fills to ENOSPC.
# While full: a provision gets a 5xx in the OSB error format, /readyz answers 503, existing
# instances still answer GET 200. Once the filler is gone: /readyz is 200 again within a few
# seconds, the failed provision is settled (its last_operation is not "in progress"), a DELETE of
# it answers 200 or 410, a PUT of it and of a fresh id work, and after a kill -9 and restart
# nothing acknowledged is lost.
#
# Usage: disk_full.sh [BUILD_DIR]    (default: build). Needs root for the tmpfs mount; without it
# the campaign is skipped with exit status 77.
# Environment:
#   OSBD_DISKFULL_TMPFS_MB     size of the tmpfs (default 4)
#   OSBD_DISKFULL_INSTANCES    instances provisioned before the disk fills (default 3)
#   OSBD_DISKFULL_RECOVERY_S   seconds /readyz may take to be 200 again (default 5)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
# shellcheck source=faults_support.sh
. "$here/faults_support.sh"

if [ "$(id -u)" != 0 ]; then
  echo "disk_full.sh: SKIPPED, needs root to mount a tmpfs (mount -t tmpfs)"
  echo "0 passed, 0 failed"
  exit 77
fi

tmpfs_mb=${OSBD_DISKFULL_TMPFS_MB:-4}
instances=${OSBD_DISKFULL_INSTANCES:-3}
recovery_limit=${OSBD_DISKFULL_RECOVERY_S:-5}

faults_setup osbd-diskfull
mnt=$work/mnt
mkdir -p "$mnt"
mount -t tmpfs -o "size=${tmpfs_mb}m" tmpfs "$mnt"
cleanup_steps+=('umount "$mnt" || umount -l "$mnt"')
config=$work/osbd.yaml
data=$mnt/data
log=$work/osbd.log
write_config "$config" "" "{async_seconds: 1, sync_delay_ms: 1000}"
echo "disk-full campaign: tmpfs ${tmpfs_mb} MiB at $mnt, port $port"

# A context of about 8 KiB makes each provision's commit large, so the store needs new space
# soon after the disk is full (SQLite reuses WAL space it already has).
padding=$(head -c 6000 /dev/zero | tr '\0' 'x')
# Polls an instance's last_operation (TRIES times, 0.2 s apart) until it leaves "in progress";
# leaves the last answer in st, body and state.
wait_settled() {
  local id=$1 tries=$2
  state=
  for _ in $(seq 1 "$tries"); do
    http st body GET "/v2/service_instances/$id/last_operation"
    state=$(printf '%s' "$body" | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("state",""))
except Exception: print("")' 2>/dev/null || true)
    [ "$state" != "in progress" ] && break
    sleep 0.2
  done
}

big_body() {
  echo "{\"service_id\":\"$service_id\",\"plan_id\":\"$sync_plan\",\"organization_guid\":\"org-faults\",\"space_guid\":\"space-faults\",\"context\":{\"platform\":\"faults\",\"padding\":\"$padding\"}}"
}
is_osb_error() {  # the OSB error body: a JSON object with a string "description"
  python3 -c 'import json,sys
b=json.loads(sys.argv[1]); sys.exit(0 if isinstance(b,dict) and isinstance(b.get("description"),str) else 1)' "$1" 2>/dev/null
}
usage() { df -k "$mnt" | awk 'NR==2 {printf "%s KiB used of %s", $3, $2}'; }

acked=()     # instances acknowledged as created (201/200)
start_osbd "$config" "$data" "$log"
ready_before=$(ready_status)
echo "readiness before: /readyz $ready_before"
check "/readyz before the disk fills" 200 "$ready_before"
for i in $(seq 1 "$instances"); do
  http st body PUT "/v2/service_instances/df-pre-$i" "$(provision_body)"
  echo "provision df-pre-$i -> $st"
  [ "$st" = 201 ] && acked+=("df-pre-$i")
done
http st body PUT "/v2/service_instances/df-pre-async?accepts_incomplete=true" \
  "$(provision_body "$async_plan")"
echo "provision df-pre-async (async) -> $st"
for _ in $(seq 1 50); do
  http lst lbody GET "/v2/service_instances/df-pre-async/last_operation"
  echo "$lbody" | grep -q '"in progress"' || break
  sleep 0.2
done
echo "df-pre-async last_operation -> $lst $lbody"
echo "$lbody" | grep -q '"succeeded"' && acked+=("df-pre-async")
check "instances provisioned before the disk fills" "$((instances + 1))" "${#acked[@]}"
echo "data dir before filling: $(usage); $(ls -l "$data" | awk 'NR>1 {printf "%s=%s ", $9, $5}')"

# Two operations in flight when the disk fills: a synchronous provision whose plugin call
# (sync_delay_ms) is running, so its intent is committed and its final commit meets the full
# disk, and an asynchronous provision (202 already answered) whose completion meets it.
http st body PUT "/v2/service_instances/df-async-inflight?accepts_incomplete=true" \
  "$(provision_body "$async_plan")"
echo "provision df-async-inflight (async) -> $st"
async_inflight=$st
curl -s -o "$work/inflight.body" -w '%{http_code}' --max-time 30 -u "$platform_auth" \
  -H 'X-Broker-API-Version: 2.17' -H 'Content-Type: application/json' -X PUT \
  -d "$(big_body)" "http://127.0.0.1:$port/v2/service_instances/df-inflight" >"$work/inflight.status" &
inflight_pid=$!
cleanup_steps+=('kill -9 "$inflight_pid"')
sleep 0.5
dd if=/dev/zero of="$mnt/filler" bs=64k >/dev/null 2>&1 || true
echo "filled: $(usage)"
fill_mark=$(wc -l <"$log")
wait "$inflight_pid" || true
failed_id=df-inflight
failed_status=$(cat "$work/inflight.status")
failed_body=$(cat "$work/inflight.body" 2>/dev/null || true)
echo "disk full: provision df-inflight (plugin call running when the disk filled) -> $failed_status $(printf '%s' "$failed_body" | head -c 300)"
case "$failed_status" in
  200|201) acked+=(df-inflight); failed_id= ;;
esac
check_in "disk full: the in-flight provision answers a 5xx" "$failed_status" 500 503 507
if [ -n "$failed_id" ]; then
  code=0; is_osb_error "$failed_body" || code=$?
  check_true "disk full: the in-flight refusal is an OSB error body" "$(printf '%s' "$failed_body" | head -c 200)" "$code"
  http st body GET "/v2/service_instances/$failed_id/last_operation"
  echo "disk full: last_operation $failed_id -> $st $body"
fi

# A new provision while full (the WAL may still have room for a few commits: up to 10).
full_status=
for i in $(seq 1 10); do
  id=df-full-$i
  http st body PUT "/v2/service_instances/$id" "$(big_body)"
  echo "disk full: provision $id -> $st $(printf '%s' "$body" | head -c 300)"
  case "$st" in
    200|201) acked+=("$id") ;;
    *) full_status=$st; full_body=$body; break ;;
  esac
done
check_in "disk full: a new provision answers a 5xx" "${full_status:-201}" 500 503 507
if [ -n "$full_status" ]; then
  code=0; is_osb_error "$full_body" || code=$?
  check_true "disk full: the refusal is an OSB error body" "$(printf '%s' "$full_body" | head -c 200)" "$code"
fi
sleep 1.5   # the asynchronous provision's completion now meets the full disk too
http st body GET "/v2/service_instances/df-async-inflight/last_operation"
echo "disk full: last_operation df-async-inflight -> $st $body"

# /readyz must notice; it may take a moment (a commit or sync attempt), so poll up to 5 s.
ready_during=000
for _ in $(seq 1 25); do
  ready_during=$(ready_status)
  [ "$ready_during" = 503 ] && break
  sleep 0.2
done
echo "readiness during: /readyz $ready_during ($(curl -s --max-time 5 "http://127.0.0.1:$port/readyz"))"
check "/readyz while the disk is full" 503 "$ready_during"
for id in "${acked[@]:0:3}"; do
  http st body GET "/v2/service_instances/$id"
  check "disk full: GET existing instance $id" 200 "$st"
done
echo "osbd warnings and errors while full (first 8):"
tail -n +"$((fill_mark + 1))" "$log" | grep -E '"level":"(warn|error)"' | head -n 8 | cut -c 1-300 || true

# Space is back.
rm -f "$mnt/filler"
t0=$(date +%s%N)
ready_after=000
for _ in $(seq 1 $((recovery_limit * 10 + 50))); do
  ready_after=$(ready_status)
  [ "$ready_after" = 200 ] && break
  sleep 0.1
done
recovery_ms=$((($(date +%s%N) - t0) / 1000000))
echo "readiness after: /readyz $ready_after after ${recovery_ms} ms (space back: $(usage))"
check "/readyz 200 again once space is back" 200 "$ready_after"
code=0; [ "$ready_after" = 200 ] && [ "$recovery_ms" -le $((recovery_limit * 1000)) ] || code=1
check_true "recovery within ${recovery_limit} s" "recovery_ms=$recovery_ms" "$code"

if [ -n "$failed_id" ]; then
  wait_settled "$failed_id" 25
  echo "after: last_operation $failed_id -> $st $body"
  code=0; [ "$state" != "in progress" ] || code=1
  check_true "the failed provision is settled" "state=${state:-none} status=$st" "$code"
  http st body DELETE "/v2/service_instances/$failed_id?service_id=$service_id&plan_id=$sync_plan"
  echo "after: DELETE $failed_id -> $st $body"
  check_in "after: DELETE of the failed provision" "$st" 200 410
  http st body PUT "/v2/service_instances/$failed_id" "$(provision_body)"
  echo "after: PUT $failed_id again -> $st $(printf '%s' "$body" | head -c 200)"
  check "after: PUT of the failed provision's id works" 201 "$st"
  [ "$st" = 201 ] && acked+=("$failed_id")
fi
if [ "$async_inflight" = 202 ]; then
  wait_settled df-async-inflight 50
  echo "after: last_operation df-async-inflight -> $st $body"
  code=0; [ "$st" = 200 ] && [ "$state" != "in progress" ] || code=1
  check_true "the asynchronous provision in flight is settled" "state=${state:-none} status=$st" "$code"
  [ "$state" = succeeded ] && acked+=(df-async-inflight)
  http st body DELETE "/v2/service_instances/df-async-inflight?accepts_incomplete=true&service_id=$service_id&plan_id=$async_plan"
  echo "after: DELETE df-async-inflight -> $st $body"
  check_in "after: DELETE of the asynchronous provision in flight" "$st" 200 202 410
  if [ "$state" = succeeded ]; then unset 'acked[-1]'; fi
fi
http st body PUT "/v2/service_instances/df-after" "$(provision_body)"
check "after: a fresh PUT" 201 "$st"
[ "$st" = 201 ] && acked+=("df-after")

# Restart (kill -9) and check nothing acknowledged was lost.
kill9_osbd
start_osbd "$config" "$data" "$log"
lost=0
for id in "${acked[@]}"; do
  http st body GET "/v2/service_instances/$id"
  if [ "$st" != 200 ]; then
    lost=$((lost + 1)); echo "lost after restart: $id -> GET $st $body"
  fi
done
echo "after restart: acknowledged=${#acked[@]} lost=$lost"
check "nothing acknowledged lost after restart" 0 "$lost"
check "/readyz after restart" 200 "$(ready_status)"
stop_osbd || true
echo "figures: readiness before=$ready_before during=$ready_during after=$ready_after recovery_ms=$recovery_ms inflight_provision=${failed_status:-none} new_provision=${full_status:-none}"
script_result

#!/usr/bin/env bash
# The operator's question, answered by osbctl after a scripted set of provisions across two
# organizations: how many instances of each plan, for whom, using how much storage; and over
# time, from the usage history (sampled every second here): osbctl usage.
# Usage: osbctl_inventory.sh OSBD OSBCTL PLUGIN_DIR
set -euo pipefail
. "$(dirname "$0")/script_support.sh"

osbd=$1
osbctl=$2
plugin_dir=$3
script_setup osbd-osbctl
cd "$work"

cat >osbd.yaml <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $plugin_dir
auth:
  username: platform
  password: inventory-platform-password
admin:
  username: operator
  password: inventory-admin-password
usage:
  sample_seconds: 1
plugins:
  org.osbd.example:
    async_seconds: 1
YAML
"$osbd" --config osbd.yaml >osbd.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q '"msg":"listening"' osbd.log 2>/dev/null && break
  sleep 0.1
done

url=http://127.0.0.1:$port
service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
sync_plan=700556d0-4a22-4ed7-8a5c-004d693b5286
async_plan=234546ec-7332-4da8-86fd-58acefc3580b
provision() {  # provision ID PLAN ORG SIZE [QUERY]
  curl -s -o /dev/null -w '%{http_code}' -u platform:inventory-platform-password \
    -H 'X-Broker-API-Version: 2.17' -H 'Content-Type: application/json' -X PUT \
    -d "{\"service_id\":\"$service\",\"plan_id\":\"$2\",\"organization_guid\":\"$3\",\"space_guid\":\"$3-dev\",\"parameters\":{\"size\":$4}}" \
    "$url/v2/service_instances/$1${5:-}"
}
check "org-a a1 (size 1)" 201 "$(provision a1 "$sync_plan" org-a 1)"
check "org-a a2 (size 2)" 201 "$(provision a2 "$sync_plan" org-a 2)"
check "org-a a3 (size 3)" 201 "$(provision a3 "$sync_plan" org-a 3)"
check "org-b b1 (size 4)" 201 "$(provision b1 "$sync_plan" org-b 4)"
check "org-b b2 (async plan, size 2)" 202 \
  "$(provision b2 "$async_plan" org-b 2 '?accepts_incomplete=true')"
for _ in $(seq 1 100); do
  state=$(curl -s -u platform:inventory-platform-password -H 'X-Broker-API-Version: 2.17' \
    "$url/v2/service_instances/b2/last_operation" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("state"))')
  [ "$state" = "in progress" ] || break
  sleep 0.1
done
check "b2 provisioned" succeeded "$state"

export OSBCTL_URL=$url OSBCTL_USER=operator
printf 'inventory-admin-password\n' >admin-password
ctl=("$osbctl" --password-file admin-password)

echo "--- osbctl summary --usage"
"${ctl[@]}" summary --usage | tee summary.txt
"${ctl[@]}" --json summary --usage >summary.json
# Per plan: instances, owners and bytes; per owner: instances and bytes.
read -r -d '' assertions <<'PY' || true
import json, sys
s = json.load(open("summary.json"))
gib = 1 << 30
plans = {p["plan"]: p for p in s["plans"]}
owners = {o["owner"]: o for o in s["owners"]}
print(s["instances"])
print(plans["sync"]["instances"], sorted(plans["sync"]["organizations"]), plans["sync"]["bytes"] // gib)
print(plans["async"]["instances"], plans["async"]["organizations"], plans["async"]["bytes"] // gib)
print(owners["org-a"]["instances"], owners["org-a"]["bytes"] // gib, owners["org-a"]["plans"])
print(owners["org-b"]["instances"], owners["org-b"]["bytes"] // gib, owners["org-b"]["plans"])
PY
mapfile -t got < <(/usr/bin/python3 -c "$assertions")
check "total instances" 5 "${got[0]}"
check "plan sync: instances, owners, GiB" "4 ['org-a', 'org-b'] 10" "${got[1]}"
check "plan async: instances, owners, GiB" "1 ['org-b'] 2" "${got[2]}"
check "org-a: instances, GiB, plans" "3 6 {'sync': 3}" "${got[3]}"
check "org-b: instances, GiB, plans" "2 6 {'async': 1, 'sync': 1}" "${got[4]}"
# The table says the same to a person.
check "table: org-a row" 1 "$(grep -cE '^org-a +3 +sync=3 +6\.0 GiB$' summary.txt)"
check "table: sync plan row" 1 "$(grep -cE '^example-service +sync +4 +org-a org-b +10\.0 GiB$' summary.txt || true)"

echo "--- osbctl instances --usage --csv"
"${ctl[@]}" --csv instances --usage | tee instances.csv
check "csv: header and 5 rows" 6 "$(wc -l <instances.csv)"
check "csv: a3 in org-a with 3 GiB in bytes" 1 "$(grep -c "^default,a3,.*,org-a,org-a-dev,.*,$((3 << 30))" instances.csv)"
"${ctl[@]}" bindings >/dev/null
check "bindings command" 0 "$?"

echo "--- osbctl usage"
# Until a round has sampled all five instances: 1+2+3 GiB in org-a, 4+2 GiB in org-b.
tomorrow=$(date -u -d tomorrow +%F)
peak() { "${ctl[@]}" --json usage --to "$tomorrow" | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["totals"]["peak_storage_bytes"] >> 30)'; }
for _ in $(seq 1 100); do [ "$(peak)" = 12 ] && break; sleep 0.1; done
"${ctl[@]}" usage --to "$tomorrow" | tee usage.txt
"${ctl[@]}" --json usage --to "$tomorrow" --by organization >usage.json
read -r -d '' usage_assertions <<'PY' || true
import json
u = json.load(open("usage.json"))
g = {x["key"]: x for x in u["groups"]}
for org in ("org-a", "org-b"):
    x = g[org]
    print(org, x["created"], x["deleted"], x["peak_storage_bytes"] >> 30, sorted(x["plans"]),
          0 < x["instance_hours"] < 1)
PY
mapfile -t got < <(/usr/bin/python3 -c "$usage_assertions")
check "usage org-a: created, deleted, peak GiB, plans, hours" \
  "org-a 3 0 6 ['example-service/sync'] True" "${got[0]}"
check "usage org-b: created, deleted, peak GiB, plans, hours" \
  "org-b 2 0 6 ['example-service/async', 'example-service/sync'] True" "${got[1]}"
check "table: org-a row" 1 "$(grep -cE '^org-a +[0-9.]+ +example-service/sync=[0-9.]+ +[0-9.]+ +6\.0 GiB +3 +0$' usage.txt)"
"${ctl[@]}" --csv usage --to "$tomorrow" --by plan | tee usage.csv
check "csv: header and a row per plan" 3 "$(wc -l <usage.csv)"
check "csv: the sync plan, 4 created" 1 "$(grep -c '^"example-service/sync",.*,"4","0"' usage.csv)"
rc=0; "${ctl[@]}" usage --by space 2>err.txt || rc=$?
check "usage --by space: exit code" 1 "$rc"
check "usage --by space: says why" 1 "$(grep -c 'by must be organization, plan, catalog or instance' err.txt)"

# Only the admin credentials open it.
rc=0; OSBCTL_PASSWORD=wrong "$osbctl" summary 2>err.txt || rc=$?
check "wrong admin password: exit code" 1 "$rc"
check "wrong admin password: names the 401" 1 "$(grep -c 'answered 401' err.txt)"
rc=0; OSBCTL_USER=platform OSBCTL_PASSWORD=inventory-platform-password "$osbctl" summary 2>/dev/null || rc=$?
check "platform credentials refused" 1 "$rc"

script_result

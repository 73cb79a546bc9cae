#!/usr/bin/env bash
# The operator console (/admin/ui/) in Debian's Chromium, driven by playwright-core
# (tests/integration/console/check.mjs): after a scripted set of instances across two
# organizations (several plans, one updated to another plan, one deleted, one failed update,
# bindings) and the first usage samples, each page shows the figures the admin API gives for the
# same query; wrong credentials get the 401 and nothing of the console. Screenshots of the four
# pages go to BUILD_DIR/console-screenshots/.
# playwright-core, pinned by console/package-lock.json, is installed from the npm registry into
# BUILD_DIR/console-node (once; again when the lock file changes).
# Usage: console.sh OSBD PLUGIN_DIR BUILD_DIR
set -euo pipefail
. "$(dirname "$0")/script_support.sh"

osbd=$1
plugin_dir=$2
build=$3
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
chromium=${OSBD_CHROMIUM:-/usr/bin/chromium}
for tool in "$chromium" node npm curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "console: $tool is missing: run scripts/install-deps.sh"; exit 1; }
done

# --- playwright-core into the build directory ----------------------------------------------------
# playwright-core needs Node.js 20 or newer (Debian 12's own nodejs is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "FAIL Node.js $(node --version) is too old for playwright-core: install Node.js 20 or newer"
  exit 1
fi
node_dir=$build/console-node
mkdir -p "$node_dir"
if ! cmp -s "$here/console/package-lock.json" "$node_dir/package-lock.json" \
   || [ ! -f "$node_dir/node_modules/playwright-core/package.json" ]; then
  cp "$here/console/package.json" "$here/console/package-lock.json" "$node_dir/"
  # --ignore-scripts: nothing runs at install time (playwright-core downloads no browser anyway).
  if ! (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund) >"$node_dir/npm.log" 2>&1; then
    cat "$node_dir/npm.log"
    echo "console: npm ci failed"
    exit 1
  fi
fi
cp "$here/console/check.mjs" "$node_dir/check.mjs"

script_setup osbd-console
cd "$work"
cat >osbd.yaml <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $plugin_dir
auth:
  username: platform
  password: console-platform-password
admin:
  username: operator
  password: console-admin-password
usage:
  sample_seconds: 1
plugins:
  org.osbd.example:
    async_seconds: 1
YAML
"$osbd" --config osbd.yaml >osbd.log 2>&1 &
pid=$!
wait_listening osbd.log

url=http://127.0.0.1:$port
service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
sync_plan=700556d0-4a22-4ed7-8a5c-004d693b5286
async_plan=234546ec-7332-4da8-86fd-58acefc3580b
osb() {  # osb METHOD PATH [BODY]: prints the status; the body goes to last.json
  curl -s -o last.json -w '%{http_code}' -u platform:console-platform-password \
    -H 'X-Broker-API-Version: 2.17' -H 'Content-Type: application/json' -X "$1" \
    ${3:+-d "$3"} "$url$2"
}
provision() {  # provision ID PLAN ORG SIZE [QUERY]
  osb PUT "/v2/service_instances/$1${5:-}" \
    "{\"service_id\":\"$service\",\"plan_id\":\"$2\",\"organization_guid\":\"$3\",\"space_guid\":\"$3-dev\",\"parameters\":{\"size\":$4}}"
}
json_field() {  # json_field FILE KEY
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}
wait_done() {  # wait_done ID: the state the instance's last operation ends in
  local state=
  for _ in $(seq 1 150); do
    osb GET "/v2/service_instances/$1/last_operation" >/dev/null
    state=$(json_field last.json state)
    [ "$state" = "in progress" ] || break
    sleep 0.1
  done
  echo "$state"
}

check "org-a a1 (sync, size 1)" 201 "$(provision a1 "$sync_plan" org-a 1)"
check "org-a a2 (sync, size 2)" 201 "$(provision a2 "$sync_plan" org-a 2)"
check "org-a a3 (async, size 3)" 202 "$(provision a3 "$async_plan" org-a 3 '?accepts_incomplete=true')"
check "a3 provisioned" succeeded "$(wait_done a3)"
check "org-b b1 (sync, size 4)" 201 "$(provision b1 "$sync_plan" org-b 4)"
check "org-b b2 (sync, size 2)" 201 "$(provision b2 "$sync_plan" org-b 2)"
check "org-b b3 (sync, size 1)" 201 "$(provision b3 "$sync_plan" org-b 1)"
check "b2 updated to the async plan" 202 \
  "$(osb PATCH '/v2/service_instances/b2?accepts_incomplete=true' "{\"service_id\":\"$service\",\"plan_id\":\"$async_plan\"}")"
check "b2 update done" succeeded "$(wait_done b2)"
check "b3 deleted" 200 \
  "$(osb DELETE "/v2/service_instances/b3?service_id=$service&plan_id=$sync_plan")"
# A failed operation: the async plan needs accepts_incomplete, which this update does not allow.
check "a2 update to the async plan refused" 422 \
  "$(osb PATCH /v2/service_instances/a2 "{\"service_id\":\"$service\",\"plan_id\":\"$async_plan\"}")"
secrets=()
for pair in a1:bind-a1 b1:bind-b1; do
  check "binding ${pair#*:}" 201 \
    "$(osb PUT "/v2/service_instances/${pair%%:*}/service_bindings/${pair#*:}" "{\"service_id\":\"$service\",\"plan_id\":\"$sync_plan\"}")"
  secrets+=("$(/usr/bin/python3 -c 'import json; print(json.load(open("last.json"))["credentials"]["password"])')")
done

# Every live instance sampled at least once.
admin=(-s -u operator:console-admin-password)
sampled=
for _ in $(seq 1 300); do
  curl "${admin[@]}" -o usage.json "$url/admin/usage?by=instance"
  sampled=$(/usr/bin/python3 -c 'import json; print(" ".join(sorted(g["key"] for g in json.load(open("usage.json"))["groups"] if g["peak_storage_bytes"] > 0 and g["deleted"] == 0)))')
  [ "$sampled" = "a1 a2 a3 b1 b2" ] && break
  sleep 0.1
done
check "usage sampled every live instance" "a1 a2 a3 b1 b2" "$sampled"

# The console's files as served are core/ui/'s, byte for byte.
for file in "$source_dir"/core/ui/*; do
  name=$(basename "$file")
  curl "${admin[@]}" -o served "$url/admin/ui/$name"
  check "served /admin/ui/$name is core/ui/$name" same "$(cmp -s served "$file" && echo same || echo differs)"
done
check "index: its Content-Security-Policy" 1 "$(curl "${admin[@]}" -D - -o /dev/null "$url/admin/ui/" \
  | grep -ci "^content-security-policy: default-src 'none'; script-src 'self';")"

shots=$build/console-screenshots
rm -rf "$shots"
mkdir -p "$shots"
rc=0
CONSOLE_URL=$url CONSOLE_USER=operator CONSOLE_PASSWORD=console-admin-password \
  CONSOLE_CHROMIUM=$chromium CONSOLE_SCREENSHOTS=$shots CONSOLE_COUNTS=$work/counts.json \
  CONSOLE_SECRETS=$(IFS=,; echo "${secrets[*]}") \
  node "$node_dir/check.mjs" || rc=$?
check "browser checks all passed (check.mjs exit code)" 0 "$rc"
if [ -f counts.json ]; then
  passes=$((passes + $(json_field counts.json passes)))
  failures=$((failures + $(json_field counts.json failures)))
fi
for shot in overview instances usage operations; do
  check "screenshot $shot.png" yes "$([ -s "$shots/$shot.png" ] && echo yes || echo no)"
  echo "screenshot: $shots/$shot.png"
done

script_result

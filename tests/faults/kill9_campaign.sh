#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2154  # cleanup steps expand at exit; http() sets variables by name
# kill -9 campaign: rounds of 32 concurrent OSB clients against osbd on a persistent data dir,
# osbd killed with SIGKILL 1-3 s in, restarted, and every answer the clients got checked against
# the restarted osbd: nothing acknowledged as created is lost, nothing acknowledged as deleted is
# back, nothing stays "in progress" (tests/faults/load.py does the traffic and the checking).
#
# Usage: kill9_campaign.sh [BUILD_DIR]     (default: build; needs bin/osbd and the example plugin)
# Environment:
#   OSBD_KILL9_ROUNDS   rounds (default 6)
#   OSBD_KILL9_CLIENTS  concurrent clients (default 32)
#   OSBD_KILL9_SETTLE   seconds the checker waits for operations to leave "in progress" (30)
#   OSBD_KILL9_SEED     seed of the clients and kill moments (default: random, printed)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
# shellcheck source=faults_support.sh
. "$here/faults_support.sh"

rounds=${OSBD_KILL9_ROUNDS:-6}
clients=${OSBD_KILL9_CLIENTS:-32}
settle=${OSBD_KILL9_SETTLE:-30}
seed=${OSBD_KILL9_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$((seed % 32768))

faults_setup osbd-kill9
loadpid=
cleanup_steps+=('[ -n "$loadpid" ] && { pkill -9 -P "$loadpid"; kill -9 "$loadpid"; wait "$loadpid"; }')
config=$work/osbd.yaml
data=$work/data
log=$work/osbd.log
write_config "$config" "" "{async_seconds: 0.5}"
echo "kill -9 campaign: rounds=$rounds clients=$clients seed=$seed port=$port"

total_ack=0 total_lost=0 total_res=0 total_stuck=0
journals=()
start_osbd "$config" "$data" "$log"
# The checker relies on GET instance and GET binding: the catalog must promise both.
http st body GET /v2/catalog
retrievable=$(printf '%s' "$body" | python3 -c 'import json,sys
s=[x for x in json.load(sys.stdin)["services"] if x["id"]==sys.argv[1]][0]
print(s.get("instances_retrievable") is True and s.get("bindings_retrievable") is True)' "$service_id" 2>/dev/null || echo "unreadable")
check "catalog: instances_retrievable and bindings_retrievable (GET /v2/catalog $st)" True "$retrievable"
[ "$retrievable" = True ] || { script_result || exit 1; }
for round in $(seq 1 "$rounds"); do
  journal=$work/journal-$round.json
  journals+=("$journal")
  delay_ms=$((1000 + RANDOM % 2001))
  python3 "$here/load.py" run --port "$port" --journal "$journal" --prefix "k$round" \
    --clients "$clients" --duration 20 --seed "$((seed + round))" >"$work/load-$round.out" 2>&1 &
  loadpid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill9_osbd
  code=0
  wait "$loadpid" || code=$?
  loadpid=
  [ "$code" = 0 ] || { echo "load generator failed ($code):"; cat "$work/load-$round.out"; }
  echo "round $round: osbd killed -9 after ${delay_ms} ms; $(cat "$work/load-$round.out")"
  start_osbd "$config" "$data" "$log"
  code=0
  python3 "$here/load.py" check --port "$port" --settle "$settle" --figures "$work/fig.json" \
    "$journal" >"$work/check.out" 2>&1 || code=$?
  sed "s/^/round $round: /" "$work/check.out"
  if [ -s "$work/fig.json" ]; then
    read -r ack lost res stuck < <(python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))
print(f["acknowledged"], f["lost"], f["resurrected"], f["stuck"])' "$work/fig.json")
    total_ack=$((total_ack + ack)); total_lost=$((total_lost + lost))
    total_res=$((total_res + res)); total_stuck=$((total_stuck + stuck))
  fi
  rm -f "$work/fig.json"
  check "round $round: nothing lost, resurrected or stuck (checker exit)" 0 "$code"
done

# Once more after a last kill -9: every round's answers still hold against the final state.
kill9_osbd
start_osbd "$config" "$data" "$log"
code=0
python3 "$here/load.py" check --port "$port" --settle "$settle" "${journals[@]}" \
  >"$work/check.out" 2>&1 || code=$?
sed 's/^/all rounds after a last kill -9: /' "$work/check.out"
check "all rounds re-checked after a last kill -9 (checker exit)" 0 "$code"

if grep -q '"level":"error"' "$log"; then
  echo "osbd error lines (first 5):"
  grep '"level":"error"' "$log" | head -n 5
fi
stop_osbd || true
echo "total: acknowledged=$total_ack lost=$total_lost resurrected=$total_res stuck=$total_stuck"
script_result

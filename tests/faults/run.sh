#!/usr/bin/env bash
# Runs osbd's fault campaigns in order and sums them up:
#   kill9_campaign.sh   kill -9 under 32 concurrent clients: nothing lost, resurrected or stuck
#   disk_full.sh        the data dir's disk fills and empties again (root; skipped otherwise)
#   connections.sh      slowloris, idle keep-alive, unauthenticated bodies, descriptor exhaustion,
#                       connection cap, body budget
#
# Usage: tests/faults/run.sh [BUILD_DIR]    (default: build; BUILD_DIR holds bin/osbd and
#                                            plugins/osb_example.so: cmake --build B --target runtime)
# Each campaign's own environment variables (see its head and tests/faults/README.md) make it
# longer or shorter, e.g. OSBD_KILL9_ROUNDS=50 tests/faults/run.sh build.
# Prints each campaign's duration and a final `N passed, M failed` over all campaigns' checks;
# exits non-zero when a check failed or a campaign did not finish.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
[ -d "$build" ] || { echo "usage: $0 [BUILD_DIR] (no directory $build)"; exit 64; }
build=$(cd "$build" && pwd)

total_pass=0 total_fail=0 summary=()
out=$(mktemp /tmp/osbd-faults-run-XXXXXX)
trap 'rm -f "$out"' EXIT

for campaign in kill9_campaign.sh disk_full.sh connections.sh; do
  echo "=== $campaign"
  start=$(date +%s)
  code=0
  "$here/$campaign" "$build" 2>&1 | tee "$out" || code=${PIPESTATUS[0]}
  seconds=$(($(date +%s) - start))
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)
  p=0 f=0
  if [ -n "$line" ]; then
    read -r p _ f _ <<<"$line"
  fi
  if [ "$code" = 77 ]; then
    summary+=("$(printf '%-20s skipped   %4d s' "$campaign" "$seconds")")
    continue
  fi
  if [ "$code" != 0 ] && [ "$f" = 0 ]; then
    f=1   # ended without reporting a failed check (crash, timeout, setup error)
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  summary+=("$(printf '%-20s %3d passed, %3d failed   %4d s   exit %d' "$campaign" "$p" "$f" "$seconds" "$code")")
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

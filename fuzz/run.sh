#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz (clang, ASan+UBSan) and fuzzes each one.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 30 s, every target)
#
# Each target starts from a working copy of fuzz/corpus/<target>/ in build-fuzz/corpus/<target>/
# (new inputs land there, never in the committed folder), with fuzz/dict/<target>.dict when it
# exists. Prints one line per target and exits non-zero when any target crashed, leaked, timed
# out or ran out of memory; the input that did it is in build-fuzz/artifacts/<target>/.
# OSBD_FUZZ_BUILD_DIR overrides the build directory. Installs nothing (scripts/install-deps.sh
# provides clang and libclang-rt-14-dev).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OSBD_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-30}
shift || true
all_targets=(fuzz_json fuzz_request fuzz_schema fuzz_config fuzz_catalog fuzz_ids
             fuzz_originating_identity fuzz_sigv4 fuzz_bucket_policy fuzz_usage)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

configure() {
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$root" -B "$build" -G Ninja "${launcher[@]}" -DOSBD_BUILD_TESTS=OFF \
    -DOSBD_FUZZ=ON -DOSBD_SANITIZE=address,undefined -DOSBD_TCMALLOC=OFF \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build "$build" -j2 --target "${targets[@]}"
}

# stat::number_of_executed_units of a libFuzzer log, 0 when absent.
executions() {
  sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$1" | tail -n 1 | grep . || echo 0
}

# Fuzzes one target; returns non-zero when it found something.
fuzz_one() {
  local name=$1 work=$build/corpus/$1 artifacts=$build/artifacts/$1 log=$build/logs/$1.log
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$artifacts/")
  mkdir -p "$work" "$artifacts" "$build/logs"
  if [ -d "$root/fuzz/corpus/$name" ]; then
    cp -n "$root/fuzz/corpus/$name"/* "$work"/ 2>/dev/null || true
  fi
  if [ -f "$root/fuzz/dict/$name.dict" ]; then
    args+=(-dict="$root/fuzz/dict/$name.dict")
  fi
  local stamp=$build/logs/$name.started start rc=0
  touch "$stamp"
  start=$(date +%s)
  # The committed regression inputs run first, every time (read only: new inputs go to $work).
  local corpora=("$work")
  if [ -d "$root/fuzz/regressions/$name" ]; then corpora+=("$root/fuzz/regressions/$name"); fi
  "$build/fuzz/$name" "${args[@]}" "${corpora[@]}" >"$log" 2>&1 || rc=$?
  local found
  found=$(find "$artifacts" -type f -newer "$stamp" | wc -l)
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
  echo "fuzz $name: $(executions "$log") executions, $found crashes, $(($(date +%s) - start)) s"
  if [ "$found" -ne 0 ]; then
    echo "fuzz $name: FAILED (exit $rc), log $log" >&2
    find "$artifacts" -type f -newer "$stamp" | sed 's/^/  artifact: /' >&2
    grep -E "ERROR: |invariant failed|SUMMARY|Test unit written" "$log" | head -n 8 | sed 's/^/  /' >&2
    return 1
  fi
}

configure
failed=0
for name in "${targets[@]}"; do
  fuzz_one "$name" || failed=1
done
exit "$failed"

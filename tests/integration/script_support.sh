# Shared by the shell tests that drive a real osbd: source it after `set -euo pipefail`.
#   script_setup PREFIX   a work directory ($work, removed at exit, like an osbd started into
#                         $pid, killed at exit) and a free port below the ephemeral range ($port)
#   free_port [EXCEPT]    prints another such port
#   check NAME WANT GOT   one check, counted in $passes and $failures
#   script_result         prints the counts; fails when a check failed

# After a failed check: what osbd wrote besides its JSON log lines (a sanitizer's report, an
# abort message), which the work directory's removal would otherwise lose.
show_osbd_reports() {
  if [ "${failures:-0}" -gt 0 ] && [ -f "$work/osbd.log" ]; then
    echo "--- osbd.log, lines that are not JSON log lines:"
    grep -v '^{' "$work/osbd.log" | head -200 || true
  fi
}

script_setup() {
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  pid=
  trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; show_osbd_reports; rm -rf "$work"' EXIT
  failures=0
  passes=0
  port=$(free_port)
}

# free_port [EXCEPT]: prints a port below the ephemeral range that nothing listens on (and that is
# not EXCEPT); exits when it finds none.
free_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 12000))
    if [ "$candidate" != "${1:-}" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "no free port" >&2
  exit 1
}

check() {
  if [ "$2" = "$3" ]; then
    passes=$((passes + 1)); echo "ok   $1 -> $3"
  else
    failures=$((failures + 1)); echo "FAIL $1 -> $3 (want $2)"
  fi
}

script_result() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# build_clang_example BUILD_DIR SOURCE_DIR DEST: installs the SDK of BUILD_DIR under DEST/prefix,
# builds the example plugin from it out of tree with clang++ (as a vendor would) and sets
# $clang_example to the built osb_example.so, checked to be clang's.
build_clang_example() {
  local build=$1 dest=$3
  cmake --install "$build" --component sdk --prefix "$dest/prefix" >/dev/null
  cp -r "$dest/prefix/share/osb-sdk/examples/example_plugin" "$dest/vendor"
  cmake -S "$dest/vendor" -B "$dest/vendor-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_PREFIX_PATH="$dest/prefix" >"$dest/configure.log" 2>&1 \
    || { cat "$dest/configure.log"; exit 1; }
  cmake --build "$dest/vendor-build" --target osb_example >"$dest/build.log" 2>&1 \
    || { cat "$dest/build.log"; exit 1; }
  clang_example=$(find "$dest/vendor-build" -name 'osb_example.so' | head -n 1)
  [ -n "$clang_example" ] || { echo "the out-of-tree build produced no osb_example.so"; exit 1; }
  grep -q 'clang version' <(readelf -p .comment "$clang_example" 2>/dev/null) \
    || { echo "osb_example.so was not built by clang"; exit 1; }
}

# wait_listening LOG: waits until the osbd writing LOG listens (10 s at most).
wait_listening() {
  for _ in $(seq 1 100); do
    grep -q '"msg":"listening"' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "osbd did not start:"; cat "$1"; exit 1
}

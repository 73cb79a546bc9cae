#!/usr/bin/env bash
# Sets up a Debian 12 machine (installs what is missing), then builds osbd and runs every test,
# printing each suite's duration:
#   1. format check (.clang-format)
#   2. g++ build (RelWithDebInfo, Debian's hardening flags), warnings as errors, all tests (the
#      state store's tests run on SQLite and on the test PostgreSQL; `replicas` runs three osbd
#      replicas behind HAProxy on a PostgreSQL of its own; `console` drives the operator console
#      in Debian's Chromium, with playwright-core from the npm registry); then
#      the Debian packages of that build checked by lintian, installed, serving and purged
#      (tests/packaging/deb_test.sh, as root), and the container image built from the .deb and
#      run (tests/packaging/container_test.sh, as root)
#   3. the fault campaigns against the g++ build (tests/faults/run.sh: kill -9 under load, a full
#      disk as root, slowloris, idle connections, unauthenticated bodies, descriptor exhaustion)
#   4. clang++ build, warnings (-Wthread-safety included) as errors, all tests
#   5. g++ Release build (-O3), warnings as errors, all tests
#   6. g++ build with AddressSanitizer + UndefinedBehaviorSanitizer, all tests
#   7. g++ build of the core with ThreadSanitizer (no first-party plugins), the core's tests
#   8. every libFuzzer target for OSBD_FUZZ_SECONDS (default 20) each (fuzz/ci.sh)
# Set OSBD_TEST_QUICK=1 to run only steps 1 to 3. Builds go through ccache, so a second run
# recompiles only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
jobs=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

# Runs a named suite and prints how long it took, pass or fail.
timed() {
  local name=$1 started rc=0
  shift
  started=$(date +%s)
  "$@" || rc=$?
  printf '==> %s: %s after %d s\n' "$name" "$([ $rc -eq 0 ] && echo passed || echo FAILED)" \
    "$(($(date +%s) - started))"
  return $rc
}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# Paths relative to the clone, and no working directory in the hash, so that another clone of the
# same sources (CI's) reuses the compiled objects.
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1

# run_suite DIR [CMAKE_ARGS...]: configure, build and run every test. SUITE_TARGETS (build only
# these) and SUITE_SKIP (a ctest -E regex) narrow a suite to what it needs.
run_suite() {
  local dir=$1; shift
  local targets=() skip=()
  for t in ${SUITE_TARGETS:-}; do targets+=(--target "$t"); done
  if [ -n "${SUITE_SKIP:-}" ]; then skip=(-E "$SUITE_SKIP"); fi
  step "configure $dir ($*)"
  cmake -S "$root" -B "$root/$dir" -G Ninja "${launcher[@]}" -DOSBD_WERROR=ON "$@" >"$root/$dir.configure.log" 2>&1 \
    || { cat "$root/$dir.configure.log"; return 1; }
  step "build $dir"
  # Explicit returns: run under timed's ||, a function does not stop at a failing command.
  cmake --build "$root/$dir" -j "$jobs" "${targets[@]}" || return 1
  step "test $dir"
  ctest --test-dir "$root/$dir" --output-on-failure -j "$jobs" --timeout 300 "${skip[@]}" || return 1
}

step "format check"
timed "format check" bash scripts/check-format.sh

# Real servers for the plugin tests, on 127.0.0.1 below the ephemeral port range; stopped (and
# their data removed) when this script ends, however it ends.
step "start test servers"
mapfile -t test_servers < <(cd scripts/test-servers.d && ls -- *.sh | sed 's/\.sh$//')
stop_servers() {
  for server in "${test_servers[@]}"; do bash scripts/test-servers.sh stop "$server" || true; done
  OSBD_PG_PORT=${OSBD_PG_PORT2:-25433} bash scripts/test-servers.sh stop postgres || true
}
trap stop_servers EXIT
for server in "${test_servers[@]}"; do
  bash scripts/test-servers.sh start "$server"
  eval "$(bash scripts/test-servers.sh env "$server")"
done

# Configured for /usr and with Debian's hardening flags, as scripts/package.sh configures, so that
# the Debian packages are made from this build without compiling it again.
mapfile -t hardening < <(bash scripts/buildflags.sh)
timed "g++ suite" run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc \
  -DCMAKE_CXX_COMPILER=g++ -DCMAKE_INSTALL_PREFIX=/usr "${hardening[@]}"

# The .deb packages of that build: installed with dpkg -i, serving a lifecycle, purged. Needs root
# (as CI runs this script).
if [ "$(id -u)" -eq 0 ]; then
  step "Debian packages (tests/packaging/deb_test.sh build)"
  timed "Debian packages" bash tests/packaging/deb_test.sh "$root/build"
  step "container image of packaging/Containerfile (tests/packaging/container_test.sh build)"
  timed "container image" bash tests/packaging/container_test.sh "$root/build"
else
  step "Debian packages: skipped, tests/packaging/deb_test.sh needs root"
fi

step "fault campaigns (tests/faults/run.sh build)"
timed "fault campaigns" bash tests/faults/run.sh "$root/build"

if [ "${OSBD_TEST_QUICK:-0}" != 1 ]; then
  # plugin_isolation (a minute of crashes and deadlines on a timer) and replicas (a minute of
  # mixed work while replicas and PostgreSQL are killed) run in the g++ and ASan suites (and
  # plugin_isolation in TSan's), console (Chromium through the console's pages, whose files and
  # script no compiler changes) in the g++ and sanitizer suites; the clang++ and Release builds of
  # the same code run everything else.
  SUITE_SKIP="^(plugin_isolation|replicas|console)$" \
  timed "clang++ suite" run_suite build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  SUITE_SKIP="^(plugin_isolation|replicas|console)$" \
  timed "g++ Release suite" run_suite build-release -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  timed "ASan+UBSan suite" run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_CXX_COMPILER=g++ -DOSBD_SANITIZE=address,undefined
  # The core's threads (I/O, workers, group commit, poller, reloader) under ThreadSanitizer; the
  # first-party plugins and their suites are left out, their servers' clients are not the core.
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp"
  # Only the core, its tests and the end-to-end tests that start osbd are built and run: not the
  # SDK's, schema's and plugin-build tests (no threads of the core in them) nor the fuzz replays.
  SUITE_TARGETS="osbd osbd-plugin-host osbctl osb_example osbd_core_tests osbd_state_tests
    osbd_api_tests osbd_reload_tests osbd_daemon_tests osbd_integration_tests" \
  SUITE_SKIP="_NOT_BUILT|^fuzz_replay_|^sdk_out_of_tree_clang$|^unit_dir_follows_prefix$" \
  timed "ThreadSanitizer suite (core)" run_suite build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DOSBD_SANITIZE=thread \
    -DOSBD_PLUGIN_MYSQL=OFF -DOSBD_PLUGIN_POSTGRESQL=OFF -DOSBD_PLUGIN_OBJECT_STORAGE=OFF
  step "fuzzing (fuzz/ci.sh, ${OSBD_FUZZ_SECONDS:-20} s per target)"
  timed "fuzzing" bash fuzz/ci.sh
fi
step "all test suites passed"

#!/usr/bin/env bash
# Sets up a Debian 12 machine (installs what is missing), then builds osbd and runs every test:
#   1. format check (.clang-format)
#   2. g++ build, warnings as errors, all tests; then the Debian packages of that build, installed,
#      serving and purged (tests/packaging/deb_test.sh, as root), and the container image built
#      from the .deb and run (tests/packaging/container_test.sh, as root)
#   3. clang++ build, warnings as errors, all tests
#   4. g++ build with AddressSanitizer + UndefinedBehaviorSanitizer, all tests
# Set OSBD_TEST_QUICK=1 to run only step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
jobs=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

run_suite() {
  local dir=$1; shift
  step "configure $dir ($*)"
  cmake -S "$root" -B "$root/$dir" -G Ninja "$@" >"$root/$dir.configure.log" 2>&1 \
    || { cat "$root/$dir.configure.log"; return 1; }
  step "build $dir"
  cmake --build "$root/$dir" -j "$jobs"
  step "test $dir"
  ctest --test-dir "$root/$dir" --output-on-failure -j "$jobs" --timeout 300
}

step "format check"
bash scripts/check-format.sh

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

# Configured for /usr, so that the Debian packages can be made from this build.
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
  -DCMAKE_INSTALL_PREFIX=/usr

# The .deb packages of that build: installed with dpkg -i, serving a lifecycle, purged. Needs root
# (as CI runs this script).
if [ "$(id -u)" -eq 0 ]; then
  step "Debian packages (tests/packaging/deb_test.sh build)"
  bash tests/packaging/deb_test.sh "$root/build"
  step "container image of packaging/Containerfile (tests/packaging/container_test.sh build)"
  bash tests/packaging/container_test.sh "$root/build"
else
  step "Debian packages: skipped, tests/packaging/deb_test.sh needs root"
fi

if [ "${OSBD_TEST_QUICK:-0}" != 1 ]; then
  run_suite build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DOSBD_SANITIZE=address,undefined
fi
step "all test suites passed"

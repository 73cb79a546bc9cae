#!/usr/bin/env bash
# The systemd unit's install directory follows CMAKE_INSTALL_PREFIX when one build directory is
# configured twice, as the README's two commands do: scripts/run.sh configures build/ with the
# default prefix, scripts/test.sh then reconfigures it with -DCMAKE_INSTALL_PREFIX=/usr for the
# Debian packages, whose unit must land in /lib/systemd/system.
#   unit_dir_follows_prefix.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

unit_destination() {
  sed -n 's/.*DESTINATION "\([^"]*systemd[^"]*\)".*/\1/p' "$work/b/packaging/cmake_install.cmake"
}
configure() {
  cmake -S "$src" -B "$work/b" -G Ninja -DOSBD_BUILD_TESTS=OFF "$@" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log"; exit 1; }
}

configure
first=$(unit_destination)
configure -DCMAKE_INSTALL_PREFIX=/usr
second=$(unit_destination)
echo "default prefix: $first; after -DCMAKE_INSTALL_PREFIX=/usr: $second"
passed=0 failed=0
check() { if [ "$1" = "$2" ]; then passed=$((passed + 1)); else echo "FAIL: $3 gave $1"; failed=$((failed + 1)); fi; }
check "$first" /usr/local/lib/systemd/system "the default prefix"
check "$second" /lib/systemd/system "-DCMAKE_INSTALL_PREFIX=/usr"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

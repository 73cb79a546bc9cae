#!/usr/bin/env bash
# Builds the Debian packages of osbd with CPack (packaging/CMakeLists.txt):
#   osbd_<version>-1_<arch>.deb         the broker, the first-party plugins, config, systemd unit
#   osb-sdk-dev_<version>-1_<arch>.deb  the plugin SDK: headers, CMake package, example plugin
#
#   scripts/package.sh [BUILD_DIR]      (default: build-pkg)
#
# Configures BUILD_DIR with -DCMAKE_INSTALL_PREFIX=/usr (RelWithDebInfo; a new directory also
# without the tests) and Debian's hardening flags (scripts/buildflags.sh), builds the `runtime`
# target, runs `cpack -G DEB` and checks both packages with lintian (no error may remain). Progress goes to
# stderr; stdout gets the paths of the .deb files, one per line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-$root/build-pkg}
mkdir -p "$build"
build=$(cd "$build" && pwd)

bash scripts/install-deps.sh >&2

mapfile -t hardening < <(bash scripts/buildflags.sh)
configure=(-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo "${hardening[@]}")
if [ ! -f "$build/CMakeCache.txt" ]; then
  configure+=(-DOSBD_BUILD_TESTS=OFF)  # a directory of its own needs only what is packaged
fi
echo "package: configure $build" >&2
cmake -S "$root" -B "$build" -G Ninja "${configure[@]}" >"$build/package.configure.log" 2>&1 ||
  { cat "$build/package.configure.log" >&2; exit 1; }
echo "package: build runtime" >&2
cmake --build "$build" -j "$(nproc)" --target runtime >&2

echo "package: cpack -G DEB" >&2
rm -f "$build"/packages/*.deb
(cd "$build" && cpack -G DEB --config CPackConfig.cmake) >"$build/package.cpack.log" 2>&1 ||
  { cat "$build/package.cpack.log" >&2; exit 1; }

shopt -s nullglob
debs=("$build"/packages/*.deb)
if [ ${#debs[@]} -ne 2 ]; then
  echo "package: expected 2 .deb files in $build/packages, found ${#debs[@]}" >&2
  exit 1
fi
for deb in "${debs[@]}"; do
  dpkg-deb --field "$deb" Package Version Architecture Installed-Size | tr '\n' ' ' >&2
  echo >&2
done
echo "package: lintian" >&2
# Tags that do not apply to a package built outside the Debian archive are explained in
# packaging/lintian-overrides; any error fails the build.
lintian --fail-on error --suppress-tags-from-file "$root/packaging/lintian-overrides" \
  --tag-display-limit 0 "${debs[@]}" >&2
printf '%s\n' "${debs[@]}"

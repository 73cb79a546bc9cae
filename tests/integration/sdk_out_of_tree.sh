#!/usr/bin/env bash
# A vendor's path end to end: install the SDK from this build, build the example plugin as an
# out-of-tree project with clang++, load it into the osbd of this build and read its catalog.
# Usage: sdk_out_of_tree.sh BUILD_DIR SOURCE_DIR OSBD
set -euo pipefail
build=$1
src=$2
osbd=$3
work=$(mktemp -d /tmp/osbd-sdk-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --component sdk --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/osb/plugin_abi.h"
cp -r "$work/prefix/share/osb-sdk/examples/example_plugin" "$work/vendor"
cmake -S "$work/vendor" -B "$work/vendor-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/vendor-build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
plugin=$(find "$work/vendor-build" -name 'osb_example.so' | head -n 1)
[ -n "$plugin" ] || { echo "the out-of-tree build produced no osb_example.so"; exit 1; }
grep -q 'clang version' <(readelf -p .comment "$plugin" 2>/dev/null) \
  || { echo "osb_example.so was not built by clang"; readelf -p .comment "$plugin"; exit 1; }
mkdir -p "$work/plugins"
cp "$plugin" "$work/plugins/"

cat >"$work/osbd.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: $work/state
plugin_dir: $work/plugins
auth:
  username: vendor
  password: vendor-test-password
YAML
"$osbd" --config "$work/osbd.yaml" >"$work/osbd.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$work/osbd.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "osbd did not start:"; cat "$work/osbd.log"; exit 1; }
catalog=$(curl -sf -u vendor:vendor-test-password -H 'X-Broker-API-Version: 2.17' \
  "http://127.0.0.1:$port/v2/catalog")
echo "$catalog" | grep -q '"name":"example-service"' \
  || { echo "catalog does not show the clang-built plugin: $catalog"; exit 1; }
echo "clang-built $(basename "$plugin") served its catalog from $("$osbd" --version)"
echo "1 passed, 0 failed"

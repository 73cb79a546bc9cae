#!/usr/bin/env bash
# Sets up a Debian 12 machine (installs what is missing), builds osbd and its plugins, starts a
# local PostgreSQL for the PostgreSQL plugin (scripts/test-servers.sh, 127.0.0.1:25432; it keeps
# running after osbd stops: `scripts/test-servers.sh stop postgres` removes it and its data), and
# runs the broker in the foreground with config/osbd.yaml (state in ./var). Ctrl-C stops osbd
# cleanly. Extra arguments go to osbd, e.g. scripts/run.sh --listen 127.0.0.1:9090
# OSBD_RUN_POSTGRES=0 skips PostgreSQL (the PostgreSQL plans then answer 502 until it is reachable).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1  # another clone reuses the compiled objects
if [ ! -f build/build.ninja ]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
fi
cmake --build build --target runtime -j "$(nproc)"

if [ "${OSBD_RUN_POSTGRES:-1}" != 0 ]; then
  bash scripts/test-servers.sh start postgres >/dev/null
fi

config=config/osbd.yaml
listen=$(sed -n 's/^listen: *//p' "$config")
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--listen" ]; then j=$((i + 1)); listen=${!j}; fi
done
user=$(sed -n '/^auth:/,/^[a-z]/s/^  username: *//p' "$config")
password=$(sed -n '/^auth:/,/^[a-z]/s/^  password: *//p' "$config")
cat <<MSG

osbd is starting: OSB API at http://$listen/v2/catalog
Basic credentials: $user / $password   (from $config)
Try:  curl -u $user:$password -H 'X-Broker-API-Version: 2.17' http://$listen/v2/catalog
Services: example-service (in memory) and postgresql (databases on 127.0.0.1:25432)

MSG
exec build/bin/osbd --config "$config" "$@"

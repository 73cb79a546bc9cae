#!/usr/bin/env bash
# Installs every Debian 12 package osbd needs to build, run and test. Idempotent: installs only
# what is missing, so a second run costs a dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl ccache
  g++ clang clang-format libclang-rt-14-dev
  libboost-dev libboost-system-dev libboost-filesystem-dev libboost-program-options-dev
  nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev libssl-dev libgoogle-perftools-dev
  libgtest-dev libgmock-dev googletest json-schema-test-suite
  curl wrk haproxy procps sqlite3 python3 python3-prometheus-client
  postgresql postgresql-client libpqxx-dev
  mariadb-server mariadb-client libmysqlcppconn-dev
  radosgw ceph-mon ceph-osd s3cmd
  dpkg-dev file adduser lintian
  buildah debootstrap
  chromium
)
# tests/integration/console.sh drives Chromium with playwright-core, which npm installs: Debian's
# Node.js and npm unless a Node.js with its own npm is installed already.
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

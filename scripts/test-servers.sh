#!/usr/bin/env bash
# Throwaway backend servers for osbd's tests and for trying plugins out locally. They listen on
# 127.0.0.1 only, on ports below 32768 (the ephemeral range starts there), and keep their data
# under $OSBD_TEST_SERVERS_DIR (default /tmp/osbd-test-servers).
#
#   scripts/test-servers.sh start  postgres   # start (idempotent), then print the settings
#   scripts/test-servers.sh stop   postgres   # stop and delete the data (idempotent)
#   scripts/test-servers.sh status postgres   # exit 0 when it is running
#   scripts/test-servers.sh env    postgres   # `export` lines for the tests:
#                                             #   eval "$(scripts/test-servers.sh env postgres)"
#
# Every server is one file scripts/test-servers.d/<server>.sh defining the functions
# <server>_start, <server>_stop, <server>_status and <server>_env; adding a server means adding
# its file, whose head says what the server is and which settings it prints.
set -euo pipefail

base_dir=${OSBD_TEST_SERVERS_DIR:-/tmp/osbd-test-servers}
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

servers=()
for f in "$script_dir"/test-servers.d/*.sh; do
  servers+=("$(basename "$f" .sh)")
done

usage() {
  echo "usage: $0 start|stop|status|env ${servers[*]}" >&2
  exit 64
}

# Runs a command as the given system user when this script runs as root, else as is.
as_user() {
  local user=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$user" -- "$@")
  else
    (cd / && "$@")
  fi
}

# Fails, naming the port, when something already listens on host:port: a server started on it
# would not bind, and a readiness check would then talk to the stranger.
require_free_port() {
  local name=$1 host=$2 port=$3
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "$name: $host:$port is already in use by another process (another test server with" \
      "a different OSBD_TEST_SERVERS_DIR?); stop it or choose another port" >&2
    return 1
  fi
}

# --- dispatch ----------------------------------------------------------------------------------

[ $# -eq 2 ] || usage
action=$1
server=$2
case " ${servers[*]} " in
  *" $server "*) ;;
  *) echo "unknown server '$server' (known: ${servers[*]})" >&2; usage ;;
esac
case $action in
  start | stop | status | env) ;;
  *) usage ;;
esac
mkdir -p "$base_dir"
# shellcheck source=/dev/null
source "$script_dir/test-servers.d/$server.sh"
"${server}_${action}"

#!/usr/bin/env bash
# The servers of osbd's outage tests, which stop a backend server in the middle of their work.
# Each test server gets an instance of its own here, so that stopping it never disturbs the other
# suites of scripts/test-servers.sh that run at the same time:
#
#   outage_server.sh setup   SERVER   # start the instance (nothing when SERVER's env is absent)
#   outage_server.sh cleanup SERVER   # stop it and delete its data
#   outage_server.sh halt    SERVER   # stop only the server process, as a crash would
#   outage_server.sh resume  SERVER   # start that process again on the same data; wait until ready
#
#   postgres: port OSBD_PG_OUTAGE_PORT (25434), halted with `pg_ctl stop -m immediate`;
#             needs OSBD_PG_HOST (from `scripts/test-servers.sh env postgres`).
#   mariadb:  port OSBD_MYSQL_OUTAGE_PORT (23307), mariadbd killed with SIGKILL and launched
#             again with its own command line; needs OSBD_MYSQL_HOST.
#   rgw:      a second gateway (radosgw) of the cluster of `scripts/test-servers.sh start rgw`
#             on port OSBD_RGW_OUTAGE_PORT (27490); only that gateway is stopped (SIGTERM) and
#             launched again, the cluster (monitor, OSD) and the main gateway keep running;
#             needs OSBD_RGW_ENDPOINT.
# The pg_*, my_* and rgw_* variables come from the sourced files of scripts/test-servers.d.
# shellcheck disable=SC2154
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/../../.." && pwd)
servers_d=$root/scripts/test-servers.d
base_dir=${OSBD_TEST_SERVERS_DIR:-/tmp/osbd-test-servers}

usage() {
  echo "usage: $0 setup|cleanup|halt|resume postgres|mariadb|rgw" >&2
  exit 64
}

# What scripts/test-servers.sh gives the files of scripts/test-servers.d.
as_user() {
  local user=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$user" -- "$@")
  else
    (cd / && "$@")
  fi
}
require_free_port() {
  local name=$1 host=$2 port=$3
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "$name: $host:$port is already in use by another process" >&2
    return 1
  fi
}

# Runs until check succeeds (every 0.1 s, at most 60 s); fails naming what.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 600); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  echo "$what: not ready after 60 s" >&2
  return 1
}

# --- postgres ----------------------------------------------------------------------------------

pg_outage() {
  [ -n "${OSBD_PG_HOST:-}" ] || { echo "postgres: OSBD_PG_HOST is not set; nothing to do" >&2; return 0; }
  export OSBD_PG_PORT=${OSBD_PG_OUTAGE_PORT:-25434}
  case $1 in
    setup)
      bash "$root/scripts/test-servers.sh" start postgres >/dev/null
      # The tests crash this server: what it acknowledged must survive that (the script's
      # servers commit asynchronously for speed).
      # shellcheck source=/dev/null
      source "$servers_d/postgres.sh"
      PGPASSWORD=$pg_admin_password "$pg_bin/psql" -q -h "$pg_host" -p "$pg_port" \
        -U "$pg_admin_user" -d postgres -c 'ALTER SYSTEM SET synchronous_commit = on' \
        -c 'SELECT pg_reload_conf()' >/dev/null
      ;;
    cleanup) bash "$root/scripts/test-servers.sh" stop postgres ;;
    halt | resume)
      # shellcheck source=/dev/null
      source "$servers_d/postgres.sh"
      if [ "$1" = halt ]; then
        as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" stop -m immediate -w -t 30 >/dev/null
      elif ! postgres_ready; then
        as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 start >/dev/null
        wait_for postgres postgres_ready
      fi
      ;;
  esac
}

# --- mariadb -----------------------------------------------------------------------------------

# The tests crash this server: what it acknowledged must survive that (the script's servers
# write InnoDB's log once a second for speed; 2 writes it at each commit, enough when only the
# process dies).
my_durable() {
  mariadb --no-defaults --protocol=TCP -h "$my_host" -P "$my_port" -u "$my_admin_user" \
    "--password=$my_admin_password" -e 'SET GLOBAL innodb_flush_log_at_trx_commit = 2'
}

my_outage() {
  [ -n "${OSBD_MYSQL_HOST:-}" ] || { echo "mariadb: OSBD_MYSQL_HOST is not set; nothing to do" >&2; return 0; }
  export OSBD_MYSQL_PORT=${OSBD_MYSQL_OUTAGE_PORT:-23307}
  case $1 in
    setup)
      bash "$root/scripts/test-servers.sh" start mariadb >/dev/null
      # shellcheck source=/dev/null
      source "$servers_d/mariadb.sh"
      my_durable
      ;;
    cleanup) bash "$root/scripts/test-servers.sh" stop mariadb ;;
    halt | resume)
      # shellcheck source=/dev/null
      source "$servers_d/mariadb.sh"
      local cmdline=$my_dir/outage-cmdline
      if [ "$1" = halt ]; then
        local pid
        pid=$(mariadb_pid)
        # Its command line, NUL-separated, to launch it again exactly so.
        cp "/proc/$pid/cmdline" "$cmdline"
        kill -KILL "$pid"
        wait_for "mariadbd $pid exit" eval '! kill -0 '"$pid"' 2>/dev/null'
      elif ! mariadb_ready; then
        xargs -0 -a "$cmdline" setsid </dev/null >>"$my_dir/stdout.log" 2>&1 &
        wait_for mariadb mariadb_ready
        my_durable
      fi
      ;;
  esac
}

# --- rgw ---------------------------------------------------------------------------------------

rgw_outage() {
  [ -n "${OSBD_RGW_ENDPOINT:-}" ] || { echo "rgw: OSBD_RGW_ENDPOINT is not set; nothing to do" >&2; return 0; }
  local main_port=${OSBD_RGW_ENDPOINT##*:}
  export OSBD_RGW_PORT=${main_port%%/*}
  # shellcheck source=/dev/null
  source "$servers_d/rgw.sh"
  local port=${OSBD_RGW_OUTAGE_PORT:-27490}
  local name=client.rgw.osbdoutage
  local pidfile=$rgw_dir/run/$name.pid
  local url=http://$rgw_host:$port/
  gateway_ready() { curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null; }
  # The processes of this gateway (found by their command line, like rgw_pids).
  gateway_pids() {
    local p
    for p in $(rgw_pids); do
      case $(tr "\\0" " " 2>/dev/null <"/proc/$p/cmdline") in
        *" -n $name "*) echo "$p" ;;
      esac
    done
  }
  gateway_gone() { [ -z "$(gateway_pids)" ]; }
  # SIGTERM: a gateway killed with SIGKILL leaves its watches on the cluster's control objects
  # until they time out (about 30 s), and meanwhile every gateway of the cluster, the main one
  # of the other suites too, waits on them when it changes users or buckets.
  gateway_kill() {
    local pids
    pids=$(gateway_pids)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    wait_for "radosgw $pids exit" gateway_gone
    rm -f "$pidfile"
  }
  gateway_launch() {
    # The settings of the main gateway's section of ceph.conf, on another port.
    radosgw -c "$rgw_conf" -n "$name" --rgw_frontends "beast endpoint=$rgw_host:$port" \
      --rgw_thread_pool_size 16 --rgw_bucket_quota_ttl 0 --rgw_enable_usage_log false \
      >>"$rgw_dir/log/outage-gateway.log" 2>&1
    wait_for "rgw gateway on $url" gateway_ready
  }
  case $1 in
    setup)
      rgw_status || { echo "rgw: the cluster of scripts/test-servers.sh is not running" >&2; return 1; }
      gateway_kill
      require_free_port rgw "$rgw_host" "$port"
      gateway_launch
      ;;
    cleanup | halt) gateway_kill ;;
    resume) gateway_ready || gateway_launch ;;
  esac
}

[ $# -eq 2 ] || usage
case $1 in setup | cleanup | halt | resume) ;; *) usage ;; esac
mkdir -p "$base_dir"
case $2 in
  postgres) pg_outage "$1" ;;
  mariadb) my_outage "$1" ;;
  rgw) rgw_outage "$1" ;;
  *) usage ;;
esac

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
# as_user, require_free_port and the pg_*, my_* and rgw_* variables and functions come from
# scripts/test-servers.sh and its scripts/test-servers.d (see load_test_servers).
# shellcheck disable=SC2154
set -euo pipefail

outage_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

outage_usage() {
  echo "usage: $0 setup|cleanup|halt|resume postgres|mariadb|rgw" >&2
  exit 64
}

# Runs scripts/test-servers.sh with the arguments.
test_servers() { bash "$outage_root/scripts/test-servers.sh" "$@"; }

# Defines what scripts/test-servers.sh gives the files of scripts/test-servers.d (as_user,
# require_free_port) and the variables and functions of server's file, by sourcing the script
# with the action status (whose answer does not matter here). It sets base_dir, script_dir,
# servers, action, server and usage of its own, so this script's names differ from those.
load_test_servers() {
  local server_name=$1
  # shellcheck source=/dev/null
  source "$outage_root/scripts/test-servers.sh" status "$server_name" || true
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

outage_postgres_port() { export OSBD_PG_PORT=${OSBD_PG_OUTAGE_PORT:-25434}; }

outage_postgres_setup() {
  test_servers start postgres >/dev/null
  # The tests crash this server: what it acknowledged must survive that (the script's servers
  # commit asynchronously for speed).
  PGPASSWORD=$pg_admin_password "$pg_bin/psql" -q -h "$pg_host" -p "$pg_port" \
    -U "$pg_admin_user" -d postgres -c 'ALTER SYSTEM SET synchronous_commit = on' \
    -c 'SELECT pg_reload_conf()' >/dev/null
}

outage_postgres_cleanup() { test_servers stop postgres; }

outage_postgres_halt() {
  as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" stop -m immediate -w -t 30 >/dev/null
}

outage_postgres_resume() {
  postgres_ready && return 0
  as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 start >/dev/null
  wait_for postgres postgres_ready
}

# --- mariadb -----------------------------------------------------------------------------------

outage_mariadb_port() { export OSBD_MYSQL_PORT=${OSBD_MYSQL_OUTAGE_PORT:-23307}; }

# The tests crash this server: what it acknowledged must survive that (the script's servers
# write InnoDB's log once a second for speed; 2 writes it at each commit, enough when only the
# process dies).
outage_mariadb_durable() {
  mariadb --no-defaults --protocol=TCP -h "$my_host" -P "$my_port" -u "$my_admin_user" \
    "--password=$my_admin_password" -e 'SET GLOBAL innodb_flush_log_at_trx_commit = 2'
}

outage_mariadb_setup() {
  test_servers start mariadb >/dev/null
  outage_mariadb_durable
}

outage_mariadb_cleanup() { test_servers stop mariadb; }

outage_mariadb_halt() {
  local pid
  pid=$(mariadb_pid)
  # Its command line, NUL-separated, to launch it again exactly so.
  cp "/proc/$pid/cmdline" "$my_dir/outage-cmdline"
  kill -KILL "$pid"
  wait_for "mariadbd $pid exit" eval '! kill -0 '"$pid"' 2>/dev/null'
}

outage_mariadb_resume() {
  mariadb_ready && return 0
  xargs -0 -a "$my_dir/outage-cmdline" setsid </dev/null >>"$my_dir/stdout.log" 2>&1 &
  wait_for mariadb mariadb_ready
  outage_mariadb_durable
}

# --- rgw ---------------------------------------------------------------------------------------

gateway_name=client.rgw.osbdoutage
gateway_port=${OSBD_RGW_OUTAGE_PORT:-27490}

# The outage gateway joins the cluster of the main gateway, OSBD_RGW_ENDPOINT's.
outage_rgw_port() {
  local main_port=${OSBD_RGW_ENDPOINT##*:}
  export OSBD_RGW_PORT=${main_port%%/*}
}

gateway_ready() { curl -fsS -m 2 -o /dev/null "http://$rgw_host:$gateway_port/" 2>/dev/null; }

# The processes of this gateway (found by their command line, like rgw_pids).
gateway_pids() {
  local p
  for p in $(rgw_pids); do
    case $(tr "\\0" " " 2>/dev/null <"/proc/$p/cmdline") in
      *" -n $gateway_name "*) echo "$p" ;;
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
  rm -f "$rgw_dir/run/$gateway_name.pid"
}

gateway_launch() {
  # The settings of the main gateway's section of ceph.conf, on another port.
  radosgw -c "$rgw_conf" -n "$gateway_name" \
    --rgw_frontends "beast endpoint=$rgw_host:$gateway_port" \
    --rgw_thread_pool_size 16 --rgw_bucket_quota_ttl 0 --rgw_enable_usage_log false \
    >>"$rgw_dir/log/outage-gateway.log" 2>&1
  wait_for "rgw gateway on $rgw_host:$gateway_port" gateway_ready
}

outage_rgw_setup() {
  rgw_status || { echo "rgw: the cluster of scripts/test-servers.sh is not running" >&2; return 1; }
  gateway_kill
  require_free_port rgw "$rgw_host" "$gateway_port"
  gateway_launch
}

outage_rgw_cleanup() { gateway_kill; }
outage_rgw_halt() { gateway_kill; }
outage_rgw_resume() { gateway_ready || gateway_launch; }

# --- dispatch ----------------------------------------------------------------------------------

# The variable of `scripts/test-servers.sh env SERVER` without which there is nothing to do.
required_variable() {
  case $1 in
    postgres) echo OSBD_PG_HOST ;;
    mariadb) echo OSBD_MYSQL_HOST ;;
    rgw) echo OSBD_RGW_ENDPOINT ;;
  esac
}

[ $# -eq 2 ] || outage_usage
case $1 in setup | cleanup | halt | resume) ;; *) outage_usage ;; esac
case $2 in postgres | mariadb | rgw) ;; *) outage_usage ;; esac
outage_action=$1
outage_server=$2
required=$(required_variable "$outage_server")
if [ -z "${!required:-}" ]; then
  echo "$outage_server: $required is not set; nothing to do" >&2
  exit 0
fi
"outage_${outage_server}_port"
load_test_servers "$outage_server"
"outage_${outage_server}_${outage_action}"

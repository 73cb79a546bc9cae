# shellcheck shell=bash
# Sourced by scripts/test-servers.sh: the postgres server's functions.
#
# postgres: PostgreSQL 15 from /usr/lib/postgresql/15/bin, run as the `postgres` system user when
# started by root (PostgreSQL refuses to run as root). Port OSBD_PG_PORT (25432); a superuser
# OSBD_PG_ADMIN_USER (osbd_admin) with password OSBD_PG_ADMIN_PASSWORD (osbd-test-admin-password)
# that logs in with scram-sha-256 over TCP, as osbd's PostgreSQL plugin does in production.
# The server is tuned for speed, not durability (fsync off): never keep data in it.

# --- postgres ----------------------------------------------------------------------------------

pg_bin=${OSBD_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_host=127.0.0.1
pg_port=${OSBD_PG_PORT:-25432}
pg_admin_user=${OSBD_PG_ADMIN_USER:-osbd_admin}
pg_admin_password=${OSBD_PG_ADMIN_PASSWORD:-osbd-test-admin-password}
pg_dir=$base_dir/postgres-$pg_port
pg_data=$pg_dir/data
pg_log=$pg_dir/postgres.log
pg_os_user=postgres
if [ "$(id -u)" -ne 0 ]; then pg_os_user=$(id -un); fi

postgres_status() {
  [ -f "$pg_data/postmaster.pid" ] && as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" status \
    >/dev/null 2>&1
}

postgres_ready() {
  "$pg_bin/pg_isready" -q -h "$pg_host" -p "$pg_port" -t 1
}

postgres_init() {
  rm -rf "$pg_dir"
  mkdir -p "$pg_dir"
  chmod 755 "$base_dir" 2>/dev/null || true
  local pwfile=$pg_dir/admin-password
  (umask 077 && printf '%s\n' "$pg_admin_password" >"$pwfile")
  if [ "$(id -u)" -eq 0 ]; then chown -R "$pg_os_user" "$pg_dir"; fi
  chmod 700 "$pg_dir"
  as_user "$pg_os_user" "$pg_bin/initdb" -D "$pg_data" -U "$pg_admin_user" --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync >"$pg_dir/initdb.log" 2>&1 || { cat "$pg_dir/initdb.log" >&2; return 1; }
  cat >>"$pg_data/postgresql.conf" <<CONF
# osbd test server: local only, fast, not durable.
listen_addresses = '$pg_host'
port = $pg_port
unix_socket_directories = '$pg_dir'
max_connections = 200
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
}

postgres_start() {
  if postgres_status && postgres_ready; then
    echo "postgres: already running on $pg_host:$pg_port (data in $pg_data)" >&2
    postgres_print
    return 0
  fi
  if [ -f "$pg_data/PG_VERSION" ]; then
    # Left over from an earlier run that did not stop cleanly: stop whatever remains, start fresh.
    as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" stop -m immediate >/dev/null 2>&1 || true
  fi
  if ! command -v "$pg_bin/initdb" >/dev/null; then
    echo "postgres: $pg_bin/initdb not found; install the Debian package postgresql" >&2
    return 1
  fi
  require_free_port postgres "$pg_host" "$pg_port" || return 1
  postgres_init
  if ! as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 30 start \
    >/dev/null; then
    echo "postgres: failed to start; its log:" >&2
    cat "$pg_log" >&2 || true
    return 1
  fi
  for _ in $(seq 1 100); do
    if postgres_ready; then
      echo "postgres: running on $pg_host:$pg_port (data in $pg_data)" >&2
      postgres_print
      return 0
    fi
    sleep 0.1
  done
  echo "postgres: not accepting connections on $pg_host:$pg_port; its log:" >&2
  cat "$pg_log" >&2 || true
  return 1
}

postgres_stop() {
  if [ -f "$pg_data/postmaster.pid" ]; then
    as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" stop -m fast -w -t 30 >/dev/null 2>&1 \
      || as_user "$pg_os_user" "$pg_bin/pg_ctl" -D "$pg_data" stop -m immediate >/dev/null 2>&1 \
      || true
  fi
  rm -rf "$pg_dir"
  echo "postgres: stopped ($pg_host:$pg_port)" >&2
}

postgres_print() {
  cat <<TEXT
host=$pg_host port=$pg_port user=$pg_admin_user password=$pg_admin_password
  psql:  PGPASSWORD='$pg_admin_password' psql -h $pg_host -p $pg_port -U $pg_admin_user postgres
  tests: eval "\$(scripts/test-servers.sh env postgres)"
TEXT
}

postgres_env() {
  printf 'export OSBD_PG_HOST=%q\n' "$pg_host"
  printf 'export OSBD_PG_PORT=%q\n' "$pg_port"
  printf 'export OSBD_PG_ADMIN_USER=%q\n' "$pg_admin_user"
  printf 'export OSBD_PG_ADMIN_PASSWORD=%q\n' "$pg_admin_password"
}

# shellcheck shell=bash
# Sourced by scripts/test-servers.sh: the mariadb server's functions.
#
# mariadb: MariaDB 10.11 from Debian's mariadb-server (mariadb-install-db, mariadbd), run as root
# with --user=root when started by root, else as the current user. Port OSBD_MYSQL_PORT (23306)
# on 127.0.0.1, socket and data under $base_dir/mariadb-<port>; an admin OSBD_MYSQL_ADMIN_USER
# (osbd_admin) with password OSBD_MYSQL_ADMIN_PASSWORD (osbd-test-admin-password) that logs in
# over TCP and holds every privilege WITH GRANT OPTION, as osbd's MySQL plugin needs in
# production; the password is also in $base_dir/mariadb-<port>/admin-password. The server is
# tuned for speed, not durability: never keep data in it.

# --- mariadb -----------------------------------------------------------------------------------

my_host=127.0.0.1
my_port=${OSBD_MYSQL_PORT:-23306}
my_admin_user=${OSBD_MYSQL_ADMIN_USER:-osbd_admin}
my_admin_password=${OSBD_MYSQL_ADMIN_PASSWORD:-osbd-test-admin-password}
my_dir=$base_dir/mariadb-$my_port
my_data=$my_dir/data
my_socket=$my_dir/mariadb.sock
my_pidfile=$my_dir/mariadb.pid
my_log=$my_dir/mariadb.log
my_os_user=root
if [ "$(id -u)" -ne 0 ]; then my_os_user=$(id -un); fi

mariadb_pid() {
  [ -f "$my_pidfile" ] && cat "$my_pidfile" 2>/dev/null
}

mariadb_status() {
  local pid
  pid=$(mariadb_pid) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# True when the admin logs in over TCP.
mariadb_ready() {
  mariadb --no-defaults --protocol=TCP -h "$my_host" -P "$my_port" -u "$my_admin_user" \
    "--password=$my_admin_password" --connect-timeout=1 -e 'SELECT 1' >/dev/null 2>&1
}

# Stops the server of the pid file, if any: SIGTERM, then SIGKILL after 20 s.
mariadb_kill() {
  local pid
  pid=$(mariadb_pid) || return 0
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

mariadb_start() {
  if mariadb_status && mariadb_ready; then
    echo "mariadb: already running on $my_host:$my_port (data in $my_data)" >&2
    mariadb_print
    return 0
  fi
  # Left over from an earlier run that did not stop cleanly: stop whatever remains, start fresh.
  mariadb_kill
  if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    echo "mariadb: mariadbd not found; install the Debian package mariadb-server" >&2
    return 1
  fi
  require_free_port mariadb "$my_host" "$my_port" || return 1
  rm -rf "$my_dir"
  mkdir -p "$my_dir"
  chmod 700 "$my_dir"
  mariadb-install-db --no-defaults "--user=$my_os_user" "--datadir=$my_data" \
    --auth-root-authentication-method=socket --skip-test-db >"$my_dir/install.log" 2>&1 \
    || { cat "$my_dir/install.log" >&2; return 1; }
  # The admin is created from an init file on the first start (before any connection is
  # accepted), so that it works over TCP with its password like a production admin.
  # The admin's password as a file too, for configurations that read it from one
  # (config/examples/mysql.yaml).
  (umask 077 && printf '%s\n' "$my_admin_password" >"$my_dir/admin-password")
  local init=$my_dir/init.sql
  (umask 077 && cat >"$init" <<SQL
CREATE USER IF NOT EXISTS '$my_admin_user'@'%' IDENTIFIED BY '$my_admin_password';
GRANT ALL PRIVILEGES ON *.* TO '$my_admin_user'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '$my_admin_user'@'localhost' IDENTIFIED BY '$my_admin_password';
GRANT ALL PRIVILEGES ON *.* TO '$my_admin_user'@'localhost' WITH GRANT OPTION;
SQL
  )
  local mariadbd=mariadbd
  command -v mariadbd >/dev/null || mariadbd=/usr/sbin/mariadbd
  "$mariadbd" --no-defaults "--user=$my_os_user" "--datadir=$my_data" "--socket=$my_socket" \
    "--pid-file=$my_pidfile" "--port=$my_port" --bind-address="$my_host" "--log-error=$my_log" \
    "--init-file=$init" --skip-name-resolve --max-connections=300 \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --sync-binlog=0 \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --performance-schema=0 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    </dev/null >>"$my_dir/stdout.log" 2>&1 &
  for _ in $(seq 1 300); do
    if mariadb_ready; then
      echo "mariadb: running on $my_host:$my_port (data in $my_data)" >&2
      mariadb_print
      return 0
    fi
    sleep 0.1
  done
  echo "mariadb: not accepting connections on $my_host:$my_port; its log:" >&2
  cat "$my_log" "$my_dir/stdout.log" >&2 2>/dev/null || true
  mariadb_kill
  return 1
}

mariadb_stop() {
  mariadb_kill
  rm -rf "$my_dir"
  echo "mariadb: stopped ($my_host:$my_port)" >&2
}

mariadb_print() {
  cat <<TEXT
host=$my_host port=$my_port user=$my_admin_user password=$my_admin_password
  client: mariadb -h $my_host -P $my_port -u $my_admin_user -p'$my_admin_password'
  tests:  eval "\$(scripts/test-servers.sh env mariadb)"
TEXT
}

mariadb_env() {
  printf 'export OSBD_MYSQL_HOST=%q\n' "$my_host"
  printf 'export OSBD_MYSQL_PORT=%q\n' "$my_port"
  printf 'export OSBD_MYSQL_ADMIN_USER=%q\n' "$my_admin_user"
  printf 'export OSBD_MYSQL_ADMIN_PASSWORD=%q\n' "$my_admin_password"
}

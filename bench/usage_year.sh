#!/usr/bin/env bash
# The usage history after a year of 10,000 instances: how big the store grows and how fast the
# metering report answers on it.
#   1. osbd_usage_history_gen writes a generated year (see tests/unit/state/usage_history_gen.cpp)
#      into a fresh SQLite store, rolled up as osbd's sampler leaves it;
#   2. prints the store's size and its rows per resolution;
#   3. starts osbd on that store and times GET /admin/usage (curl, three runs each, the best):
#      a month and a year by organization, a month by plan, a month by instance.
# Usage: bench/usage_year.sh [BUILD_DIR] [INSTANCES]   (defaults: build, 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
instances=${2:-10000}
work=$(mktemp -d /tmp/osbd-usage-year-XXXXXX)
pid=
cleanup() {
  [ -z "$pid" ] || { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlite3 >/dev/null
cmake --build "$build" --target osbd osbd_usage_history_gen osb_example >/dev/null

echo "== generating a year of $instances instances"
/usr/bin/time -f "generator: %e s, %M KiB peak memory" \
  "$build/bin/osbd_usage_history_gen" "$work/state" "$instances" 365 15
sqlite3 "$work/state/osbd.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
echo "store: $(du -sh "$work/state/osbd.db" | cut -f1) ($(stat -c %s "$work/state/osbd.db") bytes)"
sqlite3 "$work/state/osbd.db" <<'SQL'
.mode list
SELECT 'events: ' || COUNT(*) FROM usage_events;
SELECT CASE period_ms WHEN 86400000 THEN 'daily rows: ' WHEN 3600000 THEN 'hourly rows: '
       ELSE 'raw rows: ' END || COUNT(*) FROM usage_samples GROUP BY period_ms ORDER BY period_ms DESC;
SELECT 'usage tables (dbstat): ' || (SUM(pgsize) / 1048576) || ' MiB' FROM dbstat
  WHERE name LIKE 'usage%' OR name LIKE 'sqlite_autoindex_usage%';
SQL

port=$((20000 + RANDOM % 12000))
cat >"$work/osbd.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $build/plugins
log_level: warn
auth: {username: bench, password: bench-password}
admin: {username: bench-admin, password: bench-admin-password}
usage: {sample_seconds: 0}
YAML
"$build/bin/osbd" --config "$work/osbd.yaml" >"$work/osbd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

month_from=$(date -u -d '30 days ago' +%F)
year_from=$(date -u -d '365 days ago' +%F)
to=$(date -u -d tomorrow +%F)
report() {  # NAME QUERY
  local best=
  for _ in 1 2 3; do
    local t
    t=$(curl -s -o "$work/report.json" -w '%{time_total}' -u bench-admin:bench-admin-password \
      "http://127.0.0.1:$port/admin/usage?$2")
    best=$(printf '%s\n%s\n' "$t" "${best:-$t}" | sort -n | head -1)
  done
  printf '%-28s %6.3f s  %s groups, %s bytes\n' "$1" "$best" \
    "$(grep -o '"key"' "$work/report.json" | wc -l)" "$(stat -c %s "$work/report.json")"
}
echo "== GET /admin/usage (best of 3)"
report "month by organization" "from=$month_from&to=$to&by=organization"
report "year by organization" "from=$year_from&to=$to&by=organization"
report "month by plan" "from=$month_from&to=$to&by=plan"
report "month by instance" "from=$month_from&to=$to&by=instance"
echo "osbd resident memory after the reports: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status) peak"

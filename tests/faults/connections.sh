#!/usr/bin/env bash
# Connection campaigns (tests/faults/conns.py does the traffic), each against a fresh osbd:
#   (a) slowloris: 500 connections dripping a header byte every 2 s while a normal client's
#       requests (a fresh connection each) all succeed in under 100 ms;
#   (b) 5000 idle keep-alive connections after one request each; normal requests still work;
#   (c) 1000 connections without credentials announcing Content-Length: 983040, half of them
#       sending the body slowly, half at full speed: all get 401, osbd's peak RSS < 200 MB;
#   (d) descriptor exhaustion: osbd under `prlimit --nofile=256`, limits.max_connections above
#       that, 400 connections: osbd does not spin (CPU < 2 s per 10 s), logs fewer than 20
#       "accept failed" lines, and serves a normal request once the connections are closed;
#   (e) limits.max_connections 100 and 150 connections: 100 served, 50 refused at once (503 or
#       closed), a normal request served once they are closed;
#   (f) 1000 authenticated connections trickling 960 KiB bodies: those beyond
#       limits.max_body_bytes_in_flight (64 MiB: 68 bodies) get 503 with Retry-After at once.
# Each prints osbd's peak RSS (sampled VmRSS and VmHWM) and peak descriptor count.
#
# Usage: connections.sh [BUILD_DIR]     (default: build)
# Environment:
#   OSBD_CONN_DURATION  seconds of the slowloris campaign (default 15)
#   OSBD_CONN_HOLD      seconds the idle and descriptor campaigns hold their connections (10)
#   OSBD_CONN_SLOW, OSBD_CONN_IDLE, OSBD_CONN_UNAUTH, OSBD_CONN_FDS, OSBD_CONN_CAP_CONNS,
#   OSBD_CONN_BODIES    connection counts (defaults 500, 5000, 1000, 400, 150, 1000)
#   OSBD_CONN_CAP       limits.max_connections of (e) (default 100)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
# shellcheck source=faults_support.sh
. "$here/faults_support.sh"

duration=${OSBD_CONN_DURATION:-15}
hold=${OSBD_CONN_HOLD:-10}
n_slow=${OSBD_CONN_SLOW:-500}
n_idle=${OSBD_CONN_IDLE:-5000}
n_unauth=${OSBD_CONN_UNAUTH:-1000}
n_fds=${OSBD_CONN_FDS:-400}
n_cap=${OSBD_CONN_CAP_CONNS:-150}
cap=${OSBD_CONN_CAP:-100}
n_bodies=${OSBD_CONN_BODIES:-1000}
fd_limit=256

# The runner holds thousands of sockets itself; osbd (a child) inherits this limit except in (d).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "connection campaigns: runner fd limit $(ulimit -n)"
command -v prlimit >/dev/null || { echo "prlimit (util-linux) is needed"; exit 1; }

faults_setup osbd-conns
echo "port $port"

# campaign NAME CONFIG [PREFIX_COMMAND...] -- CONNS_ARGS...: a fresh osbd, one conns.py run.
campaign() {
  local name=$1 config=$2
  shift 2
  local prefix=()
  while [ "$1" != -- ]; do prefix+=("$1"); shift; done
  shift
  local log=$work/osbd-$name.log out=$work/conns-$name.out code=0
  echo "--- $name"
  start_osbd "$config" "$work/data-$name" "$log" "${prefix[@]}"
  echo "osbd pid $pid, descriptor limit $(awk '/Max open files/ {print $4}' "/proc/$pid/limits")"
  python3 "$here/conns.py" "$name" --port "$port" --pid "$pid" --log "$log" "$@" >"$out" 2>&1 \
    || code=$?
  cat "$out"
  local p f
  read -r p f < <(sed -n 's/^checks: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out") || true
  if [ -z "${p:-}" ]; then
    failures=$((failures + 1)); echo "FAIL $name: conns.py ended without its checks (exit $code)"
  else
    passes=$((passes + p)); failures=$((failures + f))
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "osbd exited during $name; last log lines:"; tail -n 5 "$log" | cut -c 1-300
    pid=
  else
    stop_osbd || true
  fi
  local accept_lines
  accept_lines=$(grep -c '"accept failed"' "$log" || true)
  if [ "$accept_lines" -gt 0 ]; then
    echo "\"accept failed\" lines in osbd's log: $accept_lines; first and last:"
    grep -m 1 '"accept failed"' "$log" | cut -c 1-300
    grep '"accept failed"' "$log" | tail -n 1 | cut -c 1-300
  fi
}

config=$work/osbd.yaml
write_config "$config"
campaign slowloris "$config" -- --conns "$n_slow" --duration "$duration"
campaign idle "$config" -- --conns "$n_idle" --hold "$hold"
campaign unauth "$config" -- --conns "$n_unauth" --timeout 30

# (d): max_connections above the descriptor limit (the default, 10000, is as well when this
# build does not know the key yet).
config_fds=$work/osbd-fds.yaml
write_config "$config_fds" "  max_connections: 1000"
if ! config_accepts "$config_fds"; then
  echo "this osbd does not accept limits.max_connections; using its default (10000)"
  config_fds=$config
fi
campaign fds "$config_fds" prlimit --nofile="$fd_limit:$fd_limit" -- --conns "$n_fds" --hold "$hold"

# (e): over limits.max_connections.
config_cap=$work/osbd-cap.yaml
write_config "$config_cap" "  max_connections: $cap"
if config_accepts "$config_cap"; then
  campaign cap "$config_cap" -- --cap "$cap" --conns "$n_cap"
else
  failures=$((failures + 1))
  echo "FAIL cap: this osbd does not accept limits.max_connections ($("$osbd" --config "$config_cap" --check-config 2>&1 | tail -n 1 | cut -c 1-200))"
fi

# (f): authenticated bodies over limits.max_body_bytes_in_flight (the default, 64 MiB).
campaign bodies "$config" -- --conns "$n_bodies" --budget-mb 64 --hold 5

script_result

# Shared by the shell tests that drive a real osbd: source it after `set -euo pipefail`.
#   script_setup PREFIX   a work directory ($work, removed at exit, like an osbd started into
#                         $pid, killed at exit) and a free port below the ephemeral range ($port)
#   check NAME WANT GOT   one check, counted in $passes and $failures
#   script_result         prints the counts; fails when a check failed

script_setup() {
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  pid=
  trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
  failures=0
  passes=0
  port=
  for _ in $(seq 1 50); do
    local candidate=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      port=$candidate
      break
    fi
  done
  [ -n "$port" ] || { echo "no free port"; exit 1; }
}

check() {
  if [ "$2" = "$3" ]; then
    passes=$((passes + 1)); echo "ok   $1 -> $3"
  else
    failures=$((failures + 1)); echo "FAIL $1 -> $3 (want $2)"
  fi
}

script_result() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}

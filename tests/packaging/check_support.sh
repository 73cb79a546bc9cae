# Shared by the package tests: source it after setting $test_name (the prefix of a failure).
#   ok TEXT           counts a passed check and prints it
#   fail TEXT         prints the failure and exits 1 (the caller's EXIT trap cleans up)
#   check TEXT CMD..  runs CMD (output discarded): ok if it succeeds, else fail
#   not CMD..         succeeds when CMD fails
checks=0
ok() {
  checks=$((checks + 1))
  printf '  ok  %s\n' "$*"
}
fail() {
  printf '%s: FAIL: %s\n' "$test_name" "$*" >&2
  exit 1
}
check() {
  local what=$1
  shift
  if "$@" >/dev/null; then ok "$what"; else fail "$what"; fi
}
not() { ! "$@"; }

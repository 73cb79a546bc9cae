#!/usr/bin/env bash
# The fuzzing step of the project's tests: fuzz/run.sh with OSBD_FUZZ_SECONDS (default 20) per
# target, then the total duration. Exits with run.sh's status.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
start=$(date +%s)
"$here/run.sh" "${OSBD_FUZZ_SECONDS:-20}" "$@"
rc=$?
echo "fuzz: total $(($(date +%s) - start)) s"
exit "$rc"

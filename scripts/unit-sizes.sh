#!/usr/bin/env bash
# Lists the longest functions and the largest files under a folder (default: core),
# in lines, so that a change can show its effect on unit sizes.
#   scripts/unit-sizes.sh [folder] [count]
set -eu  # no pipefail: head ends the listings early
root="${1:-core}"
count="${2:-5}"
cd "$(dirname "$0")/.."

echo "Longest functions in ${root}/ (lines):"
ctags -R --languages=C++ --kinds-c++=f --fields=+ne -f - "$root" \
  | awk -F'\t' '$1 !~ /^__anon/ {
      line = ""; end = ""; scope = "";
      for (i = 5; i <= NF; i++) {
        if ($i ~ /^line:/) line = substr($i, 6);
        else if ($i ~ /^end:/) end = substr($i, 5);
        else if ($i ~ /^(class|struct):/) { scope = $i; sub(/^[a-z]+:/, "", scope); sub(/.*::/, "", scope); scope = scope "::" }
      }
      if (line != "" && end != "") printf "%6d  %s%s  (%s:%s)\n", end - line + 1, scope, $1, $2, line
    }' \
  | sort -rn | head -n "$count"

echo "Largest files in ${root}/ (lines):"
find "$root" -name '*.cpp' -o -name '*.hpp' | xargs wc -l | grep -v ' total$' | sort -rn | head -n "$count"

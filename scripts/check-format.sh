#!/usr/bin/env bash
# Fails when a tracked C or C++ source differs from what .clang-format makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' 2>/dev/null || true)
if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(find core sdk plugins tests -name '*.[ch]' -o -name '*.[ch]pp')
fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files clean"

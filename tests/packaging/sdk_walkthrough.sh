#!/usr/bin/env bash
# The vendor walkthrough of sdk/README.md ("## From nothing to production"), word for word:
#   1. extracts the section's six numbered steps and their ```sh blocks (the test fails when the
#      section changes shape: a step without exactly one ```sh block, a fence of another kind,
#      steps not numbered 1 to 6),
#   2. runs the blocks in order in one `bash -euo pipefail`, as a reader types them into one
#      shell, in a fresh directory holding only the SDK package,
#   3. checks what the walkthrough promises: the SDK installed, a clang-built plugin distinct
#      from the example, its unit tests passed, the file in osbd's plugin directory with the
#      signature osbctl sign-plugin wrote (verifying with the vendor's public key), the vendor's
#      service in the catalog within 10 s (no restart) and its plugin in `osbctl plugins`.
#
#   tests/packaging/sdk_walkthrough.sh SDK_DEB           (root; run by tests/packaging/deb_test.sh)
#   tests/packaging/sdk_walkthrough.sh --print           (prints the script it would run)
#
# Needs what the README tells the reader to have: the osbd package installed and serving, and
# OSBD_URL, OSBD_USER, OSBD_PASSWORD, OSBCTL_URL, OSBCTL_USER, OSBCTL_PASSWORD set for it.
# Leaves behind what the walkthrough installs on purpose, for the caller to remove: the
# osb-sdk-dev package and the vendor's plugin and its .sig in /usr/lib/osbd/plugins. Packages
# that step 1 pulled in besides osb-sdk-dev are purged again; the working directory is removed.
# shellcheck disable=SC2016  # bash -c '...' _ ARG: the single quotes are meant
set -euo pipefail
cd "$(dirname "$0")/../.."
readme=$(pwd)/sdk/README.md
section='## From nothing to production'
steps_expected=6
# What the README's step 2 makes of the example; checked against the README text below.
vendor_plugin=com.example.myservice
vendor_service=my-service
vendor_library=my_service.so
vendor_key=vendor-signing.key
plugin_dir=/usr/lib/osbd/plugins

test_name=sdk_walkthrough
# shellcheck source=check_support.sh
. tests/packaging/check_support.sh
# "PACKAGE VERSION" of every installed package.
installed_packages() {
  dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}\n' |
    awk '$3 == "installed" { print $1, $2 }' | LC_ALL=C sort
}

# Prints the section's steps as "#@step N TITLE" lines, each followed by its ```sh block with the
# list item's indentation removed. Exits non-zero, naming the line, when the shape is wrong.
extract() {
  awk -v title="$section" '
    function bad(msg) {
      printf "sdk/README.md:%d: %s\n", NR, msg >"/dev/stderr"
      failed = 1
      exit 1
    }
    code {
      if ($0 ~ "^" indent "```[ \t]*$") { code = 0; next }
      line = $0
      if (substr(line, 1, length(indent)) == indent) {
        line = substr(line, length(indent) + 1)
      } else if (line !~ /^[ \t]*$/) {
        bad("a line of the ```sh block is indented less than its fence")
      }
      print line
      next
    }
    /^## / {
      if (in_section) { in_section = 0 }
      if ($0 == title) {
        if (found) { bad("a second \"" title "\" section") }
        in_section = 1
        found = 1
      }
      next
    }
    !in_section { next }
    /^[0-9]+\. / {
      number = $0
      sub(/\..*/, "", number)
      if (number != steps + 1) { bad("step " number " follows step " steps) }
      if (steps > 0 && blocks != 1) { bad("step " steps " has " blocks " ```sh blocks, not 1") }
      steps++
      blocks = 0
      name = $0
      if (match(name, /\*\*[^*]+\*\*/)) {
        name = substr(name, RSTART + 2, RLENGTH - 4)
      } else {
        sub(/^[0-9]+\. +/, "", name)
      }
      sub(/[.:]$/, "", name)
      print "#@step " steps " " name
      next
    }
    /^[ \t]*```/ {
      match($0, /^[ \t]*/)
      indent = substr($0, 1, RLENGTH)
      info = substr($0, RLENGTH + 4)
      if (info != "sh") { bad("a fence other than ```sh in the section: " $0) }
      if (steps == 0) { bad("a ```sh block before step 1") }
      blocks++
      code = 1
      next
    }
    END {
      if (failed) { exit 1 }
      if (!found) { bad("no \"" title "\" section") }
      if (code) { bad("a ```sh block is not closed") }
      if (steps == 0) { bad("no numbered steps") }
      if (blocks != 1) { bad("step " steps " has " blocks " ```sh blocks, not 1") }
    }
  ' "$readme"
}

# The script a reader would type: each block verbatim, after a line that names its step.
walkthrough_script() {
  local line
  while IFS= read -r line; do
    if [[ $line == '#@step '* ]]; then
      line=${line#\#@step }
      printf 'printf "\\n--- step %%s [%%s]\\n" %q "$EPOCHREALTIME"\n' "${line%% *}: ${line#* }"
    else
      printf '%s\n' "$line"
    fi
  done < <(extract)
  printf 'printf "\\n--- all steps done [%%s]\\n" "$EPOCHREALTIME"\n'
}

if [ "${1:-}" = --print ]; then
  extract >/dev/null || exit 1
  walkthrough_script
  exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 SDK_DEB | --print" >&2; exit 64; }
sdk_deb=$1
if [ "$(id -u)" -ne 0 ]; then
  echo "sdk_walkthrough: needs root (the README's steps run as root)" >&2
  exit 1
fi

printf '\n--> the section "%s" of sdk/README.md\n' "$section"
extract >/dev/null || fail "sdk/README.md: the section does not have its shape (see above)"
steps=$(extract | grep -c '^#@step ')
check "$steps numbered steps, each with one \`\`\`sh block (expected $steps_expected)" \
  test "$steps" -eq "$steps_expected"
extract | grep '^#@step ' | sed 's/^#@step /     /'
text=$(sed -n "/^$section\$/,/^## /p" "$readme")
for var in OSBD_URL OSBD_USER OSBD_PASSWORD OSBCTL_URL OSBCTL_USER OSBCTL_PASSWORD; do
  [ -n "${!var:-}" ] || fail "$var is not set (the caller provides what the README has readers set)"
  check "the README tells the reader what $var is; the test sets it" grep -qF "\`$var\`" <<<"$text"
done
for name in "$vendor_plugin" "$vendor_service" "$vendor_library"; do
  check "the walkthrough makes the example into $name" grep -qF "$name" <<<"$text"
done
for name in "osbctl sign-plugin --key $vendor_key" "$vendor_library.sig"; do
  check "the walkthrough signs the plugin: $name" grep -qF "$name" <<<"$text"
done
check "SDK package $(basename "$sdk_deb")" test -s "$sdk_deb"
check "osbd serves before the walkthrough ($OSBD_URL/healthz)" curl -sf "$OSBD_URL/healthz"
check "$plugin_dir has no $vendor_library yet" test ! -e "$plugin_dir/$vendor_library"
check "$plugin_dir has no $vendor_library.sig yet" test ! -e "$plugin_dir/$vendor_library.sig"

work=$(mktemp -d /tmp/osbd-sdk-walkthrough.XXXXXX)
chmod 0755 "$work"  # apt-get reads the .deb as user _apt
installed_packages >"$work.before"
cleanup() {
  local status=$?
  set +e
  # Packages step 1 pulled in besides the SDK itself go again; the caller purges osb-sdk-dev.
  installed_packages | cut -d' ' -f1 | LC_ALL=C comm -13 <(cut -d' ' -f1 "$work.before") - |
    grep -vx osb-sdk-dev >"$work.added"
  if [ -s "$work.added" ]; then
    echo "sdk_walkthrough: cleanup: purging $(tr '\n' ' ' <"$work.added")" >&2
    xargs apt-get purge -y -q <"$work.added" >/dev/null
  fi
  rm -rf "$work" "$work.before" "$work.added"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$work/run"
cp "$sdk_deb" "$work/run/"
walkthrough_script >"$work/walkthrough.sh"

printf '\n--> the walkthrough, in %s/run (bash -euo pipefail)\n' "$work"
rc=0
(cd "$work/run" && bash -euo pipefail "$work/walkthrough.sh") </dev/null >"$work/log" 2>&1 || rc=$?
sed 's/^/     | /' "$work/log"
if [ "$rc" -ne 0 ]; then
  echo "sdk_walkthrough: osbctl plugins now (a refused plugin file shows with the reason):" >&2
  osbctl plugins 2>&1 | sed 's/^/     | /' >&2 || true
fi
last_step=$(grep '^--- step ' "$work/log" | tail -1 | sed 's/ \[[0-9.]*\]$//')
check "the walkthrough ran to its end (exit $rc; last: ${last_step#--- })" \
  bash -c '[ "$1" -eq 0 ] && tail -1 "$2" | grep -q -- "^--- all steps done "' _ "$rc" "$work/log"
# How long each step took, from the times in the step lines.
sed -n 's/^--- \(step [0-9]*\|all steps done\).*\[\([0-9.]*\)\]$/\1 \2/p' "$work/log" |
  awk 'NR > 1 { printf "     %s took %.1f s\n", step, $NF - t } { step = $1 " " $2; t = $NF }'

printf '\n--> what the walkthrough promised\n'
copy=$work/run/my-plugin
plugin=$copy/build/$vendor_library
check "step 1: osb-sdk-dev is installed" \
  test "$(dpkg-query -W -f='${db:Status-Status}' osb-sdk-dev 2>/dev/null)" = installed
installed_packages | LC_ALL=C join "$work.before" - | awk '$2 != $3' >"$work/upgraded"
check "step 1: upgraded no package that was installed before$(tr '\n' ' ' <"$work/upgraded")" \
  test ! -s "$work/upgraded"
check "step 1: the example came with its unit tests" \
  test -f /usr/share/osb-sdk/examples/example_plugin/tests/example_backend_test.cpp
check "step 2: the copy declares plugin $vendor_plugin" \
  grep -qF "\"$vendor_plugin\"" "$copy/src/example_plugin.cpp"
check "step 2: the copy keeps none of the example's names and ids" \
  not grep -rqE 'org\.osbd\.example|example-service|9bf6d9ad-|700556d0-|234546ec-|5f0c5a4e-|osb_example\.so' \
  "$copy/src" "$copy/CMakeLists.txt"
check "step 3: built $vendor_library" test -f "$plugin"
check "step 3: $vendor_library was compiled by clang" \
  bash -c 'readelf -p .comment "$1" | grep -q "clang version"' _ "$plugin"
tests_run=$(sed -n 's/.*100% tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$work/log")
check "step 4: ctest ran ${tests_run:-no} unit tests and all passed" test "${tests_run:-0}" -gt 0
check "step 5: $plugin_dir/$vendor_library is the built file" \
  cmp -s "$plugin" "$plugin_dir/$vendor_library"
check "step 5: no temporary file left in $plugin_dir" \
  not bash -c 'compgen -G "$1?*" | grep -vxF "$1.sig"' _ "$plugin_dir/$vendor_library"
key_id=$(osbctl key-id "$copy/$vendor_key" || true)
check "step 5: $vendor_key is an Ed25519 key (id $key_id)" test "${#key_id}" -eq 16
check "step 5: osbctl sign-plugin wrote $vendor_library.sig with key-id $key_id" \
  grep -qx "key-id $key_id" "$copy/build/$vendor_library.sig"
check "step 5: $plugin_dir/$vendor_library.sig is that signature" \
  cmp -s "$copy/build/$vendor_library.sig" "$plugin_dir/$vendor_library.sig"
openssl pkey -in "$copy/$vendor_key" -pubout -out "$work/vendor.pub"
check "step 5: the installed $vendor_library verifies with the vendor's public key" \
  bash -c 'osbctl verify-plugin --key "$1" "$2" | grep -qxF "$2: signed by key $3, verified"' _ \
  "$work/vendor.pub" "$plugin_dir/$vendor_library" "$key_id"
openssl genpkey -algorithm ed25519 -out "$work/other.key"
openssl pkey -in "$work/other.key" -pubout -out "$work/other.pub"
check "step 5: and not with another key" \
  bash -c 'osbctl verify-plugin --key "$1" "$2" 2>&1 | grep -qF "not in plugin_trust.trusted_keys"' \
  _ "$work/other.pub" "$plugin_dir/$vendor_library"
catalog() {
  curl -s -o "$work/catalog" -u "$OSBD_USER:$OSBD_PASSWORD" -H 'X-Broker-API-Version: 2.17' \
    "$OSBD_URL/v2/catalog" && grep -qF "\"name\":\"$1\"" "$work/catalog"
}
seen=""
for tenth in $(seq 0 100); do
  if catalog "$vendor_service"; then
    seen=$tenth
    break
  fi
  sleep 0.1
done
check "step 6: the catalog offers $vendor_service (within 10 s, no restart)" test -n "$seen"
check "step 6: and still the example's example-service" catalog example-service
osbctl plugins >"$work/plugins" 2>&1 || true
sed 's/^/     | /' "$work/plugins"
check "step 6: osbctl plugins lists $vendor_plugin" grep -qF "$vendor_plugin" "$work/plugins"
check "step 6: osbctl plugins: $vendor_plugin serves $vendor_service from $vendor_library" \
  bash -c 'grep -F "$1" "$4" | grep -F "$2" | grep -qF "$3"' _ \
  "$vendor_plugin" "$vendor_service" "$plugin_dir/$vendor_library" "$work/plugins"
check "step 6: osbctl plugins reports no refused plugin file" not grep -q '^refused:' "$work/plugins"
check "step 6: osbctl plugins lists org.osbd.example" grep -qF org.osbd.example "$work/plugins"

printf '\nsdk_walkthrough: %d checks passed\n' "$checks"

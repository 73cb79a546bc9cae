#!/usr/bin/env bash
# The Debian packages end to end, on this machine:
#   1. build osbd_*.deb and osb-sdk-dev_*.deb (scripts/package.sh BUILD_DIR),
#   2. install osbd with dpkg -i and check what landed (binary, plugins, conffile, systemd unit,
#      the osbd system user, /var/lib/osbd owned by osbd with mode 0700),
#   3. start the installed /usr/bin/osbd as user osbd without systemd, with a copy of
#      /etc/osbd/osbd.yaml listening on a free port (plus admin credentials), and walk a lifecycle
#      with curl on the example plugin's sync plan (catalog, provision, fetch, bind, fetch, unbind,
#      deprovision),
#   4. follow the vendor walkthrough of sdk/README.md word for word against that osbd
#      (tests/packaging/sdk_walkthrough.sh): it installs osb-sdk-dev, builds a plugin of its own
#      from the example with clang++, unit-tests it and drops it into /usr/lib/osbd/plugins,
#      where osbd serves it without a restart; then check the SDK's files and build the example
#      unchanged with the default compiler and run its unit tests,
#   5. stop osbd with SIGTERM, remove the vendor's plugin, dpkg --purge both packages, then
#      check that nothing is left.
#
#   tests/packaging/deb_test.sh [BUILD_DIR]    (default: build-pkg; needs root)
#
# Whatever happens, the EXIT trap stops osbd, removes plugin files no package installed, purges
# the packages and removes what the test installed, so the machine is left as it was. An osbd or
# osb-sdk-dev package installed before the test (a run killed half-way) is purged first; a user
# osbd that no package made stops the test.
# shellcheck disable=SC2016  # bash -c '...' _ ARG: the single quotes are meant
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
build=${1:-$root/build-pkg}

if [ "$(id -u)" -ne 0 ]; then
  echo "deb_test: needs root (dpkg -i, runuser)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

packages=(osb-sdk-dev osbd)
test_name=deb_test
# shellcheck source=check_support.sh
. tests/packaging/check_support.sh
step() { printf '\n--> %s\n' "$*"; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
# Known to dpkg in any state but not-installed (installed, config-files, half-installed, ...).
known() {
  local state
  state=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != not-installed ]
}
mode_of() { stat -c '%U:%G %a' "$1"; }
# Files in osbd's plugin directory that the osbd package did not install (the vendor's plugin).
foreign_plugins() {
  [ -d /usr/lib/osbd/plugins ] || return 0
  local owned
  owned=$(dpkg-query -L osbd 2>/dev/null || true)
  find /usr/lib/osbd/plugins -mindepth 1 -maxdepth 1 | while read -r file; do
    grep -qxF "$file" <<<"$owned" || printf '%s\n' "$file"
  done
}

work=""
osbd_pid=""
added_deps=()
cleanup() {
  local status=$?
  set +e
  # Stop osbd itself (the child of runuser) and wait until it is gone, before its user goes.
  if [ -n "$osbd_pid" ]; then
    for pid in $(ps -o pid= --ppid "$osbd_pid") "$osbd_pid"; do
      kill -TERM "$pid" 2>/dev/null || continue
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    done
    wait "$osbd_pid" 2>/dev/null
  fi
  foreign_plugins | while read -r file; do
    echo "deb_test: cleanup: rm $file" >&2
    rm -rf "$file"
  done
  for p in "${packages[@]}"; do
    if known "$p"; then
      echo "deb_test: cleanup: dpkg --purge $p" >&2
      dpkg --purge "$p" >/dev/null
    fi
  done
  if [ ${#added_deps[@]} -gt 0 ]; then
    echo "deb_test: cleanup: removing ${added_deps[*]}" >&2
    apt-get purge -y -q "${added_deps[@]}" >/dev/null
  fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
  if [ $status -ne 0 ]; then echo "deb_test: failed (exit $status), machine restored" >&2; fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "preconditions"
for p in "${packages[@]}"; do
  if known "$p"; then
    echo "deb_test: $p is installed from an earlier run: dpkg --purge $p"
    dpkg --purge "$p" >/dev/null
  fi
done
if getent passwd osbd >/dev/null; then
  fail "a user osbd exists that no osbd package made; remove it (deluser --system osbd) first"
fi
for path in /etc/osbd /var/lib/osbd /usr/lib/osbd; do
  [ ! -e "$path" ] || fail "$path exists without the osbd package; remove it first"
done
ok "no osbd package, user or directory on this machine"
work=$(mktemp -d /tmp/osbd-deb-test.XXXXXX)
chmod 0755 "$work"

step "build the packages (scripts/package.sh $build)"
bash scripts/package.sh "$build" >"$work/debs" || fail "scripts/package.sh $build failed"
mapfile -t debs <"$work/debs"
[ ${#debs[@]} -eq 2 ] || fail "scripts/package.sh gave ${#debs[@]} .deb files"
deb_broker="" deb_sdk=""
for deb in "${debs[@]}"; do
  case "$(dpkg-deb --field "$deb" Package)" in
    osbd) deb_broker=$deb ;;
    osb-sdk-dev) deb_sdk=$deb ;;
  esac
done
check "built $(basename "$deb_broker")" test -s "$deb_broker"
check "built $(basename "$deb_sdk")" test -s "$deb_sdk"
version=$(sed -n 's/^project(osbd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
check "package version is project(VERSION) $version" \
  test "$(dpkg-deb --field "$deb_broker" Version)" = "$version-1"
depends=$(dpkg-deb --field "$deb_broker" Depends)
echo "     osbd Depends: $depends"
check "osbd depends on adduser and the plugins' libraries" \
  bash -c '[[ $1 == *adduser* && $1 == *libpqxx* && $1 == *libmysqlcppconn* ]]' _ "$depends"
check "/etc/osbd/osbd.yaml is a conffile" \
  bash -c 'dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./conffiles | grep -qx /etc/osbd/osbd.yaml' \
  _ "$deb_broker"

step "dpkg -i"
# Runtime libraries first (scripts/install-deps.sh has them all, so usually nothing to do); the
# ones installed here are purged again at the end.
for deb in "${debs[@]}"; do
  dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g'
done | sort -u | while read -r dep; do
  if [ -n "$dep" ] && ! installed "$dep"; then echo "$dep"; fi
done >"$work/missing"
mapfile -t missing <"$work/missing"
if [ ${#missing[@]} -gt 0 ]; then
  echo "deb_test: installing dependencies: ${missing[*]}"
  added_deps=("${missing[@]}")
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# Only the broker: the SDK is installed by step 1 of the walkthrough, as a vendor installs it.
dpkg -i "$deb_broker"
check "osbd installed" installed osbd
check "osb-sdk-dev not installed (the walkthrough installs it)" not known osb-sdk-dev

step "installed files"
check "/usr/bin/osbd is executable" test -x /usr/bin/osbd
check "/usr/libexec/osbd/osbd-plugin-host is executable" test -x /usr/libexec/osbd/osbd-plugin-host
check "/usr/bin/osbctl answers --help" bash -c '/usr/bin/osbctl --help | grep -q summary'
check "osbd --version names $version" bash -c '/usr/bin/osbd --version | grep -qF "$1"' _ "$version"
for plugin in example postgresql mysql object_storage; do
  check "/usr/lib/osbd/plugins/osb_$plugin.so" test -f "/usr/lib/osbd/plugins/osb_$plugin.so"
done
check "/etc/osbd/osbd.yaml" test -f /etc/osbd/osbd.yaml
check "systemd unit /lib/systemd/system/osbd.service" test -f /lib/systemd/system/osbd.service
check "unit runs as User=osbd" grep -qx 'User=osbd' /lib/systemd/system/osbd.service
check "unit enabled for multi-user.target (no systemd running needed)" \
  test -L /etc/systemd/system/multi-user.target.wants/osbd.service
check "user osbd exists" getent passwd osbd
uid=$(id -u osbd)
check "osbd is a system user (uid $uid)" test "$uid" -lt 1000
check "osbd's shell is nologin" test "$(getent passwd osbd | cut -d: -f7)" = /usr/sbin/nologin
check "/var/lib/osbd is osbd:osbd 700" test "$(mode_of /var/lib/osbd)" = "osbd:osbd 700"
check "/etc/osbd/platform-password is root:osbd 640" \
  test "$(mode_of /etc/osbd/platform-password)" = "root:osbd 640"
check "the platform password is not empty" test -s /etc/osbd/platform-password
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/osbd.service >"$work/verify.log" 2>&1 || true
  check "systemd-analyze verify osbd.service reports nothing" test ! -s "$work/verify.log"
fi

step "hardening of the installed binaries (Debian's dpkg-buildflags, hardening=+all)"
for elf in /usr/bin/osbd /usr/bin/osbctl /usr/libexec/osbd/osbd-plugin-host /usr/lib/osbd/plugins/*.so; do
  name=${elf#/usr/}
  check "$name: full RELRO (GNU_RELRO and BIND_NOW)" \
    bash -c 'readelf -lW "$1" | grep -q GNU_RELRO && readelf -dW "$1" | grep -q BIND_NOW' _ "$elf"
  check "$name: position-independent (ELF type DYN)" \
    bash -c 'readelf -hW "$1" | grep -q "Type: *DYN"' _ "$elf"
done
for elf in /usr/bin/osbd /usr/bin/osbctl /usr/libexec/osbd/osbd-plugin-host; do
  check "${elf#/usr/}: stack protector (__stack_chk_fail)" \
    bash -c 'nm -D "$1" | grep -q " __stack_chk_fail"' _ "$elf"
  check "${elf#/usr/}: _FORTIFY_SOURCE (checked libc calls)" \
    bash -c 'nm -D "$1" | grep -q "_chk@"' _ "$elf"
done

step "start the installed osbd as user osbd, without systemd"
# The installed configuration, on a free port (port 0: osbd binds one and logs it), with the
# admin section it has commented out, for osbctl.
sed 's/^listen: .*/listen: 127.0.0.1:0/' /etc/osbd/osbd.yaml >"$work/osbd.yaml"
admin_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$admin_password" >"$work/admin-password"
chown root:osbd "$work/admin-password"
chmod 0640 "$work/admin-password"
printf 'admin:\n  username: osbd-admin\n  password_file: %s\n' "$work/admin-password" \
  >>"$work/osbd.yaml"
chmod 0644 "$work/osbd.yaml"
check "osbd --check-config of the installed configuration, as osbd" \
  runuser -u osbd -- /usr/bin/osbd --config /etc/osbd/osbd.yaml --check-config
(cd / && exec runuser -u osbd -- /usr/bin/osbd --config "$work/osbd.yaml") 2>"$work/osbd.log" &
osbd_pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's/.*"listening".*"port":\([0-9]*\).*/\1/p' "$work/osbd.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$osbd_pid" 2>/dev/null || { cat "$work/osbd.log"; fail "osbd exited at start-up"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/osbd.log"; fail "osbd did not log its port within 20 s"; }
ok "osbd listening on 127.0.0.1:$port"
# runuser waits for osbd and exits with its status; signals go to osbd itself, because runuser
# answers a SIGTERM of its own by killing its child and exiting 143.
osbd_child=$(ps -o pid= --ppid "$osbd_pid" | tr -d ' ')
check "osbd (pid $osbd_child) runs as user osbd" test "$(ps -o user= -p "$osbd_child")" = osbd
# Each plugin in a host process of its own (isolation: process, the default), as user osbd.
check "osbd runs its plugins in /usr/libexec/osbd/osbd-plugin-host processes, as user osbd" \
  bash -c 'ps -o user=,args= --ppid "$1" | grep -q "^osbd .*/usr/libexec/osbd/osbd-plugin-host"' \
  _ "$osbd_child"

step "lifecycle on the example plugin's sync plan"
base=http://127.0.0.1:$port
password=$(head -1 /etc/osbd/platform-password)
service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
plan=700556d0-4a22-4ed7-8a5c-004d693b5286
instance=deb-test-$(date +%s)-$$
binding=b-$$
# request EXPECTED_STATUS METHOD PATH [BODY]: the body of the answer goes to $work/body.
request() {
  local expected=$1 method=$2 path=$3 body=${4:-}
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$method" -u "osbd:$password"
    -H 'X-Broker-API-Version: 2.17')
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' -d "$body"); fi
  local status
  status=$(curl "${args[@]}" "$base$path") || fail "$method $path: curl failed"
  if [ "$status" != "$expected" ]; then
    cat "$work/body" >&2
    echo >&2
    fail "$method $path: HTTP $status, expected $expected"
  fi
  ok "$method $path -> $status"
}
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Broker-API-Version: 2.17' "$base/v2/catalog")
check "GET /v2/catalog without credentials -> 401 (got $status)" test "$status" = 401
request 200 GET /v2/catalog
check "catalog offers example-service" grep -q "$service" "$work/body"
provision="{\"service_id\":\"$service\",\"plan_id\":\"$plan\",\"organization_guid\":\"o\",\"space_guid\":\"s\"}"
request 201 PUT "/v2/service_instances/$instance" "$provision"
request 200 PUT "/v2/service_instances/$instance" "$provision"
request 200 GET "/v2/service_instances/$instance"
check "fetch names the plan" grep -q "$plan" "$work/body"
request 201 PUT "/v2/service_instances/$instance/service_bindings/$binding" \
  "{\"service_id\":\"$service\",\"plan_id\":\"$plan\"}"
check "binding carries credentials" grep -q '"credentials"' "$work/body"
request 200 GET "/v2/service_instances/$instance/service_bindings/$binding"
query="service_id=$service&plan_id=$plan"
request 200 DELETE "/v2/service_instances/$instance/service_bindings/$binding?$query"
request 200 DELETE "/v2/service_instances/$instance?$query"
request 410 DELETE "/v2/service_instances/$instance?$query"
check "state store /var/lib/osbd/osbd.db belongs to osbd" \
  test "$(stat -c %U /var/lib/osbd/osbd.db)" = osbd
check "credentials key /var/lib/osbd/credentials.key is osbd 600" \
  test "$(stat -c '%U %a' /var/lib/osbd/credentials.key)" = "osbd 600"

step "the vendor walkthrough of sdk/README.md (tests/packaging/sdk_walkthrough.sh)"
# What the README has the reader set, for this osbd.
OSBD_URL=$base OSBD_USER=osbd OSBD_PASSWORD=$password \
  OSBCTL_URL=$base OSBCTL_USER=osbd-admin OSBCTL_PASSWORD=$admin_password \
  bash tests/packaging/sdk_walkthrough.sh "$deb_sdk" ||
  { tail -n 20 "$work/osbd.log" >&2; fail "the vendor walkthrough failed (osbd's log above)"; }
ok "the vendor walkthrough of sdk/README.md"
check "osbd (pid $osbd_child) still runs: the plugin came without a restart" \
  kill -0 "$osbd_child"

step "the SDK the walkthrough installed"
check "osb-sdk-dev installed" installed osb-sdk-dev
check "SDK header /usr/include/osb/plugin_abi.h" test -f /usr/include/osb/plugin_abi.h
check "SDK CMake package" compgen -G '/usr/lib/*/cmake/osb-sdk/osb-sdkConfig.cmake'
check "SDK example /usr/share/osb-sdk/examples/example_plugin" \
  test -f /usr/share/osb-sdk/examples/example_plugin/CMakeLists.txt
check "SDK example's unit tests" \
  test -f /usr/share/osb-sdk/examples/example_plugin/tests/example_backend_test.cpp
# The example itself, unchanged, with the default compiler (the walkthrough used clang++).
cmake -S /usr/share/osb-sdk/examples/example_plugin -B "$work/example" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release >"$work/example.log" 2>&1 || { cat "$work/example.log"; exit 1; }
cmake --build "$work/example" -j "$(nproc)" >>"$work/example.log" 2>&1 ||
  { cat "$work/example.log"; exit 1; }
check "find_package(osb-sdk) + osb_add_plugin built osb_example.so" test -f "$work/example/osb_example.so"
ctest --test-dir "$work/example" >>"$work/example.log" 2>&1 || { cat "$work/example.log"; exit 1; }
check "the example's unit tests pass (ctest)" grep -q '100% tests passed' "$work/example.log"

step "stop osbd (SIGTERM)"
kill -TERM "$osbd_child"
rc=0
wait "$osbd_pid" || rc=$?
osbd_pid=""
check "osbd exited 0 after SIGTERM" test "$rc" -eq 0

step "remove the vendor's plugin"
foreign_plugins >"$work/foreign"
echo "     not from the osbd package: $(tr '\n' ' ' <"$work/foreign")"
check "the only files osbd's package did not install are my_service.so and its .sig" \
  test "$(LC_ALL=C sort "$work/foreign" | tr '\n' ' ')" = \
  "/usr/lib/osbd/plugins/my_service.so /usr/lib/osbd/plugins/my_service.so.sig "
xargs rm -f <"$work/foreign"
check "the plugin directory holds only the package's files" test -z "$(foreign_plugins)"

step "dpkg --purge"
dpkg --purge "${packages[@]}"
for p in "${packages[@]}"; do
  check "$p purged" not known "$p"
done
for path in /usr/bin/osbd /usr/bin/osbctl /usr/libexec/osbd /usr/lib/osbd /etc/osbd /var/lib/osbd /lib/systemd/system/osbd.service \
  /etc/systemd/system/multi-user.target.wants/osbd.service /etc/systemd/system/osbd.service \
  /usr/include/osb /usr/share/osb-sdk /usr/share/doc/osbd /usr/share/doc/osb-sdk-dev /usr/share/osbd \
  /usr/share/man/man8/osbd.8.gz /usr/share/man/man8/osbctl.8.gz; do
  check "$path removed" test ! -e "$path" -a ! -L "$path"
done
check "no CMake package osb-sdk left" not compgen -G '/usr/lib/*/cmake/osb-sdk'
check "user osbd removed" not getent passwd osbd
check "group osbd removed" not getent group osbd
find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
  -name 'osbd*' >"$work/dsh-state" 2>/dev/null || true
check "no deb-systemd-helper state left" test ! -s "$work/dsh-state"

printf '\ndeb_test: %d checks passed\n' "$checks"

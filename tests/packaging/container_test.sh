#!/usr/bin/env bash
# The container image of packaging/Containerfile, built from the osbd .deb and run:
#   1. a base image docker.io/library/debian:12 made with debootstrap (minbase bookworm with
#      bookworm-updates and bookworm-security, as the official image has them), because this
#      machine reaches Debian's mirror but no image registry;
#   2. `buildah bud --pull=never` of packaging/Containerfile with the osbd .deb of BUILD_DIR as its
#      context (no daemon: chroot isolation, vfs storage in a directory of this test);
#   3. the image checked (its USER, ENTRYPOINT, CMD, no platform password inside) and run as its
#      user with the platform password mounted, as the Containerfile's comment says, and a
#      lifecycle walked with curl;
#   4. everything removed: the container, the images, the storage and the base root file system.
#
#   tests/packaging/container_test.sh BUILD_DIR    (needs root, buildah and debootstrap)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: container_test.sh BUILD_DIR}

if [ "$(id -u)" -ne 0 ]; then
  echo "container_test: needs root (debootstrap, buildah)" >&2
  exit 1
fi
for tool in buildah debootstrap curl; do
  command -v "$tool" >/dev/null || { echo "container_test: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/osbd-container-XXXXXX)
B=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)
run_pid=
cleanup() {
  if [ -n "$run_pid" ]; then
    pkill -TERM -f -- "--listen 127.0.0.1:$port" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  "${B[@]}" rm -a >/dev/null 2>&1 || true
  "${B[@]}" rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# check NAME WANT GOT, script_result and free_port.
# shellcheck source=../integration/script_support.sh
. tests/integration/script_support.sh
passes=0
failures=0

deb=$(find "$build/packages" -maxdepth 1 -name 'osbd_*.deb' | head -n 1)
[ -n "$deb" ] || { echo "container_test: no osbd_*.deb in $build/packages (run deb_test.sh first)"; exit 1; }
echo "--> base image debian:12 (debootstrap)"
debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log"; exit 1; }
cat >"$work/rootfs/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
base=$("${B[@]}" from scratch)
mnt=$("${B[@]}" mount "$base")
cp -a "$work/rootfs/." "$mnt/"
"${B[@]}" umount "$base" >/dev/null
"${B[@]}" config --cmd /bin/bash \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$base"
"${B[@]}" commit -q "$base" docker.io/library/debian:12 >/dev/null
"${B[@]}" rm "$base" >/dev/null
rm -rf "$work/rootfs"

echo "--> buildah bud -f packaging/Containerfile (context: $(basename "$deb"))"
mkdir "$work/context"
cp "$deb" "$work/context/"
"${B[@]}" bud --isolation chroot --pull=never -f packaging/Containerfile -t localhost/osbd:test \
  "$work/context" >"$work/bud.log" 2>&1 || { tail -40 "$work/bud.log"; exit 1; }
check "the image is built" 1 "$("${B[@]}" images --noheading localhost/osbd:test | wc -l)"
check "osbd --version ran in the build" 1 "$(grep -c '^osbd [0-9.]* (plugin ABI' "$work/bud.log")"
inspect() { "${B[@]}" inspect --type image --format "$1" localhost/osbd:test; }
check "USER" osbd "$(inspect '{{.OCIv1.Config.User}}')"
check "ENTRYPOINT" "[/usr/bin/osbd --config /etc/osbd/osbd.yaml]" "$(inspect '{{.OCIv1.Config.Entrypoint}}')"
check "CMD" "[--listen 0.0.0.0:8080]" "$(inspect '{{.OCIv1.Config.Cmd}}')"

ctr=$("${B[@]}" from --pull=never localhost/osbd:test)
check "no platform password in the image" absent \
  "$("${B[@]}" run --isolation chroot "$ctr" -- sh -c 'test -e /etc/osbd/platform-password && echo present || echo absent')"
check "the plugins are in the image" 4 \
  "$("${B[@]}" run --isolation chroot "$ctr" -- sh -c 'ls /usr/lib/osbd/plugins/*.so | wc -l')"

echo "--> run the image's entrypoint as its user, the platform password mounted"
port=$(free_port)
password=container-test-$RANDOM$RANDOM
printf '%s\n' "$password" >"$work/platform-password"
chmod 0644 "$work/platform-password"
# The ENTRYPOINT with the CMD replaced, as `docker run IMAGE --listen ...` does; the host's
# network, since chroot isolation shares it.
"${B[@]}" run --isolation chroot --network host --user osbd \
  -v "$work/platform-password:/etc/osbd/platform-password:ro" "$ctr" -- \
  /usr/bin/osbd --config /etc/osbd/osbd.yaml --listen "127.0.0.1:$port" >"$work/osbd.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 100); do
  grep -q '"msg":"listening"' "$work/osbd.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '"msg":"listening"' "$work/osbd.log" || { echo "osbd did not start in the container:"; cat "$work/osbd.log"; exit 1; }
url=http://127.0.0.1:$port
service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
plan=700556d0-4a22-4ed7-8a5c-004d693b5286
status() {  # status METHOD PATH [BODY]
  local args=(-s -o /dev/null -w '%{http_code}' -u "osbd:$password" -H 'X-Broker-API-Version: 2.17' -X "$1")
  if [ -n "${3:-}" ]; then args+=(-H 'Content-Type: application/json' -d "$3"); fi
  curl "${args[@]}" "$url$2" || true
}
check "catalog" 200 "$(status GET /v2/catalog)"
check "provision" 201 "$(status PUT /v2/service_instances/c1 \
  "{\"service_id\":\"$service\",\"plan_id\":\"$plan\",\"organization_guid\":\"o\",\"space_guid\":\"s\"}")"
check "bind" 201 "$(status PUT /v2/service_instances/c1/service_bindings/b1 \
  "{\"service_id\":\"$service\",\"plan_id\":\"$plan\"}")"
check "unbind" 200 "$(status DELETE "/v2/service_instances/c1/service_bindings/b1?service_id=$service&plan_id=$plan")"
check "deprovision" 200 "$(status DELETE "/v2/service_instances/c1?service_id=$service&plan_id=$plan")"
check "a wrong password is refused" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u osbd:wrong \
  -H 'X-Broker-API-Version: 2.17' "$url/v2/catalog")"
check "the state is in the image's volume, owned by osbd" osbd \
  "$("${B[@]}" run --isolation chroot "$ctr" -- stat -c %U /var/lib/osbd/osbd.db 2>/dev/null || echo missing)"
osbd_pid=$(pgrep -f -- "^/usr/bin/osbd --config /etc/osbd/osbd.yaml --listen 127.0.0.1:$port" | head -n 1)
check "osbd runs as the image's user osbd" "$("${B[@]}" run --isolation chroot "$ctr" -- id -u osbd)" \
  "$(ps -o uid= -p "$osbd_pid" | tr -d ' ')"

script_result

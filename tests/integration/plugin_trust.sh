#!/usr/bin/env bash
# Signed plugins (README "Signed plugins"): osbd with plugin_trust {trusted_keys: [key 1],
# require_signed: true}, keys made here with openssl, plugins signed with osbctl sign-plugin
# (and one with openssl pkeyutl -sign -rawin).
#   1. start-up: the example signed by key 1 is served and /admin/plugins names its signer;
#      start-up is refused (exit 78) with its own message for a copy with one byte flipped, a
#      copy signed by key 2, a copy without .sig and a group-writable copy;
#   2. drop-in: the same four made of the abi_1_0 fixture, each moved into the plugin directory
#      of the running osbd (its .sig first), are refused with the same messages in the log and in
#      /admin/plugins, and the catalog stays as it was; the fixture signed by key 1 then loads.
# Usage: plugin_trust.sh OSBD OSBCTL PLUGIN_DIR FIXTURE_DIR
set -euo pipefail
umask 022  # the directories and files made here pass the permission rule unless meant not to
osbd=$1
osbctl=$2
plugins_built=$3
fixtures=$4
# shellcheck source=script_support.sh
. "$(dirname "$0")/script_support.sh"
script_setup osbd-trust
cd "$work"

for k in key1 key2; do
  openssl genpkey -algorithm ed25519 -out "$k.key" 2>/dev/null
  openssl pkey -in "$k.key" -pubout -out "$k.pub"
done
key1_id=$("$osbctl" key-id key1.pub)
key2_id=$("$osbctl" key-id key2.key)
echo "key 1: $key1_id, key 2: $key2_id"
check "key ids are 16 hex digits and differ" yes \
  "$([[ $key1_id =~ ^[0-9a-f]{16}$ && $key2_id =~ ^[0-9a-f]{16}$ && $key1_id != "$key2_id" ]] && echo yes || echo no)"

cat >osbd.yaml <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $work/plugins
log_level: info
auth: {username: platform, password: trust-platform-password}
admin: {username: operator, password: trust-admin-password}
plugin_trust:
  trusted_keys: [$work/key1.pub]
  require_signed: true
YAML
url="http://127.0.0.1:$port"
osb() { curl -s -u platform:trust-platform-password -H 'X-Broker-API-Version: 2.17' "$@"; }
admin_plugins() { curl -s -u operator:trust-admin-password "$url/admin/plugins"; }
catalog_names() {
  osb "$url/v2/catalog" | grep -o '"name":"[a-z0-9-]*-service"\|"name":"fixture[a-z0-9-]*"' |
    sed 's/"name":"\(.*\)"/\1/' | sort | tr '\n' ' '
}
etag() { osb -D - -o /dev/null "$url/v2/catalog" | grep -i '^etag' | tr -d '\r'; }
# plugin_field FILE_SUFFIX FIELD: FIELD of the loaded plugin whose file ends in FILE_SUFFIX.
plugin_field() {
  admin_plugins | python3 -c 'import json, sys
print([p.get(sys.argv[2], "") for p in json.load(sys.stdin)["plugins"] if p["file"].endswith(sys.argv[1])][0])' "$1" "$2"
}
# refusal FILE_SUFFIX: the error /admin/plugins gives for the refused file ending in FILE_SUFFIX.
refusal() {
  admin_plugins | python3 -c 'import json, sys
print([r["error"] for r in json.load(sys.stdin)["refused"] if r["file"].endswith(sys.argv[1])][0])' "$1" 2>/dev/null
}
# has TEXT NEEDLE: yes when TEXT contains NEEDLE.
has() { if grep -qF -- "$2" <<<"$1"; then echo yes; else echo "no: $1"; fi; }
# flip SOURCE DEST: DEST is SOURCE with one byte changed, in the compiler's .comment text, so
# that it would still load.
flip() {
  python3 - "$1" "$2" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = max(data.find(b"GCC: ("), data.find(b"clang version"))
at = at if at >= 0 else len(data) - 1
data[at] ^= 0x20
open(sys.argv[2], "wb").write(data)
PY
  chmod 0644 "$2"
}
# bad_copies SOURCE NAME DIR: the four refused variants of SOURCE as DIR/{flipped,key2,unsigned,
# writable}/NAME (with NAME.sig where they have one).
bad_copies() {
  local source=$1 name=$2 dir=$3
  mkdir -p "$dir/flipped" "$dir/key2" "$dir/unsigned" "$dir/writable" "$dir/signed"
  install -m 0644 "$source" "$dir/signed/$name"
  "$osbctl" sign-plugin --key key1.key "$dir/signed/$name" >/dev/null
  flip "$source" "$dir/flipped/$name"
  cp "$dir/signed/$name.sig" "$dir/flipped/"
  install -m 0644 "$source" "$dir/key2/$name"
  "$osbctl" sign-plugin --key key2.key "$dir/key2/$name" >/dev/null
  install -m 0644 "$source" "$dir/unsigned/$name"
  install -m 0664 "$source" "$dir/writable/$name"
  cp "$dir/signed/$name.sig" "$dir/writable/"
}
# want CASE PATH: the message osbd gives for the variant CASE at PATH.
want() {
  case $1 in
    flipped) echo "$2: signature by key $key1_id does not match the file's contents (changed after signing?)" ;;
    key2) echo "$2: signed by key $key2_id, which is not in plugin_trust.trusted_keys ($key1_id)" ;;
    unsigned) echo "$2: not signed: $2.sig is missing and plugin_trust.require_signed is true" ;;
    writable) echo "$2: the plugin file is writable by group or others (mode 0664, owner uid $(id -u)" ;;
  esac
}

echo "== 1. start-up"
mkdir plugins
bad_copies "$plugins_built/osb_example.so" osb_example.so example
cp example/signed/osb_example.so example/signed/osb_example.so.sig plugins/
"$osbd" --config osbd.yaml >osbd.log 2>&1 &
pid=$!
wait_listening osbd.log
check "signed by key 1: served" "example-service " "$(catalog_names)"
check "/admin/plugins: signer" "$key1_id" "$(plugin_field osb_example.so signer)"
OSBCTL_URL=$url OSBCTL_USER=operator OSBCTL_PASSWORD=trust-admin-password "$osbctl" plugins \
  >plugins.txt
cat plugins.txt
check "osbctl plugins: the signer's key id" 1 "$(grep -c "^org.osbd.example .* $key1_id\$" plugins.txt)"
kill -TERM "$pid"
wait "$pid" || true
pid=
for variant in flipped key2 unsigned writable; do
  rc=0
  out=$(timeout 20 "$osbd" --config osbd.yaml --plugin-dir "$work/example/$variant" 2>&1) || rc=$?
  check "start-up, $variant: refused (exit 78)" 78 "$rc"
  check "start-up, $variant: message" yes \
    "$(has "$out" "$(want "$variant" "$work/example/$variant/osb_example.so")")"
done

echo "== 2. drop-in"
bad_copies "$fixtures/abi_1_0/abi_1_0.so" abi_1_0.so fixture
: >osbd.log
"$osbd" --config osbd.yaml >>osbd.log 2>&1 &
pid=$!
wait_listening osbd.log
before=$(etag)
# drop SOURCE_DIR NAME: moves SOURCE_DIR/abi_1_0.so in as plugins/NAME, its .sig (if any) first,
# each through a temporary name outside the plugin directory.
drop() {
  if [ -f "$1/abi_1_0.so.sig" ]; then
    cp "$1/abi_1_0.so.sig" "drop.tmp.sig"
    mv drop.tmp.sig "plugins/$2.sig"
  fi
  cp -p "$1/abi_1_0.so" drop.tmp
  mv drop.tmp "plugins/$2"
}
for variant in flipped key2 unsigned writable; do
  name=fixture-$variant.so
  drop "fixture/$variant" "$name"
  got=""
  for _ in $(seq 1 50); do
    got=$(refusal "$name") && [ -n "$got" ] && break
    sleep 0.1
  done
  check "drop-in, $variant: /admin/plugins refuses it" yes \
    "$(has "$got" "$(want "$variant" "$work/plugins/$name")")"
  check "drop-in, $variant: the log says so" yes \
    "$(has "$(grep '"msg":"plugin refused"' osbd.log | grep -F "$name" || true)" \
      "$(want "$variant" "$work/plugins/$name")")"
  check "drop-in, $variant: the catalog is unchanged" "$before" "$(etag)"
  rm -f "plugins/$name" "plugins/$name.sig"
done
check "after the refusals: the example only" "example-service " "$(catalog_names)"
# The fixture signed by key 1, in the raw form of openssl pkeyutl, is loaded.
mkdir fixture/raw
install -m 0644 "$fixtures/abi_1_0/abi_1_0.so" fixture/raw/
openssl pkeyutl -sign -rawin -inkey key1.key -in fixture/raw/abi_1_0.so -out fixture/raw/abi_1_0.so.sig
drop fixture/raw fixture-raw.so
for _ in $(seq 1 50); do
  [ "$(catalog_names)" = "example-service fixture-abi-1-0 " ] && break
  sleep 0.1
done
check "drop-in, signed by key 1 (raw): served" "example-service fixture-abi-1-0 " "$(catalog_names)"
check "drop-in, signed by key 1 (raw): signer" "$key1_id" "$(plugin_field fixture-raw.so signer)"
check "osbd still runs" yes "$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
script_result

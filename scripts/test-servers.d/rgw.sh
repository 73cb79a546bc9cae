# shellcheck shell=bash
# Sourced by scripts/test-servers.sh: the rgw server's functions.
#
# rgw: a throwaway single-node Ceph cluster with an S3 gateway, from Debian's ceph-mon, ceph-osd
# and radosgw (Ceph 16.2): one monitor (port OSBD_RGW_MON_PORT, 26789), one OSD with the MemStore
# object store (data in RAM; ports 6800-7300, so one such cluster per machine), no manager, no
# cephx inside the cluster (S3 authentication at the gateway is real), and the gateway on
# http://127.0.0.1:OSBD_RGW_PORT (27480), path-style, and on https://127.0.0.1:OSBD_RGW_TLS_PORT
# (27443) with a self-signed certificate for 127.0.0.1 (OSBD_RGW_CA_FILE, made by openssl at
# start-up). An admin user OSBD_RGW_ACCESS_KEY /
# OSBD_RGW_SECRET_KEY with the caps users=*;buckets=*;metadata=*;usage=* drives the Admin Ops
# API. Quota statistics are not cached (quota TTLs and sync intervals 0), so quotas apply at
# once. Runs as the invoking user (root or not); everything lives under $base_dir/rgw-PORT.
# Prints OSBD_RGW_ENDPOINT, OSBD_RGW_ACCESS_KEY, OSBD_RGW_SECRET_KEY, OSBD_RGW_REGION,
# OSBD_RGW_TLS_ENDPOINT and OSBD_RGW_CA_FILE.

# --- rgw ---------------------------------------------------------------------------------------

rgw_host=127.0.0.1
rgw_port=${OSBD_RGW_PORT:-27480}
rgw_mon_port=${OSBD_RGW_MON_PORT:-26789}
rgw_tls_port=${OSBD_RGW_TLS_PORT:-27443}
rgw_access_key=${OSBD_RGW_ACCESS_KEY:-OSBDTESTADMIN0000000}
rgw_secret_key=${OSBD_RGW_SECRET_KEY:-osbd-test-admin-secret-key-000000000000}
rgw_region=${OSBD_RGW_REGION:-us-east-1}
rgw_dir=$base_dir/rgw-$rgw_port
rgw_conf=$rgw_dir/ceph.conf
rgw_cert=$rgw_dir/tls/cert.pem
rgw_key=$rgw_dir/tls/key.pem
rgw_fsid=6f7e3b0c-8f2d-4b8e-9d41-0a5d5e0b2748

rgw_ceph() { timeout 20 ceph -c "$rgw_conf" "$@"; }

# Prints the ids of the processes that run with this server's configuration file.
rgw_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr "\\0" " " 2>/dev/null <"$p/cmdline") || continue
    case $cmd in
      *" $rgw_conf "* | *" $rgw_conf") echo "${p#/proc/}" ;;
    esac
  done
}

rgw_status() {
  [ -n "$(rgw_pids)" ] && rgw_ready
}

# True when the gateway answers S3 (an anonymous ListBuckets gets a 200 with an XML body).
rgw_ready() {
  curl -fsS -m 2 -o /dev/null "http://$rgw_host:$rgw_port/" 2>/dev/null
}

rgw_fail() {
  echo "rgw: $*; the logs:" >&2
  local f
  for f in "$rgw_dir"/log/*.log; do
    [ -f "$f" ] || continue
    echo "--- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
  rgw_stop >/dev/null 2>&1 || true
  return 1
}

rgw_write_conf() {
  cat >"$rgw_conf" <<CONF
# osbd test server: one monitor, one in-memory OSD, one gateway; local only, not durable.
[global]
fsid = $rgw_fsid
mon host = v2:$rgw_host:$rgw_mon_port
mon initial members = a
public addr = $rgw_host
cluster addr = $rgw_host
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
keyring = /dev/null
run dir = $rgw_dir/run
admin socket = $rgw_dir/run/\$name.asok
pid file = $rgw_dir/run/\$name.pid
log file = $rgw_dir/log/\$name.log
crash dir = $rgw_dir/crash
exporter dir = $rgw_dir/run
mon data = $rgw_dir/mon/\$name
osd data = $rgw_dir/osd/\$name
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd crush update on start = true
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
ms bind port min = 6800
ms bind port max = 7300
ms mon client mode = crc
debug ms = 0

[mon]
paxos propose interval = 0.1

[client.rgw.osbd]
rgw frontends = beast endpoint=$rgw_host:$rgw_port ssl_endpoint=$rgw_host:$rgw_tls_port ssl_certificate=$rgw_cert ssl_private_key=$rgw_key
rgw thread pool size = 64
rgw bucket quota ttl = 0
rgw gc obj min wait = 0
rgw gc processor period = 60
rgw enable usage log = false
CONF
}

rgw_start() {
  if rgw_status; then
    echo "rgw: already running on http://$rgw_host:$rgw_port (data in $rgw_dir)" >&2
    rgw_print
    return 0
  fi
  local b
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool curl openssl; do
    if ! command -v "$b" >/dev/null; then
      echo "rgw: $b not found; install the Debian packages radosgw ceph-mon ceph-osd curl" >&2
      return 1
    fi
  done
  # Whatever an earlier run left (processes, data) goes first.
  rgw_stop >/dev/null 2>&1 || true
  require_free_port rgw "$rgw_host" "$rgw_port" || return 1
  mkdir -p "$rgw_dir"/{run,log,crash,tls,mon/mon.a,osd/osd.0}
  chmod 700 "$rgw_dir"
  rgw_write_conf
  # A self-signed certificate for the HTTPS endpoint (its own CA in the tests).
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$rgw_host" \
    -addext "subjectAltName=IP:$rgw_host" -keyout "$rgw_key" -out "$rgw_cert" \
    >"$rgw_dir/log/openssl.log" 2>&1 || rgw_fail "openssl could not make a certificate" || return 1
  chmod 644 "$rgw_cert"

  # Monitor.
  monmaptool --create --addv a "[v2:$rgw_host:$rgw_mon_port]" --fsid "$rgw_fsid" \
    "$rgw_dir/monmap" >/dev/null || rgw_fail "monmaptool failed" || return 1
  ceph-mon -c "$rgw_conf" -i a --mkfs --monmap "$rgw_dir/monmap" >"$rgw_dir/log/mkfs.log" 2>&1 \
    || rgw_fail "ceph-mon --mkfs failed" || return 1
  ceph-mon -c "$rgw_conf" -i a >>"$rgw_dir/log/mkfs.log" 2>&1 \
    || rgw_fail "ceph-mon did not start" || return 1

  # OSD: register it, make its (in-memory) store, start it.
  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  rgw_ceph osd new "$uuid" >/dev/null 2>>"$rgw_dir/log/mkfs.log" \
    || rgw_fail "the monitor did not register the OSD" || return 1
  ceph-osd -c "$rgw_conf" -i 0 --mkfs --osd-uuid "$uuid" >>"$rgw_dir/log/mkfs.log" 2>&1 \
    || rgw_fail "ceph-osd --mkfs failed" || return 1
  ceph-osd -c "$rgw_conf" -i 0 >>"$rgw_dir/log/mkfs.log" 2>&1 \
    || rgw_fail "ceph-osd did not start" || return 1
  local up=""
  for _ in $(seq 1 150); do
    if rgw_ceph osd stat 2>/dev/null | grep -q ' 1 up'; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] || rgw_fail "the OSD did not come up" || return 1

  # Gateway (creates its pools), then the admin user.
  radosgw -c "$rgw_conf" -n client.rgw.osbd >>"$rgw_dir/log/mkfs.log" 2>&1 \
    || rgw_fail "radosgw did not start" || return 1
  timeout 60 radosgw-admin -c "$rgw_conf" -n client.admin user create --uid=osbd-admin \
    --display-name="osbd test admin" --access-key="$rgw_access_key" \
    --secret-key="$rgw_secret_key" --caps="users=*;buckets=*;metadata=*;usage=*" \
    >/dev/null 2>>"$rgw_dir/log/mkfs.log" || rgw_fail "radosgw-admin user create failed" \
    || return 1
  for _ in $(seq 1 300); do
    if rgw_ready; then
      echo "rgw: running on http://$rgw_host:$rgw_port (data in $rgw_dir)" >&2
      rgw_print
      return 0
    fi
    sleep 0.1
  done
  rgw_fail "the gateway does not answer on http://$rgw_host:$rgw_port"
}

rgw_stop() {
  local pids
  pids=$(rgw_pids)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 1 50); do
      pids=$(rgw_pids)
      [ -z "$pids" ] && break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -z "$(rgw_pids)" ] && break
      sleep 0.1
    done
  fi
  rm -rf "$rgw_dir"
  echo "rgw: stopped (http://$rgw_host:$rgw_port)" >&2
}

rgw_print() {
  cat <<TEXT
endpoint=http://$rgw_host:$rgw_port (https://$rgw_host:$rgw_tls_port, CA $rgw_cert)
  region=$rgw_region access_key=$rgw_access_key secret_key=$rgw_secret_key
  s3cmd: s3cmd --host=$rgw_host:$rgw_port --host-bucket=$rgw_host:$rgw_port --no-ssl \\
           --access_key=$rgw_access_key --secret_key=$rgw_secret_key ls
  tests: eval "\$(scripts/test-servers.sh env rgw)"
TEXT
}

rgw_env() {
  printf 'export OSBD_RGW_ENDPOINT=%q\n' "http://$rgw_host:$rgw_port"
  printf 'export OSBD_RGW_ACCESS_KEY=%q\n' "$rgw_access_key"
  printf 'export OSBD_RGW_SECRET_KEY=%q\n' "$rgw_secret_key"
  printf 'export OSBD_RGW_REGION=%q\n' "$rgw_region"
  printf 'export OSBD_RGW_TLS_ENDPOINT=%q\n' "https://$rgw_host:$rgw_tls_port"
  printf 'export OSBD_RGW_CA_FILE=%q\n' "$rgw_cert"
}

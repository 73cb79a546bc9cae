#!/usr/bin/env bash
# HTTPS: a full synchronous lifecycle over TLS with a self-signed certificate made here, client
# certificates when tls.client_ca_file is set, and start-up refused (exit 78, naming the file) for
# an expired certificate, a missing key and a key that does not match.
# Usage: tls_lifecycle.sh OSBD PLUGIN_DIR
set -euo pipefail
. "$(dirname "$0")/script_support.sh"

osbd=$1
plugin_dir=$2

script_setup osbd-tls
cd "$work"
ossl() { openssl "$@" >/dev/null 2>&1; }
# The server's self-signed certificate (valid for 127.0.0.1), an expired one, an unrelated key,
# and a client CA with one client certificate.
ossl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.pem -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
ossl req -new -key server.key -subj /CN=127.0.0.1 -out server.csr
ossl x509 -req -in server.csr -signkey server.key -days -1 -out expired.pem
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key
ossl req -x509 -newkey rsa:2048 -nodes -keyout client-ca.key -out client-ca.pem -days 2 \
  -subj /CN=osbd-test-client-ca
ossl req -new -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=platform
ossl x509 -req -in client.csr -CA client-ca.pem -CAkey client-ca.key -CAcreateserial -days 2 \
  -out client.pem

# config NAME CERT KEY [CLIENT_CA]: writes NAME.yaml.
config() {
  cat >"$1.yaml" <<YAML
listen: 127.0.0.1:$port
data_dir: $work/state
plugin_dir: $plugin_dir
log_level: info
auth:
  username: platform
  password: tls-platform-password
admin:
  username: operator
  password: tls-admin-password
tls:
  certificate_file: $work/$2
  private_key_file: $work/$3
YAML
  if [ -n "${4:-}" ]; then echo "  client_ca_file: $work/$4" >>"$1.yaml"; fi
  echo "plugins: {org.osbd.example: {}}" >>"$1.yaml"
}

# Refused start-ups: exit 78 and a message naming the file.
refused() {  # refused NAME CERT KEY WANT_TEXT
  config "$1" "$2" "$3"
  local rc=0 out
  out=$("$osbd" --config "$1.yaml" --check-config 2>&1) || rc=$?
  check "$1: exit code" 78 "$rc"
  if grep -qF "$4" <<<"$out"; then check "$1: message" yes yes; else check "$1: message '$out'" yes no; fi
}
refused expired expired.pem server.key "$work/expired.pem: the certificate has expired"
refused missing-key server.pem absent.key "tls.private_key_file $work/absent.key"
refused other-key server.pem other.key "does not match the certificate"

start() {
  "$osbd" --config "$1.yaml" >>osbd.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q '"msg":"listening"' osbd.log 2>/dev/null && return 0
    sleep 0.1
  done
  echo "osbd did not start:"; cat osbd.log; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; : >osbd.log; }

url=https://127.0.0.1:$port
service=9bf6d9ad-db1c-479b-ba8e-648564c66a55
plan=700556d0-4a22-4ed7-8a5c-004d693b5286
tls_args=(--cacert server.pem)
status() {  # status METHOD PATH [BODY] -> the HTTP status, 000 when no HTTPS answer came
  local args=(-s -o /dev/null -w '%{http_code}' "${tls_args[@]}" -u platform:tls-platform-password
              -H 'X-Broker-API-Version: 2.17' -X "$1")
  if [ -n "${3:-}" ]; then args+=(-H 'Content-Type: application/json' -d "$3"); fi
  curl "${args[@]}" "$url$2" || true
}

config serve server.pem server.key
start serve
check "GET /v2/catalog over HTTPS" 200 "$(status GET /v2/catalog)"
check "PUT instance" 201 "$(status PUT /v2/service_instances/tls-1 \
  "{\"service_id\":\"$service\",\"plan_id\":\"$plan\",\"organization_guid\":\"o\",\"space_guid\":\"s\"}")"
check "GET instance" 200 "$(status GET /v2/service_instances/tls-1)"
check "PUT binding" 201 "$(status PUT /v2/service_instances/tls-1/service_bindings/b1 \
  "{\"service_id\":\"$service\",\"plan_id\":\"$plan\"}")"
check "DELETE binding" 200 "$(status DELETE \
  "/v2/service_instances/tls-1/service_bindings/b1?service_id=$service&plan_id=$plan")"
check "DELETE instance" 200 "$(status DELETE "/v2/service_instances/tls-1?service_id=$service&plan_id=$plan")"
check "GET /healthz" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert server.pem "$url/healthz")"
check "GET /metrics (admin)" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert server.pem \
  -u operator:tls-admin-password "$url/metrics")"
# Plain HTTP to the HTTPS port gets no HTTP answer, and the broker keeps serving.
check "plain HTTP refused" 000 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
  "http://127.0.0.1:$port/v2/catalog" || true)"
check "untrusted certificate refused by the client" 000 "$(tls_args=(); status GET /v2/catalog)"
check "still serving" 200 "$(status GET /v2/catalog)"
stop

config mtls server.pem server.key client-ca.pem
start mtls
check "no client certificate" 000 "$(status GET /v2/catalog)"
tls_args=(--cacert server.pem --cert client.pem --key client.key)
check "client certificate of the CA" 200 "$(status GET /v2/catalog)"
tls_args=(--cacert server.pem --cert server.pem --key server.key)
check "client certificate of another issuer" 000 "$(status GET /v2/catalog)"
stop

# The admin listener (admin.listen) speaks HTTPS with the same certificate.
admin_port=$(free_port "$port")
config admin server.pem server.key
sed -i "s/^  password: tls-admin-password$/  password: tls-admin-password\n  listen: 127.0.0.1:$admin_port/" admin.yaml
start admin
admin_status() {  # admin_status URL -> the HTTP status of GET URL with the admin credentials
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert server.pem \
    -u operator:tls-admin-password "$1" || true
}
check "admin listener: /metrics over HTTPS" 200 "$(admin_status "https://127.0.0.1:$admin_port/metrics")"
check "admin listener: /admin/summary over HTTPS" 200 \
  "$(admin_status "https://127.0.0.1:$admin_port/admin/summary")"
check "admin listener: plain HTTP refused" 000 "$(admin_status "http://127.0.0.1:$admin_port/metrics")"
check "OSB listener: /metrics is not served there" 404 "$(admin_status "$url/metrics")"
tls_args=(--cacert server.pem)
check "OSB listener: still the catalog" 200 "$(status GET /v2/catalog)"
stop

script_result

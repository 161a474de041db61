#!/usr/bin/env bash
# Legacy peers with GnuTLS (issue 10), both roles: DTLS 1.0 (+VERS-DTLS1.0),
# the CBC-HMAC suites with Encrypt-then-MAC (GnuTLS's default) and without
# (%NO_ETM), RSA key transport, and the node-dtls-style peer that offers
# only TLS_RSA_WITH_AES_128_CBC_SHA and no extensions at all
# (%NO_EXTENSIONS: no extended master secret, no renegotiation_info, no
# Encrypt-then-MAC), in DTLS 1.2, both roles:
#   - dtlsrun server (minVersion=DTLSv1, the legacy suites named) <- gnutls-cli;
#   - dtlsrun client (minVersion=DTLSv1) -> gnutls-serv --echo.
# GnuTLS has the SHA-256/384 PSK CBC suites for (D)TLS 1.2 only.
# And RFC 5246 7.4.2's key usage rule, both roles, with certificates for
# server-rsa.key that allow signing only or key encipherment only: the
# server picks the suite its certificate allows; the client refuses a
# gnutls-serv told to ignore the rule (%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS).
set -euo pipefail
: "${IT_ECHO_TIMEOUT:=10}"
# About 90 cases of a second or two each (120 s on a quiet machine): use
# most of ctest's 300 s before the watchdog ends the run.
: "${IT_DEADLINE:=285}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
command -v gnutls-cli >/dev/null && command -v gnutls-serv >/dev/null \
  || it_skip "gnutls-cli / gnutls-serv not installed"
C=$DTLSRUN_CERTS
ic_lines "$IT_TMP/lines"
KEY=000102030405060708090a0b0c0d0e0f

# suite -> "KX CIPHER MAC [10]" in GnuTLS's priority names; 10: also DTLS 1.0
declare -A G=(
  [AES128-SHA]="RSA AES-128-CBC SHA1 10" [AES256-SHA]="RSA AES-256-CBC SHA1 10"
  [AES128-SHA256]="RSA AES-128-CBC SHA256" [AES256-SHA256]="RSA AES-256-CBC SHA256"
  [ECDHE-RSA-AES128-SHA]="ECDHE-RSA AES-128-CBC SHA1 10" [ECDHE-RSA-AES256-SHA]="ECDHE-RSA AES-256-CBC SHA1 10"
  [ECDHE-RSA-AES128-SHA256]="ECDHE-RSA AES-128-CBC SHA256"
  [ECDHE-RSA-AES256-SHA384]="ECDHE-RSA AES-256-CBC SHA384"
  [ECDHE-ECDSA-AES128-SHA]="ECDHE-ECDSA AES-128-CBC SHA1 10"
  [ECDHE-ECDSA-AES256-SHA]="ECDHE-ECDSA AES-256-CBC SHA1 10"
  [ECDHE-ECDSA-AES128-SHA256]="ECDHE-ECDSA AES-128-CBC SHA256"
  [ECDHE-ECDSA-AES256-SHA384]="ECDHE-ECDSA AES-256-CBC SHA384"
  [PSK-AES128-CBC-SHA256]="PSK AES-128-CBC SHA256" [PSK-AES256-CBC-SHA384]="PSK AES-256-CBC SHA384")
ORDER=(AES128-SHA AES256-SHA AES128-SHA256 AES256-SHA256 ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA
       ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384 ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA
       ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384 PSK-AES128-CBC-SHA256 PSK-AES256-CBC-SHA384)
join() { local IFS=:; echo "$*"; }
RSA_NAMES=$(join AES128-SHA AES256-SHA AES128-SHA256 AES256-SHA256 ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA \
                 ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384)
EC_NAMES=$(join ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384)
PSK_NAMES=$(join PSK-AES128-CBC-SHA256 PSK-AES256-CBC-SHA384)

# ku_cert NAME KEY_USAGE: $IT_TMP/NAME.pem, a "localhost" certificate for
# server-rsa.key from the test CA, whose key usage is KEY_USAGE alone.
ku_cert() {
  printf '[ext]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, %s\n%s\n' "$2" \
    "extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1" >"$IT_TMP/$1.cnf"
  openssl req -new -key "$C/server-rsa.key" -subj /CN=localhost -out "$IT_TMP/$1.csr" 2>/dev/null
  openssl x509 -req -sha256 -days 2 -in "$IT_TMP/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -extfile "$IT_TMP/$1.cnf" -extensions ext \
    -out "$IT_TMP/$1.pem" 2>/dev/null
}
ku_cert sign_only digitalSignature
ku_cert encipher_only keyEncipherment

# priority SUITE VERSION(1.0|1.2) [EXTRA]: only that suite and version.
priority() {
  local kx cipher mac _
  read -r kx cipher mac _ <<<"${G[$1]}"
  echo "NORMAL:-VERS-ALL:+VERS-DTLS$2:-KX-ALL:+$kx:-CIPHER-ALL:+$cipher:-MAC-ALL:+$mac${3:-}"
}
proto_name() { [[ $1 == 1.0 ]] && echo DTLSv1 || echo DTLSv1.2; }

# ==== dtlsrun as the server ==========================================================
ic_begin "gnutls-cli --udp (legacy)" server
dtlsrun_server rsa cert="$C/server-rsa.pem" key="$C/server-rsa.key" minVersion=DTLSv1 ciphers="$RSA_NAMES"
dtlsrun_server ec cert="$C/server-ec256.pem" key="$C/server-ec256.key" minVersion=DTLSv1 ciphers="$EC_NAMES"
dtlsrun_server psk psk="device1:$KEY" ciphers="$PSK_NAMES"
dtlsrun_server rsa_only cert="$C/server-rsa.pem" key="$C/server-rsa.key" ciphers=AES128-SHA
# Prefers RSA key transport, which its certificate does not allow.
dtlsrun_server sign_only cert="$IT_TMP/sign_only.pem" key="$C/server-rsa.key" \
  ciphers=AES128-SHA:ECDHE-RSA-AES128-SHA

# ic_last_port SERVER: the client port of the last "secure" line.
ic_last_port() { awk '$1 == "secure" { p = $2 } END { print p }' "$IT_TMP/$1.out"; }

# server_case SERVER SUITE VERSION ETM(yes|no) PRIORITY [gnutls-cli args...]
server_case() {
  local srv=$1 suite=$2 version=$3 etm=$4 prio=$5
  shift 5
  ic_mark "$srv"
  gnutls_client "$IC_C-gc" "${IT_PORT[$srv]}" "$IT_TMP/lines" "$IT_TMP/lines" --priority "$prio" "$@" \
    || ic_fail "the lines did not come back"
  ic_server_saw "$srv" " $suite $(proto_name "$version") " || ic_fail "dtlsrun did not report $suite $version"
  ic_server_saw "$srv" "etm $(ic_last_port "$srv") $etm" || ic_fail "Encrypt-then-MAC was not '$etm'"
}

for suite in "${ORDER[@]}"; do
  case $suite in
    PSK-*) srv=psk; args=(--pskusername device1 --pskkey "$KEY") ;;
    *ECDSA*) srv=ec; args=(--x509cafile "$C/ca.pem") ;;
    *) srv=rsa; args=(--x509cafile "$C/ca.pem") ;;
  esac
  for version in 1.2 1.0; do
    [[ $version == 1.2 || ${G[$suite]} == *" 10" ]] || continue
    ic_case "$suite (DTLS $version, Encrypt-then-MAC)" no \
      server_case "$srv" "$suite" "$version" yes "$(priority "$suite" "$version")" "${args[@]}"
    ic_case "$suite (DTLS $version, MAC-then-encrypt: %NO_ETM)" no \
      server_case "$srv" "$suite" "$version" no "$(priority "$suite" "$version" :%NO_ETM)" "${args[@]}"
  done
done

# The node-dtls peer: TLS_RSA_WITH_AES_128_CBC_SHA only, no extensions at all.
# GnuTLS then lists no session options (no safe renegotiation, no extended
# master secret, no Encrypt-then-MAC).
no_extensions_server_case() {
  server_case rsa_only AES128-SHA 1.2 no \
    "NONE:+VERS-DTLS1.2:+RSA:+AES-128-CBC:+SHA1:+COMP-NULL:+SIGN-ALL:%NO_EXTENSIONS" --x509cafile "$C/ca.pem"
  grep -qx -- "- Options:" "$IT_TMP/$IC_C-gc.log" || ic_fail "gnutls-cli negotiated session options"
}
ic_case "AES128-SHA (client offers only it, and no extensions)" no no_extensions_server_case

# DTLS 1.0 to a server that did not enable it.
refused_server_case() {
  ic_mark rsa_only
  if gnutls_client "$IC_C-gc" "${IT_PORT[rsa_only]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       --priority "$(priority AES128-SHA 1.0)" --x509cafile "$C/ca.pem"; then
    ic_fail "the handshake succeeded in DTLS 1.0 with a server that did not enable it"
  fi
  grep -q "Received alert \[70\]" "$IT_TMP/$IC_C-gc.log" || ic_fail "gnutls-cli did not receive protocol_version"
  ic_server_saw rsa_only "clientError protocol_version" || ic_fail "dtlsrun did not report protocol_version"
}
ic_case "AES128-SHA (DTLS 1.0 to a DTLS 1.2-only server: protocol_version)" no refused_server_case

# The client offers both; the server's first choice needs keyEncipherment.
ic_case "ECDHE-RSA-AES128-SHA (certificate for signing only; AES128-SHA preferred but not allowed)" no \
  server_case sign_only ECDHE-RSA-AES128-SHA 1.2 yes \
  "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+RSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1" \
  --x509cafile "$C/ca.pem"

# ==== dtlsrun as the client ==========================================================
ic_begin "gnutls-serv --udp (legacy)" client
printf 'device1:%s\n' "$KEY" >"$IT_TMP/psk.passwd"
CLIENT_CASE_SERVER_ARGS=()

# client_case SUITE VERSION ETM PRIORITY -- CLIENT_ARGS...
client_case() {
  local suite=$1 version=$2 etm=$3 prio=$4 creds=()
  shift 4
  [[ ${1:-} == -- ]] && shift
  case $suite in
    PSK-*) creds=(--pskpasswd "$IT_TMP/psk.passwd") ;;
    *ECDSA*) creds=(--x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key") ;;
    *) creds=(--x509certfile "$C/server-rsa.pem" --x509keyfile "$C/server-rsa.key") ;;
  esac
  ic_gnutls_server "$IC_C-gs" "${creds[@]}" "${CLIENT_CASE_SERVER_ARGS[@]}" --priority "$prio"
  ic_dtlsrun_echo "${IT_PORT[$IC_C-gs]}" "$suite" "$@"
  grep -qx "protocol 1 $(proto_name "$version")" "$IT_TMP/$IC_C-dc.out" || ic_fail "the client did not report DTLS $version"
  grep -qx "etm 1 $etm" "$IT_TMP/$IC_C-dc.out" || ic_fail "Encrypt-then-MAC was not '$etm'"
}

for suite in "${ORDER[@]}"; do
  case $suite in
    PSK-*) cli=(psk="device1:$KEY" ciphers="$PSK_NAMES") ;;
    *) cli=(ca="$C/ca.pem" servername=localhost ciphers="$RSA_NAMES:$EC_NAMES") ;;
  esac
  for version in 1.2 1.0; do
    [[ $version == 1.2 || ${G[$suite]} == *" 10" ]] || continue
    ic_case "$suite (DTLS $version, Encrypt-then-MAC)" no \
      client_case "$suite" "$version" yes "$(priority "$suite" "$version")" -- "${cli[@]}" minVersion=DTLSv1
    ic_case "$suite (DTLS $version, MAC-then-encrypt: %NO_ETM)" no \
      client_case "$suite" "$version" no "$(priority "$suite" "$version" :%NO_ETM)" -- "${cli[@]}" \
      minVersion=DTLSv1
  done
done

# A server that speaks like node-dtls: AES128-SHA and no extensions. The
# session has no extended master secret: a full handshake works, and the
# session is never resumed (RFC 7627 5.3); resume=1 makes three clients in
# a row offer the previous one's session.
# gnutls-serv answers extensions it has not been told to refuse even with
# %NO_EXTENSIONS: with these flags and --noticket its ServerHello has none
# (openssl s_client -tlsextdebug shows no extension and no secure
# renegotiation from it). Without renegotiation_info the client needs
# allowLegacyServer (RFC 5746 4.1: refused by default, as OpenSSL does;
# spec/interop/renegotiation.sh shows the refusal).
NO_EXT_SERVER="NONE:+VERS-DTLS1.2:+RSA:+AES-128-CBC:+SHA1:+COMP-NULL:+SIGN-ALL:%NO_EXTENSIONS:%NO_ETM"
NO_EXT_SERVER+=":%NO_SESSION_HASH:%DISABLE_SAFE_RENEGOTIATION"
no_extensions_client_case() {
  CLIENT_CASE_SERVER_ARGS=(--noticket) # (each case runs in a subshell)
  client_case AES128-SHA 1.2 no "$NO_EXT_SERVER" \
    -- ca="$C/ca.pem" servername=localhost ciphers=AES128-SHA clients=3 resume=1 allowLegacyServer=1
  grep -qx "resumed 0 of 2" "$IT_TMP/$IC_C-dc.out" || ic_fail "a session without extended master secret was resumed"
}
ic_case "AES128-SHA (server sends no extensions; no resumption without EMS)" no no_extensions_client_case

# A client with the default minimum against a DTLS 1.0-only server.
refused_client_case() {
  ic_gnutls_server "$IC_C-gs" --x509certfile "$C/server-rsa.pem" --x509keyfile "$C/server-rsa.key" \
    --priority "$(priority AES128-SHA 1.0)"
  ic_dtlsrun_refused "${IT_PORT[$IC_C-gs]}" "protocol_version" ca="$C/ca.pem" servername=localhost \
    ciphers=AES128-SHA
}
ic_case "AES128-SHA (DTLS 1.2-only client, DTLS 1.0-only gnutls-serv: protocol_version)" no refused_client_case

# key_usage_client_case SUITE CERT: gnutls-serv uses CERT for SUITE though
# its key usage forbids it; the client refuses with unsupported_certificate.
key_usage_client_case() {
  ic_gnutls_server "$IC_C-gs" --x509certfile "$IT_TMP/$2.pem" --x509keyfile "$C/server-rsa.key" \
    --priority "$(priority "$1" 1.2 :%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS)"
  ic_dtlsrun_refused "${IT_PORT[$IC_C-gs]}" "unsupported_certificate" ca="$C/ca.pem" servername=localhost \
    ciphers="$1"
}
ic_case "ECDHE-RSA-AES128-SHA (server certificate for key encipherment only: unsupported_certificate)" no \
  key_usage_client_case ECDHE-RSA-AES128-SHA encipher_only
ic_case "AES128-SHA (server certificate for signing only: unsupported_certificate)" no \
  key_usage_client_case AES128-SHA sign_only

ic_end

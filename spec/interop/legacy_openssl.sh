#!/usr/bin/env bash
# Legacy peers with openssl (issue 10), both roles: DTLS 1.0 (s_client and
# s_server -dtls1; OpenSSL 3.0 allows it only at @SECLEVEL=0), the CBC-HMAC
# suites with Encrypt-then-MAC (RFC 7366, on by default) and without it
# (-no_etm: MAC-then-encrypt), and RSA key transport. Every line must come
# back byte for byte and dtlsrun must report the suite, the protocol and
# whether Encrypt-then-MAC was used:
#   - dtlsrun server (minVersion=DTLSv1, ciphers naming the legacy suites)
#     <- s_client: every CBC and RSA suite openssl has in DTLS 1.0 and 1.2;
#   - dtlsrun client (minVersion=DTLSv1) -> s_server, the same suites;
#   - refused: s_client -dtls1 against a server with the default minimum
#     (protocol_version), and a default dtlsrun client against s_server
#     -dtls1 (protocol_version);
#   - a suite not named in ciphers is never chosen (handshake_failure).
set -euo pipefail
: "${IT_ECHO_TIMEOUT:=10}"
# About 90 cases of a second or two each (120 s on a quiet machine): use
# most of ctest's 300 s before the watchdog ends the run.
: "${IT_DEADLINE:=285}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
ic_lines "$IT_TMP/lines"
KEY=000102030405060708090a0b0c0d0e0f

# Suites by certificate; "10" marks those that also run over DTLS 1.0.
RSA_SUITES=(AES128-SHA:10 AES256-SHA:10 AES128-SHA256 AES256-SHA256
            ECDHE-RSA-AES128-SHA:10 ECDHE-RSA-AES256-SHA:10 ECDHE-RSA-AES128-SHA256
            ECDHE-RSA-AES256-SHA384)
EC_SUITES=(ECDHE-ECDSA-AES128-SHA:10 ECDHE-ECDSA-AES256-SHA:10 ECDHE-ECDSA-AES128-SHA256
           ECDHE-ECDSA-AES256-SHA384)
PSK_SUITES=(PSK-AES128-CBC-SHA256:10 PSK-AES256-CBC-SHA384:10)
names() { local s out=(); for s in "$@"; do out+=("${s%:10}"); done; local IFS=:; echo "${out[*]}"; }

# ---- dtlsrun as the server ----------------------------------------------------
ic_begin "openssl s_client -dtls1 / -dtls1_2 (legacy)" server
dtlsrun_server rsa cert="$C/server-rsa.pem" key="$C/server-rsa.key" minVersion=DTLSv1 \
  ciphers="$(names "${RSA_SUITES[@]}")"
dtlsrun_server ec cert="$C/server-ec256.pem" key="$C/server-ec256.key" minVersion=DTLSv1 \
  ciphers="$(names "${EC_SUITES[@]}")"
dtlsrun_server psk psk="device1:$KEY" minVersion=DTLSv1 ciphers="$(names "${PSK_SUITES[@]}")"
dtlsrun_server default12 cert="$C/server-rsa.pem" key="$C/server-rsa.key" ciphers="AES128-SHA"

# server_case SERVER SUITE PROTOCOL ETM(yes|no) [s_client args...]
server_case() {
  local srv=$1 suite=$2 proto=$3 etm=$4 vflag=-dtls1_2
  shift 4
  [[ $proto == DTLSv1 ]] && vflag=-dtls1
  ic_mark "$srv"
  IT_OPENSSL_VERSION=$vflag openssl_client "$IC_C-sc" "${IT_PORT[$srv]}" "$IT_TMP/lines" "$IT_TMP/lines" \
    -cipher "$suite:@SECLEVEL=0" "$@" || ic_fail "the lines did not come back"
  ic_server_saw "$srv" " $suite $proto " || ic_fail "dtlsrun did not report $suite $proto"
  ic_server_saw "$srv" "etm " || ic_fail "no etm line"
  ic_server_saw "$srv" "etm $(ic_last_port "$srv") $etm" || ic_fail "Encrypt-then-MAC was not '$etm'"
}
# ic_last_port SERVER: the client port of the last "secure" line.
ic_last_port() { awk '$1 == "secure" { p = $2 } END { print p }' "$IT_TMP/$1.out"; }

verify=(-CAfile "$C/ca.pem" -verify_return_error -verify_hostname localhost)
for entry in "${RSA_SUITES[@]}" "${EC_SUITES[@]}" "${PSK_SUITES[@]}"; do
  suite=${entry%:10}
  case $suite in
    PSK-*) srv=psk; args=(-psk_identity device1 -psk "$KEY") ;;
    *ECDSA*) srv=ec; args=("${verify[@]}") ;;
    *) srv=rsa; args=("${verify[@]}") ;;
  esac
  ic_case "$suite (DTLS 1.2, Encrypt-then-MAC)" no server_case "$srv" "$suite" DTLSv1.2 yes "${args[@]}"
  ic_case "$suite (DTLS 1.2, MAC-then-encrypt: -no_etm)" no \
    server_case "$srv" "$suite" DTLSv1.2 no -no_etm "${args[@]}"
  if [[ $entry == *:10 ]]; then
    ic_case "$suite (DTLS 1.0, Encrypt-then-MAC)" no server_case "$srv" "$suite" DTLSv1 yes "${args[@]}"
    ic_case "$suite (DTLS 1.0, MAC-then-encrypt: -no_etm)" no \
      server_case "$srv" "$suite" DTLSv1 no -no_etm "${args[@]}"
  fi
done

# s_client -dtls1 to a server that did not enable DTLS 1.0: protocol_version.
server_refused_case() {
  ic_mark default12
  if IT_OPENSSL_VERSION=-dtls1 openssl_client "$IC_C-sc" "${IT_PORT[default12]}" "$IT_TMP/lines" \
       "$IT_TMP/lines" -cipher "AES128-SHA:@SECLEVEL=0"; then
    ic_fail "the handshake succeeded in DTLS 1.0 with a server that did not enable it"
  fi
  grep -q "alert protocol version" "$IT_TMP/$IC_C-sc.err" \
    || ic_fail "s_client did not receive a protocol_version alert"
  ic_server_saw default12 "clientError protocol_version" || ic_fail "dtlsrun did not report protocol_version"
}
ic_case "AES128-SHA (DTLS 1.0 to a DTLS 1.2-only server: protocol_version)" no server_refused_case
# A legacy suite the server was not told to use is never chosen.
server_not_named_case() {
  ic_mark default12
  if openssl_client "$IC_C-sc" "${IT_PORT[default12]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       -cipher "AES256-SHA:@SECLEVEL=0"; then
    ic_fail "the handshake succeeded with a suite not named in ciphers"
  fi
  ic_server_saw default12 "clientError handshake_failure" || ic_fail "dtlsrun did not report handshake_failure"
}
ic_case "AES256-SHA (not in the server's ciphers: handshake_failure)" no server_not_named_case

# ---- dtlsrun as the client ----------------------------------------------------
ic_begin "openssl s_server -dtls1 / -dtls1_2 (legacy)" client

# client_case SUITE PROTOCOL ETM S_SERVER_ARGS... -- CLIENT_ARGS...
client_case() {
  local suite=$1 proto=$2 etm=$3 vflag=-dtls1_2
  shift 3
  [[ $proto == DTLSv1 ]] && vflag=-dtls1
  IT_OPENSSL_VERSION=$vflag ic_openssl_echo "$suite" -cipher "$suite:@SECLEVEL=0" "$@"
  grep -qx "protocol 1 $proto" "$IT_TMP/$IC_C-dc.out" || ic_fail "the client did not report $proto"
  grep -qx "etm 1 $etm" "$IT_TMP/$IC_C-dc.out" || ic_fail "Encrypt-then-MAC was not '$etm'"
}

for entry in "${RSA_SUITES[@]}" "${EC_SUITES[@]}" "${PSK_SUITES[@]}"; do
  suite=${entry%:10}
  case $suite in
    PSK-*) srv=(-nocert -psk "$KEY" -psk_identity device1); cli=(psk="device1:$KEY") ;;
    *ECDSA*) srv=(-cert "$C/server-ec256.pem" -key "$C/server-ec256.key")
             cli=(ca="$C/ca.pem" servername=localhost) ;;
    *) srv=(-cert "$C/server-rsa.pem" -key "$C/server-rsa.key"); cli=(ca="$C/ca.pem" servername=localhost) ;;
  esac
  all="$(names "${RSA_SUITES[@]}" "${EC_SUITES[@]}" "${PSK_SUITES[@]}")"
  [[ $suite == PSK-* ]] && all="$(names "${PSK_SUITES[@]}")"
  ic_case "$suite (DTLS 1.2, Encrypt-then-MAC)" no \
    client_case "$suite" DTLSv1.2 yes "${srv[@]}" -- "${cli[@]}" ciphers="$all" minVersion=DTLSv1
  ic_case "$suite (DTLS 1.2, MAC-then-encrypt: s_server -no_etm)" no \
    client_case "$suite" DTLSv1.2 no "${srv[@]}" -no_etm -- "${cli[@]}" ciphers="$suite"
  if [[ $entry == *:10 ]]; then
    ic_case "$suite (DTLS 1.0, Encrypt-then-MAC)" no \
      client_case "$suite" DTLSv1 yes "${srv[@]}" -- "${cli[@]}" ciphers="$all" minVersion=DTLSv1
    ic_case "$suite (DTLS 1.0, MAC-then-encrypt: s_server -no_etm)" no \
      client_case "$suite" DTLSv1 no "${srv[@]}" -no_etm -- "${cli[@]}" ciphers="$suite" \
      minVersion=DTLSv1 maxVersion=DTLSv1
  fi
done

# A client with the default minimum against a DTLS 1.0-only server.
client_refused_case() {
  IT_OPENSSL_VERSION=-dtls1 ic_openssl_refused "protocol_version" -cipher "AES128-SHA:@SECLEVEL=0" \
    -cert "$C/server-rsa.pem" -key "$C/server-rsa.key" -- ca="$C/ca.pem" servername=localhost \
    ciphers=AES128-SHA
}
ic_case "AES128-SHA (DTLS 1.2-only client, DTLS 1.0-only s_server: protocol_version)" no client_refused_case

ic_end

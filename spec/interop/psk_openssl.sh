#!/usr/bin/env bash
# Pre-shared keys with openssl, both roles, every PSK suite openssl has in DTLS 1.2
# (PSK-AES128-CCM8, PSK-AES128-CCM, PSK-AES128-GCM-SHA256, PSK-AES256-GCM-SHA384,
# ECDHE-PSK-CHACHA20-POLY1305; openssl has no ECDHE-PSK-AES128-GCM-SHA256):
#   dtlsrun server (psk table, hint) <- openssl s_client -psk_identity/-psk:
#     each suite echoes and dtlsrun names the identity; a wrong key fails on
#     both sides; an unknown identity fails with unknown_psk_identity; a
#     server with a certificate and keys serves both kinds of client.
#   dtlsrun client (psk = {identity, key}) -> openssl s_server -nocert -psk:
#     each suite echoes (s_server's stdin sends the lines back); a wrong key
#     fails.
set -euo pipefail
# On loopback an echo takes milliseconds: a failing case need not wait 30 s.
: "${IT_ECHO_TIMEOUT:=10}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
ic_lines "$IT_TMP/lines"

KEY=00112233445566778899aabbccddeeff
KEY2=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
WRONG=00112233445566778899aabbccddeefe
SUITES=(PSK-AES128-CCM8 PSK-AES128-CCM PSK-AES128-GCM-SHA256 PSK-AES256-GCM-SHA384
        ECDHE-PSK-CHACHA20-POLY1305)

# ==== dtlsrun as the server ===========================================================
ic_begin "openssl s_client -dtls1_2" server
dtlsrun_server psk psk="device1:$KEY,device2:$KEY2" pskHint=dtlsrun-interop
dtlsrun_server mixed cert="$C/server-ec256.pem" key="$C/server-ec256.key" psk="device1:$KEY"

# echo_case SERVER SUITE IDENTITY HEXKEY [s_client args...]
echo_case() {
  local srv=$1 suite=$2 identity=$3 key=$4
  shift 4
  ic_mark "$srv"
  openssl_client "$IC_C-sc" "${IT_PORT[$srv]}" "$IT_TMP/lines" "$IT_TMP/lines" \
    -cipher "$suite" -psk_identity "$identity" -psk "$key" "$@" || ic_fail "the lines did not come back"
  ic_server_saw "$srv" " $suite DTLSv1.2 psk=$identity " || ic_fail "dtlsrun did not report $suite for $identity"
}

for suite in "${SUITES[@]}"; do
  ic_case "$suite" no echo_case psk "$suite" device1 "$KEY"
done
ic_case "PSK-AES256-GCM-SHA384 (second identity, 32-byte key)" no echo_case psk PSK-AES256-GCM-SHA384 device2 "$KEY2"

# refused_case SERVER IDENTITY HEXKEY S_CLIENT_ALERT_TEXT DTLSRUN_ALERT
refused_case() {
  local srv=$1 identity=$2 key=$3 client_alert=$4 server_alert=$5
  ic_mark "$srv"
  if openssl_client "$IC_C-sc" "${IT_PORT[$srv]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       -cipher PSK-AES128-CCM8 -psk_identity "$identity" -psk "$key"; then
    ic_fail "the handshake succeeded"
  fi
  grep -q "$client_alert" "$IT_TMP/$IC_C-sc.err" || ic_fail "s_client did not receive '$client_alert'"
  ic_server_saw "$srv" "clientError $server_alert" || ic_fail "dtlsrun did not report $server_alert"
}
# A wrong key shows when dtlsrun cannot decrypt the client's Finished.
ic_case "PSK-AES128-CCM8 (wrong key: bad_record_mac)" no \
  refused_case psk device1 "$WRONG" "alert bad record mac" bad_record_mac
ic_case "PSK-AES128-CCM8 (unknown identity: unknown_psk_identity)" no \
  refused_case psk nobody "$KEY" "alert unknown psk identity" unknown_psk_identity

# A server with a certificate and keys: the client's offer decides.
ic_case "PSK-AES128-CCM8 (server with certificate and PSK)" no echo_case mixed PSK-AES128-CCM8 device1 "$KEY"
mixed_cert_case() {
  ic_mark mixed
  openssl_client "$IC_C-sc" "${IT_PORT[mixed]}" "$IT_TMP/lines" "$IT_TMP/lines" \
    -cipher ECDHE-ECDSA-AES128-CCM8 -CAfile "$C/ca.pem" -verify_return_error \
    || ic_fail "the lines did not come back"
  ic_server_saw mixed " ECDHE-ECDSA-AES128-CCM8 DTLSv1.2 psk=- " || ic_fail "dtlsrun did not report the suite"
}
ic_case "ECDHE-ECDSA-AES128-CCM8 (server with certificate and PSK)" no mixed_cert_case

# ==== dtlsrun as the client ===========================================================
ic_begin "openssl s_server -dtls1_2" client

for suite in "${SUITES[@]}"; do
  ic_case "$suite" no ic_openssl_echo "$suite" -nocert -psk "$KEY" -psk_identity device1 -cipher "$suite" \
    -- psk="device1:$KEY" ciphers="$suite"
done
# The client offers every PSK suite; s_server picks.
ic_case "PSK-AES256-GCM-SHA384 (client offers all PSK suites)" no \
  ic_openssl_echo PSK-AES256-GCM-SHA384 -nocert -psk "$KEY2" -psk_identity device2 -cipher PSK-AES256-GCM-SHA384 \
  -- psk="device2:$KEY2"
# s_server drops the client's Finished that it cannot decrypt, silently (RFC 6347
# 4.1.2.7 allows it), so the dtlsrun client's handshake times out.
ic_case "PSK-AES128-CCM8 (wrong key: s_server drops the Finished, client times out)" no \
  ic_openssl_refused "handshake timed out" -nocert -psk "$KEY" -psk_identity device1 -cipher PSK-AES128-CCM8 \
  -- psk="device1:$WRONG" ciphers=PSK-AES128-CCM8 handshakeTimeout=2500
# (s_server's -psk_identity only warns about another identity and goes on with
# its one key, so there is no unknown-identity case against s_server.)

ic_end

#!/usr/bin/env bash
# Pre-shared keys with GnuTLS, both roles:
#   dtlsrun server (psk table) <- gnutls-cli --udp --pskusername/--pskkey:
#     PSK with AES-128-CCM-8, AES-128-CCM, AES-128-GCM, AES-256-GCM; a wrong
#     key (bad_record_mac) and an unknown identity (unknown_psk_identity) fail
#     with the alert seen by gnutls-cli. ECDHE-PSK is not run here:
#     gnutls-cli 3.7.9 segfaults right after a completed ECDHE-PSK handshake,
#     also against openssl s_server (a gnutls-cli bug); psk_openssl.sh covers
#     ECDHE-PSK-CHACHA20-POLY1305 with dtlsrun as the server.
#   dtlsrun client (psk = {identity, key}) -> gnutls-serv --pskpasswd:
#     the four PSK suites and ECDHE-PSK-CHACHA20-POLY1305; a wrong key and an
#     unknown identity fail (gnutls-serv discards the undecryptable Finished
#     without an alert, and uses a random key for unknown identities, so the
#     client's handshake times out).
set -euo pipefail
# On loopback an echo takes milliseconds: a failing case need not wait 30 s.
: "${IT_ECHO_TIMEOUT:=10}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
ic_lines "$IT_TMP/lines"

KEY=00112233445566778899aabbccddeeff
WRONG=00112233445566778899aabbccddeefe
DTLS12="NORMAL:-VERS-ALL:+VERS-DTLS1.2"
declare -A CIPHER=(
  [PSK-AES128-CCM8]=AES-128-CCM-8 [PSK-AES128-CCM]=AES-128-CCM
  [PSK-AES128-GCM-SHA256]=AES-128-GCM [PSK-AES256-GCM-SHA384]=AES-256-GCM
  [ECDHE-PSK-CHACHA20-POLY1305]=CHACHA20-POLY1305)
declare -A KX=(
  [PSK-AES128-CCM8]=PSK [PSK-AES128-CCM]=PSK [PSK-AES128-GCM-SHA256]=PSK [PSK-AES256-GCM-SHA384]=PSK
  [ECDHE-PSK-CHACHA20-POLY1305]=ECDHE-PSK)

# ==== dtlsrun as the server ===========================================================
ic_begin "gnutls-cli --udp" server
dtlsrun_server psk psk="device1:$KEY" pskHint=dtlsrun-interop

priority() { echo "$DTLS12:-KX-ALL:+${KX[$1]}:-CIPHER-ALL:+${CIPHER[$1]}"; }

echo_case() {
  local suite=$1
  ic_mark psk
  gnutls_client "$IC_C-gc" "${IT_PORT[psk]}" "$IT_TMP/lines" "$IT_TMP/lines" \
    --pskusername device1 --pskkey "$KEY" --priority "$(priority "$suite")" || ic_fail "the lines did not come back"
  ic_server_saw psk " $suite DTLSv1.2 psk=device1 " || ic_fail "dtlsrun did not report $suite for device1"
}
for suite in PSK-AES128-CCM8 PSK-AES128-CCM PSK-AES128-GCM-SHA256 PSK-AES256-GCM-SHA384; do
  ic_case "$suite" no echo_case "$suite"
done

# refused_case IDENTITY HEXKEY ALERT_NUMBER DTLSRUN_ALERT
refused_case() {
  local identity=$1 key=$2 number=$3 alert=$4
  ic_mark psk
  if gnutls_client "$IC_C-gc" "${IT_PORT[psk]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       --pskusername "$identity" --pskkey "$key" --priority "$(priority PSK-AES128-CCM8)"; then
    ic_fail "the handshake succeeded"
  fi
  grep -q "Received alert \[$number\]" "$IT_TMP/$IC_C-gc.log" || ic_fail "gnutls-cli did not receive alert $number ($alert)"
  ic_server_saw psk "clientError $alert" || ic_fail "dtlsrun did not report $alert"
}
ic_case "PSK-AES128-CCM8 (wrong key: bad_record_mac)" no refused_case device1 "$WRONG" 20 bad_record_mac
ic_case "PSK-AES128-CCM8 (unknown identity: unknown_psk_identity)" no refused_case nobody "$KEY" 115 unknown_psk_identity

# ==== dtlsrun as the client ===========================================================
ic_begin "gnutls-serv --udp" client
printf 'device1:%s\n' "$KEY" >"$IT_TMP/psk.passwd"

# client_case SUITE CLIENT_ARGS...: a gnutls-serv for this case with only SUITE.
client_case() {
  local suite=$1
  shift
  ic_gnutls_server "$IC_C-gs" --pskpasswd "$IT_TMP/psk.passwd" --priority "$(priority "$suite")"
  ic_dtlsrun_echo "${IT_PORT[$IC_C-gs]}" "$suite" psk="device1:$KEY" "$@"
}
for suite in PSK-AES128-CCM8 PSK-AES128-CCM PSK-AES128-GCM-SHA256 PSK-AES256-GCM-SHA384 \
             ECDHE-PSK-CHACHA20-POLY1305; do
  ic_case "$suite" no client_case "$suite"
done

client_refused_case() {
  local psk=$1
  ic_gnutls_server "$IC_C-gs" --pskpasswd "$IT_TMP/psk.passwd" --priority "$(priority PSK-AES128-CCM8)"
  ic_dtlsrun_refused "${IT_PORT[$IC_C-gs]}" "handshake timed out" psk="$psk" handshakeTimeout=2500
  grep -q "invalid decryption" "$IT_TMP/$IC_C-gs.err" || ic_fail "gnutls-serv did not discard the Finished"
}
ic_case "PSK-AES128-CCM8 (wrong key: gnutls-serv drops the Finished, client times out)" no \
  client_refused_case "device1:$WRONG"
ic_case "PSK-AES128-CCM8 (unknown identity: gnutls-serv drops the Finished, client times out)" no \
  client_refused_case "nobody:$KEY"

ic_end

#!/usr/bin/env bash
# dtlsrun as the client (spec/interop/echo_client.lua, dtls.connect) against
# gnutls-serv --udp --echo, each case with its own server limited by
# --priority. Every line must come back byte for byte; the client verifies the
# server's certificate against ca.pem with servername localhost unless the
# case says otherwise.
#   - every certificate suite with P-256, RSA and P-384 server certificates;
#   - groups X25519, P-256, P-384 and RSA-PSS / PKCS#1 signatures, one at a time;
#   - failures: an unknown CA (unknown_ca), a wrong servername;
#     rejectUnauthorized = false accepts the unknown CA;
#   - a client certificate to gnutls-serv --require-client-cert, and none;
#   - MTU 300 on both sides with a certificate chain and a client certificate.
# PSK suites are in psk_gnutls.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
ic_begin "gnutls-serv --udp" client
ic_lines "$IT_TMP/lines"
# At MTU 300 a message must fit one record (dtlsrun refuses larger sends).
printf 'short line one\nQ short line two\nshort line three\n' >"$IT_TMP/short"

EC256=(--x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key")
EC384=(--x509certfile "$C/server-ec384.pem" --x509keyfile "$C/server-ec384.key")
RSA=(--x509certfile "$C/server-rsa.pem" --x509keyfile "$C/server-rsa.key")
VERIFY=(ca="$C/ca.pem" servername=localhost)
DTLS12="NORMAL:-VERS-ALL:+VERS-DTLS1.2"

# echo_case SUITE GNUTLS_SERV_ARGS... -- CLIENT_ARGS...: a gnutls-serv for this
# case, then the client's lines must come back and it must report SUITE.
echo_case() {
  local suite=$1
  shift
  ic_split_args "$@"
  ic_gnutls_server "$IC_C-gs" "${IC_PEER_ARGS[@]}"
  ic_dtlsrun_echo "${IT_PORT[$IC_C-gs]}" "$suite" "${IC_CLIENT_ARGS[@]}"
}

declare -A CIPHER=(
  [ECDHE-ECDSA-AES128-GCM-SHA256]=AES-128-GCM [ECDHE-ECDSA-AES256-GCM-SHA384]=AES-256-GCM
  [ECDHE-ECDSA-CHACHA20-POLY1305]=CHACHA20-POLY1305 [ECDHE-ECDSA-AES128-CCM]=AES-128-CCM
  [ECDHE-ECDSA-AES128-CCM8]=AES-128-CCM-8
  [ECDHE-RSA-AES128-GCM-SHA256]=AES-128-GCM [ECDHE-RSA-AES256-GCM-SHA384]=AES-256-GCM
  [ECDHE-RSA-CHACHA20-POLY1305]=CHACHA20-POLY1305)

for suite in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
             ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES128-CCM8; do
  ic_case "$suite (P-256 cert)" no \
    echo_case "$suite" "${EC256[@]}" --priority "$DTLS12:-CIPHER-ALL:+${CIPHER[$suite]}" -- "${VERIFY[@]}"
done
for suite in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
  ic_case "$suite (RSA cert)" no \
    echo_case "$suite" "${RSA[@]}" --priority "$DTLS12:-CIPHER-ALL:+${CIPHER[$suite]}" -- "${VERIFY[@]}"
done
# With its P-384 key, gnutls-serv signs the ServerKeyExchange with
# ECDSA-SHA256 (0x0403), which the client offered and which in (D)TLS 1.2 is
# valid on any curve (RFC 5246 7.4.1.4.1, RFC 8422 5.1.1). dtlsrun once bound
# 0x0403 to P-256 as TLS 1.3 does and rejected the signature (decrypt_error).
for suite in ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-AES128-CCM8; do
  ic_case "$suite (P-384 cert, gnutls-serv defaults)" no \
    echo_case "$suite" "${EC384[@]}" --priority "$DTLS12:-CIPHER-ALL:+${CIPHER[$suite]}" -- "${VERIFY[@]}"
done
# ...and with gnutls-serv limited to ECDSA-SHA384.
ic_case "ECDHE-ECDSA-AES256-GCM-SHA384 (P-384 cert, gnutls-serv signature ECDSA-SHA384 only)" no \
  echo_case ECDHE-ECDSA-AES256-GCM-SHA384 "${EC384[@]}" \
  --priority "$DTLS12:-CIPHER-ALL:+AES-256-GCM:-SIGN-ALL:+SIGN-ECDSA-SHA384" -- "${VERIFY[@]}"
for group in X25519 SECP256R1 SECP384R1; do
  ic_case "ECDHE-RSA-AES128-GCM-SHA256 (gnutls-serv group $group only)" no \
    echo_case ECDHE-RSA-AES128-GCM-SHA256 "${RSA[@]}" \
    --priority "$DTLS12:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-$group" -- "${VERIFY[@]}"
done
for sign in RSA-PSS-RSAE-SHA256 RSA-PSS-RSAE-SHA384 RSA-SHA256 RSA-SHA384; do
  ic_case "ECDHE-RSA-AES256-GCM-SHA384 (gnutls-serv signature $sign only)" no \
    echo_case ECDHE-RSA-AES256-GCM-SHA384 "${RSA[@]}" \
    --priority "$DTLS12:-CIPHER-ALL:+AES-256-GCM:-SIGN-ALL:+SIGN-$sign" -- "${VERIFY[@]}"
done

# -- verification failures ----------------------------------------------------------
refused_case() {
  local alerts=$1
  shift
  ic_split_args "$@"
  ic_gnutls_server "$IC_C-gs" "${IC_PEER_ARGS[@]}"
  ic_dtlsrun_refused "${IT_PORT[$IC_C-gs]}" "$alerts" "${IC_CLIENT_ARGS[@]}"
}
UNTRUSTED=(--x509certfile "$C/server-untrusted.pem" --x509keyfile "$C/server-untrusted.key")
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (untrusted server cert: unknown_ca)" no \
  refused_case unknown_ca "${UNTRUSTED[@]}" -- "${VERIFY[@]}"
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (servername wrong.example: certificate_unknown)" no \
  refused_case "certificate_unknown|bad_certificate" "${EC256[@]}" -- ca="$C/ca.pem" servername=wrong.example
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (untrusted server cert, rejectUnauthorized = false)" no \
  echo_case ECDHE-ECDSA-AES128-GCM-SHA256 "${UNTRUSTED[@]}" -- rejectUnauthorized=0

# -- client certificates ----------------------------------------------------------------
REQUIRE=(--require-client-cert --verify-client-cert --x509cafile "$C/ca.pem")
server_trusted_client() {
  grep -q "The certificate is trusted" "$IT_TMP/$IC_C-gs.out" || ic_fail "gnutls-serv did not verify the client certificate"
}
client_cert_case() {
  echo_case ECDHE-ECDSA-AES128-GCM-SHA256 "${EC256[@]}" "${REQUIRE[@]}" \
    -- "${VERIFY[@]}" cert="$C/client.pem" key="$C/client.key"
  server_trusted_client
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256" "yes (--require-client-cert)" client_cert_case
# gnutls-serv ends the handshake without an alert ("No certificate was found"),
# so the client's handshake times out.
missing_cert_case() {
  refused_case "handshake timed out" "${EC256[@]}" "${REQUIRE[@]}" -- "${VERIFY[@]}" handshakeTimeout=2500
  grep -q "No certificate was found" "$IT_TMP/$IC_C-gs.err" "$IT_TMP/$IC_C-gs.out" \
    || ic_fail "gnutls-serv did not refuse the handshake for want of a certificate"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (required client cert missing: no alert, client times out)" "none sent" \
  missing_cert_case

# -- small MTU ---------------------------------------------------------------------------
mtu_case() {
  IC_INPUT=$IT_TMP/short echo_case ECDHE-RSA-AES128-GCM-SHA256 \
    --x509certfile "$C/server-rsa-chain.pem" --x509keyfile "$C/server-rsa.key" "${REQUIRE[@]}" --mtu 300 \
    --priority "$DTLS12:-CIPHER-ALL:+AES-128-GCM" \
    -- "${VERIFY[@]}" cert="$C/client.pem" key="$C/client.key" mtu=300
  server_trusted_client
}
ic_case "ECDHE-RSA-AES128-GCM-SHA256 (MTU 300, RSA chain)" "yes (--require-client-cert)" mtu_case

ic_end

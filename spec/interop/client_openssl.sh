#!/usr/bin/env bash
# dtlsrun as the client (spec/interop/echo_client.lua, dtls.connect) against
# openssl s_server -dtls1_2. s_server does not echo: what it prints is written
# back to its stdin by the harness (ic_openssl_echo), so every line must make
# the round trip byte for byte. The client verifies s_server's certificate
# against ca.pem with servername localhost in every case that should pass.
#   - every certificate suite with P-256, RSA and P-384 server certificates;
#   - groups X25519, P-256, P-384 and RSA-PSS / PKCS#1 signatures, as s_server
#     is limited to each (-curves, -sigalgs);
#   - failures: a certificate from an unknown CA (unknown_ca), a servername
#     that does not match (certificate_unknown / bad_certificate);
#     rejectUnauthorized = false accepts the unknown CA;
#   - a client certificate to s_server -Verify, and none (handshake_failure);
#   - MTU 300 on both sides with a certificate chain and a client certificate,
#     flights fragmented both ways (seen in s_server's -msgfile).
# PSK suites are in psk_openssl.sh.
set -euo pipefail
# On loopback an echo takes milliseconds: a failing case need not wait 30 s.
: "${IT_ECHO_TIMEOUT:=10}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
ic_begin "openssl s_server -dtls1_2" client
ic_lines "$IT_TMP/lines"
# At MTU 300 a message must fit one record (dtlsrun refuses larger sends).
printf 'short line one\nQ short line two\nshort line three\n' >"$IT_TMP/short"

EC256=(-cert "$C/server-ec256.pem" -key "$C/server-ec256.key")
EC384=(-cert "$C/server-ec384.pem" -key "$C/server-ec384.key")
RSA=(-cert "$C/server-rsa.pem" -key "$C/server-rsa.key")
VERIFY=(ca="$C/ca.pem" servername=localhost)

for suite in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
             ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES128-CCM8; do
  ic_case "$suite (P-256 cert)" no \
    ic_openssl_echo "$suite" "${EC256[@]}" -cipher "$suite" -- "${VERIFY[@]}" ciphers="$suite"
done
for suite in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
  ic_case "$suite (RSA cert)" no \
    ic_openssl_echo "$suite" "${RSA[@]}" -cipher "$suite" -- "${VERIFY[@]}" ciphers="$suite"
done
# With its P-384 key, s_server signs the ServerKeyExchange with
# ecdsa_secp256r1_sha256 (0x0403), which the client offered and which in
# (D)TLS 1.2 means "ECDSA with SHA-256" on any curve (RFC 5246 7.4.1.4.1,
# RFC 8422 5.1.1). dtlsrun once bound 0x0403 to P-256 as TLS 1.3 does and
# rejected the signature with decrypt_error.
for suite in ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-AES128-CCM8; do
  ic_case "$suite (P-384 cert, s_server defaults)" no \
    ic_openssl_echo "$suite" "${EC384[@]}" -cipher "$suite" -- "${VERIFY[@]}" ciphers="$suite"
done
# ...and with s_server limited to ecdsa_secp384r1_sha384.
ic_case "ECDHE-ECDSA-AES256-GCM-SHA384 (P-384 cert, s_server sigalg ecdsa_secp384r1_sha384 only)" no \
  ic_openssl_echo ECDHE-ECDSA-AES256-GCM-SHA384 "${EC384[@]}" -cipher ECDHE-ECDSA-AES256-GCM-SHA384 \
  -sigalgs ecdsa_secp384r1_sha384 -- "${VERIFY[@]}" ciphers=ECDHE-ECDSA-AES256-GCM-SHA384
# The client offers its default suites and groups; s_server may use only one group.
for group in X25519 P-256 P-384; do
  ic_case "ECDHE-RSA-AES128-GCM-SHA256 (s_server group $group only)" no \
    ic_openssl_echo ECDHE-RSA-AES128-GCM-SHA256 "${RSA[@]}" -cipher ECDHE-RSA-AES128-GCM-SHA256 \
    -curves "$group" -- "${VERIFY[@]}"
done
for sigalg in rsa_pss_rsae_sha256 rsa_pss_rsae_sha384 rsa_pkcs1_sha256 rsa_pkcs1_sha384; do
  ic_case "ECDHE-RSA-AES256-GCM-SHA384 (s_server sigalg $sigalg only)" no \
    ic_openssl_echo ECDHE-RSA-AES256-GCM-SHA384 "${RSA[@]}" -cipher ECDHE-RSA-AES256-GCM-SHA384 \
    -sigalgs "$sigalg" -- "${VERIFY[@]}"
done

# -- verification failures ----------------------------------------------------------
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (untrusted server cert: unknown_ca)" no \
  ic_openssl_refused unknown_ca -cert "$C/server-untrusted.pem" -key "$C/server-untrusted.key" \
  -- "${VERIFY[@]}"
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (servername wrong.example: certificate_unknown)" no \
  ic_openssl_refused "certificate_unknown|bad_certificate" "${EC256[@]}" \
  -- ca="$C/ca.pem" servername=wrong.example
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (untrusted server cert, rejectUnauthorized = false)" no \
  ic_openssl_echo ECDHE-ECDSA-AES128-GCM-SHA256 -cert "$C/server-untrusted.pem" -key "$C/server-untrusted.key" \
  -- rejectUnauthorized=0

# -- client certificates ----------------------------------------------------------------
client_cert_case() {
  ic_openssl_echo ECDHE-ECDSA-AES128-GCM-SHA256 "${EC256[@]}" -Verify 1 -CAfile "$C/ca.pem" -verify_return_error \
    -- "${VERIFY[@]}" cert="$C/client.pem" key="$C/client.key"
  grep -q "CN *= *dtlsrun-test-client" "$IT_TMP/$IC_C-ss.err" || ic_fail "s_server did not verify the client certificate"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256" "yes (s_server -Verify)" client_cert_case
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (required client cert missing: handshake_failure)" "none sent" \
  ic_openssl_refused handshake_failure "${EC256[@]}" -Verify 1 -CAfile "$C/ca.pem" -- "${VERIFY[@]}"

# -- small MTU ---------------------------------------------------------------------------
mtu_case() {
  IC_INPUT=$IT_TMP/short ic_openssl_echo ECDHE-RSA-AES128-GCM-SHA256 \
    -cert "$C/server-rsa-chain.pem" -key "$C/server-rsa.key" -Verify 1 -CAfile "$C/ca.pem" -verify_return_error \
    -mtu 300 -msgfile "$IT_TMP/$IC_C-msg.log" -msg \
    -- "${VERIFY[@]}" cert="$C/client.pem" key="$C/client.key" mtu=300
  ic_fragmented "$IT_TMP/$IC_C-msg.log" "<<<" || ic_fail "dtlsrun's flight was not fragmented"
  ic_fragmented "$IT_TMP/$IC_C-msg.log" ">>>" || ic_fail "s_server's flight was not fragmented"
}
ic_case "ECDHE-RSA-AES128-GCM-SHA256 (MTU 300, RSA chain)" "yes (s_server -Verify)" mtu_case

ic_end

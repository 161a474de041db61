#!/usr/bin/env bash
# dtlsrun as the server (spec/interop/echo_server.lua), openssl s_client -dtls1_2
# as the client. Each case sends several lines and checks that every byte comes
# back, and that dtlsrun reports the suite the client was limited to:
#   - every certificate suite with a P-256 ECDSA certificate, with an RSA one,
#     and with a P-384 one;
#   - groups X25519, P-256, P-384; RSA-PSS and PKCS#1 signatures;
#   - a client certificate to a server with requestCert, and none (the client
#     must see handshake_failure);
#   - MTU 300 on both sides with certificate chains, so flights fragment both ways.
# PSK suites are in psk_openssl.sh.
set -euo pipefail
# On loopback an echo takes milliseconds: a failing case need not wait 30 s.
: "${IT_ECHO_TIMEOUT:=10}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
ic_begin "openssl s_client -dtls1_2" server
ic_lines "$IT_TMP/lines"
# At MTU 300 a message must fit one record (dtlsrun refuses larger sends), and
# s_client sends what it reads from stdin at once: keep those lines short.
printf 'short line one\nQ short line two\nshort line three\n' >"$IT_TMP/short"

dtlsrun_server ec256 cert="$C/server-ec256.pem" key="$C/server-ec256.key"
dtlsrun_server ec384 cert="$C/server-ec384.pem" key="$C/server-ec384.key"
dtlsrun_server rsa cert="$C/server-rsa.pem" key="$C/server-rsa.key"
dtlsrun_server auth cert="$C/server-ec256.pem" key="$C/server-ec256.key" ca="$C/ca.pem" requestCert=1
dtlsrun_server mtu_rsa cert="$C/server-rsa-chain.pem" key="$C/server-rsa.key" mtu=300
dtlsrun_server mtu_auth cert="$C/server-ec384-chain.pem" key="$C/server-ec384.key" mtu=300 \
  ca="$C/ca.pem" requestCert=1

# echo_case SERVER SUITE [s_client args...]: the lines come back byte for
# byte, and the server reports SUITE. IC_INPUT: the lines file.
echo_case() {
  local srv=$1 suite=$2 input=${IC_INPUT:-$IT_TMP/lines}
  shift 2
  ic_mark "$srv"
  openssl_client "$IC_C-sc" "${IT_PORT[$srv]}" "$input" "$input" \
    -CAfile "$C/ca.pem" -verify_return_error -verify_hostname localhost "$@" \
    || ic_fail "the lines did not come back"
  ic_server_saw "$srv" " $suite DTLSv1.2 " || ic_fail "dtlsrun did not report $suite"
}

for suite in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 \
             ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES128-CCM8; do
  ic_case "$suite (P-256 cert)" no echo_case ec256 "$suite" -cipher "$suite"
done
for suite in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
  ic_case "$suite (RSA cert)" no echo_case rsa "$suite" -cipher "$suite"
done
for suite in ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
  ic_case "$suite (P-384 cert, sigalg ecdsa_secp384r1_sha384)" no \
    echo_case ec384 "$suite" -cipher "$suite" -sigalgs ecdsa_secp384r1_sha384
done
# With an RSA certificate the client's groups only constrain the ECDHE key.
# A client that offers only ecdsa_secp256r1_sha256 (0x0403) may, in (D)TLS
# 1.2, get that signature from a P-384 key (RFC 5246 7.4.1.4.1; openssl
# s_server accepts this client). dtlsrun once bound 0x0403 to P-256 and
# refused it with handshake_failure.
ic_case "ECDHE-ECDSA-AES256-GCM-SHA384 (P-384 cert, client sigalg ecdsa_secp256r1_sha256 only)" no \
  echo_case ec384 ECDHE-ECDSA-AES256-GCM-SHA384 -cipher ECDHE-ECDSA-AES256-GCM-SHA384 \
  -sigalgs ecdsa_secp256r1_sha256
for group in X25519 P-256 P-384; do
  ic_case "ECDHE-RSA-AES128-GCM-SHA256 (group $group only)" no \
    echo_case rsa ECDHE-RSA-AES128-GCM-SHA256 -cipher ECDHE-RSA-AES128-GCM-SHA256 -curves "$group"
done
# With ECDSA, they also constrain the certificate's curve (RFC 8422 5.1, 5.3).
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (P-256 cert, group P-256 only)" no \
  echo_case ec256 ECDHE-ECDSA-AES128-GCM-SHA256 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -curves P-256
ic_case "ECDHE-ECDSA-AES256-GCM-SHA384 (P-384 cert, group P-384 only)" no \
  echo_case ec384 ECDHE-ECDSA-AES256-GCM-SHA384 -cipher ECDHE-ECDSA-AES256-GCM-SHA384 -curves P-384
# A client that cannot verify P-256 signatures gets handshake_failure, as
# from openssl s_server ("no shared cipher").
curve_mismatch_case() {
  ic_mark ec256
  if openssl_client "$IC_C-sc" "${IT_PORT[ec256]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       -CAfile "$C/ca.pem" -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -curves X25519; then
    ic_fail "the handshake succeeded with a P-256 certificate the client cannot use"
  fi
  grep -q "alert handshake failure" "$IT_TMP/$IC_C-sc.err" \
    || ic_fail "s_client did not receive a handshake_failure alert"
  ic_server_saw ec256 "clientError handshake_failure" || ic_fail "dtlsrun did not report handshake_failure"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (P-256 cert, client offers X25519 only: handshake_failure)" no \
  curve_mismatch_case
for sigalg in rsa_pss_rsae_sha256 rsa_pss_rsae_sha384 rsa_pkcs1_sha256 rsa_pkcs1_sha384; do
  ic_case "ECDHE-RSA-AES128-GCM-SHA256 (sigalg $sigalg)" no \
    echo_case rsa ECDHE-RSA-AES128-GCM-SHA256 -cipher ECDHE-RSA-AES128-GCM-SHA256 -sigalgs "$sigalg"
done

# -- client certificates ----------------------------------------------------------
client_cert_case() {
  echo_case auth ECDHE-ECDSA-AES128-GCM-SHA256 -cert "$C/client.pem" -key "$C/client.key"
  ic_server_saw auth "cert=CN=dtlsrun-test-client" || ic_fail "dtlsrun did not see the client certificate"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256" "yes (requestCert)" client_cert_case

missing_cert_case() {
  ic_mark auth
  if openssl_client "$IC_C-sc" "${IT_PORT[auth]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       -CAfile "$C/ca.pem" -verify_return_error; then
    ic_fail "the handshake succeeded without the required client certificate"
  fi
  grep -q "alert handshake failure" "$IT_TMP/$IC_C-sc.err" \
    || ic_fail "s_client did not receive a handshake_failure alert"
  ic_server_saw auth "clientError handshake_failure" || ic_fail "dtlsrun did not report handshake_failure"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (required client cert missing: handshake_failure)" "none sent" \
  missing_cert_case

# -- small MTU: both sides send 300-byte datagrams -----------------------------------
# The RSA chain's Certificate message alone is over 1 KB; s_client's -msgfile
# shows how many records carried the server's flight.
mtu_case() {
  local srv=$1 suite=$2
  shift 2
  IC_INPUT=$IT_TMP/short echo_case "$srv" "$suite" -mtu 300 -msgfile "$IT_TMP/$IC_C-msg.log" -msg "$@"
  ic_fragmented "$IT_TMP/$IC_C-msg.log" || ic_fail "dtlsrun's flight was not fragmented"
}
ic_case "ECDHE-RSA-AES256-GCM-SHA384 (MTU 300, RSA chain)" no \
  mtu_case mtu_rsa ECDHE-RSA-AES256-GCM-SHA384 -cipher ECDHE-RSA-AES256-GCM-SHA384
# and s_client's flight, with its certificate, fragments towards dtlsrun
mtu_auth_case() {
  mtu_case mtu_auth ECDHE-ECDSA-AES128-CCM8 -cipher ECDHE-ECDSA-AES128-CCM8 \
    -cert "$C/client.pem" -key "$C/client.key"
  ic_fragmented "$IT_TMP/$IC_C-msg.log" ">>>" || ic_fail "s_client's flight was not fragmented"
  ic_server_saw mtu_auth "cert=CN=dtlsrun-test-client" || ic_fail "dtlsrun did not see the client certificate"
}
ic_case "ECDHE-ECDSA-AES128-CCM8 (MTU 300, P-384 chain)" "yes (requestCert)" mtu_auth_case

ic_end

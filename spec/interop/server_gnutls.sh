#!/usr/bin/env bash
# dtlsrun as the server (spec/interop/echo_server.lua), gnutls-cli --udp as the
# client, limited by --priority to one suite, group or signature at a time.
# Each case sends several lines and checks that every byte comes back, and
# that dtlsrun reports the suite:
#   - every certificate suite with a P-256 ECDSA certificate, with an RSA one,
#     and with a P-384 one;
#   - groups X25519, P-256, P-384; RSA-PSS and PKCS#1 signatures;
#   - a client certificate to a server with requestCert, and none (the client
#     must see handshake_failure);
#   - MTU 300 on both sides with certificate chains.
# PSK suites are in psk_gnutls.sh.
set -euo pipefail
# On loopback an echo takes milliseconds: a failing case need not wait 30 s.
: "${IT_ECHO_TIMEOUT:=10}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
ic_begin "gnutls-cli --udp" server
ic_lines "$IT_TMP/lines"
# At MTU 300 a message must fit one record (dtlsrun refuses larger sends).
printf 'short line one\nQ short line two\nshort line three\n' >"$IT_TMP/short"

dtlsrun_server ec256 cert="$C/server-ec256.pem" key="$C/server-ec256.key"
dtlsrun_server ec384 cert="$C/server-ec384.pem" key="$C/server-ec384.key"
dtlsrun_server rsa cert="$C/server-rsa.pem" key="$C/server-rsa.key"
dtlsrun_server auth cert="$C/server-ec256.pem" key="$C/server-ec256.key" ca="$C/ca.pem" requestCert=1
dtlsrun_server mtu_rsa cert="$C/server-rsa-chain.pem" key="$C/server-rsa.key" mtu=300
dtlsrun_server mtu_auth cert="$C/server-ec384-chain.pem" key="$C/server-ec384.key" mtu=300 \
  ca="$C/ca.pem" requestCert=1

DTLS12="NORMAL:-VERS-ALL:+VERS-DTLS1.2"

# echo_case SERVER SUITE PRIORITY [gnutls-cli args...]: the lines come back
# byte for byte (the server's name, 127.0.0.1, verified against the test CA),
# and dtlsrun reports SUITE. IC_INPUT: the lines file.
echo_case() {
  local srv=$1 suite=$2 priority=$3 input=${IC_INPUT:-$IT_TMP/lines}
  shift 3
  ic_mark "$srv"
  gnutls_client "$IC_C-gc" "${IT_PORT[$srv]}" "$input" "$input" \
    --x509cafile "$C/ca.pem" --priority "$priority" "$@" || ic_fail "the lines did not come back"
  ic_server_saw "$srv" " $suite DTLSv1.2 " || ic_fail "dtlsrun did not report $suite"
}

# cipher name in gnutls -> in dtlsrun (OpenSSL's names)
declare -A ECDSA_SUITE=(
  [AES-128-GCM]=ECDHE-ECDSA-AES128-GCM-SHA256 [AES-256-GCM]=ECDHE-ECDSA-AES256-GCM-SHA384
  [CHACHA20-POLY1305]=ECDHE-ECDSA-CHACHA20-POLY1305 [AES-128-CCM]=ECDHE-ECDSA-AES128-CCM
  [AES-128-CCM-8]=ECDHE-ECDSA-AES128-CCM8)
declare -A RSA_SUITE=(
  [AES-128-GCM]=ECDHE-RSA-AES128-GCM-SHA256 [AES-256-GCM]=ECDHE-RSA-AES256-GCM-SHA384
  [CHACHA20-POLY1305]=ECDHE-RSA-CHACHA20-POLY1305)

for cipher in AES-128-GCM AES-256-GCM CHACHA20-POLY1305 AES-128-CCM AES-128-CCM-8; do
  suite=${ECDSA_SUITE[$cipher]}
  ic_case "$suite (P-256 cert)" no \
    echo_case ec256 "$suite" "$DTLS12:-CIPHER-ALL:+$cipher:-KX-ALL:+ECDHE-ECDSA"
done
for cipher in AES-128-GCM AES-256-GCM CHACHA20-POLY1305; do
  suite=${RSA_SUITE[$cipher]}
  ic_case "$suite (RSA cert)" no \
    echo_case rsa "$suite" "$DTLS12:-CIPHER-ALL:+$cipher:-KX-ALL:+ECDHE-RSA"
done
for cipher in AES-256-GCM CHACHA20-POLY1305; do
  suite=${ECDSA_SUITE[$cipher]}
  ic_case "$suite (P-384 cert, group P-384 only)" no \
    echo_case ec384 "$suite" "$DTLS12:-CIPHER-ALL:+$cipher:-KX-ALL:+ECDHE-ECDSA:-GROUP-ALL:+GROUP-SECP384R1"
done
# In (D)TLS 1.2 ECDSA-SHA256 (0x0403) may be used with a P-384 key (RFC 5246
# 7.4.1.4.1); dtlsrun once bound 0x0403 to P-256 and refused this client.
ic_case "ECDHE-ECDSA-AES256-GCM-SHA384 (P-384 cert, client signature ECDSA-SHA256 only)" no \
  echo_case ec384 ECDHE-ECDSA-AES256-GCM-SHA384 \
  "$DTLS12:-CIPHER-ALL:+AES-256-GCM:-KX-ALL:+ECDHE-ECDSA:-SIGN-ALL:+SIGN-ECDSA-SHA256"
# With an RSA certificate the client's groups only constrain the ECDHE key.
for group in X25519 SECP256R1 SECP384R1; do
  ic_case "ECDHE-RSA-AES128-GCM-SHA256 (group $group only)" no \
    echo_case rsa ECDHE-RSA-AES128-GCM-SHA256 \
    "$DTLS12:-CIPHER-ALL:+AES-128-GCM:-KX-ALL:+ECDHE-RSA:-GROUP-ALL:+GROUP-$group"
done
for sign in RSA-PSS-RSAE-SHA256 RSA-PSS-RSAE-SHA384 RSA-SHA256 RSA-SHA384; do
  ic_case "ECDHE-RSA-AES128-GCM-SHA256 (signature $sign only)" no \
    echo_case rsa ECDHE-RSA-AES128-GCM-SHA256 \
    "$DTLS12:-CIPHER-ALL:+AES-128-GCM:-KX-ALL:+ECDHE-RSA:-SIGN-ALL:+SIGN-$sign"
done

# -- client certificates ----------------------------------------------------------
client_cert_case() {
  echo_case auth ECDHE-ECDSA-AES128-GCM-SHA256 "$DTLS12:-CIPHER-ALL:+AES-128-GCM" \
    --x509certfile "$C/client.pem" --x509keyfile "$C/client.key"
  ic_server_saw auth "cert=CN=dtlsrun-test-client" || ic_fail "dtlsrun did not see the client certificate"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256" "yes (requestCert)" client_cert_case

missing_cert_case() {
  ic_mark auth
  if gnutls_client "$IC_C-gc" "${IT_PORT[auth]}" "$IT_TMP/lines" "$IT_TMP/lines" \
       --x509cafile "$C/ca.pem" --priority "$DTLS12:-CIPHER-ALL:+AES-128-GCM"; then
    ic_fail "the handshake succeeded without the required client certificate"
  fi
  grep -q "Received alert \[40\]" "$IT_TMP/$IC_C-gc.log" \
    || ic_fail "gnutls-cli did not receive a handshake_failure alert"
  ic_server_saw auth "clientError handshake_failure" || ic_fail "dtlsrun did not report handshake_failure"
}
ic_case "ECDHE-ECDSA-AES128-GCM-SHA256 (required client cert missing: handshake_failure)" "none sent" \
  missing_cert_case

# -- small MTU: both sides send 300-byte datagrams -----------------------------------
# (that dtlsrun's flights fragment at this MTU is shown by server_openssl.sh)
mtu_case() {
  IC_INPUT=$IT_TMP/short echo_case "$@" --mtu 300
}
ic_case "ECDHE-RSA-AES256-GCM-SHA384 (MTU 300, RSA chain)" no \
  mtu_case mtu_rsa ECDHE-RSA-AES256-GCM-SHA384 "$DTLS12:-CIPHER-ALL:+AES-256-GCM:-KX-ALL:+ECDHE-RSA"
mtu_auth_case() {
  mtu_case mtu_auth ECDHE-ECDSA-AES128-CCM8 "$DTLS12:-CIPHER-ALL:+AES-128-CCM-8:-KX-ALL:+ECDHE-ECDSA" \
    --x509certfile "$C/client.pem" --x509keyfile "$C/client.key"
  ic_server_saw mtu_auth "cert=CN=dtlsrun-test-client" || ic_fail "dtlsrun did not see the client certificate"
}
ic_case "ECDHE-ECDSA-AES128-CCM8 (MTU 300, P-384 chain)" "yes (requestCert)" mtu_auth_case

ic_end

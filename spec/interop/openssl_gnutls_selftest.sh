#!/usr/bin/env bash
# Proves the interop helpers (lib.sh) with two real peers and no dtlsrun:
#   1. openssl s_client -> gnutls-serv --udp --echo: lines come back byte for byte
#      (certificate verified against the test CA, a small MTU so flights fragment)
#   2. gnutls-cli --udp -> openssl s_server -dtls1_2: each side gets the other's bytes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS

# -- 1: openssl client, gnutls echo server ------------------------------------
gnutls_server echo --x509certfile "$C/server-ec256-chain.pem" --x509keyfile "$C/server-ec256.key" --mtu 600
printf 'hello from s_client\nQ line that s_client must not take as a command\n%s\n' \
  "$(head -c 900 /dev/zero | tr '\0' 'x')" >"$IT_TMP/lines"
openssl_client sc "${IT_PORT[echo]}" "$IT_TMP/lines" "$IT_TMP/lines" \
  -CAfile "$C/ca.pem" -verify_return_error -verify_hostname localhost -mtu 600 \
  || it_fail "s_client -> gnutls-serv: echo mismatch"
it_log "ok: openssl s_client <-> gnutls-serv --echo ($(stat -c %s "$IT_TMP/lines") bytes echoed)"
it_stop echo || true

# -- 2: gnutls client, openssl server ------------------------------------------
openssl_server ss -cert "$C/server-rsa.pem" -key "$C/server-rsa.key" -naccept 1
# s_server reads its stdin once the session is up and sends it to the client.
it_send ss $'reply from s_server\n'
printf 'hello from gnutls-cli\n' >"$IT_TMP/to_server"
printf 'reply from s_server\n' >"$IT_TMP/from_server"
gnutls_client gc "${IT_PORT[ss]}" "$IT_TMP/to_server" "$IT_TMP/from_server" --x509cafile "$C/ca.pem" \
  || it_fail "gnutls-cli did not get s_server's reply"
it_wait_for_bytes "$IT_TMP/ss.out" "$IT_TMP/to_server" 5 \
  || it_fail "s_server did not get gnutls-cli's line"
# -naccept 1: s_server exits by itself once the client has closed.
it_wait ss 10 || it_fail "s_server did not exit cleanly after the session"
it_log "ok: gnutls-cli <-> openssl s_server"

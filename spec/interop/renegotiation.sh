#!/usr/bin/env bash
# Secure renegotiation (RFC 5746) against real peers, both roles:
#   - openssl s_client's R command against a dtlsrun server with
#     allowRenegotiation: the renegotiation completes (dtlsrun reports it) and
#     the echo goes on byte for byte; without it dtlsrun answers
#     no_renegotiation, which s_client (OpenSSL 3.0) reports and ends with;
#   - socket:renegotiate() against openssl s_server -client_renegotiation and
#     gnutls-serv, with echo before and after; s_server without
#     -client_renegotiation refuses it (the callback gets no_renegotiation);
#   - a server without RFC 5746 (gnutls-serv %DISABLE_SAFE_RENEGOTIATION):
#     refused by default (handshake_failure), accepted with allowLegacyServer,
#     and then renegotiate() says no;
#   - the Mbed TLS 3.6 peers (../shared/peers): mbedtls3-client --renegotiate
#     against a dtlsrun server (renegotiated=yes; refused without
#     allowRenegotiation), mbedtls3-server --renegotiate (HelloRequest) against
#     a dtlsrun client, both also with Connection IDs.
# OpenSSL 3.0 ends a session with unexpected_record when application data
# arrives while it renegotiates, and GnuTLS drops it: against them the client
# sends the rest of its lines after the renegotiation (pause=1). The Mbed TLS
# cases and spec/renegotiation_spec.lua keep data flowing during it.
set -euo pipefail
: "${IT_ECHO_TIMEOUT:=10}"
: "${IT_DEADLINE:=200}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
EC256=(-cert "$C/server-ec256.pem" -key "$C/server-ec256.key")
printf 'line one before\nline two before\nline three after\nline four after\n' >"$IT_TMP/four"
head -n 2 "$IT_TMP/four" >"$IT_TMP/two"

# ---- dtlsrun server, openssl s_client's R command -----------------------------
ic_begin "openssl s_client -dtls1_2 (R command)" server
dtlsrun_server allow "cert=$C/server-ec256.pem" "key=$C/server-ec256.key" allowRenegotiation=1 \
  renegotiationInterval=0
dtlsrun_server deny "cert=$C/server-ec256.pem" "key=$C/server-ec256.key"

# s_client with commands on (no -nocommands): a line "R" renegotiates.
s_client_r() {
  local srv=$1
  it_start "$IC_C-sc" 30 openssl s_client -dtls1_2 -nbio -connect "127.0.0.1:${IT_PORT[$srv]}" \
    -quiet -no_ign_eof -CAfile "$C/ca.pem" -verify_return_error
  it_send "$IC_C-sc" "$(cat "$IT_TMP/two")"$'\n'
  it_wait_for_bytes "$IT_TMP/$IC_C-sc.out" "$IT_TMP/two" 10 "$IC_C-sc" || ic_fail "no echo before R"
  it_send "$IC_C-sc" $'R\n'
}

r_allowed() {
  ic_mark allow
  s_client_r allow
  ic_server_saw allow "renegotiated " 10 || ic_fail "dtlsrun did not report a renegotiation"
  grep -q RENEGOTIATING "$IT_TMP/$IC_C-sc.err" || ic_fail "s_client did not renegotiate"
  it_send "$IC_C-sc" "$(tail -n 2 "$IT_TMP/four")"$'\n'
  it_wait_for_bytes "$IT_TMP/$IC_C-sc.out" "$IT_TMP/four" 10 "$IC_C-sc" \
    || ic_fail "the echo after the renegotiation differs"
  it_close_stdin "$IC_C-sc"
  it_wait "$IC_C-sc" 10 || ic_fail "s_client did not end cleanly"
}
ic_case "R with allowRenegotiation: renegotiated, echo before and after" no r_allowed

r_refused() {
  local rc=0
  s_client_r deny
  it_wait "$IC_C-sc" 10 || rc=$?
  grep -q "no renegotiation" "$IT_TMP/$IC_C-sc.err" || ic_fail "s_client did not report no_renegotiation"
  ((rc != 0)) || ic_fail "s_client went on (OpenSSL 3.0 ends the session on no_renegotiation)"
  grep -q "renegotiation refused" "$IT_TMP/deny.err" || ic_fail "dtlsrun did not log the refusal"
  ! grep -q "renegotiated " "$IT_TMP/deny.out" || ic_fail "dtlsrun renegotiated all the same"
}
ic_case "R without allowRenegotiation: no_renegotiation" no r_refused
ic_end

# ---- dtlsrun client: socket:renegotiate() against openssl s_server ------------
ic_begin "openssl s_server -dtls1_2" client
# s_server prints what it gets; the harness writes it back to its stdin.
s_server_reneg() {
  local rc=0
  openssl_server "$IC_C-ss" -naccept 1 "${EC256[@]}" "$@"
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-ss]}" input="$IT_TMP/four" ca="$C/ca.pem" \
    servername=localhost renegotiate=2 pause=1 timeout=20000
  it_wait_for_bytes "$IT_TMP/$IC_C-ss.out" "$IT_TMP/two" 10 "$IC_C-dc" || ic_fail "s_server got no lines"
  it_send_file "$IC_C-ss" "$IT_TMP/two"
  it_wait_for_bytes "$IT_TMP/$IC_C-ss.out" "$IT_TMP/four" 10 "$IC_C-dc" \
    || ic_fail "s_server did not get the lines after the renegotiation"
  tail -n 2 "$IT_TMP/four" >"$IT_TMP/$IC_C-rest"
  it_send_file "$IC_C-ss" "$IT_TMP/$IC_C-rest"
  it_wait "$IC_C-dc" 10 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client failed (status $rc): $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  grep -qx "renegotiated 1 ECDHE-ECDSA-AES128-GCM-SHA256" "$IT_TMP/$IC_C-dc.out" \
    || ic_fail "the client did not report the renegotiation"
}
ic_case "socket:renegotiate() (s_server -client_renegotiation), echo before and after" no \
  s_server_reneg -client_renegotiation

s_server_refuses() {
  openssl_server "$IC_C-ss" -naccept 1 "${EC256[@]}"
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-ss]}" input="$IT_TMP/four" ca="$C/ca.pem" \
    servername=localhost renegotiate=2 pause=1 timeout=20000
  it_wait_for_bytes "$IT_TMP/$IC_C-ss.out" "$IT_TMP/two" 10 "$IC_C-dc" || ic_fail "s_server got no lines"
  it_send_file "$IC_C-ss" "$IT_TMP/two"
  if it_wait "$IC_C-dc" 10; then ic_fail "the client reported success"; fi
  grep -q "renegotiation failed: the peer refused to renegotiate (no_renegotiation)" \
    "$IT_TMP/$IC_C-dc.out" || ic_fail "the callback did not get no_renegotiation"
}
ic_case "socket:renegotiate() refused by s_server's default: no_renegotiation" no s_server_refuses
ic_end

# ---- dtlsrun client against gnutls-serv -----------------------------------------
ic_begin "gnutls-serv --udp" client
gnutls_reneg() {
  local rc=0
  ic_gnutls_server "$IC_C-gs" --x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key" "$@"
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-gs]}" ca="$C/ca.pem" servername=localhost \
    lines=6 renegotiate=2 pause=1 timeout=20000
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client failed (status $rc): $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  grep -q "^renegotiated 1 " "$IT_TMP/$IC_C-dc.out" || ic_fail "the client did not report the renegotiation"
}
ic_case "socket:renegotiate(), echo before and after" no gnutls_reneg
ic_case "socket:renegotiate() (priority with %SAFE_RENEGOTIATION)" no \
  gnutls_reneg --priority 'NORMAL:%SAFE_RENEGOTIATION'

legacy_refused() {
  ic_gnutls_server "$IC_C-gs" --x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key" \
    --priority 'NORMAL:%DISABLE_SAFE_RENEGOTIATION'
  IC_INPUT="$IT_TMP/four" ic_dtlsrun_refused "${IT_PORT[$IC_C-gs]}" "handshake_failure" ca="$C/ca.pem" \
    servername=localhost
  grep -q "does not support secure renegotiation" "$IT_TMP/$IC_C-dc.err" \
    || ic_fail "the client did not say why"
}
ic_case "server without RFC 5746 (%DISABLE_SAFE_RENEGOTIATION): refused" no legacy_refused

legacy_allowed() {
  local rc=0
  ic_gnutls_server "$IC_C-gs" --x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key" \
    --priority 'NORMAL:%DISABLE_SAFE_RENEGOTIATION'
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-gs]}" ca="$C/ca.pem" servername=localhost \
    lines=3 allowLegacyServer=1 timeout=20000
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc == 0)) || ic_fail "allowLegacyServer did not connect (status $rc)"
  rc=0
  dtlsrun_client "$IC_C-dr" 30 port="${IT_PORT[$IC_C-gs]}" ca="$C/ca.pem" servername=localhost \
    lines=3 allowLegacyServer=1 renegotiate=1 timeout=20000
  it_wait "$IC_C-dr" 25 || rc=$?
  ((rc != 0)) || ic_fail "renegotiated with a legacy server"
  grep -q "no secure renegotiation" "$IT_TMP/$IC_C-dr.out" || ic_fail "renegotiate() did not say why"
}
ic_case "server without RFC 5746, allowLegacyServer: connects, never renegotiates" no legacy_allowed
ic_end

# ---- Mbed TLS 3.6 -------------------------------------------------------------
PEERS=${DTLSRUN_MBEDTLS_PEERS:-$DTLSRUN_ROOT/../shared/peers}
MC=$PEERS/mbedtls3-client
MS=$PEERS/mbedtls3-server
if [[ ! -x $MC || ! -x $MS ]]; then
  it_log "SKIP (the rest): the Mbed TLS 3.6 peers are missing ($MC, $MS)"
  exit 77
fi

ic_begin "mbedtls3-client (Mbed TLS 3.6) --renegotiate" server
dtlsrun_server mbed "cert=$C/server-ec256.pem" "key=$C/server-ec256.key" allowRenegotiation=1 \
  renegotiationInterval=0 connectionId=6
mbedtls_reneg() {
  local rc=0 want=$1 word
  shift
  ic_mark "$1"
  local srv=$1
  shift
  it_start "$IC_C-mc" 30 "$MC" --host 127.0.0.1 --port "${IT_PORT[$srv]}" --timeout 15 --renegotiate "$@"
  it_wait "$IC_C-mc" 25 || rc=$?
  for word in $want; do
    grep -q "$word" "$IT_TMP/$IC_C-mc.out" || ic_fail "expected '$word' in: $(cat "$IT_TMP/$IC_C-mc.out")"
  done
  echo "$rc" >"$IT_TMP/$IC_C-rc"
}
mbed_ok() {
  mbedtls_reneg "$@"
  [[ $(cat "$IT_TMP/$IC_C-rc") == 0 ]] || ic_fail "mbedtls3-client failed"
  ic_server_saw "$2" "renegotiated " || ic_fail "dtlsrun did not report the renegotiation"
}
ic_case "renegotiated=yes, 10 echoes" no mbed_ok "^OK .*echoed=10 cid=no renegotiated=yes" mbed
ic_case "renegotiated=yes with CIDs both ways" no \
  mbed_ok "^OK .*echoed=10 cid=yes renegotiated=yes" mbed --cid 0a0b0c0d
dtlsrun_server mbed_deny "cert=$C/server-ec256.pem" "key=$C/server-ec256.key"
mbed_refused() {
  mbedtls_reneg "$@"
  grep -q "renegotiation refused" "$IT_TMP/mbed_deny.err" || ic_fail "dtlsrun did not refuse"
}
ic_case "without allowRenegotiation: refused (no_renegotiation)" no \
  mbed_refused "renegotiation refused" mbed_deny
ic_end

ic_begin "mbedtls3-server (Mbed TLS 3.6) --renegotiate (HelloRequest)" client
# The server asks after echoing the first record; Mbed TLS drops application
# data that arrives while it renegotiates, so the client resends what is not
# echoed (resend=MS).
mbed_server() {
  local rc=0
  it_start_udp_server "$IC_C-ms" "$MS" --port '{PORT}' --renegotiate \
    --cert "$C/server-ec256.pem" --key "$C/server-ec256.key" --idle 5 "$@"
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-ms]}" ca="$C/ca.pem" servername=localhost \
    lines=6 serial=1 resend=300 tries=10 allowRenegotiation=1 renegotiationInterval=0 \
    expectRenegotiated=1 ${CLIENT_CID:+connectionId=4} timeout=20000
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client failed (status $rc): $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  it_wait_for_text "$IT_TMP/$IC_C-ms.err" "session was renegotiated: epoch 2" 5 \
    || ic_fail "mbedtls3-server did not see the renegotiation"
}
ic_case "HelloRequest accepted with allowRenegotiation" no mbed_server
mbed_server_cid() {
  CLIENT_CID=1 mbed_server --cid 0102030405
  grep -q "handshake ok .* cid=yes" "$IT_TMP/$IC_C-ms.err" || ic_fail "no CIDs"
}
ic_case "HelloRequest accepted, CIDs both ways" no mbed_server_cid
mbed_server_refused() {
  local rc=0
  it_start_udp_server "$IC_C-ms" "$MS" --port '{PORT}' --renegotiate \
    --cert "$C/server-ec256.pem" --key "$C/server-ec256.key" --idle 5
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-ms]}" ca="$C/ca.pem" servername=localhost \
    lines=6 serial=1 timeout=20000
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client failed (status $rc)"
  grep -q "renegotiation refused" "$IT_TMP/$IC_C-dc.err" || ic_fail "the client did not refuse"
  ! grep -q "^renegotiated" "$IT_TMP/$IC_C-dc.out" || ic_fail "renegotiated without allowRenegotiation"
}
ic_case "HelloRequest without allowRenegotiation: refused, the session goes on" no mbed_server_refused
ic_end

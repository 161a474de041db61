#!/usr/bin/env bash
# Session resumption (RFC 5246 7.3 abbreviated handshake; RFC 5077 tickets
# and the session-ID cache) with real peers, both roles. Every resumed
# session must echo the lines byte for byte.
#   dtlsrun server: openssl s_client -reconnect (5 resumptions) with tickets,
#     with -no_ticket (the session-ID cache), with PSK; a server with both
#     turned off resumes nothing; gnutls-cli --resume, tickets and cache.
#   dtlsrun client (echo_client.lua clients=3 resume=1: each connection
#     offers the session the one before got): openssl s_server and
#     gnutls-serv.
set -euo pipefail
: "${IT_ECHO_TIMEOUT:=10}"
: "${IT_DEADLINE:=200}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
CERT=(cert="$C/server-ec256.pem" key="$C/server-ec256.key")
PSK_HEX=00112233445566778899aabbccddeeff
ic_lines "$IT_TMP/lines"

# resumed_count NAME: how many "resumed" lines NAME printed since ic_mark.
resumed_count() {
  tail -n +"$((${IC_MARK[$1]:-0} + 1))" "$IT_TMP/$1.out" | grep -c "^resumed " || true
}

ic_begin "openssl s_client -dtls1_2 -reconnect" server
dtlsrun_server both "${CERT[@]}"
dtlsrun_server cache "${CERT[@]}" tickets=0
dtlsrun_server none "${CERT[@]}" tickets=0 sessionCacheSize=0
dtlsrun_server psk psk="dev:$PSK_HEX"

# openssl_resume SERVER WANT [s_client args...]: s_client makes a full
# handshake and 5 reconnections, then echoes the lines on the last one;
# the server must have reported WANT resumed sessions.
openssl_resume() {
  local srv=$1 want=$2 n
  shift 2
  ic_mark "$srv"
  openssl_client "$IC_C-sc" "${IT_PORT[$srv]}" "$IT_TMP/lines" "$IT_TMP/lines" -reconnect "$@" \
    || ic_fail "the lines did not come back"
  n=$(resumed_count "$srv")
  ((n == want)) || ic_fail "dtlsrun reported $n resumed sessions, expected $want"
}
ic_case "tickets (RFC 5077): 5 of 5 resumed" no openssl_resume both 5 -CAfile "$C/ca.pem"
ic_case "session-ID cache (-no_ticket): 5 of 5 resumed" no openssl_resume both 5 -CAfile "$C/ca.pem" -no_ticket
ic_case "session-ID cache only (server tickets=0): 5 of 5 resumed" no openssl_resume cache 5 -CAfile "$C/ca.pem"
ic_case "tickets=0 sessionCacheSize=0: nothing resumed" no openssl_resume none 0 -CAfile "$C/ca.pem"
ic_case "PSK-AES128-CCM8: 5 of 5 resumed" no \
  openssl_resume psk 5 -psk_identity dev -psk "$PSK_HEX" -cipher PSK-AES128-CCM8

ic_begin "gnutls-cli --udp --resume" server
# gnutls_resume SERVER [gnutls-cli args...]: one resumption, then the lines.
gnutls_resume() {
  local srv=$1 n
  shift
  ic_mark "$srv"
  gnutls_client "$IC_C-gc" "${IT_PORT[$srv]}" "$IT_TMP/lines" "$IT_TMP/lines" --resume "$@" \
    || ic_fail "the lines did not come back"
  grep -q "This is a resumed session" "$IT_TMP/$IC_C-gc.log" || ic_fail "gnutls-cli did not resume"
  n=$(resumed_count "$srv")
  ((n == 1)) || ic_fail "dtlsrun reported $n resumed sessions, expected 1"
}
ic_case "tickets: resumed" no gnutls_resume both --x509cafile "$C/ca.pem"
ic_case "session-ID cache (server tickets=0): resumed" no gnutls_resume cache --x509cafile "$C/ca.pem"

ic_begin "openssl s_server -dtls1_2" client
# s_server does not echo: the harness writes back what it received, once
# per connection (the expected bytes grow by one copy of the lines each time).
openssl_server_resumed() {
  local rc=0 i
  : >"$IT_TMP/$IC_C-want"
  openssl_server "$IC_C-ss" -naccept 3 -cert "$C/server-ec256.pem" -key "$C/server-ec256.key" "$@"
  dtlsrun_client "$IC_C-dc" 40 port="${IT_PORT[$IC_C-ss]}" input="$IT_TMP/lines" ca="$C/ca.pem" \
    servername=localhost clients=3 resume=1 timeout=30000
  for i in 1 2 3; do
    cat "$IT_TMP/lines" >>"$IT_TMP/$IC_C-want"
    it_wait_for_bytes "$IT_TMP/$IC_C-ss.out" "$IT_TMP/$IC_C-want" 10 "$IC_C-dc" \
      || ic_fail "s_server did not receive the lines of connection $i"
    it_send_file "$IC_C-ss" "$IT_TMP/lines"
  done
  it_wait "$IC_C-dc" 20 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client exited with status $rc"
  grep -qx "resumed 2 of 2" "$IT_TMP/$IC_C-dc.out" || ic_fail "the dtlsrun client did not resume twice"
}
ic_case "tickets: 2 of 2 resumed" no openssl_server_resumed
ic_case "session-ID cache (-no_ticket): 2 of 2 resumed" no openssl_server_resumed -no_ticket

ic_begin "gnutls-serv --udp --echo" client
gnutls_server_resumed() {
  local rc=0
  ic_gnutls_server "$IC_C-gs" --x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key" "$@"
  dtlsrun_client "$IC_C-dc" 40 port="${IT_PORT[$IC_C-gs]}" input="$IT_TMP/lines" ca="$C/ca.pem" \
    servername=localhost clients=3 resume=1 timeout=30000
  it_wait "$IC_C-dc" 35 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client exited with status $rc"
  grep -qx "resumed 2 of 2" "$IT_TMP/$IC_C-dc.out" || ic_fail "the dtlsrun client did not resume twice"
}
ic_case "tickets: 2 of 2 resumed" no gnutls_server_resumed
ic_case "session-ID cache (--noticket): 2 of 2 resumed" no gnutls_server_resumed --noticket

ic_end

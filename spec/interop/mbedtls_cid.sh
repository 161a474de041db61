#!/usr/bin/env bash
# RFC 9146 Connection IDs and resumption against an independent stack: the
# Mbed TLS 3.6 test peers in ../shared/peers (see its README).
#   dtlsrun server, mbedtls3-client: a CID each way; only the server's (the
#     client asks for none); a NAT rebinding halfway (--rebind: the rest of
#     the session comes from a new socket and must still be echoed, and the
#     server reports the move); PSK with CIDs; 3 resumptions by ticket.
#   dtlsrun client, mbedtls3-server --cid: CIDs both ways, 2 resumptions.
# Skipped, loudly, when the peers are not there.
set -euo pipefail
: "${IT_DEADLINE:=120}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
PEERS=${DTLSRUN_MBEDTLS_PEERS:-$DTLSRUN_ROOT/../shared/peers}
MC=$PEERS/mbedtls3-client
MS=$PEERS/mbedtls3-server
[[ -x $MC && -x $MS ]] || it_skip "the Mbed TLS 3.6 peers are missing ($PEERS/mbedtls3-client, -server)"
PSK_HEX=00112233445566778899aabbccddeeff

ic_begin "mbedtls3-client (Mbed TLS 3.6)" server
dtlsrun_server cid "cert=$C/server-ec256.pem" "key=$C/server-ec256.key" connectionId=6 \
  "psk=dev:$PSK_HEX"

# mbedtls_ok NAME WANT [client args...]: the client must end with an OK line
# containing every word of WANT.
mbedtls_ok() {
  local name=$1 want=$2 rc=0 word
  shift 2
  it_start "$name" 30 "$MC" --host 127.0.0.1 --port "${IT_PORT[cid]}" --timeout 15 "$@"
  it_wait "$name" 25 || rc=$?
  ((rc == 0)) || ic_fail "mbedtls3-client failed (status $rc): $(tail -n 1 "$IT_TMP/$name.out")"
  for word in $want; do
    grep -q "^OK .*$word" "$IT_TMP/$name.out" || ic_fail "expected '$word' in: $(cat "$IT_TMP/$name.out")"
  done
}
ic_case "CID both ways (client 4 bytes, server 6)" no mbedtls_ok "$IC_C-mc" "echoed=10 cid=yes" --cid 0a0b0c0d
ic_case "server's CID only (--cid=)" no mbedtls_ok "$IC_C-mc" "echoed=10 cid=yes" --cid=

rebind_case() {
  ic_mark cid
  mbedtls_ok "$IC_C-mc" "echoed=10 cid=yes rebound=yes" --cid 0a0b0c0d --rebind
  ic_server_saw cid "moved " || ic_fail "dtlsrun did not report the move"
}
ic_case "NAT rebinding halfway (--rebind)" no rebind_case
ic_case "PSK-AES128-CCM8 with CIDs, rebinding" no \
  mbedtls_ok "$IC_C-mc" "cipher=TLS_PSK_WITH_AES_128_CCM_8 echoed=10 cid=yes rebound=yes" \
  --psk "dev:$PSK_HEX" --cipher PSK-AES128-CCM8 --cid 01 --rebind
resume_case() {
  ic_mark cid
  mbedtls_ok "$IC_C-mc" "cid=yes resumed=3/3" --cid 0a0b0c0d --resume 3 --messages 4
  ic_server_saw cid "resumed " || ic_fail "dtlsrun did not report a resumed session"
}
ic_case "3 resumptions (tickets) with CIDs" no resume_case

ic_begin "mbedtls3-server (Mbed TLS 3.6)" client
client_case() {
  local rc=0 n
  it_start_udp_server "$IC_C-ms" "$MS" --port '{PORT}' --cid 0102030405 \
    --cert "$C/server-ec256.pem" --key "$C/server-ec256.key" --idle 5
  dtlsrun_client "$IC_C-dc" 40 port="${IT_PORT[$IC_C-ms]}" ca="$C/ca.pem" servername=localhost \
    lines=5 connectionId=4 clients=3 resume=1 timeout=30000
  it_wait "$IC_C-dc" 35 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client failed (status $rc): $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  grep -qx "resumed 2 of 2" "$IT_TMP/$IC_C-dc.out" || ic_fail "the dtlsrun client did not resume twice"
  n=$(grep -c "handshake ok .* cid=yes peer_cid=[0-9a-f]\{8\} own_cid=0102030405" "$IT_TMP/$IC_C-ms.err" || true)
  ((n == 3)) || ic_fail "mbedtls3-server saw $n CID handshakes, expected 3"
  grep -q "resumed cid=yes" "$IT_TMP/$IC_C-ms.err" || ic_fail "mbedtls3-server did not resume"
}
ic_case "CIDs both ways (client 4 bytes, server 5), 2 resumptions" no client_case

ic_end

#!/usr/bin/env bash
# RFC 9146 Connection IDs across NAT rebindings: a dtlsrun client talks to a
# dtlsrun server through spec/tools/udp_relay --rebind-every 2, which gives
# the session a new source port before every second application datagram
# (the old port is closed, as a NAT's expired mapping is). Lines go one at a
# time (serial=1), each after the echo of the one before.
# - With CIDs the association survives all 20 moves: every line is echoed,
#   and the server reports each move ("moved OLD NEW", socket 'rinfo').
# - Without them the server cannot know the new port is the same peer: the
#   session is lost at the first move (no ClientHello, so nothing starts).
set -euo pipefail
: "${IT_DEADLINE:=90}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
CERT=(cert="$C/server-ec256.pem" key="$C/server-ec256.key")

ic_begin "dtlsrun client via udp_relay --rebind-every 2" server

cid_moves() {
  dtlsrun_server "$IC_C-srv" "${CERT[@]}" connectionId=8
  ic_cid_rebinds "$IC_C-srv"
}
ic_case "CID 8 bytes (server), 0 (client): 20 rebindings, 40 lines" no cid_moves

no_cid_lost() {
  local rc=0
  dtlsrun_server "$IC_C-srv" "${CERT[@]}"
  relay "$IC_C-relay" "${IT_PORT[$IC_C-srv]}" --rebind-every 2
  dtlsrun_client "$IC_C-dc" 15 port="${IT_PORT[$IC_C-relay]}" ca="$C/ca.pem" servername=localhost \
    lines=40 serial=1 timeout=3000
  it_wait "$IC_C-dc" 10 || rc=$?
  ((rc != 0)) || ic_fail "without CIDs the session survived a rebinding"
  grep -q "^FAIL timed out.*connected, 1 of 40 lines echoed" "$IT_TMP/$IC_C-dc.out" \
    || ic_fail "expected the session to stop at the first move: $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  ! grep -q "^moved" "$IT_TMP/$IC_C-srv.out" || ic_fail "the server moved a peer without a CID"
}
ic_case "no CID: the session is lost at the first rebinding" no no_cid_lost

ic_end

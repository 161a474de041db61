#!/usr/bin/env bash
# Loss: 100 consecutive DTLS handshakes between a dtlsrun server and dtlsrun
# clients through spec/tools/udp_relay, which drops 20 %, reorders 10 % and
# duplicates 10 % of the datagrams in each direction. Every handshake must
# complete (no handshake is ever retried) and every line must be echoed.
#
# - The handshake recovers by itself: flights are retransmitted from 1 s,
#   doubling (RFC 6347 4.2.4). With 20 % loss each way, one round trip fails
#   36 % of the time, so a few of the ~300 exchanges need 5-7 tries and wait
#   31-63 s or more (0.36^6 = 0.2 % per exchange). Such a stall is bad luck,
#   not a failure: the clients get handshakeTimeout = 240 s, and run 20 at a
#   time (echo_client.lua parallel=20) so that the other handshakes go on.
# - Application data is not retransmitted by DTLS: echo_client.lua sends each
#   line again every 500 ms until its echo arrives (resend=500), at most 40
#   times (tries=40), and ignores the extra echoes of lines it sent twice.
#
# KNOWN FAILING, intermittently (a dtlsrun bug, kept failing on purpose): a
# duplicated or late second ClientHello that reaches the server after the
# handshake it belongs to has completed starts a phantom "new association
# beside the established one" (RFC 6347 4.2.8 is meant for a new ClientHello,
# not a copy of the last one). When the server's last flight was lost too, the
# client's retransmitted flight 5 then goes to the phantom handshake, which
# answers bad_record_mac and the client's handshake fails ("FAIL client N:
# bad_record_mac alert received"), or waits until handshakeTimeout.
#
# IT_LOSS_HANDSHAKES / IT_LOSS_PARALLEL / IT_LOSS_SEED change the run; the
# seed is logged (it fixes the relay's choices, not the timing).
set -euo pipefail
: "${IT_DEADLINE:=280}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
N=${IT_LOSS_HANDSHAKES:-100}
P=${IT_LOSS_PARALLEL:-20}
SEED=${IT_LOSS_SEED:-$((RANDOM * 32768 + RANDOM))}
SUITE=ECDHE-ECDSA-AES128-GCM-SHA256

ic_begin "dtlsrun client via udp_relay (20 % drop, 10 % reorder, 10 % duplicate, both ways)" server

loss_case() {
  local rc=0 t0=$SECONDS secure retransmits longest dir
  dtlsrun_server "$IC_C-srv" cert="$C/server-ec256.pem" key="$C/server-ec256.key"
  relay "$IC_C-relay" "${IT_PORT[$IC_C-srv]}" --drop 0.2 --reorder 0.1 --duplicate 0.1 --seed "$SEED"
  it_log "relay seed $SEED; $N handshakes, $P at a time"
  IC_LOG_LEVEL=FINE dtlsrun_client "$IC_C-dc" $((IT_DEADLINE - 10)) port="${IT_PORT[$IC_C-relay]}" \
    ca="$C/ca.pem" servername=localhost ciphers="$SUITE" clients="$N" parallel="$P" lines=3 \
    resend=500 tries=40 handshakeTimeout=240000 timeout=$(((IT_DEADLINE - 15) * 1000))
  it_wait "$IC_C-dc" $((IT_DEADLINE - 10)) || rc=$?
  retransmits=$(grep -c "retransmitting flight" "$IT_TMP/$IC_C-dc.err" || true)
  longest=$(grep -o "next timeout [0-9]* ms" "$IT_TMP/$IC_C-dc.err" | awk '$3 > m { m = $3 } END { print m + 0 }')
  it_log "client: $(tail -n 1 "$IT_TMP/$IC_C-dc.out"); $retransmits flight retransmissions," \
    "longest backoff reached ${longest} ms; $((SECONDS - t0)) s"
  ((rc == 0)) || ic_fail "the dtlsrun clients failed (status $rc): $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  grep -Eq "^ok $N handshakes, [0-9]+ lines resent\$" "$IT_TMP/$IC_C-dc.out" || ic_fail "the client did not report $N handshakes"
  secure=$(grep -c "^secure [0-9]* $SUITE\$" "$IT_TMP/$IC_C-dc.out" || true)
  ((secure == N)) || ic_fail "$secure of $N handshakes reported $SUITE"
  # The relay prints its counters when it stops: the loss must have been real.
  it_stop "$IC_C-relay" || true
  it_log "$(tr '\n' ' ' <"$IT_TMP/$IC_C-relay.err")"
  for dir in "client->server" "server->client"; do
    grep -Eq "$dir .*dropped=[1-9].* duplicated=[1-9].* reordered=[1-9]" "$IT_TMP/$IC_C-relay.err" \
      || ic_fail "the relay did not drop, duplicate and reorder $dir"
  done
}
ic_case "$SUITE: $N handshakes ($P at a time), 3 lines each, all echoed" no loss_case

ic_end

#!/usr/bin/env bash
# Proves udp_relay with real peers before dtlsrun exists: DTLS 1.2 handshakes
# between openssl s_client and a real server through 20 % loss both ways, plus
# reordering and duplication, must still complete and carry data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
impair=(--drop 0.2 --reorder 0.1 --duplicate 0.1)
# Handshakes retransmit; application data does not: resend the line until it arrives.
IT_RESEND=1

# The relay refuses anything but loopback.
if "$DTLSRUN_TOOLS/udp_relay" --listen 127.0.0.1:1 --to 192.0.2.1:9 >/dev/null 2>&1; then
  it_fail "udp_relay accepted a non-loopback destination"
fi

# -- openssl s_client -> relay -> gnutls-serv --echo ----------------------------
# gnutls-serv --udp serves one client at a time (a session whose close_notify
# was lost keeps it busy), so each peer pair gets a fresh server.
gnutls_server echo --x509certfile "$C/server-ec256.pem" --x509keyfile "$C/server-ec256.key"
relay r1 "${IT_PORT[echo]}" "${impair[@]}" --seed 1
printf 'through the lossy relay\n' >"$IT_TMP/line"
openssl_client sc1 "${IT_PORT[r1]}" "$IT_TMP/line" "$IT_TMP/line" -CAfile "$C/ca.pem" -verify_return_error \
  || it_fail "s_client via relay: no echo from gnutls-serv"
it_stop r1 || true
grep -q 'dropped=[1-9]' "$IT_TMP/r1.err" || it_fail "relay dropped nothing: the test proved nothing"
it_log "ok: s_client -> relay -> gnutls-serv: $(tr '\n' ' ' <"$IT_TMP/r1.err")"
it_stop echo || true

# -- openssl s_client -> relay -> openssl s_server --------------------------------
# s_server does not echo: check that it receives the line.
openssl_server ss -cert "$C/server-ec384-chain.pem" -key "$C/server-ec384.key" -naccept 1
relay r2 "${IT_PORT[ss]}" "${impair[@]}" --seed 2
it_start sc2 60 openssl s_client -dtls1_2 -nbio -connect "127.0.0.1:${IT_PORT[r2]}" \
  -quiet -no_ign_eof -nocommands -CAfile "$C/ca.pem" -verify_return_error
got=2
for ((i = 0; i < 40 && got == 2; i++)); do
  it_running sc2 || it_fail "s_client gave up"
  it_send_file sc2 "$IT_TMP/line"
  got=0
  it_wait_for_bytes "$IT_TMP/ss.out" "$IT_TMP/line" 1 || got=$?
done
((got == 0)) || it_fail "s_server did not receive the line through the relay"
it_close_stdin sc2
it_wait sc2 10 || it_fail "s_client did not exit cleanly"
it_stop r2 || true
it_log "ok: s_client -> relay -> s_server: $(tr '\n' ' ' <"$IT_TMP/r2.err")"

#!/usr/bin/env bash
# dtlsrun --workers 2 with real peers and the relay:
# - openssl s_client -reconnect: 5 reconnections from new source ports land
#   on either worker (the kernel's reuseport hash); every one resumes, since
#   the workers share the master's ticket key, and every handshake's cookie
#   verifies wherever its ClientHello lands.
# - RFC 9146 CIDs through spec/tools/udp_relay --rebind-every 2: each new
#   source port hashes to a random worker, but the master's reuseport cBPF
#   program steers a tls12_cid record to the worker named by the CID's
#   first byte, so all 20 moves are survived. With the program left out
#   (DTLSRUN_CID_STEERING=0) the session is lost within a few moves: each
#   lands on the wrong worker half the time (surviving 20 would be 1 in 2^20).
#   Steering still holds after a worker was SIGKILLed and restarted.
set -euo pipefail
: "${IT_DEADLINE:=150}"
: "${IT_ECHO_TIMEOUT:=15}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
CERT=(cert="$C/server-ec256.pem" key="$C/server-ec256.key")
ic_lines "$IT_TMP/lines"

# workers_server NAME [key=value...]: echo_server.lua under dtlsrun --workers 2.
workers_server() {
  local name=$1
  shift
  it_start_udp_server "$name" "$DTLSRUN_BIN" --workers 2 --log-level INFO \
    "$IC_DIR/echo_server.lua" 'port={PORT}' "$@"
  it_wait_for_text "$IT_TMP/$name.err" "2 workers started" 10 || it_fail "$name: the workers did not start"
}

ic_begin "openssl s_client -dtls1_2 -reconnect" "server (--workers 2)"
reconnect_resumes() {
  local n
  workers_server "$IC_C-srv" "${CERT[@]}"
  openssl_client "$IC_C-sc" "${IT_PORT[$IC_C-srv]}" "$IT_TMP/lines" "$IT_TMP/lines" -reconnect \
    -CAfile "$C/ca.pem" || ic_fail "the lines did not come back"
  n=$(grep -c "^resumed " "$IT_TMP/$IC_C-srv.out" || true)
  ((n == 5)) || ic_fail "the workers reported $n resumed sessions, expected 5"
  it_log "workers that served: $(awk '/^worker /{print $3}' "$IT_TMP/$IC_C-srv.out" | sort | uniq -c | tr '\n' ' ')"
}
ic_case "tickets: 5 of 5 resumed across workers" no reconnect_resumes

ic_begin "dtlsrun client via udp_relay --rebind-every 2" "server (--workers 2)"
cid_steered() {
  workers_server "$IC_C-srv" "${CERT[@]}" connectionId=8
  ic_cid_rebinds "$IC_C-srv"
}
ic_case "CID 8 bytes, steered by the first byte: 20 rebindings, 40 lines" no cid_steered

# After a worker is killed and restarted, it takes back its own socket (the
# master kept it at its index in the reuseport group): steering still holds.
cid_steered_after_restart() {
  local master workers
  workers_server "$IC_C-srv" "${CERT[@]}" connectionId=8
  master=$(it_children_of "${IT_PID[$IC_C-srv]}")
  workers=($(it_children_of "$master"))
  ((${#workers[@]} == 2)) || ic_fail "expected 2 workers under the master $master, found ${workers[*]:-none}"
  kill -KILL "${workers[0]}"
  it_wait_for_text "$IT_TMP/$IC_C-srv.err" "restarted" 15 || ic_fail "the killed worker was not restarted"
  ic_cid_rebinds "$IC_C-srv"
}
ic_case "the same after a worker was killed and restarted" no cid_steered_after_restart

cid_unsteered_lost() {
  local rc=0
  DTLSRUN_CID_STEERING=0 workers_server "$IC_C-srv" "${CERT[@]}" connectionId=8
  relay "$IC_C-relay" "${IT_PORT[$IC_C-srv]}" --rebind-every 2
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-relay]}" ca="$C/ca.pem" servername=localhost \
    lines=40 serial=1 connectionId=0 timeout=8000
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc != 0)) || ic_fail "without steering the session survived 20 rebindings over 2 workers"
  it_log "without steering: $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
}
ic_case "the same without the reuseport program: the session is lost" no cid_unsteered_lost

ic_end

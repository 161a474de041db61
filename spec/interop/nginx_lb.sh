#!/usr/bin/env bash
# Two dtlsrun nodes behind a real UDP load balancer: Debian's nginx with its
# stream module (scripts/setup installs nginx and libnginx-mod-stream), on
# loopback, proxying one port to two dtlsrun processes that share their
# secrets through files (--ticket-keys, --cookie-secret), as two machines
# would (docs/deploy.md).
# - openssl s_client -reconnect through nginx: nginx's round robin sends
#   each new source port to the other node, so the full handshake happens
#   on one node and the reconnections alternate; all 5 must resume, and the
#   node that did not make the session must have resumed some of them.
# - The same with nodes holding different ticket keys: the other node's
#   reconnections are full handshakes (the control: a resumption across
#   nodes needs the shared file, and the test can tell).
# - A HelloVerifyRequest cookie made by one node verifies at the other:
#   spec/tools/udp_relay --switch-after 1 sends a client's first ClientHello
#   to node a and everything after (the ClientHello with a's cookie) to
#   node b, from the same address, as a balancer that keeps client addresses
#   does (the cookie binds the address: RFC 6347 4.2.1). With the shared
#   --cookie-secret, b completes the handshake without a HelloVerifyRequest
#   of its own; with another secret it must send one (the control).
# - CIDs through nginx with `hash $remote_addr consistent` (the deployment
#   docs/deploy.md recommends): every client of one address stays on one
#   node; a client whose source port changes every 2 lines (udp_relay
#   --rebind-every 2, in front of nginx) keeps its session on that node.
set -euo pipefail
: "${IT_DEADLINE:=150}"
: "${IT_ECHO_TIMEOUT:=15}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
C=$DTLSRUN_CERTS
CERT=(cert="$C/server-ec256.pem" key="$C/server-ec256.key")
ic_lines "$IT_TMP/lines"

NGINX=$(command -v nginx || true)
[[ -n $NGINX ]] || NGINX=/usr/sbin/nginx
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
if [[ ! -x $NGINX || ! -f $STREAM_MODULE ]]; then
  it_skip "nginx with its stream module is not installed (run scripts/setup: nginx libnginx-mod-stream)"
fi

head -c 48 /dev/urandom >"$IT_TMP/ticket.keys"
head -c 48 /dev/urandom >"$IT_TMP/other.keys"
head -c 32 /dev/urandom >"$IT_TMP/cookie.secret"
head -c 32 /dev/urandom >"$IT_TMP/other.secret"

# node NAME TICKET_FILE [key=value...]: one dtlsrun echo server, a node.
# COOKIE_SECRET (the environment) names another cookie secret file.
node() {
  local name=$1 keys=$2
  shift 2
  it_start_udp_server "$name" "$DTLSRUN_BIN" --log-level INFO --ticket-keys "$keys" \
    --cookie-secret "${COOKIE_SECRET:-$IT_TMP/cookie.secret}" "$IC_DIR/echo_server.lua" \
    'port={PORT}' "${CERT[@]}" "$@"
}

# balancer NAME BALANCING PORT_A PORT_B: nginx in the foreground, as root
# with its workers as nobody, everything it writes under $IT_TMP/NAME.d.
# BALANCING is "" for round robin or an upstream directive such as
# "hash $remote_addr consistent;".
balancer() {
  local name=$1 balancing=$2 a=$3 b=$4 dir="$IT_TMP/nginx.$1"
  mkdir -p "$dir"
  chmod 755 "$dir"
  # The listening port is chosen by it_start_udp_server; the file is written
  # by a small wrapper so that the port is known when nginx reads it. The
  # logs are beside the test's other files, shown when a case fails.
  cat >"$dir/conf.in" <<EOF
load_module $STREAM_MODULE;
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $IT_TMP/$name-error.log info;
events { worker_connections 512; }
stream {
    log_format dtls '\$remote_addr:\$remote_port -> \$upstream_addr \$status '
                    'in=\$bytes_received out=\$bytes_sent \$session_time';
    access_log $IT_TMP/$name-access.log dtls;
    upstream dtls_nodes {
        $balancing
        server 127.0.0.1:$a;
        server 127.0.0.1:$b;
    }
    server {
        listen 127.0.0.1:@PORT@ udp;
        proxy_pass dtls_nodes;
        # A proxy session is one client address; it ends after this much
        # silence (the client's next datagram then opens a new one, from a
        # new upstream port). Longer than any pause in these tests.
        proxy_timeout 30s;
    }
}
EOF
  it_start_udp_server "$name" bash -c 'sed "s/@PORT@/$1/" "$2/conf.in" >"$2/nginx.conf" &&
      exec "$3" -p "$2" -e "$4" -c "$2/nginx.conf"' nginx '{PORT}' "$dir" "$NGINX" "$IT_TMP/$name-error.log"
}

# resumed_on NODE: the sessions NODE resumed.
resumed_on() { grep -c "^resumed " "$IT_TMP/$1.out" || true; }
# full_on NODE: the handshakes NODE did in full.
full_on() {
  local all resumed
  all=$(grep -c "^secure " "$IT_TMP/$1.out" || true)
  resumed=$(resumed_on "$1")
  echo $((all - resumed))
}

ic_begin "openssl s_client -dtls1_2 -reconnect" "server (2 nodes behind nginx)"

# reconnect_across SHARED: s_client -reconnect through nginx's round robin.
reconnect_across() {
  local shared=$1 keys_b a b ra rb fa fb
  keys_b=$IT_TMP/ticket.keys
  [[ $shared == yes ]] || keys_b=$IT_TMP/other.keys
  node "$IC_C-a" "$IT_TMP/ticket.keys"
  node "$IC_C-b" "$keys_b"
  a=${IT_PORT[$IC_C-a]}
  b=${IT_PORT[$IC_C-b]}
  balancer "$IC_C-lb" "" "$a" "$b"
  openssl_client "$IC_C-sc" "${IT_PORT[$IC_C-lb]}" "$IT_TMP/lines" "$IT_TMP/lines" -reconnect \
    -CAfile "$C/ca.pem" || ic_fail "the lines did not come back through nginx"
  ra=$(resumed_on "$IC_C-a")
  rb=$(resumed_on "$IC_C-b")
  fa=$(full_on "$IC_C-a")
  fb=$(full_on "$IC_C-b")
  it_log "node a: $fa full, $ra resumed; node b: $fb full, $rb resumed"
  ((fa + ra > 0 && fb + rb > 0)) || ic_fail "nginx did not use both nodes"
  if [[ $shared == yes ]]; then
    ((fa + fb == 1)) || ic_fail "expected one full handshake in all, saw $((fa + fb))"
    ((ra + rb == 5)) || ic_fail "expected 5 resumptions across the nodes, saw $((ra + rb))"
    # The node without the full handshake resumed a session it never made.
    if ((fa == 1)); then ((rb > 0)) || ic_fail "node b resumed nothing"; fi
    if ((fb == 1)); then ((ra > 0)) || ic_fail "node a resumed nothing"; fi
  else
    # Each node resumes only the tickets it sealed: the first reconnection
    # to the other node is a full handshake.
    ((fa > 0 && fb > 0)) || ic_fail "with different ticket keys both nodes must make a full handshake"
  fi
}
ic_case "tickets shared by file: 5 of 5 resumed across both nodes" no reconnect_across yes
ic_case "ticket keys not shared: the other node makes a full handshake" no reconnect_across no

ic_begin "openssl s_client -dtls1_2 via udp_relay --switch-after 1" "server (2 nodes)"
# cookie_across SECRET_B WANT_B: the HelloVerifyRequests node b sent before
# its session must be WANT_B.
cookie_across() {
  local secret_b=$1 want=$2 got_b
  node "$IC_C-a" "$IT_TMP/ticket.keys"
  COOKIE_SECRET=$secret_b node "$IC_C-b" "$IT_TMP/ticket.keys"
  relay "$IC_C-relay" "${IT_PORT[$IC_C-a]}" --switch-to "127.0.0.1:${IT_PORT[$IC_C-b]}" --switch-after 1
  openssl_client "$IC_C-sc" "${IT_PORT[$IC_C-relay]}" "$IT_TMP/lines" "$IT_TMP/lines" -CAfile "$C/ca.pem" \
    || ic_fail "the lines did not come back"
  it_stop "$IC_C-relay" || true
  grep -qx "udp_relay: switches=1" "$IT_TMP/$IC_C-relay.err" || ic_fail "the relay did not switch nodes"
  grep -q "^secure " "$IT_TMP/$IC_C-b.out" || ic_fail "node b made no session"
  ! grep -q "^secure " "$IT_TMP/$IC_C-a.out" || ic_fail "node a made a session"
  got_b=$(awk '/^cookies /{print $3; exit}' "$IT_TMP/$IC_C-b.out")
  it_log "HelloVerifyRequests by node b before its session: $got_b"
  [[ $got_b == "$want" ]] || ic_fail "node b sent $got_b HelloVerifyRequests, expected $want"
}
ic_case "shared --cookie-secret: a's cookie verifies at b" no cookie_across "$IT_TMP/cookie.secret" 0
ic_case "another secret at b: b sends its own HelloVerifyRequest" no cookie_across "$IT_TMP/other.secret" 1

ic_begin "dtlsrun client via udp_relay --rebind-every 2" "server (2 nodes behind nginx, hash \$remote_addr)"
cid_through_nginx() {
  local a b moved_a moved_b
  node "$IC_C-a" "$IT_TMP/ticket.keys" connectionId=8
  node "$IC_C-b" "$IT_TMP/ticket.keys" connectionId=8
  a=${IT_PORT[$IC_C-a]}
  b=${IT_PORT[$IC_C-b]}
  balancer "$IC_C-lb" 'hash $remote_addr consistent;' "$a" "$b"
  relay "$IC_C-relay" "${IT_PORT[$IC_C-lb]}" --rebind-every 2
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-relay]}" ca="$C/ca.pem" servername=localhost \
    lines=40 serial=1 connectionId=0 timeout=20000
  it_wait "$IC_C-dc" 25 || ic_fail "the client failed: $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  grep -qx "ok 1 handshakes" "$IT_TMP/$IC_C-dc.out" || ic_fail "the client did not finish"
  it_stop "$IC_C-relay" || true
  grep -qx "udp_relay: rebinds=20" "$IT_TMP/$IC_C-relay.err" || ic_fail "the relay did not rebind 20 times"
  moved_a=$(grep -c "^moved " "$IT_TMP/$IC_C-a.out" || true)
  moved_b=$(grep -c "^moved " "$IT_TMP/$IC_C-b.out" || true)
  it_log "moves followed: node a $moved_a, node b $moved_b"
  ((moved_a + moved_b == 20)) || ic_fail "expected 20 moves on one node, saw $moved_a + $moved_b"
  ((moved_a == 0 || moved_b == 0)) || ic_fail "the session was split over both nodes"
}
ic_case "CID 8 bytes: 20 rebindings through nginx, one node, 40 lines" no cid_through_nginx

ic_end

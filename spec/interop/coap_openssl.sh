#!/usr/bin/env bash
# CoAP over DTLS: scripts/coap-hello.lua under dtlsrun, queried by libcoap's
# coap-client (Debian package libcoap3-bin). This file runs with
# coap-client-openssl; coap_gnutls.sh runs it again with COAP_CLIENT=coap-client-gnutls.
#   PSK (-u identity -k key; the key is the ASCII text "secretKey", which the
#   script is given in hex): GET /hello -> 2.05 "Hello from dtlsrun",
#   /.well-known/core, 4.04, 4.05, 4.06, 4.02, a Non-confirmable GET; the
#   suite libcoap ends up with when dtlsrun may pick any; each PSK suite
#   libcoap offers, one server restricted to it; a wrong key and an unknown
#   identity fail (and the server keeps serving); the identity hint picks the
#   identity from libcoap's -h hint file.
#   Certificates: ECDHE-ECDSA-AES128-CCM8 (CoAP's certificate mode, RFC 7252
#   9.1.3.3) verified with -C ca.pem, the embedded default certificate with -n,
#   and a server with both a certificate and a key, where the client's offer decides.
set -euo pipefail
: "${IT_ECHO_TIMEOUT:=10}"
: "${COAP_CLIENT:=coap-client-openssl}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init
command -v "$COAP_CLIENT" >/dev/null \
  || it_fail "$COAP_CLIENT not installed (Debian package libcoap3-bin; run scripts/setup)"
C=$DTLSRUN_CERTS

ID=coap-client
KEY=secretKey                    # what coap-client's -k takes: the key's bytes as text
HEXKEY=$(printf '%s' "$KEY" | od -An -tx1 | tr -d ' \n')
HELLO="Hello from dtlsrun"
# The PSK suites both libcoap builds offer (seen in their ClientHellos). Neither
# offers ECDHE-PSK-AES128-GCM-SHA256 (RFC 8442), so it has no case here.
SUITES=(PSK-AES128-CCM8 PSK-AES128-CCM PSK-AES128-GCM-SHA256 PSK-AES256-GCM-SHA384
        ECDHE-PSK-CHACHA20-POLY1305)

# coap_server NAME [name=value...]: coap-hello.lua on 127.0.0.1:${IT_PORT[NAME]}.
# Its log (INFO: one "handshake done SUITE" line per handshake and one line
# per request) is $IT_TMP/NAME.err.
coap_server() {
  local name=$1
  shift
  it_start_udp_server "$name" "$DTLSRUN_BIN" --log-level INFO "$DTLSRUN_ROOT/scripts/coap-hello.lua" \
    '{PORT}' address=127.0.0.1 "$@"
}

# coap_request NAME SERVER PATH [coap-client args...]: one request; the
# payload of a success lands in $IT_TMP/NAME.payload (-o), the code of an
# error response ("4.04 Not Found") in $IT_TMP/NAME.err, and libcoap's log
# (warnings and errors, e.g. alerts) in $IT_TMP/NAME.out. coap-client exits 0
# even when the handshake fails, so callers check the files.
coap_request() {
  local name=$1 srv=$2 path=$3 rc=0
  shift 3
  : >"$IT_TMP/$name.payload"
  it_start "$name" 30 "$COAP_CLIENT" -B 10 -o "$IT_TMP/$name.payload" "$@" \
    "coaps://127.0.0.1:${IT_PORT[$srv]}$path"
  it_wait "$name" 25 || rc=$?
  ((rc == 0)) || ic_fail "$COAP_CLIENT exited with status $rc"
}

# Server logs are shared by cases: coap_mark remembers where this case starts.
declare -A COAP_MARK=()
coap_mark() { COAP_MARK[$1]=$(wc -l <"$IT_TMP/$1.err"); }

# coap_server_saw SERVER PATTERN [SECONDS]: SERVER's log has a line matching
# PATTERN (grep -E) since the mark (waits up to SECONDS, default 3).
coap_server_saw() {
  local srv=$1 pattern=$2 secs=${3:-3} i
  for ((i = 0; i <= secs * 20; i++)); do
    tail -n +"$((${COAP_MARK[$srv]:-0} + 1))" "$IT_TMP/$srv.err" | grep -qE -- "$pattern" && return 0
    sleep 0.05
  done
  return 1
}

# coap_suite SERVER: the suite of the last handshake SERVER completed since the mark.
coap_suite() {
  tail -n +"$((${COAP_MARK[$1]:-0} + 1))" "$IT_TMP/$1.err" | sed -n 's/.* handshake done \([^ ]*\).*/\1/p' | tail -n 1
}

# get_case SERVER SUITE|"" PATH EXPECTED_PAYLOAD [coap-client args...]:
# the payload must be exactly EXPECTED, and the server must have used SUITE.
get_case() {
  local srv=$1 suite=$2 path=$3 want=$4
  shift 4
  coap_mark "$srv"
  coap_request "$IC_C-cc" "$srv" "$path" "$@"
  [[ $(<"$IT_TMP/$IC_C-cc.payload") == "$want" ]] \
    || ic_fail "expected the payload '$want', got '$(cat -v "$IT_TMP/$IC_C-cc.payload")'"
  coap_server_saw "$srv" "handshake done " || ic_fail "dtlsrun logged no handshake"
  [[ -z $suite || $(coap_suite "$srv") == "$suite" ]] \
    || ic_fail "dtlsrun used $(coap_suite "$srv"), not $suite"
}

# error_case SERVER PATH CODE_TEXT [coap-client args...]: libcoap reports an
# error response CODE_TEXT (e.g. "4.04 Not Found"), and the server logged it.
error_case() {
  local srv=$1 path=$2 code=$3
  shift 3
  coap_mark "$srv"
  coap_request "$IC_C-cc" "$srv" "$path" "$@"
  grep -qF "$code" "$IT_TMP/$IC_C-cc.err" || ic_fail "$COAP_CLIENT did not report '$code'"
  [[ ! -s "$IT_TMP/$IC_C-cc.payload" ]] || ic_fail "an error response was taken for content"
  coap_server_saw "$srv" " -> ${code%% *}\$" || ic_fail "dtlsrun did not log the ${code%% *} response"
}

# refused_case SERVER SERVER_SAYS CLIENT_SAYS [coap-client args...]: the
# handshake fails: dtlsrun logs a line matching SERVER_SAYS, libcoap one
# matching CLIENT_SAYS (extended regexes, the latter ignoring case), and no
# payload arrives.
refused_case() {
  local srv=$1 server_says=$2 says=$3
  shift 3
  coap_mark "$srv"
  coap_request "$IC_C-cc" "$srv" /hello "$@"
  [[ ! -s "$IT_TMP/$IC_C-cc.payload" ]] || ic_fail "a payload arrived: $(cat -v "$IT_TMP/$IC_C-cc.payload")"
  coap_server_saw "$srv" "$server_says" 8 || ic_fail "dtlsrun did not log '$server_says'"
  grep -qiE "$says" "$IT_TMP/$IC_C-cc.out" "$IT_TMP/$IC_C-cc.err" || ic_fail "$COAP_CLIENT did not report '$says'"
}

# ==== pre-shared keys =====================================================================
ic_begin "libcoap $COAP_CLIENT" server
# handshakeTimeout: see the wrong-key case.
coap_server psk identity="$ID" key="$HEXKEY" hint=dtlsrun-coap handshakeTimeout=3000
PSK=(-u "$ID" -k "$KEY")

default_case() {
  get_case psk "" /hello "$HELLO" "${PSK[@]}"
  it_log "$COAP_CLIENT: with every suite on offer, dtlsrun chose $(coap_suite psk)"
}
ic_case "PSK, dtlsrun's pick: GET /hello" no default_case
ic_case "PSK, dtlsrun's pick: GET /.well-known/core" no get_case psk "" /.well-known/core '</hello>;title="Hello";ct=0' "${PSK[@]}"
ic_case "PSK, dtlsrun's pick: Non-confirmable GET /hello" no get_case psk "" /hello "$HELLO" -N "${PSK[@]}"
ic_case "PSK, dtlsrun's pick: GET /nope -> 4.04" no error_case psk /nope "4.04 Not Found" "${PSK[@]}"
ic_case "PSK, dtlsrun's pick: POST /hello -> 4.05" no error_case psk /hello "4.05 Method Not Allowed" -m post -e hi "${PSK[@]}"
ic_case "PSK, dtlsrun's pick: GET /hello, Accept JSON -> 4.06" no \
  error_case psk /hello "4.06 Not Acceptable" -A 50 "${PSK[@]}"
ic_case "PSK, dtlsrun's pick: unknown critical option -> 4.02" no \
  error_case psk /hello "4.02 Bad Option" -O 9,x "${PSK[@]}"
# A wrong key shows when dtlsrun cannot decrypt the client's Finished. A
# record that fails is dropped (RFC 6347 4.1.2.7: a forged record must not end
# a handshake); dtlsrun answers bad_record_mac when the client's Finished fails
# again after the client resent its flight, else the handshake times out,
# logged as not authenticating (when libcoap gives up first). Either way no
# payload, and libcoap gives up.
ic_case "PSK, dtlsrun's pick (wrong key: bad_record_mac, or timeout)" no \
  refused_case psk "handshake failed: bad_record_mac alert sent|did not authenticate: wrong key" \
  "bad record mac|cannot send CoAP pdu" -u "$ID" -k wrongKey
ic_case "PSK, dtlsrun's pick (unknown identity: unknown_psk_identity)" no \
  refused_case psk "handshake failed: unknown_psk_identity alert sent" \
  "unknown psk identity|psk username is missing or not known" -u nobody -k "$KEY"
# -h FILE: "hint,identity,key" lines; the -u/-k given are only the fallback.
printf 'dtlsrun-coap,%s,%s\n' "$ID" "$KEY" >"$IT_TMP/hints"
ic_case "PSK, dtlsrun's pick (identity chosen by the server's hint, -h)" no \
  get_case psk "" /hello "$HELLO" -h "$IT_TMP/hints" -u fallback -k fallback
ic_case "PSK, dtlsrun's pick: GET /hello after the failures" no get_case psk "" /hello "$HELLO" "${PSK[@]}"

one_suite_case() {
  coap_server "$IC_C-srv" identity="$ID" key="$HEXKEY" ciphers="$1"
  get_case "$IC_C-srv" "$1" /hello "$HELLO" "${PSK[@]}"
}
for suite in "${SUITES[@]}"; do
  ic_case "$suite" no one_suite_case "$suite"
done

# ==== certificates ========================================================================
coap_server both identity="$ID" key="$HEXKEY" cert="$C/server-ec256.pem" certkey="$C/server-ec256.key"
cert_suite_case() {
  coap_server "$IC_C-srv" mode=cert cert="$C/server-ec256.pem" certkey="$C/server-ec256.key" ciphers="$1"
  get_case "$IC_C-srv" "$1" /hello "$HELLO" -C "$C/ca.pem"
}
ic_case "ECDHE-ECDSA-AES128-CCM8 (certificate mode, -C ca.pem)" no \
  cert_suite_case ECDHE-ECDSA-AES128-CCM8
default_cert_case() {
  coap_server "$IC_C-srv" mode=cert
  get_case "$IC_C-srv" "" /hello "$HELLO" -n
  coap_server_saw "$IC_C-srv" "\\(certificate, ECDHE-ECDSA-" || ic_fail "not a certificate suite"
}
ic_case "ECDHE-ECDSA, dtlsrun's pick (embedded default certificate, -n)" no default_cert_case
both_case() {
  get_case both "" /hello "$HELLO" "${PSK[@]}"
  [[ $(coap_suite both) == *PSK* ]] || ic_fail "a PSK client got $(coap_suite both)"
  get_case both "" /hello "$HELLO" -C "$C/ca.pem"
  [[ $(coap_suite both) == ECDHE-ECDSA-* ]] || ic_fail "a certificate client got $(coap_suite both)"
}
ic_case "PSK and ECDHE-ECDSA (server with certificate and PSK: the client's offer decides)" no both_case

ic_end

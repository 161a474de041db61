# shellcheck shell=bash
# Helpers for interop tests: real openssl / gnutls peers on loopback, driven
# non-interactively and always bounded in time. Source it, then call it_init:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   it_init                                   # temp dir, cleanup trap, watchdog
#   gnutls_server srv --x509certfile "$DTLSRUN_CERTS/server-ec256.pem" \
#                     --x509keyfile "$DTLSRUN_CERTS/server-ec256.key"
#   printf 'hello\n' >"$IT_TMP/in"
#   openssl_client cli "${IT_PORT[srv]}" "$IT_TMP/in" "$IT_TMP/in" -CAfile "$DTLSRUN_CERTS/ca.pem" \
#     || it_fail "no echo"
#
# Background processes get a FIFO as stdin that the harness holds open, so they
# never see EOF until told (it_close_stdin) and can be fed at any time (it_send).
# Their output is in $IT_TMP/NAME.out and $IT_TMP/NAME.err. Everything started
# here runs under timeout(1) and is killed on exit. Only 127.0.0.1 / ::1 are
# ever used as destinations.
#
# Environment (set by ctest; defaults work from a source checkout with build/):
#   DTLSRUN_ROOT DTLSRUN_BIN DTLSRUN_CERTS DTLSRUN_TOOLS DTLSRUN_STATE_DIR
#   IT_DEADLINE      hard cap for the whole test in seconds (default 240)
#   IT_ECHO_TIMEOUT  how long a client waits for the expected bytes (default 30)

set -euo pipefail

: "${DTLSRUN_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${DTLSRUN_BIN:=$DTLSRUN_ROOT/build/bin/dtlsrun}"
: "${DTLSRUN_CERTS:=$DTLSRUN_ROOT/build/certs}"
: "${DTLSRUN_TOOLS:=$DTLSRUN_ROOT/build/bin}"
: "${DTLSRUN_STATE_DIR:=$DTLSRUN_ROOT/build/state}"
: "${IT_DEADLINE:=240}"
: "${IT_ECHO_TIMEOUT:=30}"
export DTLSRUN_ROOT DTLSRUN_BIN DTLSRUN_CERTS DTLSRUN_TOOLS DTLSRUN_STATE_DIR

declare -A IT_PID=()    # name -> pid of the timeout(1) process wrapping it
declare -A IT_FD=()     # name -> fd of the write end of its stdin FIFO
declare -A IT_PORT=()   # name -> UDP port, for servers started by it_start_udp_server
IT_TMP=""
IT_WATCHDOG=""
IT_LAST_RC=0            # exit status of the last client run by *_client

it_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

# it_fail MESSAGE: print the message and the output of every process, exit 1.
it_fail() {
  it_log "FAIL: $*"
  it_dump
  exit 1
}

# it_skip MESSAGE: exit with 77, which ctest reports as skipped.
it_skip() {
  it_log "SKIP: $*"
  exit 77
}

# it_dump: show what every background process and client printed (for failures).
it_dump() {
  local f
  [[ -n "$IT_TMP" && -d "$IT_TMP" ]] || return 0
  for f in "$IT_TMP"/*.out "$IT_TMP"/*.err "$IT_TMP"/*.log; do
    [[ -s "$f" ]] || continue
    printf -- '----- %s\n' "${f##*/}" >&2
    # cat -v: binary-safe, and a runaway log does not flood the ctest output
    tail -c 4000 "$f" | cat -v >&2
    printf '\n' >&2
  done
}

it_cleanup() {
  local rc=$? name pid fd
  trap - EXIT INT TERM
  for name in "${!IT_FD[@]}"; do
    fd=${IT_FD[$name]}
    exec {fd}>&- 2>/dev/null || true
  done
  for name in "${!IT_PID[@]}"; do
    pid=${IT_PID[$name]}
    # timeout(1) passes TERM on to its command's whole process group
    kill -TERM "$pid" 2>/dev/null || true
  done
  for name in "${!IT_PID[@]}"; do
    it_wait_pid "${IT_PID[$name]}" 3 >/dev/null 2>&1 || kill -KILL "${IT_PID[$name]}" 2>/dev/null || true
  done
  if [[ -n "$IT_WATCHDOG" ]]; then
    kill "$IT_WATCHDOG" 2>/dev/null || true
    wait "$IT_WATCHDOG" 2>/dev/null || true
  fi
  if [[ -n "$IT_TMP" && -z "${IT_KEEP_TMP:-}" ]]; then
    rm -rf "$IT_TMP"
  fi
  exit "$rc"
}

# it_children_of PID: the PIDs whose parent is PID (from /proc; no procps needed).
it_children_of() {
  local stat rest ppid
  for stat in /proc/[0-9]*/stat; do
    rest=$(<"$stat") 2>/dev/null || continue
    rest=${rest##*) }          # skip "pid (comm) ", comm may hold spaces
    read -r _ ppid _ <<<"$rest"
    [[ $ppid == "$1" ]] && { stat=${stat#/proc/}; echo "${stat%/stat}"; }
  done
  return 0
}

# it_init: temp dir, cleanup on any exit, a watchdog for IT_DEADLINE, tools check.
it_init() {
  IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dtlsrun-interop.XXXXXX")
  trap it_cleanup EXIT
  trap 'it_log "interrupted (signal, or the IT_DEADLINE of ${IT_DEADLINE}s passed)"; exit 1' INT TERM
  # The watchdog TERMs this shell, and the shell's direct children so that a
  # foreground command cannot delay it; the INT/TERM trap then exits through
  # it_cleanup. Its stdio is /dev/null so that it never holds ctest's output
  # pipe open, and it takes its sleep down with it when cleanup kills it.
  (
    exec </dev/null >/dev/null 2>&1
    sleep "$IT_DEADLINE" &
    sleeper=$!
    trap 'kill $sleeper; exit 0' TERM
    wait $sleeper || exit 0
    kill -TERM $$
    for child in $(it_children_of $$); do
      [[ $child == "$BASHPID" ]] || kill -TERM "$child" 2>/dev/null || true
    done
  ) &
  IT_WATCHDOG=$!
  local tool
  for tool in openssl gnutls-cli gnutls-serv timeout mkfifo cmp; do
    command -v "$tool" >/dev/null || it_fail "$tool not installed (run scripts/setup)"
  done
  if [[ ! -f "$DTLSRUN_CERTS/ca.pem" ]]; then
    "$DTLSRUN_ROOT/scripts/gen-test-certs" "$DTLSRUN_CERTS"
  fi
}

# ---- ports ----------------------------------------------------------------

# it_udp_port_bound PORT: true if any local UDP socket (v4 or v6) has that port.
# Reads /proc directly: iproute2 (ss) is not part of a minimal Debian.
it_udp_port_bound() {
  local hex
  printf -v hex '%04X' "$1"
  grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/udp /proc/net/udp6 2>/dev/null
}

# it_free_udp_port: print a UDP port nobody has bound, below the ephemeral range
# (32768+) so it cannot clash with client sockets. Randomised per process, so
# parallel tests rarely race; it_start_udp_server retries if they do.
it_free_udp_port() {
  local try port
  for try in $(seq 1 100); do
    port=$((20000 + (RANDOM * 7 + $$ + try * 131) % 12000))
    if ! it_udp_port_bound "$port"; then
      echo "$port"
      return 0
    fi
  done
  it_fail "no free UDP port found"
}

# it_wait_udp_port PORT [SECONDS] [PID]: wait until PORT is bound; false on
# timeout or if PID (when given) has exited.
it_wait_udp_port() {
  local port=$1 secs=${2:-10} pid=${3:-} i
  for ((i = 0; i < secs * 20; i++)); do
    it_udp_port_bound "$port" && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.05
  done
  return 1
}

# ---- background processes --------------------------------------------------

# it_start NAME SECONDS CMD...: run CMD in the background for at most SECONDS,
# stdin from a FIFO held open by the harness, stdout/stderr to $IT_TMP/NAME.{out,err}.
it_start() {
  local name=$1 secs=$2
  shift 2
  [[ -z "${IT_PID[$name]:-}" ]] || it_fail "it_start: $name already running"
  local fifo="$IT_TMP/$name.in" fd
  rm -f "$fifo"
  mkfifo "$fifo"
  # Read-write open of a FIFO does not block on Linux, and keeps a writer alive.
  exec {fd}<>"$fifo"
  IT_FD[$name]=$fd
  : >"$IT_TMP/$name.out"
  : >"$IT_TMP/$name.err"
  # The child must not inherit any FIFO write end (its own or another's), or
  # closing one later would never give its reader EOF. -k: KILL if TERM was
  # not enough two seconds later.
  (
    for fd in "${IT_FD[@]}"; do exec {fd}>&-; done
    exec timeout -k 2 "$secs" "$@"
  ) <"$fifo" >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.err" &
  IT_PID[$name]=$!
}

# it_send NAME TEXT: write TEXT (as is, no newline added) to NAME's stdin.
it_send() {
  printf '%s' "$2" >&"${IT_FD[$1]}"
}

# it_send_file NAME FILE: write FILE's bytes to NAME's stdin.
it_send_file() {
  cat "$2" >&"${IT_FD[$1]}"
}

# it_close_stdin NAME: NAME now reads EOF.
it_close_stdin() {
  local fd=${IT_FD[$1]:-}
  [[ -n "$fd" ]] || return 0
  exec {fd}>&-
  unset 'IT_FD[$1]'
}

it_running() { kill -0 "${IT_PID[$1]}" 2>/dev/null; }

# it_wait_pid PID SECONDS: wait for PID to exit; prints and returns its status,
# or returns 124 (as timeout(1) does) if it is still running after SECONDS.
it_wait_pid() {
  local pid=$1 secs=$2 i rc
  for ((i = 0; i < secs * 20; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0
      wait "$pid" 2>/dev/null || rc=$?
      echo "$rc"
      return "$rc"
    fi
    sleep 0.05
  done
  echo 124
  return 124
}

# it_wait NAME [SECONDS]: wait for NAME to exit (default 10 s); returns its status.
it_wait() {
  local name=$1 secs=${2:-10} rc=0
  it_wait_pid "${IT_PID[$name]}" "$secs" >/dev/null || rc=$?
  [[ $rc -eq 124 ]] || unset 'IT_PID[$name]'
  it_close_stdin "$name"
  return "$rc"
}

# it_stop NAME: TERM it (KILL after 3 s) and reap it; returns its status.
it_stop() {
  local name=$1 pid=${IT_PID[$1]:-} rc=0
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  it_wait_pid "$pid" 3 >/dev/null || rc=$?
  if [[ $rc -eq 124 ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  unset 'IT_PID[$name]'
  it_close_stdin "$name"
  return "$rc"
}

# it_start_udp_server NAME CMD...: pick a free port, replace every "{PORT}" in
# CMD's arguments with it, start CMD (bounded by IT_DEADLINE) and wait until
# the port is bound. Retries with another port if the server dies first (a
# parallel test took the port). The port is then in ${IT_PORT[NAME]}.
it_start_udp_server() {
  local name=$1 attempt port arg
  shift
  for attempt in 1 2 3 4 5; do
    port=$(it_free_udp_port)
    local cmd=()
    for arg in "$@"; do cmd+=("${arg//\{PORT\}/$port}"); done
    it_start "$name" "$IT_DEADLINE" "${cmd[@]}"
    if it_wait_udp_port "$port" 10 "${IT_PID[$name]}"; then
      # Bound, but by us? A server that lost a race dies at once.
      sleep 0.1
      if it_running "$name"; then
        IT_PORT[$name]=$port
        return 0
      fi
    fi
    it_stop "$name" || true
    it_log "$name did not come up on port $port (attempt $attempt): $(tail -c 300 "$IT_TMP/$name.err")"
  done
  it_fail "could not start $name"
}

# it_wait_for_bytes FILE EXPECT_FILE SECONDS [NAME]: wait until FILE begins with
# EXPECT_FILE's bytes. Returns 1 if they differ or NAME exited first, 2 on timeout.
it_wait_for_bytes() {
  local file=$1 expect=$2 secs=$3 name=${4:-} want i have
  want=$(stat -c %s "$expect")
  for ((i = 0; i <= secs * 20; i++)); do
    have=$(stat -c %s "$file" 2>/dev/null || echo 0)
    if ((have >= want)); then
      cmp -s -n "$want" "$file" "$expect"
      return
    fi
    if [[ -n "$name" ]] && ! it_running "$name"; then
      # one last look: it may have written and exited in the same instant
      have=$(stat -c %s "$file" 2>/dev/null || echo 0)
      ((have >= want)) && cmp -s -n "$want" "$file" "$expect"
      return
    fi
    sleep 0.05
  done
  return 2
}

# it_wait_for_text FILE TEXT SECONDS: wait until FILE contains TEXT (fixed string).
it_wait_for_text() {
  local file=$1 text=$2 secs=$3 i
  for ((i = 0; i <= secs * 20; i++)); do
    grep -qF -- "$text" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# ---- clients -------------------------------------------------------------

# it_run_client NAME INPUT EXPECT CMD...: start the client CMD, send INPUT's
# bytes, wait until its stdout begins with EXPECT's bytes (IT_ECHO_TIMEOUT),
# then close its stdin so that it says goodbye (close_notify) and exits.
# True when the bytes arrived and the client exited 0; IT_LAST_RC is its status.
# DTLS application data is not retransmitted: over a lossy path set IT_RESEND=S
# to send INPUT again every S seconds until the expected bytes arrive (EXPECT
# must then be one copy of the answer; duplicates after it are fine).
it_run_client() {
  local name=$1 input=$2 expect=$3 got=2 waited=0 slice
  shift 3
  # A larger input could fill the FIFO before the handshake ends, and block us.
  (($(stat -c %s "$input") <= 65536)) || it_fail "$name: input larger than 64 KiB"
  it_start "$name" $((IT_ECHO_TIMEOUT + 15)) "$@"
  slice=${IT_RESEND:-$IT_ECHO_TIMEOUT}
  while ((got == 2 && waited < IT_ECHO_TIMEOUT)); do
    ((waited == 0)) || it_running "$name" || break
    it_send_file "$name" "$input"
    got=0
    it_wait_for_bytes "$IT_TMP/$name.out" "$expect" "$slice" "$name" || got=$?
    waited=$((waited + slice))
  done
  it_close_stdin "$name"
  IT_LAST_RC=0
  it_wait "$name" 10 || IT_LAST_RC=$?
  if ((got != 0)); then
    it_log "$name: expected bytes did not arrive (client status $IT_LAST_RC)"
    return 1
  fi
  if ((IT_LAST_RC != 0)); then
    it_log "$name: exited with status $IT_LAST_RC"
    return 1
  fi
  return 0
}

# openssl_client NAME PORT INPUT EXPECT [s_client args...]
# (IT_OPENSSL_VERSION=-dtls1 makes it, and openssl_server, speak DTLS 1.0.)
# Recipe: -quiet keeps stdout to application data only but implies -ign_eof,
# so -no_ign_eof (after it) restores "stdin EOF -> close_notify, exit 0", and
# -nocommands stops lines beginning with Q/R/k/K being taken as commands.
# s_client reads stdin only once the handshake is done, so INPUT can be
# written at once. -nbio matters: with a blocking socket, s_client hangs in
# recvfrom() after discarding a duplicated record (seen through udp_relay). Extra args e.g.: -CAfile ca.pem -verify_return_error,
# -cert/-key, -cipher, -curves, -mtu 500 (with -no_query_mtu), -psk_identity/-psk.
openssl_client() {
  local name=$1 port=$2 input=$3 expect=$4
  shift 4
  it_run_client "$name" "$input" "$expect" \
    openssl s_client "${IT_OPENSSL_VERSION:--dtls1_2}" -nbio -connect "127.0.0.1:$port" -quiet -no_ign_eof -nocommands "$@"
}

# gnutls_client NAME PORT INPUT EXPECT [gnutls-cli args...]
# Recipe: --logfile sends gnutls-cli's chatter to $IT_TMP/NAME.log so stdout is
# application data only; on stdin EOF it sends close_notify and exits 0.
# Pass --x509cafile ca.pem (the name checked is 127.0.0.1, in the test
# certificates' SAN) or --insecure; --priority, --mtu, --pskusername/--pskkey.
gnutls_client() {
  local name=$1 port=$2 input=$3 expect=$4
  shift 4
  it_run_client "$name" "$input" "$expect" \
    gnutls-cli --udp -p "$port" --logfile="$IT_TMP/$name.log" "$@" 127.0.0.1
}

# ---- servers (peers for dtlsrun's client role) ----------------------------

# openssl_server NAME [s_server args...]: openssl s_server -dtls1_2 on
# 127.0.0.1:${IT_PORT[NAME]}. It does not echo: what it receives appears in
# $IT_TMP/NAME.out (-quiet: data only), what you it_send it goes to the client
# (it reads stdin only while a session is up; earlier input waits in the FIFO).
# -nbio for the same reason as in openssl_client.
# Pass -cert/-key (or -nocert with -psk), and e.g. -naccept 1 to exit after one
# session, -verify 1 / -Verify 1 with -CAfile for client certificates.
openssl_server() {
  local name=$1
  shift
  it_start_udp_server "$name" openssl s_server "${IT_OPENSSL_VERSION:--dtls1_2}" -nbio -accept '127.0.0.1:{PORT}' -quiet "$@"
}

# gnutls_server NAME [gnutls-serv args...]: gnutls-serv --udp --echo on port
# ${IT_PORT[NAME]} (it binds the wildcard address; clients use 127.0.0.1).
# Pass --x509certfile/--x509keyfile, --priority, --mtu, --pskpasswd.
gnutls_server() {
  local name=$1
  shift
  it_start_udp_server "$name" gnutls-serv --udp --echo -p '{PORT}' "$@"
}

# relay NAME TO_PORT [udp_relay args...]: a lossy relay in front of 127.0.0.1:TO_PORT,
# listening on 127.0.0.1:${IT_PORT[NAME]}. Its counters are in $IT_TMP/NAME.err.
relay() {
  local name=$1 to=$2
  shift 2
  [[ -x "$DTLSRUN_TOOLS/udp_relay" ]] || it_fail "udp_relay not built ($DTLSRUN_TOOLS/udp_relay)"
  it_start_udp_server "$name" "$DTLSRUN_TOOLS/udp_relay" --listen '127.0.0.1:{PORT}' \
    --to "127.0.0.1:$to" --max-seconds "$IT_DEADLINE" "$@"
}

# ---- the interop matrix: dtlsrun's own scripts, cases, results -------------
# Used by server_*.sh, client_*.sh, psk_*.sh and loss_relay.sh:
#
#   ic_begin "openssl s_client -dtls1_2" server
#   dtlsrun_server ec cert="$C/server-ec256.pem" key="$C/server-ec256.key"
#   ic_case "ECDHE-ECDSA-AES128-GCM-SHA256" no my_check ec -cipher ...
#   ic_end
#
# A case runs in a subshell under `set -e`: ic_fail (or any failing command)
# ends that case only; processes it started are stopped, the files of its
# processes are shown, and the next case runs. ic_end fails the test if any
# case failed. Name a case's processes "$IC_C-something" (IC_C is c1, c2, ...).
# With DTLSRUN_INTEROP_RESULTS set, every case appends a line
#   peer|dtlsrun role|suite|client cert|result
# to that file (scripts/interop-table makes the README table from them).

IC_DIR="$DTLSRUN_ROOT/spec/interop"
IC_PEER=""
IC_ROLE=""
IC_N=0
IC_C=""
IC_FAILED=()
declare -A IC_MARK=()

# ic_begin PEER ROLE: the peer program and dtlsrun's role for the cases that follow.
ic_begin() {
  IC_PEER=$1
  IC_ROLE=$2
}

# ic_record PEER ROLE SUITE CLIENT_CERT RESULT: append a results line (if asked to).
ic_record() {
  [[ -n "${DTLSRUN_INTEROP_RESULTS:-}" ]] || return 0
  printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" >>"$DTLSRUN_INTEROP_RESULTS"
}

# ic_fail MESSAGE: end the current case as failed.
ic_fail() {
  it_log "case $IC_C: $*"
  exit 1
}

# ic_case SUITE CLIENT_CERT CMD...: run CMD as one case of the matrix.
ic_case() {
  local suite=$1 client_cert=$2 rc=0 t0=$SECONDS result
  shift 2
  IC_N=$((IC_N + 1))
  IC_C="c$IC_N"
  set +e
  (
    set -e
    IC_OUTER=" ${!IT_PID[*]} "
    trap ic_case_cleanup EXIT
    trap 'exit 1' INT TERM
    "$@"
  )
  rc=$?
  set -e
  if ((rc == 0)); then
    result=pass
  else
    result=FAIL
    IC_FAILED+=("$suite (client cert: $client_cert)")
    ic_dump_case
  fi
  it_log "$result [$IC_C, $((SECONDS - t0)) s]: $IC_PEER | dtlsrun $IC_ROLE | $suite | client cert: $client_cert"
  ic_record "$IC_PEER" "$IC_ROLE" "$suite" "$client_cert" "$result"
  return 0
}

# Stops what the case started (not the servers it shares with other cases).
ic_case_cleanup() {
  local rc=$? name
  for name in "${!IT_PID[@]}"; do
    [[ $IC_OUTER == *" $name "* ]] || it_stop "$name" >/dev/null 2>&1 || true
  done
  exit "$rc"
}

# ic_dump_case: the files of the current case, and the last lines of the shared servers'.
ic_dump_case() {
  local f
  for f in "$IT_TMP/$IC_C"-*; do
    [[ -s "$f" && $f != *.in ]] || continue
    printf -- '----- %s\n' "${f##*/}" >&2
    tail -c 4000 "$f" | cat -v >&2
    printf '\n' >&2
  done
  for f in "$IT_TMP"/*.out "$IT_TMP"/*.err; do
    [[ -s "$f" && ${f##*/} != c[0-9]*-* ]] || continue
    printf -- '----- %s (last lines)\n' "${f##*/}" >&2
    tail -n 8 "$f" | cut -c1-300 | cat -v >&2
  done
}

# ic_end: log the summary; exit 1 if any case failed.
ic_end() {
  local f
  if ((${#IC_FAILED[@]})); then
    it_log "${#IC_FAILED[@]} of $IC_N cases failed ($IC_PEER, dtlsrun $IC_ROLE):"
    for f in "${IC_FAILED[@]}"; do it_log "  FAIL: $f"; done
    exit 1
  fi
  it_log "all $IC_N cases passed ($IC_PEER, dtlsrun $IC_ROLE)"
}

# ic_lines FILE: the lines every echo case sends: several messages, one with
# a leading Q (an s_client command letter), tabs and UTF-8, one of 200 bytes.
ic_lines() {
  {
    printf 'first line from the interop test\n'
    printf 'Q is not a command here\n'
    printf 'tab\there, UTF-8 \xc3\xbc\xe2\x82\xac, symbols ~!@#$%%^&*()\n'
    printf '%s\n' "$(head -c 199 /dev/zero | tr '\0' 'x')"
    printf 'last line\n'
  } >"$1"
}

# dtlsrun_server NAME key=value...: spec/interop/echo_server.lua under dtlsrun
# on 127.0.0.1:${IT_PORT[NAME]}. It prints one line per handshake
# ("secure PORT CIPHER DTLSv1.2 psk=ID cert=SUBJECT") and per failed one
# ("clientError ALERT ..."). IC_LOG_LEVEL sets dtlsrun's --log-level (INFO).
dtlsrun_server() {
  local name=$1
  shift
  it_start_udp_server "$name" "$DTLSRUN_BIN" --log-level "${IC_LOG_LEVEL:-INFO}" \
    "$IC_DIR/echo_server.lua" 'port={PORT}' "$@"
}

# dtlsrun_client NAME SECONDS key=value...: start spec/interop/echo_client.lua
# under dtlsrun in the background (it_wait NAME for its status).
dtlsrun_client() {
  local name=$1 secs=$2
  shift 2
  it_start "$name" "$secs" "$DTLSRUN_BIN" --log-level "${IC_LOG_LEVEL:-INFO}" \
    "$IC_DIR/echo_client.lua" "$@"
}

# ic_cid_rebinds SERVER: through a udp_relay --rebind-every 2 in front of the
# running dtlsrun echo server SERVER (connectionId set), a dtlsrun client with
# connectionId=0 sends 40 lines one at a time; all must be echoed across the
# relay's 20 source-port changes, and the server must report 20 moves.
ic_cid_rebinds() {
  local srv=$1 moves rc=0
  relay "$IC_C-relay" "${IT_PORT[$srv]}" --rebind-every 2
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-relay]}" ca="$DTLSRUN_CERTS/ca.pem" \
    servername=localhost lines=40 serial=1 connectionId=0 timeout=20000
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc == 0)) || ic_fail "the client failed (status $rc): $(tail -n 1 "$IT_TMP/$IC_C-dc.out")"
  grep -qx "ok 1 handshakes" "$IT_TMP/$IC_C-dc.out" || ic_fail "the client did not finish"
  it_stop "$IC_C-relay" || true
  grep -qx "udp_relay: rebinds=20" "$IT_TMP/$IC_C-relay.err" || ic_fail "the relay did not rebind 20 times"
  moves=$(grep -c "^moved [0-9]* [0-9]*\$" "$IT_TMP/$srv.out" || true)
  ((moves == 20)) || ic_fail "the server reported $moves moves, not 20"
  it_log "40 lines echoed across $moves source-port changes"
}

# ic_mark NAME: later ic_server_saw calls look only at NAME's output from here on.
ic_mark() {
  IC_MARK[$1]=$(wc -l <"$IT_TMP/$1.out")
}

# ic_server_saw NAME TEXT [SECONDS]: wait (default 3 s) until NAME's stdout,
# after its ic_mark, contains TEXT.
ic_server_saw() {
  local name=$1 text=$2 secs=${3:-3} i new
  for ((i = 0; i <= secs * 20; i++)); do
    new=$(tail -n +"$((${IC_MARK[$name]:-0} + 1))" "$IT_TMP/$name.out")
    [[ $new == *"$text"* ]] && return 0
    sleep 0.05
  done
  return 1
}

# ic_fragmented MSGFILE [DIRECTION]: true if openssl's -msgfile shows that
# the handshake messages received (DIRECTION "<<<", the default) or sent
# (">>>") before ChangeCipherSpec took more records than messages, i.e. were
# fragmented.
ic_fragmented() {
  local counts records messages dir=${2:-<<<}
  counts=$(awk -v dir="$dir" '
    index($0, dir " ") != 1 { next }
    /content_type=20\)/ { exit }
    /content_type=256\)/ { r++ }
    /content_type=22\)/ { m++ }
    END { print r + 0, m + 0 }' "$1")
  read -r records messages <<<"$counts"
  it_log "${1##*/} ($dir): $records records for $messages handshake messages"
  ((records > messages))
}

# ---- cases with dtlsrun as the client ------------------------------------------

# ic_dtlsrun_echo PORT SUITE key=value...: echo_client.lua sends the lines
# (IC_INPUT, default $IT_TMP/lines) to an echoing server on PORT; it must get
# them back byte for byte, exit 0, and report SUITE (unless SUITE is empty).
ic_dtlsrun_echo() {
  local port=$1 suite=$2 rc=0
  shift 2
  dtlsrun_client "$IC_C-dc" 30 port="$port" input="${IC_INPUT:-$IT_TMP/lines}" "$@"
  it_wait "$IC_C-dc" 25 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client exited with status $rc"
  [[ -z $suite ]] || grep -qx "secure 1 $suite" "$IT_TMP/$IC_C-dc.out" \
    || ic_fail "the dtlsrun client did not report $suite"
}

# ic_dtlsrun_refused PORT ALERTS key=value...: the handshake with PORT must
# fail with an error naming one of ALERTS (a|b), and the client exit 0.
ic_dtlsrun_refused() {
  local port=$1 alerts=$2
  shift 2
  ic_dtlsrun_echo "$port" "" expectError="$alerts" "$@"
}

# ic_split_args PEER_ARGS... -- CLIENT_ARGS...: sets the arrays IC_PEER_ARGS
# and IC_CLIENT_ARGS (the cases' common "peer options -- client options").
ic_split_args() {
  IC_PEER_ARGS=()
  while (($#)) && [[ $1 != -- ]]; do
    IC_PEER_ARGS+=("$1")
    shift
  done
  (($#)) && shift
  IC_CLIENT_ARGS=("$@")
}

# ic_openssl_echo SUITE S_SERVER_ARGS... -- CLIENT_ARGS...: openssl s_server
# -naccept 1 with S_SERVER_ARGS, and echo_client.lua with CLIENT_ARGS.
# s_server does not echo, so the harness does: once s_server has printed the
# client's lines, it writes the same bytes to s_server's stdin, which sends
# them back. The client must get them byte for byte and report SUITE, and
# s_server must then exit 0 (the client closed with close_notify).
ic_openssl_echo() {
  local suite=$1 input=${IC_INPUT:-$IT_TMP/lines} rc=0
  shift
  ic_split_args "$@"
  openssl_server "$IC_C-ss" -naccept 1 "${IC_PEER_ARGS[@]}"
  dtlsrun_client "$IC_C-dc" 30 port="${IT_PORT[$IC_C-ss]}" input="$input" "${IC_CLIENT_ARGS[@]}"
  it_wait_for_bytes "$IT_TMP/$IC_C-ss.out" "$input" 10 "$IC_C-dc" \
    || ic_fail "s_server did not receive the lines"
  it_send_file "$IC_C-ss" "$input"
  it_wait "$IC_C-dc" 10 || rc=$?
  ((rc == 0)) || ic_fail "the dtlsrun client exited with status $rc"
  grep -qx "secure 1 $suite" "$IT_TMP/$IC_C-dc.out" || ic_fail "the dtlsrun client did not report $suite"
  rc=0
  it_wait "$IC_C-ss" 5 || rc=$?
  ((rc == 0)) || ic_fail "s_server did not end cleanly (status $rc)"
}

# ic_openssl_refused ALERTS S_SERVER_ARGS... -- CLIENT_ARGS...: the handshake
# between s_server and echo_client.lua must fail with one of ALERTS (a|b) on
# the client's side.
ic_openssl_refused() {
  local alerts=$1
  shift
  ic_split_args "$@"
  openssl_server "$IC_C-ss" "${IC_PEER_ARGS[@]}"
  ic_dtlsrun_refused "${IT_PORT[$IC_C-ss]}" "$alerts" "${IC_CLIENT_ARGS[@]}"
}

# ic_gnutls_server NAME [gnutls-serv args...]: gnutls_server, with stdout line
# buffered (stdbuf) so that what it prints about a session ("- Status: The
# certificate is trusted.", "received[...]") can be read while it runs.
ic_gnutls_server() {
  local name=$1
  shift
  it_start_udp_server "$name" stdbuf -oL gnutls-serv --udp --echo -p '{PORT}' "$@"
}

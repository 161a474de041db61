/* runtime.h — the libuv host's C API: a loop, DTLS servers and clients over
 * UDP, connections (one association each), timers and logging.
 * It knows libuv and the engine's public API (dtls/dtls.h), never Lua: a
 * host (the Lua binding, or a C program) plugs in through rt_handlers.
 *
 * Lifetime rules, the same for every object here:
 * - Callbacks into the host run inside engine or libuv calls. From inside
 *   one the host may send, close any connection, close any server; nothing is
 *   freed until the outer call has returned (frees are deferred to the loop).
 * - conn_closed is the last callback for a connection: the rt_conn pointer
 *   must not be used after it returns.
 * - server_closed is the last callback for a server: the rt_server pointer
 *   must not be used after it returns.
 */
#ifndef DTLSRUN_RUNTIME_H
#define DTLSRUN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_loop rt_loop;
typedef struct rt_server rt_server;
typedef struct rt_conn rt_conn;
typedef struct rt_timer rt_timer;

/* ---- logging ------------------------------------------------------------ */
/* Levels are node-dtls's; the values equal the engine's DTLS_LOG_*. */
enum { RT_LOG_FINEST = 0, RT_LOG_FINER, RT_LOG_FINE, RT_LOG_INFO, RT_LOG_WARN,
       RT_LOG_SEVERE };

void rt_log_set_level(int level);
int rt_log_level(void);
int rt_log_enabled(int level);
/* The live level, for the engine to check before formatting a line. */
const int *rt_log_level_ptr(void);
/* "FINEST" .. "SEVERE", or NULL for an out-of-range level. */
const char *rt_log_level_name(int level);
/* The level for a name (case-insensitive), or -1. */
int rt_log_level_parse(const char *name);
/* The line's format: text (the default) or one JSON object per line,
 * {"time":..., "level":..., "peer":..., "msg":...} (peer only when known). */
enum { RT_LOG_FORMAT_TEXT = 0, RT_LOG_FORMAT_JSON };
void rt_log_set_format(int format);
/* A host's own log sink: it gets every enabled line's level, who (or NULL)
 * and message, and returns nonzero when it took the line (else the line
 * goes to stderr as usual). A handler that logs writes to stderr. NULL
 * restores stderr. */
typedef int (*rt_log_handler_fn)(void *arg, int level, const char *who, const char *msg);
void rt_log_set_handler(rt_log_handler_fn fn, void *arg);
/* One line on stderr: "<UTC time with ms> <LEVEL> [<who> ]<message>". who is
 * a peer address or NULL. Never pass key material. */
void rt_log(int level, const char *who, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- workers (dtlsrun --workers N) ---------------------------------------- */
/* Forks n (2..256) worker processes and supervises them (workers.c): they
 * start one at a time, each once the one before called rt_worker_ready; a
 * worker that fails before that stops them all (master returns 1); one
 * that dies later by a signal or a nonzero exit is restarted; SIGINT or
 * SIGTERM to the master is forwarded as SIGTERM. Returns in each worker
 * with *is_worker = 1 and 0; in the master when every worker is gone, with
 * the process's exit status. Call before any loop exists. */
int rt_workers_run(int n, int *is_worker);
/* Worker: the script has run; the master may start the next worker. */
void rt_worker_ready(void);
/* This process's worker number, 1..N (1 without workers), and N. */
int rt_worker_index(void);
int rt_worker_count(void);
/* The supervising process of --workers (its log lines say [master]). */
int rt_worker_is_master(void);
#define RT_MAX_WORKERS 256

/* ---- addresses ------------------------------------------------------------ */

typedef struct rt_sockname {
    char address[46]; /* numeric, no brackets */
    int port;
    const char *family; /* "IPv4" or "IPv6" (static) */
} rt_sockname;

/* ---- the loop --------------------------------------------------------------- */

rt_loop *rt_loop_new(void);
/* Runs until nothing is left to do, rt_loop_stop, or the end of a shutdown.
 * Returns 0, or -1 when called while already running. */
int rt_loop_run(rt_loop *loop);
/* Makes rt_loop_run return after the current iteration. */
void rt_loop_stop(rt_loop *loop);
int rt_loop_running(const rt_loop *loop);
/* Graceful stop: close_notify to every live session, every server and timer
 * closed. New servers, clients and timers are refused until rt_loop_run
 * returns. */
void rt_loop_shutdown(rt_loop *loop);
int rt_loop_shutting_down(const rt_loop *loop);
/* SIGINT and SIGTERM start rt_loop_shutdown (a second one stops at once).
 * The signal watchers never keep the loop alive on their own. */
int rt_loop_handle_signals(rt_loop *loop);
/* Shuts down, runs until every handle is closed, frees. No host callback is
 * made for objects whose host was detached. */
void rt_loop_free(rt_loop *loop);
/* Milliseconds on the loop's monotonic clock (the engine's now_ms). */
uint64_t rt_loop_now(rt_loop *loop);

/* Runs fn(a, b, status) once, soon, from the loop, outside every engine
 * call. Used for completions that must not run inside the caller's frame. */
typedef void (*rt_deferred_fn)(void *a, intptr_t b, int status);
int rt_loop_defer(rt_loop *loop, rt_deferred_fn fn, void *a, intptr_t b, int status);

/* ---- TLS options ------------------------------------------------------------ */

typedef struct rt_tls_options {
    /* Each of these is PEM text (contains "-----BEGIN") or a file path. */
    const char *cert;
    const char *key;
    const char *ca;
    int request_cert;        /* server: ask the client for a certificate */
    int reject_unauthorized; /* client: verify the server (default 1);
                                server: with request_cert, require one */
    const char *ciphers;     /* OpenSSL-style names, colon separated */
    const char *min_version; /* "DTLSv1" or "DTLSv1.2" (NULL: "DTLSv1.2") */
    const char *max_version; /* likewise (NULL: "DTLSv1.2") */
    size_t mtu;              /* 0: the engine's default */
    uint64_t handshake_timeout_ms; /* 0: the engine's default */
    uint32_t retransmit_ms;        /* first flight retransmission timer;
                                      0: the engine's default (1 s) */
    uint32_t max_retransmit_ms;    /* the timer's cap; 0: the engine's
                                      default (60 s) */
    uint64_t idle_timeout_ms;      /* close an established association after
                                      this long without an authenticated
                                      record; 0: never; RT_IDLE_TIMEOUT_DEFAULT
                                      (what rt_tls_options_init sets): 10
                                      minutes for a server, never for a client */
    const char *servername;  /* client: name to check and send (NULL: the
                                address; never empty) */
    int skip_server_identity_check; /* client: 1 accepts any name the chain
                                       vouches for (Lua checkServerIdentity =
                                       false); 0, also for a zeroed struct,
                                       checks servername */
    const char *local_address; /* client: bind here (NULL: any) */
    int local_port;          /* client: bind to this port (0: ephemeral) */
    /* client: the PSK to offer */
    const uint8_t *psk_identity;
    size_t psk_identity_len;
    const uint8_t *psk_key;
    size_t psk_key_len;
    /* server: PSK suites on, keys come from handlers.psk_lookup */
    int psk_server;
    const char *psk_hint;
    /* server caps; 0 means the default */
    size_t max_connections;  /* default RT_DEFAULT_MAX_CONNECTIONS */
    size_t max_handshakes;   /* default RT_DEFAULT_MAX_HANDSHAKES */
    size_t max_handshakes_per_address; /* per IPv4 address or IPv6 /64;
                                          default RT_DEFAULT_MAX_HANDSHAKES_PER_ADDRESS */
    size_t max_reassembly_bytes; /* fragmented handshake messages being
                                    reassembled, all handshakes together;
                                    default DTLS_REASSEMBLY_DEFAULT */
    /* sessions (RFC 5246 7.3, RFC 5077). Server: cache entries (-1: the
     * default for this machine, 0: no cache), lifetime (0: 2 hours),
     * tickets on/off, and shared ticket keys (48 bytes each, or NULL). */
    long session_cache_size;
    uint64_t session_timeout_ms;
    int tickets;
    const uint8_t *ticket_keys;
    size_t ticket_keys_len;
    /* client: a session (from rt_conn_get_session) to offer, or NULL */
    const uint8_t *session;
    size_t session_len;
    /* RFC 9146: the CID length to ask for (0..20), or -1 for none */
    int connection_id;
    /* server, family 6: 1 to also take IPv4 peers (as ::ffff:a.b.c.d) on a
     * dual-stack socket; 0 (the default) for IPv6 only */
    int dual_stack;
    /* server: the HelloVerifyRequest cookie secret (32-64 bytes) shared
     * with other processes and nodes, or NULL (random, per server) */
    const uint8_t *cookie_secret;
    size_t cookie_secret_len;
    /* renegotiation (RFC 5746): let the peer start one, at most once per
     * interval (ms; -1: the engine's default, 60 s); client: connect to a
     * server without secure renegotiation (then never renegotiate) */
    int allow_renegotiation;
    long long renegotiation_interval_ms;
    int allow_legacy_server;
} rt_tls_options;

/* Process-wide defaults for every server built afterwards that does not
 * set its own ticket_keys / cookie_secret (dtlsrun --ticket-keys,
 * --cookie-secret, and the master of --workers). Copied; NULL clears one.
 * 0, or -1 with a message naming what is wrong. */
int rt_set_default_ticket_keys(const uint8_t *keys, size_t len, char *err, size_t errlen);
int rt_set_default_cookie_secret(const uint8_t *secret, size_t len, char *err, size_t errlen);
/* A default ticket secret instead of keys (the master of --workers without
 * --ticket-keys): every server derives its ticket keys from it, one per
 * sessionTimeout of wall-clock time, so workers rotate in lockstep.
 * RT_COOKIE_SECRET_MIN..MAX bytes, like a cookie secret. Clears the keys. */
int rt_set_default_ticket_secret(const uint8_t *secret, size_t len, char *err, size_t errlen);
/* --ticket-keys / --cookie-secret: read the files (either may be NULL) into
 * the defaults above, and remember their paths for rt_secret_files_reload.
 * 0, or -1 with a message naming the flag and the file (never the bytes). */
int rt_secret_files_load(const char *ticket_keys_file, const char *cookie_secret_file, char *err,
                         size_t errlen);
int rt_secret_files_given(void); /* 1 when either file was given */
/* Reads the files again (SIGHUP does this in every process that runs a
 * loop with rt_loop_handle_signals) and gives the new keys to every server
 * of the loop that uses the defaults. On an error nothing changes. */
int rt_secret_files_reload(rt_loop *loop, char *err, size_t errlen);
#define RT_COOKIE_SECRET_MIN 32u   /* the engine's DTLS_COOKIE_SECRET_MIN... */
#define RT_COOKIE_SECRET_MAX 64u   /* ...and DTLS_COOKIE_SECRET_MAX */
#define RT_TICKET_KEY_LEN 48u      /* the engine's DTLS_TICKET_KEY_LEN */

#define RT_CID_MAX_LEN 20                   /* the engine's DTLS_CID_MAX_LEN */
#define RT_DEFAULT_MAX_CONNECTIONS 100000u
/* A peer silent for 10 minutes is most likely gone: UDP has no FIN, and
 * NAT bindings for UDP last minutes, not hours (RFC 4787 REQ-5: at least
 * 2). Without an end, maxConnections idle sessions would stay forever. */
#define RT_IDLE_TIMEOUT_DEFAULT UINT64_MAX
#define RT_DEFAULT_SERVER_IDLE_TIMEOUT_MS 600000u
#define RT_DEFAULT_MAX_HANDSHAKES 10000u
/* Handshakes last a round trip or two: 64 at once leaves room for a NAT
 * full of clients, and keeps one address to 64 of the 10,000 slots. */
#define RT_DEFAULT_MAX_HANDSHAKES_PER_ADDRESS 64u
#define RT_MIN_REASSEMBLY_BYTES 65536u     /* the engine's DTLS_REASSEMBLY_MIN */
#define RT_DEFAULT_RETRANSMIT_MS 1000u     /* RFC 6347 4.2.4.1 */
#define RT_DEFAULT_MAX_RETRANSMIT_MS 60000u
#define RT_RETRANSMIT_RANGE_MIN_MS 10u      /* the engine's DTLS_RTO_MIN_MS... */
#define RT_RETRANSMIT_RANGE_MAX_MS 600000u  /* ...and DTLS_RTO_MAX_MS */

/* Sets the defaults (reject_unauthorized = 1, tickets = 1, session cache,
 * connection_id and renegotiation_interval_ms -1, everything else 0/NULL). */
void rt_tls_options_init(rt_tls_options *opt);

/* ---- host callbacks ---------------------------------------------------------- */

typedef struct rt_handlers {
    /* The handshake finished: cipher, protocol, peer certificate are known. */
    void (*conn_secure)(void *host, rt_conn *conn);
    /* One decrypted record; data is valid during the call only. */
    void (*conn_message)(void *host, rt_conn *conn, const uint8_t *data, size_t len);
    /* A fatal alert (sent or received) or a failure such as a handshake
     * timeout; msg names the alert ("handshake_failure alert received").
     * conn_closed follows. */
    void (*conn_error)(void *host, rt_conn *conn, int err, const char *msg);
    /* The last callback for conn. */
    void (*conn_closed)(void *host, rt_conn *conn);
    /* Server PSK lookup (see dtls_callbacks.psk_lookup): copy the key for
     * identity into key (at most cap bytes) and return its length, -1 for
     * an unknown identity, -2 when the lookup failed. */
    int (*psk_lookup)(void *host, rt_conn *conn, const uint8_t *identity,
                      size_t identity_len, uint8_t *key, size_t cap);
    /* Server only: its socket is closed and every connection is gone. */
    void (*server_closed)(void *host);
    /* Client: the server issued a new session or ticket; rt_conn_session
     * has it. May be NULL. */
    void (*conn_session)(void *host, rt_conn *conn);
    /* Server, RFC 9146: an authenticated record newer than all before came
     * from a new address, and the association follows it (old is where it
     * was). May be NULL. */
    void (*conn_moved)(void *host, rt_conn *conn, const rt_sockname *old);

    /* Optional: a handshake's NSS key-log line, "CLIENT_RANDOM <hex> <hex>"
     * (no newline), for packet analysers. Key material: handle with care.
     * ($SSLKEYLOGFILE, when set, gets every line whatever the host does.) */
    void (*keylog)(void *host, rt_conn *conn, const char *line);
    /* A renegotiation completed (err 0: new keys, session, peer identity)
     * or one rt_conn_renegotiate started failed (err < 0; the connection
     * goes on unless conn_closed follows). May be NULL. */
    void (*conn_renegotiated)(void *host, rt_conn *conn, int err, const char *msg);
} rt_handlers;

/* ---- servers -------------------------------------------------------------- */

/* Builds the server's DTLS configuration; when opt has neither cert/key nor
 * psk_server, the embedded default certificate is used (see default_cert.c).
 * family is 4 or 6. NULL with a message naming the option in err. */
rt_server *rt_server_new(rt_loop *loop, int family, const rt_tls_options *opt,
                         const rt_handlers *handlers, void *host,
                         char *err, size_t errlen);
/* address NULL means every address of the family. 0 or a negative uv error
 * (message in err). */
int rt_server_bind(rt_server *server, const char *address, int port,
                   char *err, size_t errlen);
int rt_server_bound(const rt_server *server);
int rt_server_sockname(const rt_server *server, rt_sockname *out);
/* close_notify to every connection, then close the socket; server_closed is
 * called later from the loop (also for a server never bound). Idempotent. */
void rt_server_close(rt_server *server);
/* New credentials (and every other option of opt) for the handshakes that
 * start from now on; live sessions keep theirs. 0, or -1 with a message
 * naming the option (the server is unchanged). */
int rt_server_set_tls(rt_server *server, const rt_tls_options *opt, char *err, size_t errlen);
/* No more host callbacks for this server and its connections. */
void rt_server_detach(rt_server *server);
size_t rt_server_connection_count(const rt_server *server);

/* Counters of one server since it was made (rt_server_stats). */
typedef struct rt_server_stats {
    uint64_t sessions;          /* established and live now */
    uint64_t handshaking;       /* handshakes in progress now */
    uint64_t reassembly_bytes;  /* held now for fragmented handshake
                                   messages (maxReassemblyBytes) */
    uint64_t handshakes_done;
    /* HelloVerifyRequests sent: ClientHellos without a cookie this server
     * (or a holder of its cookie secret) made (RFC 6347 4.2.1) */
    uint64_t hello_verify_requests;
    /* Handshakes that ended without a session, by cause: the alert (sent
     * or received) by its description, a timeout, anything else. */
    uint64_t failed_by_alert[256];
    uint64_t failed_timeout, failed_other;
    /* Records dropped, as RFC 6347 4.1.2.7 has it: silently, counted. */
    uint64_t dropped_malformed, dropped_auth, dropped_replay, dropped_epoch,
             dropped_unexpected;
    uint64_t dropped_over_capacity; /* new peers past maxConnections/maxHandshakes */
    uint64_t datagrams_in, datagrams_out, bytes_in, bytes_out;
} rt_server_stats;
void rt_server_stats_get(const rt_server *server, rt_server_stats *out);
/* An HTTP endpoint on address:port answering GET /metrics with every live
 * server's counters in Prometheus' text format; it never keeps the loop
 * alive, and closes with rt_loop_shutdown. 0, or -1 with err. */
typedef struct rt_metrics rt_metrics;
int rt_metrics_start(rt_loop *loop, const char *address, int port, char *err, size_t errlen);
void rt_metrics_close(rt_loop *loop);
/* Calls fn for every live server of the loop (for a metrics endpoint). */
void rt_loop_each_server(rt_loop *loop, void (*fn)(void *arg, rt_server *server), void *arg);

/* ---- clients --------------------------------------------------------------- */

/* A connection with its own UDP socket. Callbacks go to handlers with host.
 * NULL with a message naming the option in err. The handshake begins with
 * rt_conn_start_handshake, so the host can finish its own set-up first. The
 * socket is closed after conn_closed. */
rt_conn *rt_client_connect(rt_loop *loop, int family, const char *address, int port,
                           const rt_tls_options *opt, const rt_handlers *handlers,
                           void *host, char *err, size_t errlen);
/* Client: send the first flight. A negative DTLS_ERR_* when it failed (the
 * connection is then closed and conn_closed was called). */
int rt_conn_start_handshake(rt_conn *conn);

/* ---- connections ------------------------------------------------------------ */

/* Completion of one send: status 0 once the datagram was handed to the
 * kernel, or a negative error. Always called from the loop, later. */
typedef void (*rt_send_done)(void *a, intptr_t b, int status);

/* Encrypts and sends one record. 0 on success (done, when not NULL, follows
 * later), or a negative DTLS_ERR_* / uv error (done is not called). */
int rt_conn_send(rt_conn *conn, const uint8_t *data, size_t len,
                 rt_send_done done, void *a, intptr_t b);
/* Start a renegotiation (a server sends HelloRequest); conn_renegotiated
 * reports the outcome. 0, or a DTLS error code (one already under way, the
 * peer has no secure renegotiation, closed). */
int rt_conn_renegotiate(rt_conn *conn, const char **why);
/* Largest payload rt_conn_send accepts now. */
size_t rt_conn_max_send(const rt_conn *conn);
/* close_notify, then conn_closed (synchronously). Idempotent. */
void rt_conn_close(rt_conn *conn);
/* No more host callbacks for this connection (conn_closed included). */
void rt_conn_detach(rt_conn *conn);

void *rt_conn_user(const rt_conn *conn);
void rt_conn_set_user(rt_conn *conn, void *user);
int rt_conn_is_client(const rt_conn *conn);
int rt_conn_established(const rt_conn *conn);
void rt_conn_peer(const rt_conn *conn, rt_sockname *out);
/* "127.0.0.1:50000" or "[::1]:50000", for log lines. */
/* "address:port" of the peer, in a static buffer valid until the next call. */
const char *rt_conn_peer_text(const rt_conn *conn);
int rt_conn_local(const rt_conn *conn, rt_sockname *out);
const char *rt_conn_cipher(const rt_conn *conn);
const char *rt_conn_protocol(const rt_conn *conn);
/* 1 when a CBC suite runs with Encrypt-then-MAC (RFC 7366). */
int rt_conn_encrypt_then_mac(const rt_conn *conn);
const uint8_t *rt_conn_psk_identity(const rt_conn *conn, size_t *len);
/* Server connections: the server_name the client asked for, or NULL. */
const char *rt_conn_servername(const rt_conn *conn);
const uint8_t *rt_conn_peer_cert_der(const rt_conn *conn, size_t *len);
/* Client: the session to resume later (malloc'ed; wipe and free it), or -1
 * when the server made nothing resumable. */
int rt_conn_get_session(const rt_conn *conn, uint8_t **blob, size_t *len);
/* The handshake was an abbreviated one (both roles). */
int rt_conn_session_reused(const rt_conn *conn);
/* A Connection ID is in use in at least one direction (RFC 9146). */
int rt_conn_cid_in_use(const rt_conn *conn);
/* Once established: 1 when the peer was authenticated — its certificate
 * verified against the trusted CAs, or its PSK — else 0 with *why saying
 * why not (static text). */
int rt_conn_authorized(const rt_conn *conn, const char **why);
/* Why the connection ended, once it has (also during conn_closed):
 * "close_notify" (the peer's), "idle", "local" (rt_conn_close), "shutdown"
 * (its server closed or the loop shut down), "alert: <name>" (a fatal alert,
 * sent or received), "timeout" (the handshake), "replaced" (RFC 6347 4.2.8),
 * "unreachable" (ICMP: nothing listens), "error". NULL while it lives.
 * Static storage, valid until the next call. */
const char *rt_conn_close_reason(const rt_conn *conn);

/* ---- signals ---------------------------------------------------------------- */

/* fn(arg, signum) from the loop each time signum arrives. Never keeps the
 * loop alive. SIGINT/SIGTERM belong to rt_loop_handle_signals. */
typedef struct rt_signal rt_signal;
typedef void (*rt_signal_fn)(void *arg, int signum);
rt_signal *rt_signal_new(rt_loop *loop, int signum, rt_signal_fn fn, void *arg);
/* Stops and frees (once libuv lets go; rt_loop_free waits for that). */
void rt_signal_free(rt_signal *signal);

/* ---- timers ---------------------------------------------------------------- */

typedef void (*rt_timer_fn)(void *arg);
rt_timer *rt_timer_new(rt_loop *loop, rt_timer_fn fn, void *arg);
/* One shot after timeout_ms, then every repeat_ms when repeat_ms > 0. */
int rt_timer_start(rt_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms);
void rt_timer_stop(rt_timer *timer);
int rt_timer_active(const rt_timer *timer);
/* An unref'ed timer does not keep rt_loop_run going on its own. */
void rt_timer_set_ref(rt_timer *timer, int ref);
/* Stops, and frees once libuv has let go of the handle. */
void rt_timer_free(rt_timer *timer);

/* ---- certificates and PEM ------------------------------------------------------ */

/* PEM text as is, or the contents of the file it names (bounded size).
 * *out is malloc'ed, NUL terminated. what names the option in messages. */
int rt_pem_source_load(const char *what, const char *text_or_path, char **out,
                       size_t *out_len, char *err, size_t errlen);
/* DER certificate to PEM text (malloc'ed). */
char *rt_der_to_pem(const uint8_t *der, size_t len);
/* Subject ("CN=foo,O=bar") and SHA-256 fingerprint ("AB:CD:...") of a DER
 * certificate. 0, or -1 when it does not parse. */
typedef struct rt_cert_info {
    char subject[256];
    char fingerprint256[96];
    /* node's formats, empty when absent: issuer like subject, serialNumber
     * in upper-case hex, subjectaltname "DNS:a, IP Address:127.0.0.1",
     * validFrom/validTo "Dec  1 18:30:00 2026 GMT" */
    char issuer[256];
    char serial[100];
    char subjectaltname[1024];
    char valid_from[40];
    char valid_to[40];
} rt_cert_info;
int rt_cert_describe(const uint8_t *der, size_t len, rt_cert_info *out);
/* Messages for rt_conn_send's return codes, and for send completion
 * statuses (I/O errors). */
const char *rt_error_string(int err);
const char *rt_io_error_string(int status);
/* An alert description's name ("unknown_ca"; "alert" for unknown ones). */
const char *rt_alert_name(int desc);
/* The alert a conn_error code names ("unknown_ca"), or NULL for none. */
const char *rt_error_alert_name(int err);
/* The embedded default credentials (created on first use), see default_cert.c. */
int rt_default_credentials(char **cert_pem, char **key_pem, char *err, size_t errlen);
/* The directory they live in (no I/O). */
int rt_state_dir(char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

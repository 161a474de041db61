/* dtls.h — the public API of the sans-IO DTLS engine.
 *
 * The engine turns (datagram bytes, time) into (datagram bytes, events). It
 * never does I/O, never reads the clock, and knows nothing of sockets, libuv
 * or Lua: the caller passes now_ms, hands received datagrams in, and receives
 * datagrams to send and events through the callbacks set on the config.
 *
 * Re-entrancy: callbacks run inside dtls_conn_* calls. From inside a callback
 * the caller may call dtls_conn_send() and dtls_conn_close() on any
 * connection, but must not free the connection the callback is for; free it
 * after the outer call returns (the runtime defers frees to its loop).
 */
#ifndef DTLS_DTLS_H
#define DTLS_DTLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dtls_config dtls_config;
typedef struct dtls_conn dtls_conn;

typedef enum { DTLS_ROLE_CLIENT = 0, DTLS_ROLE_SERVER = 1 } dtls_role;

/* Return codes. Negative values are errors; where a TLS alert applies, the
 * error is -(256 + alert description) so the alert is recoverable with
 * dtls_err_alert(). */
enum {
    DTLS_OK = 0,
    DTLS_ERR_INTERNAL = -1,    /* allocation or libcrypto failure */
    DTLS_ERR_ARG = -2,         /* the caller passed something invalid */
    DTLS_ERR_STATE = -3,       /* not allowed in the connection's state */
    DTLS_ERR_TOO_BIG = -4,     /* message larger than one record can carry */
    DTLS_ERR_CLOSED = -5,      /* the connection is closed or failed */
    DTLS_ERR_TIMEOUT = -6,     /* the handshake did not finish in time */
    DTLS_ERR_SEQ_EXHAUSTED = -7, /* record sequence numbers ran out: closed */
    DTLS_ERR_ALERT_BASE = -256,
};
#define DTLS_ERR_FROM_ALERT(desc) (DTLS_ERR_ALERT_BASE - (int)(desc))
/* The alert description an error names, or -1 when it names none. */
int dtls_err_alert(int err);
/* A short, static, key-free description of an error code. */
const char *dtls_strerror(int err);

/* TLS alert descriptions (RFC 5246 7.2, RFC 4279, RFC 5746). */
enum {
    DTLS_ALERT_CLOSE_NOTIFY = 0,
    DTLS_ALERT_UNEXPECTED_MESSAGE = 10,
    DTLS_ALERT_BAD_RECORD_MAC = 20,
    DTLS_ALERT_RECORD_OVERFLOW = 22,
    DTLS_ALERT_HANDSHAKE_FAILURE = 40,
    DTLS_ALERT_BAD_CERTIFICATE = 42,
    DTLS_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    DTLS_ALERT_CERTIFICATE_REVOKED = 44,
    DTLS_ALERT_CERTIFICATE_EXPIRED = 45,
    DTLS_ALERT_CERTIFICATE_UNKNOWN = 46,
    DTLS_ALERT_ILLEGAL_PARAMETER = 47,
    DTLS_ALERT_UNKNOWN_CA = 48,
    DTLS_ALERT_ACCESS_DENIED = 49,
    DTLS_ALERT_DECODE_ERROR = 50,
    DTLS_ALERT_DECRYPT_ERROR = 51,
    DTLS_ALERT_PROTOCOL_VERSION = 70,
    DTLS_ALERT_INSUFFICIENT_SECURITY = 71,
    DTLS_ALERT_INAPPROPRIATE_FALLBACK = 86, /* RFC 7507 */
    DTLS_ALERT_INTERNAL_ERROR = 80,
    DTLS_ALERT_USER_CANCELED = 90,
    DTLS_ALERT_NO_RENEGOTIATION = 100,
    DTLS_ALERT_UNSUPPORTED_EXTENSION = 110,
    DTLS_ALERT_UNRECOGNIZED_NAME = 112,
    DTLS_ALERT_UNKNOWN_PSK_IDENTITY = 115,
};
/* "handshake_failure" etc.; "unknown_alert_N" never — unknown ones give "alert". */
const char *dtls_alert_name(int desc);

/* ---- events ------------------------------------------------------------ */

typedef enum {
    DTLS_EV_HANDSHAKE_DONE = 1, /* the association is established */
    DTLS_EV_APP_DATA,           /* data/len: one decrypted record's payload */
    DTLS_EV_ALERT,              /* alert_level/alert_desc/alert_sent */
    DTLS_EV_CLOSED,             /* final: error says why (DTLS_OK = close_notify) */
    DTLS_EV_SESSION,            /* client: a new resumable session or ticket
                                   (dtls_conn_get_session has it) */
    DTLS_EV_PEER_MOVED,         /* during dtls_conn_recv_moved: the datagram
                                   holds an authenticated record newer than
                                   every one before; switch the peer's address
                                   now (RFC 9146 6), before its content is
                                   delivered and answered */
    DTLS_EV_RENEGOTIATED,       /* a renegotiation completed (error DTLS_OK:
                                   new keys, epoch, session and peer identity)
                                   or, for one dtls_conn_renegotiate started,
                                   failed (error says why; the association
                                   goes on unless DTLS_EV_CLOSED follows) */
} dtls_event_type;

typedef struct dtls_event {
    dtls_event_type type;
    const uint8_t *data; /* APP_DATA only; valid during the callback only */
    size_t len;
    int alert_level;     /* 1 warning, 2 fatal */
    int alert_desc;
    int alert_sent;      /* 1 when we sent it, 0 when the peer did */
    int error;           /* CLOSED: DTLS_OK or a DTLS_ERR_* code */
} dtls_event;

/* Counters of silently dropped input, per connection (RFC 6347 4.1.2.7),
 * and of protected records that authenticated: only those prove the peer
 * is there (a host's idle timer follows them, not any datagram). */
typedef struct dtls_stats {
    uint64_t records_in, records_out;
    uint64_t records_authenticated;
    uint64_t dropped_malformed, dropped_auth, dropped_replay, dropped_epoch,
             dropped_unexpected;
    uint64_t retransmits;
} dtls_stats;

typedef struct dtls_callbacks {
    /* A datagram to send to the connection's peer. */
    void (*send)(void *user, const uint8_t *dgram, size_t len);
    /* Something happened on the connection. */
    void (*event)(void *user, const dtls_event *ev);
    /* Server, PSK suites: find the key for identity. Write at most key_cap
     * bytes to key and return its length, or return -1 for an unknown
     * identity (the handshake then fails with unknown_psk_identity), or -2
     * when the lookup itself failed (internal_error). May be NULL. */
    int (*psk_lookup)(void *user, const uint8_t *identity, size_t identity_len,
                      uint8_t *key, size_t key_cap);
    /* Optional log line from the engine (no key material ever). level uses
     * the DTLS_LOG_* values. */
    void (*log)(void *user, int level, const char *msg);
    /* Optional, for debugging with a packet analyser only: once a
     * handshake's master secret exists, its NSS key-log line
     * "CLIENT_RANDOM <client_random hex> <master_secret hex>" (no newline).
     * The one place key material leaves the engine; the line is wiped
     * after the call. NULL: never formatted. */
    void (*keylog)(void *user, const char *line);
} dtls_callbacks;

enum { DTLS_LOG_FINEST = 0, DTLS_LOG_FINER, DTLS_LOG_FINE, DTLS_LOG_INFO,
       DTLS_LOG_WARN, DTLS_LOG_SEVERE };

/* ---- configuration ------------------------------------------------------ */
/* A config is shared by many connections and must not change once a
 * connection made from it exists (except dtls_config_rotate_cookie_secret). */

dtls_config *dtls_config_new(void);
void dtls_config_free(dtls_config *cfg);
void dtls_config_set_callbacks(dtls_config *cfg, const dtls_callbacks *cb);

/* The host's current log level, read before any log line is formatted
 * (lines below it cost nothing). The pointer must outlive the config;
 * NULL (the default): every line goes to the log callback. */
void dtls_config_set_log_threshold(dtls_config *cfg, const int *level);

/* Setters return DTLS_OK or an error, with a message in err (may be NULL). */
int dtls_config_set_cert_chain_pem(dtls_config *cfg, const char *pem, size_t len,
                                   char *err, size_t errlen);
int dtls_config_set_key_pem(dtls_config *cfg, const char *pem, size_t len,
                            char *err, size_t errlen);
/* Trusted roots for verifying the peer. */
int dtls_config_add_ca_pem(dtls_config *cfg, const char *pem, size_t len,
                           char *err, size_t errlen);
/* Adds the system's trust anchors: OpenSSL's default CA file and directory,
 * or the files SSL_CERT_FILE and SSL_CERT_DIR name. The one engine call that
 * reads files (through libcrypto); hosts make it while building a config. */
int dtls_config_add_default_ca(dtls_config *cfg, char *err, size_t errlen);
/* Client: verify the server's chain and name (default on).
 * Server: request a client certificate (request) and fail without one
 * (require). */
void dtls_config_set_verify_peer(dtls_config *cfg, int verify);
/* Client, with verification on: check the server's name (set with
 * dtls_conn_set_servername; an IP literal is checked against iPAddress
 * SANs) against its certificate (default on). A verifying client without
 * a name fails the handshake rather than check the chain alone; turning
 * this off is the explicit way to accept any name the chain vouches for. */
void dtls_config_set_check_server_name(dtls_config *cfg, int on);
void dtls_config_set_request_cert(dtls_config *cfg, int request, int require);
/* Colon-separated OpenSSL-style suite names, in preference order. */
int dtls_config_set_ciphers(dtls_config *cfg, const char *list, char *err, size_t errlen);
/* Client: the PSK identity and key to offer. */
int dtls_config_set_psk(dtls_config *cfg, const uint8_t *identity, size_t identity_len,
                        const uint8_t *key, size_t key_len);
/* Server: the psk_identity_hint sent in ServerKeyExchange. */
int dtls_config_set_psk_hint(dtls_config *cfg, const char *hint);
/* Datagram size limit for everything we send (default 1400). */
int dtls_config_set_mtu(dtls_config *cfg, size_t mtu);
/* Memory for reassembling fragmented handshake messages, all of this
 * config's handshakes together (one handshake never holds more than
 * DTLS_REASSEMBLY_MIN, 64 KiB). Past it, fragments that would need more
 * are dropped until memory is released; their peers resend (RFC 6347
 * 4.2.4). Each handshake still gets DTLS_REASSEMBLY_RESERVE for the
 * message it waits for, so the worst case is the cap plus that much per
 * handshake in progress. Messages that arrive whole and in order take
 * none. Default 16 MiB; DTLS_ERR_ARG below DTLS_REASSEMBLY_MIN. */
#define DTLS_REASSEMBLY_MIN (64u * 1024)
#define DTLS_REASSEMBLY_DEFAULT (16u * 1024 * 1024)
#define DTLS_REASSEMBLY_RESERVE (4u * 1024)
int dtls_config_set_max_reassembly(dtls_config *cfg, size_t bytes);
/* What this config's handshakes hold for reassembly now. */
size_t dtls_config_reassembly_memory(const dtls_config *cfg);
/* Give up a handshake after this long (default 60000 ms). */
void dtls_config_set_handshake_timeout(dtls_config *cfg, uint64_t ms);
/* The flight retransmission timer: it starts at initial_ms and doubles on
 * each retransmission up to max_ms (RFC 6347 4.2.4.1: 1 s and 60 s, the
 * defaults; RFC 7925 11 suggests a longer start on constrained networks).
 * DTLS_ERR_ARG unless DTLS_RTO_MIN_MS <= initial_ms <= max_ms <= DTLS_RTO_MAX_MS. */
#define DTLS_RTO_MIN_MS 10u
#define DTLS_RTO_MAX_MS 600000u
int dtls_config_set_retransmit_timeout(dtls_config *cfg, uint32_t initial_ms, uint32_t max_ms);
/* An established association that sends and receives nothing for ms
 * parks its record keys: libcrypto's two cipher contexts (about 2.3 KB for
 * AES-GCM) are freed, the keys kept, and the next record re-keys (a few
 * microseconds). Default DTLS_KEY_PARK_DEFAULT_MS; 0: never. The deadline
 * (dtls_conn_deadline) includes it. */
#define DTLS_KEY_PARK_DEFAULT_MS 1000u
void dtls_config_set_key_park(dtls_config *cfg, uint32_t ms);
/* RFC 7627 extended master secret: 1 offer/accept (default), 0 never. */
void dtls_config_set_extended_master_secret(dtls_config *cfg, int on);
/* The protocol versions to speak, oldest and newest (wire values, which
 * count down: DTLS_VERSION_1_2 is newer). Default: DTLS 1.2 only. DTLS 1.0
 * (RFC 4347) is for old peers: it runs CBC suites only, which must be
 * named in dtls_config_set_ciphers. DTLS_ERR_ARG for an unknown version
 * or min newer than max. */
#define DTLS_VERSION_1_0 0xFEFFu
#define DTLS_VERSION_1_2 0xFEFDu
int dtls_config_set_versions(dtls_config *cfg, uint16_t min, uint16_t max);
/* Encrypt-then-MAC (RFC 7366) for CBC suites: offered by clients and
 * accepted by servers (1, the default), or never (0: MAC-then-encrypt, for
 * tests and measurements; the constant-time check still applies). */
void dtls_config_set_encrypt_then_mac(dtls_config *cfg, int on);
/* Checks that the configured key matches the leaf certificate, and that a
 * server has something to offer. Call once after setting up. */
int dtls_config_check(const dtls_config *cfg, dtls_role role, char *err, size_t errlen);
/* Cookie secrets rotate on their own (driven by now_ms passed to
 * dtls_accept); this forces a rotation. */
void dtls_config_rotate_cookie_secret(dtls_config *cfg);
/* Server: the HelloVerifyRequest cookie key comes from this secret
 * (DTLS_COOKIE_SECRET_MIN..DTLS_COOKIE_SECRET_MAX bytes) rather than from
 * fresh randomness, so processes and nodes sharing it accept each other's
 * cookies. Keys are derived per wall-clock period (now_ms plus the clock
 * offset, DTLS_COOKIE_PERIOD_MS long); the current and previous period's
 * cookies verify. dtls_config_rotate_cookie_secret does nothing then. */
#define DTLS_COOKIE_SECRET_MIN 32u
#define DTLS_COOKIE_SECRET_MAX 64u
#define DTLS_COOKIE_PERIOD_MS (5u * 60u * 1000u)
int dtls_config_set_cookie_secret(dtls_config *cfg, const uint8_t *secret, size_t len);

/* ---- sessions (RFC 5246 7.3 abbreviated handshake, RFC 5077 tickets) ------ */
/* Server: the session-ID cache holds at most entries sessions (0: no cache;
 * the default is DTLS_SESSION_CACHE_DEFAULT). */
#define DTLS_SESSION_CACHE_DEFAULT 20000u
int dtls_config_set_session_cache(dtls_config *cfg, size_t entries);
/* How long a session may be resumed after the full handshake that made it
 * (cache entries and tickets alike; default 2 hours). 1 s .. 7 days. */
int dtls_config_set_session_timeout(dtls_config *cfg, uint64_t ms);
/* Server: issue and accept tickets (default on). */
void dtls_config_set_tickets(dtls_config *cfg, int on);
/* Server: ticket keys, one or more of DTLS_TICKET_KEY_LEN bytes each. The
 * first seals new tickets, every one opens; without this the engine makes
 * its own and rotates them every session timeout. */
#define DTLS_TICKET_KEY_LEN 48
int dtls_config_set_ticket_keys(dtls_config *cfg, const uint8_t *keys, size_t len);
/* Server: ticket keys derived from a shared secret instead, one per
 * wall-clock period of the session timeout (now_ms plus the clock offset):
 * the current period's key seals, it and the previous one open. Every
 * process and node holding the secret rotates in lockstep with no message
 * between them (the workers of one master use this). Replaces any keys. */
#define DTLS_TICKET_SECRET_MIN 32u
#define DTLS_TICKET_SECRET_MAX 64u
int dtls_config_set_ticket_secret(dtls_config *cfg, const uint8_t *secret, size_t len);
/* Ticket ages need a wall clock the engine does not read: the host says
 * how far its now_ms is from milliseconds since the Unix epoch. */
void dtls_config_set_clock_offset(dtls_config *cfg, int64_t wall_minus_now_ms);
/* Sessions in the cache, and the heap bytes the cache holds. */
size_t dtls_config_session_cache_count(const dtls_config *cfg);
size_t dtls_config_session_cache_memory(const dtls_config *cfg);

/* Client, before dtls_conn_start: offer to resume this session (a blob
 * from dtls_conn_get_session). DTLS_ERR_ARG when it does not parse; a
 * session that no longer fits the config is simply not offered. */
int dtls_conn_set_session(dtls_conn *conn, const uint8_t *blob, size_t len);
/* Client, after the handshake: the session to resume later as an opaque,
 * versioned byte string (malloc'ed; the caller wipes and frees it).
 * DTLS_ERR_STATE when the server made nothing resumable. */
int dtls_conn_get_session(const dtls_conn *conn, uint8_t **blob, size_t *len);
/* Both roles: the handshake was an abbreviated one. */
int dtls_conn_session_reused(const dtls_conn *conn);

/* ---- renegotiation (RFC 5746) ------------------------------------------------ */
/* Whether a peer may start a renegotiation (default 0: it gets a
 * no_renegotiation warning), and how long after the last handshake it may
 * (default DTLS_RENEG_INTERVAL_DEFAULT_MS; sooner gets the warning). Only
 * secure renegotiation (RFC 5746) is ever done, in either role. */
#define DTLS_RENEG_INTERVAL_DEFAULT_MS 60000u
void dtls_config_set_renegotiation(dtls_config *cfg, int allow, uint64_t interval_ms);
/* Client: connect to a server that does not send renegotiation_info
 * (default 0: handshake_failure, as OpenSSL does); such an association
 * never renegotiates. */
void dtls_config_set_allow_legacy_server(dtls_config *cfg, int allow);
/* Start a renegotiation on an established association: a server sends a
 * HelloRequest, a client a new ClientHello. Data keeps flowing; the
 * outcome is DTLS_EV_RENEGOTIATED. DTLS_ERR_STATE when one is under way,
 * the peer has no secure renegotiation, or the epochs ran out. */
int dtls_conn_renegotiate(dtls_conn *conn, uint64_t now_ms);
/* A renegotiation is under way. */
int dtls_conn_renegotiating(const dtls_conn *conn);

/* ---- Connection IDs (RFC 9146) --------------------------------------------- */
/* Ask peers to put a len-byte CID on every record they send us (0..20;
 * 0: we send CIDs when the peer asks but want none); -1 (default): the
 * extension is not offered or accepted. */
#define DTLS_CID_MAX_LEN 20
int dtls_config_set_connection_id(dtls_config *cfg, int len);
/* Where our CIDs come from (default: random bytes). The host sets this to
 * route by CID: fill cid[0..len) with a value no live association has and
 * return 0, or return -1 when it cannot (the association then asks for an
 * empty CID and is routed by address). */
typedef int (*dtls_cid_fn)(void *user, uint8_t *cid, size_t len);
void dtls_config_set_cid_generator(dtls_config *cfg, dtls_cid_fn fn, void *user);
/* Our CID for this association (what the peer puts on records to us), or
 * NULL when none was negotiated or it is empty. */
const uint8_t *dtls_conn_cid(const dtls_conn *conn, size_t *len);
/* A CID is in use in at least one direction. */
int dtls_conn_cid_in_use(const dtls_conn *conn);
/* The last dtls_conn_recv authenticated a record newer than every record
 * seen before it: only then may the host move the peer's address
 * (RFC 9146 6). */
int dtls_conn_last_recv_newest(const dtls_conn *conn);
/* dtls_conn_recv for a datagram that reached this association (by its CID)
 * from another address than the peer's: DTLS_EV_PEER_MOVED is emitted at
 * most once, when and if a record in it authenticates and is the newest. */
int dtls_conn_recv_moved(dtls_conn *conn, uint64_t now_ms, const uint8_t *dgram, size_t len);

/* ---- datagram classification ------------------------------------------------ */
/* What a datagram is, read from its first record, so the host routes it
 * without parsing DTLS itself: an epoch-0 ClientHello, the record's epoch
 * (-1 when no record parses), and its CID when it is a tls12_cid record of
 * this config's CID length. Stateless; cid points into dgram. */
typedef struct dtls_dgram_info {
    int client_hello;
    int epoch;
    const uint8_t *cid;
    size_t cid_len;
} dtls_dgram_info;
void dtls_classify(const dtls_config *cfg, const uint8_t *dgram, size_t len,
                   dtls_dgram_info *out);

/* ---- server-side stateless front door ------------------------------------ */

typedef enum {
    DTLS_ACCEPT_DROP = 0, /* ignore the datagram */
    DTLS_ACCEPT_REPLY,    /* send reply (a HelloVerifyRequest), keep no state */
    DTLS_ACCEPT_NEW,      /* cookie verified: make a connection, feed it dgram */
} dtls_accept_t;

/* For a datagram from a peer with no connection. peer/peer_len identify the
 * peer's transport address (opaque bytes, e.g. a sockaddr). reply must have
 * room for reply_cap bytes; the reply is never larger than dgram. */
dtls_accept_t dtls_accept(dtls_config *cfg, uint64_t now_ms,
                          const uint8_t *peer, size_t peer_len,
                          const uint8_t *dgram, size_t len,
                          uint8_t *reply, size_t reply_cap, size_t *reply_len);

/* True when dgram starts with an epoch-0 ClientHello record: on a live
 * association this may be a new association from the same address
 * (RFC 6347 4.2.8), to be passed to dtls_accept. */
int dtls_is_client_hello(const uint8_t *dgram, size_t len);

/* True when dgram is a copy of the ClientHello that began conn's own
 * handshake (a duplicate or a resend): feed it to conn, which answers with
 * its last flight, rather than treating it as a new association. */
int dtls_conn_is_own_hello(const dtls_conn *conn, const uint8_t *dgram, size_t len);

/* ---- connections -------------------------------------------------------- */

typedef enum {
    DTLS_STATE_HANDSHAKING = 0,
    DTLS_STATE_ESTABLISHED,
    DTLS_STATE_CLOSED,
} dtls_state;

/* user is passed to every callback for this connection. */
dtls_conn *dtls_conn_new(dtls_config *cfg, dtls_role role, const uint8_t *peer,
                         size_t peer_len, void *user);
void dtls_conn_free(dtls_conn *conn);
/* Client: the name for server_name and certificate checks (before start).
 * DTLS_ERR_ARG for an empty name (RFC 6066 3 allows no empty host_name).
 * An IP literal is checked but not sent (RFC 6066 3). */
int dtls_conn_set_servername(dtls_conn *conn, const char *name);
/* Client: send the first flight. Server: nothing to do. */
int dtls_conn_start(dtls_conn *conn, uint64_t now_ms);
/* A datagram from the peer. Returns DTLS_OK while the connection lives,
 * or the (sticky) error that ended it. Bad records are dropped silently. */
int dtls_conn_recv(dtls_conn *conn, uint64_t now_ms, const uint8_t *dgram, size_t len);
/* Application data: one record. */
int dtls_conn_send(dtls_conn *conn, uint64_t now_ms, const uint8_t *data, size_t len);
/* Largest len dtls_conn_send accepts now (depends on MTU and suite). */
size_t dtls_conn_max_send(const dtls_conn *conn);
/* Send close_notify and enter CLOSED (emits DTLS_EV_CLOSED). */
int dtls_conn_close(dtls_conn *conn, uint64_t now_ms);
/* When dtls_conn_tick must be called next; UINT64_MAX for never. */
uint64_t dtls_conn_deadline(const dtls_conn *conn);
void dtls_conn_tick(dtls_conn *conn, uint64_t now_ms);

dtls_state dtls_conn_state(const dtls_conn *conn);
void *dtls_conn_user(const dtls_conn *conn);
void dtls_conn_set_user(dtls_conn *conn, void *user);
const dtls_stats *dtls_conn_stats(const dtls_conn *conn);
/* Once the handshake has completed (also after close): the negotiated suite's name ("ECDHE-ECDSA-AES128-GCM-SHA256"),
 * protocol ("DTLSv1.2"), the peer's leaf certificate (DER) if any, and the PSK
 * identity if a PSK suite was used. NULL / 0 when absent. */
const char *dtls_conn_cipher_name(const dtls_conn *conn);
const char *dtls_conn_version_name(const dtls_conn *conn);
const uint8_t *dtls_conn_peer_cert_der(const dtls_conn *conn, size_t *len);
/* Once established: 1 when the suite is CBC-HMAC and Encrypt-then-MAC
 * (RFC 7366) was agreed, else 0. */
int dtls_conn_encrypt_then_mac(const dtls_conn *conn);
const uint8_t *dtls_conn_psk_identity(const dtls_conn *conn, size_t *len);
/* Server: the host name the client sent in server_name (RFC 6066), or NULL. */
const char *dtls_conn_servername(const dtls_conn *conn);
/* Bytes of heap the engine itself holds for a connection: the connection,
 * and while handshaking its transcript, flight, reassembly and early-record
 * buffers (for the benchmarks and the hostile-input tests; libcrypto's
 * contexts are not counted). */
size_t dtls_conn_memory(const dtls_conn *conn);

/* ---- helpers for hosts ---------------------------------------------------- */

/* A fresh self-signed ECDSA P-256 certificate and key, as PEM text the caller
 * frees with free(). */
int dtls_make_self_signed(const char *common_name, unsigned days,
                          char **cert_pem, char **key_pem, char *err, size_t errlen);
/* SHA-256 fingerprint of a DER certificate as "AB:CD:..." (96 bytes incl. NUL). */
int dtls_cert_fingerprint_sha256(const uint8_t *der, size_t len, char out[96]);
/* The first certificate of a PEM chain as DER, for fingerprints; free() it. */
int dtls_pem_first_cert_der(const char *pem, size_t len, uint8_t **der, size_t *der_len);
/* Subject of a DER certificate in one line ("CN=foo,O=bar"), truncated to cap. */
int dtls_cert_subject(const uint8_t *der, size_t len, char *out, size_t cap);
/* More of a DER certificate, as node's tls prints them (each truncated to
 * its field; empty when absent): issuer like dtls_cert_subject, serial in
 * upper-case hex, subjectAltName "DNS:a, IP Address:127.0.0.1", validity
 * "Dec  1 18:30:00 2026 GMT". */
typedef struct dtls_cert_info {
    char issuer[256];
    char serial[100];
    char subjectaltname[1024];
    char valid_from[40];
    char valid_to[40];
} dtls_cert_info;
int dtls_cert_details(const uint8_t *der, size_t len, dtls_cert_info *out);

#ifdef __cplusplus
}
#endif
#endif

/* internal.h — the engine's shared state: the config, one connection, and
 * the handshake-only state that is freed once the association is set up.
 * Only the engine sources include this; hosts see dtls/dtls.h.
 */
#ifndef DTLS_INTERNAL_H
#define DTLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dtls/dtls.h"
#include "aead.h"
#include "buf.h"
#include "cert.h"
#include "protect.h"
#include "session.h"
#include "session_cache.h"
#include "suite.h"
#include "ticket.h"
#include "reneg.h"

#define DTLS1_2_VERSION 0xFEFD
#define DTLS1_0_VERSION 0xFEFF

/* Record content types (RFC 5246 6.2.1). */
enum { CT_CHANGE_CIPHER_SPEC = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPLICATION_DATA = 23,
       CT_TLS12_CID = 25 /* RFC 9146 4 */ };

/* Handshake message types (RFC 5246 7.4, RFC 6347 4.2.2). */
enum {
    HT_HELLO_REQUEST = 0,
    HT_CLIENT_HELLO = 1,
    HT_SERVER_HELLO = 2,
    HT_HELLO_VERIFY_REQUEST = 3,
    HT_NEW_SESSION_TICKET = 4,  /* RFC 5077 3.3 */
    HT_CERTIFICATE = 11,
    HT_SERVER_KEY_EXCHANGE = 12,
    HT_CERTIFICATE_REQUEST = 13,
    HT_SERVER_HELLO_DONE = 14,
    HT_CERTIFICATE_VERIFY = 15,
    HT_CLIENT_KEY_EXCHANGE = 16,
    HT_FINISHED = 20,
};

/* Extension types. */
enum {
    EXT_SERVER_NAME = 0,
    EXT_SUPPORTED_GROUPS = 10,
    EXT_EC_POINT_FORMATS = 11,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_ENCRYPT_THEN_MAC = 22,  /* RFC 7366 */
    EXT_EXTENDED_MASTER_SECRET = 23,
    EXT_SESSION_TICKET = 35,    /* RFC 5077 3.2 */
    EXT_CONNECTION_ID = 54,     /* RFC 9146 3 */
    EXT_RENEGOTIATION_INFO = 0xFF01,
};

#define RECORD_HEADER_LEN 13
/* RFC 6347 4.1: sequence numbers must not wrap; the last one is kept for
 * the close_notify that ends an association whose numbers ran out. */
#define MAX_RECORD_SEQ (((uint64_t)1 << 48) - 1)
#define HANDSHAKE_HEADER_LEN 12
#define MAX_RECORD_PLAINTEXT 16384      /* RFC 5246 6.2.1 */
#define MAX_RECORD_CIPHERTEXT (16384 + 2048)
#define MAX_DATAGRAM 16384              /* the largest MTU we accept */
#define MAX_HANDSHAKE_MESSAGE 32768     /* bigger messages are refused */
#define MAX_FUTURE_MESSAGES 8           /* buffered messages past the next */
/* Reassembly memory grows with the bytes that arrive, in chunks, never with
 * the length a fragment claims; all of an association's reassembly buffers
 * together stay under MAX_REASM_BYTES (64 KiB: the largest message we
 * accept, a 32 KiB certificate chain, with room for the rest of its flight
 * and a rival candidate). The next expected message may evict later ones.
 * Messages not yet due share MAX_FUTURE_REASM_BYTES of that: buffering them
 * only saves the peer a resend (RFC 6347 4.2.2 lets us discard them), so a
 * peer scattering fragments over many future messages gets little for it.
 * The message due gets REASM_DUE_RESERVE even past the config's cap
 * (dtls_config_set_max_reassembly): six chunks, a 3 KB message. */
#define REASM_CHUNK 512
#define MAX_REASM_BYTES (64 * 1024)
#define MAX_FUTURE_REASM_BYTES (8 * 1024)
#define REASM_DUE_RESERVE DTLS_REASSEMBLY_RESERVE
#define REASM_CANDIDATES 2              /* rival versions kept per message_seq */
#define MAX_EARLY_RECORDS 8             /* next-epoch records held before CCS */
#define MAX_EARLY_BYTES 8192
#define MAX_PSK_IDENTITY 128            /* RFC 4279 5.3 allows 2^16-1; we cap */
#define MAX_PSK_KEY 64
#define COOKIE_LEN 32
#define MAX_SUITES 32
#define FINAL_FLIGHT_KEEP_MS (2 * 120 * 1000) /* RFC 6347 4.2.4: twice the TCP MSL */
#define MAX_CID_LEN 20                  /* what we ask for; RFC 9146 allows 255 */
#define HS_SPARE_MAX 16                 /* wiped handshake states kept per config... */
#define HS_SPARE_TRANSCRIPT_MAX 8192    /* ...with transcript buffers up to this */
#define DEFAULT_SESSION_TIMEOUT_MS (2 * 3600 * 1000)

/* ---- configuration ---- */

struct dtls_config {
    dtls_callbacks cb;
    const int *log_threshold;  /* the host's level, or NULL */
    /* certificate authentication */
    dtls_chain chain;
    EVP_PKEY *key;
    int leaf_key_usage;      /* DTLS_KU_* of the leaf (cert.h) */
    X509_STORE *ca;
    bool verify_peer;        /* client: check the server's chain... */
    bool check_name;         /* ...and its name (default on, RFC 6125 6) */
    bool request_cert;       /* server: send CertificateRequest */
    bool require_cert;       /* server: fail without a client certificate */
    uint8_t ca_digest[32];   /* SHA-256 chain over every CA added, for auth contexts */
    /* PSK, client side */
    uint8_t psk_identity[MAX_PSK_IDENTITY];
    size_t psk_identity_len;
    uint8_t psk_key[MAX_PSK_KEY];
    size_t psk_key_len;
    char *psk_hint;
    /* suites in preference order */
    const dtls_suite *suites[MAX_SUITES];
    size_t nsuites;
    bool ciphers_set;        /* else: defaults filtered by what we can do */
    size_t mtu;
    uint64_t handshake_timeout_ms;
    uint32_t rto_initial_ms; /* flight retransmission timer: first value... */
    uint32_t rto_max_ms;     /* ...and the cap its doubling stops at */
    uint32_t key_park_ms;    /* idle this long: cipher contexts freed (0: never) */
    bool ems;
    /* protocol versions we speak (wire values; DTLS counts down, so the
     * oldest is the largest): DTLS 1.2 only unless DTLS 1.0 is enabled */
    uint16_t min_version, max_version;
    bool etm;                /* offer/accept Encrypt-then-MAC (RFC 7366) */
    /* sessions (RFC 5246 7.3): a session-ID cache and stateless tickets
     * (RFC 5077); keys are name (16) | AES-256 key (32), first one seals */
    session_cache cache;
    uint64_t session_timeout_ms;
    bool tickets;
    bool ticket_keys_external;  /* set from outside: never rotated here */
    uint8_t ticket_keys[TICKET_KEYS_MAX * TICKET_KEY_LEN];
    size_t nticket_keys;
    uint64_t ticket_rotated_at;
    /* a shared ticket secret: keys derived per wall-clock period of
     * session_timeout_ms, the same in every process holding it */
    uint8_t ticket_master[64];
    size_t ticket_master_len;
    uint64_t ticket_period;     /* the period ticket_keys[0] belongs to */
    int64_t clock_offset_ms;    /* wall clock = now_ms + this (ticket ages) */
    /* RFC 9146 Connection IDs: the length of the CIDs we ask peers to put
     * on records to us (0..MAX_CID_LEN), or -1: extension not offered */
    int cid_len;
    dtls_cid_fn cid_gen;
    void *cid_gen_user;
    /* HelloVerifyRequest cookies (RFC 6347 4.2.1): HMAC under a secret that
     * rotates; the previous one is still accepted for one period. */
    uint8_t cookie_secret[2][32];
    EVP_MAC_CTX *cookie_mac[2]; /* HMAC-SHA256 keyed with each secret */
    uint64_t cookie_rotated_at;
    bool cookie_init;
    /* A secret set from outside (shared by processes and nodes): the two
     * keys are derived from it for the current and previous wall-clock
     * period, so every holder agrees without talking. */
    bool cookie_external;
    uint8_t cookie_master[64];
    size_t cookie_master_len;
    uint64_t cookie_period;     /* the period cookie_mac[0] belongs to */
    /* renegotiation (RFC 5746, reneg.c): whether a peer may start one,
     * how soon after the last handshake, and whether a client connects to
     * a server without the secure renegotiation indication */
    bool allow_reneg;
    uint64_t reneg_interval_ms;
    bool allow_legacy_server;
    /* public random values (hello randoms, session IDs) come from a pool
     * filled by one RAND_bytes call: libcrypto's per-call DRBG overhead was
     * 7 % of an abbreviated handshake. Never used for keys or nonces. */
    uint8_t rand_pool[1024];
    size_t rand_left;
    /* handshake states of finished handshakes, wiped, with their
     * transcript buffers: the next handshake takes one instead of a 2.3 KB
     * calloc and a 2-4 KB transcript allocation (large chunks, malloc's
     * slow path). At most 16 x ~10 KB per config. */
    struct dtls_hs *hs_spare[HS_SPARE_MAX];
    size_t nhs_spare;
    /* reassembly memory of all this config's handshakes, and its cap
     * (dtls_config_set_max_reassembly) */
    size_t reasm_in_use, max_reasm;
    /* scratch buffers, shared by every connection of this config (the
     * engine is single-threaded per config): decrypted records, and the
     * datagram being assembled for sending. */
    uint8_t rbuf[MAX_RECORD_CIPHERTEXT];
    uint8_t wbuf[MAX_DATAGRAM];
    uint8_t fbuf[MAX_DATAGRAM];  /* one handshake fragment being framed */
};

/* ---- one direction of the record layer ---- */

typedef struct replay_window {
    uint64_t max_seq;  /* highest authenticated sequence number seen */
    uint64_t bitmap;   /* bit i: max_seq - i was seen */
    bool any;
} replay_window;

/* ---- handshake-only state (freed after the handshake) ---- */

/* One message of the flight we last sent: retransmitted as a whole
 * (RFC 6347 4.2.4). CCS is kept as a pseudo-message. */
typedef struct flight_msg {
    uint8_t type;      /* handshake type, or 0xFF for ChangeCipherSpec */
    uint16_t epoch;    /* past 255 after renegotiations */
    uint16_t seq;      /* message_seq */
    uint32_t off, len; /* body within flight.buf */
} flight_msg;
#define FLIGHT_CCS 0xFF
#define MAX_FLIGHT_MSGS 8

typedef struct flight {
    flight_msg msgs[MAX_FLIGHT_MSGS];
    size_t nmsgs;
    uint8_t *buf;
    size_t len, cap;
} flight;

/* REASM_CHUNK bytes of a message body, then one bit per byte received. */
typedef struct reasm_chunk {
    uint32_t index;    /* offset / REASM_CHUNK */
    uint8_t *data;
} reasm_chunk;

/* A handshake message being reassembled (RFC 6347 4.2.3). */
typedef struct reasm_msg {
    bool used;
    uint8_t type;
    uint16_t epoch;    /* every fragment must come in the same epoch */
    uint16_t seq;
    uint32_t len;
    uint32_t have;     /* bytes received so far (without overlaps) */
    uint32_t bytes;    /* allocated for this message: chunks and their index */
    reasm_chunk *chunks; /* only the chunks some fragment touched */
    uint32_t nchunks, chunk_cap;
} reasm_msg;

/* A next-epoch record that arrived before ChangeCipherSpec. */
typedef struct early_record {
    uint8_t *bytes;
    size_t len;
} early_record;

typedef enum {
    /* server */
    HS_S_WAIT_CLIENT_HELLO = 0,
    HS_S_WAIT_CERTIFICATE,
    HS_S_WAIT_CLIENT_KEY_EXCHANGE,
    HS_S_WAIT_CERTIFICATE_VERIFY,
    HS_S_WAIT_CCS,
    HS_S_WAIT_FINISHED,
    /* client */
    HS_C_WAIT_NEW_SESSION_TICKET,
    HS_C_WAIT_SERVER_HELLO,
    HS_C_WAIT_CERTIFICATE,
    HS_C_WAIT_SERVER_KEY_EXCHANGE,
    HS_C_WAIT_CERT_REQUEST_OR_DONE,
    HS_C_WAIT_SERVER_HELLO_DONE,
    HS_C_WAIT_CCS,
    HS_C_WAIT_FINISHED,
    HS_DONE,
} hs_state;

typedef struct dtls_hs {
    hs_state state;
    const dtls_suite *suite;
    uint8_t client_random[32];
    uint8_t server_random[32];
    uint8_t cookie[255];
    size_t cookie_len;
    /* transcript of handshake messages as if unfragmented (RFC 6347 4.2.6) */
    uint8_t *transcript;
    size_t transcript_len, transcript_cap;
    /* what the peer offered / we chose */
    uint16_t group;
    uint16_t sig_scheme;        /* for our ServerKeyExchange / CertificateVerify */
    bool peer_ems;
    bool peer_etm;              /* RFC 7366: offered (server) / accepted (client) */
    bool peer_fallback_scsv;    /* RFC 7507: TLS_FALLBACK_SCSV in the offer */
    uint16_t client_version;    /* ClientHello.client_version (RSA premaster) */
    bool peer_secure_reneg;
    bool peer_point_formats_ok;
    bool cert_requested;        /* client: server sent CertificateRequest */
    bool peer_sent_cert;        /* server: the client's Certificate was not empty */
    bool sent_client_cert;
    uint8_t premaster[MAX_PSK_KEY * 2 + 64];
    size_t premaster_len;
    EVP_PKEY *ecdhe;            /* our ephemeral key */
    uint8_t ecdhe_pub[97];
    size_t ecdhe_pub_len;
    dtls_chain peer_chain;
    EVP_PKEY *peer_key;         /* public key of the peer's leaf */
    char *servername;           /* client: what we expect / send */
    uint8_t psk_hint[MAX_PSK_IDENTITY];
    size_t psk_hint_len;
    /* sessions: the one we offer (client) or resume (server); the session
     * ID in the hello; whether the peer takes tickets / sends one */
    dtls_session resume;
    bool resuming;              /* client: offering resume; both: abbreviated */
    bool resumed;               /* the abbreviated handshake is under way */
    uint8_t session_id[SESSION_ID_MAX];
    uint8_t session_id_len;
    bool peer_tickets;          /* server: client sent SessionTicket; client: server did */
    bool renew_ticket;          /* server: send a NewSessionTicket */
    bool final_flight_ours;     /* we send the handshake's last flight */
    bool own_session_id;        /* client: the offered ID is ours (a ticket's marker) */
    uint8_t *new_ticket;        /* client: from NewSessionTicket (RFC 5077 3.3) */
    size_t new_ticket_len;
    uint32_t new_ticket_lifetime;
    /* RFC 9146: the peer offered/accepted the extension, with this CID */
    bool peer_cid;
    uint8_t peer_cid_value[255];
    uint8_t peer_cid_len;
    /* handshake message sequence numbers (RFC 6347 4.2.2) */
    uint16_t next_send_seq;
    /* reassembly of the peer's messages */
    reasm_msg reasm[MAX_FUTURE_MESSAGES + 1];
    size_t reasm_bytes;         /* allocated for reassembly, all slots */
    /* early next-epoch records */
    early_record early[MAX_EARLY_RECORDS];
    size_t nearly, early_bytes;
    /* retransmission (RFC 6347 4.2.4.1) */
    uint64_t rto_ms;
    uint64_t retransmit_at;     /* 0: timer off */
    uint64_t give_up_at;
    bool ccs_early;             /* the peer's CCS came before we were ready */
    unsigned auth_failures;     /* protected records that did not open */
    /* server: the client's Finished did not open once; did the client
     * resend its flight since (a wrong key shows on the resend too)? */
    bool finished_failed_once;
    bool peer_resent_flight;
    bool replaying_early;       /* processing records held back before CCS */
    uint8_t verify_data_client[12];
    uint8_t verify_data_server[12];
    /* renegotiation (reneg.c): this handshake runs on a live association
     * whose epoch base_epoch it started in; our next-epoch write keys wait
     * here until our ChangeCipherSpec; a server's HelloRequest is out */
    bool reneg;
    bool reneg_requested;
    bool reneg_old_randoms;     /* client: the server answers from its last randoms (reneg.c) */
    uint16_t base_epoch;
    dtls_protect pending_wr_prot;
    uint8_t master_secret[48];
    /* the peer's transport address, for checking its cookie */
    uint8_t peer_addr[64];
    size_t peer_addr_len;
} dtls_hs;

/* ---- one association ---- */

struct dtls_conn {
    dtls_config *cfg;
    void *user;
    dtls_role role;
    dtls_state state;
    int error;                 /* sticky first fatal error */
    uint16_t version;          /* negotiated record version */
    const dtls_suite *suite;
    /* read side: epoch 0 is plaintext; epoch 1 protected by rd_prot and
     * guarded by the replay window (epoch 0 cannot be authenticated, so a
     * window there would only let forged numbers lock the peer out; its
     * duplicates are caught by message_seq instead) */
    uint16_t read_epoch;
    replay_window replay;
    dtls_protect rd_prot;
    /* write side */
    uint16_t write_epoch;
    uint64_t write_seq[2];
    dtls_protect wr_prot;
    /* the next-epoch keys, derived before ChangeCipherSpec is received */
    dtls_protect pending_rd_prot;
    bool etm;                  /* CBC records use Encrypt-then-MAC (RFC 7366) */
    bool pending_rd_ready;
    /* handshake message_seq we expect next; survives the handshake so that
     * a retransmitted final flight is recognised (RFC 6347 4.2.4) */
    uint16_t next_recv_seq;
    /* the flight we last sent; the server keeps its final one after the
     * handshake until the client shows it has it (NULL when none) */
    flight *flight;
    uint64_t flight_expires;    /* after the handshake: when to drop it */
    uint64_t last_retransmit_at;
    uint64_t last_triggered_at; /* last resend asked for by a peer's resend */
    uint64_t last_io_ms;        /* the last recv or send: idle keys park after it */
    dtls_hs *hs;               /* NULL once the handshake is over */
    /* after the handshake */
    uint8_t *peer_cert_der;
    size_t peer_cert_der_len;
    uint8_t *psk_identity;
    size_t psk_identity_len;
    char *servername;          /* server: the client's server_name, if any */
    /* client: the session a later handshake may resume (with its ticket) */
    dtls_session *session;
    bool session_reused;
    /* RFC 9146 Connection IDs, once negotiated: ours (on records to us) and
     * the peer's (on records we send); a zero length means plain records */
    bool cid_on;
    uint8_t cid_rx_len, cid_tx_len;
    uint8_t cid_rx[MAX_CID_LEN];
    uint8_t *cid_tx;           /* malloc'ed when non-empty: most sessions have none */
    bool recv_newest;          /* the last recv authenticated a record newer than any before */
    bool recv_moved;           /* inside dtls_conn_recv_moved, no move reported yet */
    dtls_stats stats;
    /* nesting of public calls: while > 0 a close keeps the handshake state
     * alive, since the code that made the callback may still use it */
    int depth;
    bool closing;              /* sending our last alert: no second close */
    bool was_established;      /* the handshake completed (for accessors after close) */
    uint8_t hello_tag[8];      /* server: start of the client_random that began us */
    reneg_state reneg;         /* reneg.c: RFC 5746 state across handshakes */
};

/* ---- shared internal functions ---- */

/* config.c: len public random bytes (hello randoms, session IDs) from the
 * config's pool; false when libcrypto has no randomness. A config is never
 * shared across fork(). */
bool config_public_random(dtls_config *cfg, uint8_t *out, size_t len);
/* config.c: 8 bytes naming the server's client-authentication policy (CA
 * set, request and require flags): a session resumes only under the policy
 * it was made under. */
void config_auth_context(const dtls_config *cfg, uint8_t out[8]);
/* config.c: the suites this config can use in a role, in preference order. */
size_t config_usable_suites(const dtls_config *cfg, dtls_role role,
                            const dtls_suite **out, size_t cap);

/* conn.c */
void conn_emit(dtls_conn *c, const dtls_event *ev);
void conn_log(dtls_conn *c, int level, const char *fmt, ...);
/* End the connection with a fatal alert (sent) and a sticky error. */
int conn_fail(dtls_conn *c, int alert, const char *why);
int conn_send_alert(dtls_conn *c, int level, int desc);
void conn_established(dtls_conn *c, uint64_t now_ms);

/* record.c */
typedef struct record {
    uint8_t type;              /* for tls12_cid records: 25 until opened */
    const uint8_t *cid;        /* tls12_cid records: the CID */
    uint8_t cid_len;
    uint16_t version;
    uint16_t epoch;
    uint64_t seq;
    const uint8_t *frag; /* the fragment as received (maybe protected) */
    size_t len;
    const uint8_t *raw;  /* the whole record, header included */
    size_t raw_len;
} record;
/* Parse one record header from r; false when malformed (then the rest of
 * the datagram is dropped, RFC 6347 4.1.2.7). The type may be unknown;
 * a tls12_cid record parses only with cid_len > 0 (its CID's length). */
bool record_parse(dtls_rd *r, record *rec, int cid_len);
/* An epoch-0 record that starts a ClientHello. */
static inline bool record_is_client_hello(const record *rec)
{
    return rec->type == CT_HANDSHAKE && rec->epoch == 0 && rec->len > 0
        && rec->frag[0] == HT_CLIENT_HELLO;
}
bool replay_check(const replay_window *w, uint64_t seq);
void replay_update(replay_window *w, uint64_t seq);
/* Decrypt rec into cfg->rbuf if its epoch is protected. */
bool record_unprotect(dtls_conn *c, dtls_protect *a, const record *rec,
                      const uint8_t **out, size_t *out_len, uint8_t *inner_type);
/* Append one record (type, payload) in the current write epoch to w. */
bool record_write(dtls_conn *c, dtls_wr *w, uint16_t epoch, uint8_t type,
                  const uint8_t *payload, size_t len);
size_t record_overhead(const dtls_conn *c, uint16_t epoch);
/* Send one datagram holding a single record. */
int record_send(dtls_conn *c, uint8_t type, const uint8_t *payload, size_t len);
void datagram_flush(dtls_conn *c, dtls_wr *w);

/* handshake.c */
int hs_new(dtls_conn *c, uint64_t now_ms);
void hs_free(dtls_conn *c);
/* Free the config's spare handshake states (dtls_config_free). */
void hs_spares_free(dtls_config *cfg);
/* Reassembly memory held for messages that are not due yet. */
size_t reasm_future_bytes(const dtls_conn *c);
void transcript_add(dtls_hs *hs, uint8_t type, uint16_t seq, const uint8_t *body, size_t len);
int transcript_hash(const dtls_conn *c, uint8_t *out, size_t *out_len);
/* Start a new flight (allocating it on first use). */
int flight_reset(dtls_conn *c);
void flight_free(dtls_conn *c);
static inline size_t flight_count(const dtls_conn *c) { return c->flight ? c->flight->nmsgs : 0; }
/* Build a handshake message straight into the flight: begin gives a writer
 * for the body (at most max_len bytes), end seals it as message `type` with
 * the next message_seq and adds it to the transcript. */
dtls_wr flight_msg_begin(dtls_conn *c, size_t max_len);
int flight_msg_end(dtls_conn *c, uint8_t type, dtls_wr *w);
/* Our ChangeCipherSpec: later messages of the flight go in epoch 1. */
int flight_add_ccs(dtls_conn *c);
/* Send (or resend) the current flight, fragmenting to the MTU. */
int flight_send(dtls_conn *c, uint64_t now_ms, bool retransmission);
void flight_start_timer(dtls_conn *c, uint64_t now_ms);
/* Handle one handshake record's payload. */
int hs_recv_record(dtls_conn *c, uint64_t now_ms, uint16_t epoch, const uint8_t *p, size_t len);
void hs_tick(dtls_conn *c, uint64_t now_ms);
uint64_t hs_deadline(const dtls_conn *c);

/* keys.c */
int keys_master_secret(dtls_conn *c);
void keys_log_master(dtls_conn *c);
int keys_install(dtls_conn *c);
int keys_finished(dtls_conn *c, bool client, uint8_t out[12]);
struct hs_msg;
int keys_check_finished(dtls_conn *c, const struct hs_msg *m);
/* The PRF hash for dtls_prf (NULL: the DTLS 1.0 MD5/SHA-1 PRF) and the
 * transcript hash (MD5-SHA1 in DTLS 1.0) of a version and suite. */
const EVP_MD *keys_prf_md(uint16_t version, const dtls_suite *s);
const EVP_MD *keys_transcript_md(uint16_t version, const dtls_suite *s);

/* A complete handshake message, in order. */
typedef struct hs_msg {
    uint8_t type;
    uint16_t seq;
    uint16_t epoch;
    const uint8_t *body;
    size_t len;
} hs_msg;
void transcript_add_msg(dtls_hs *hs, const hs_msg *m);

/* The state machines are tables of what each state expects (server.c,
 * client.c); one function per message, all with this shape. */
typedef int (*hs_handler)(dtls_conn *c, uint64_t now_ms, const hs_msg *m);
typedef struct hs_expect {
    hs_state state;
    uint8_t type;
    hs_handler handle;
} hs_expect;
/* Run the handler for (state, message type), or fail with unexpected_message. */
int hs_dispatch_expected(dtls_conn *c, uint64_t now_ms, const hs_msg *m,
                         const hs_expect *table, size_t n);

/* server.c / client.c: the role state machines. */
int server_handle(dtls_conn *c, uint64_t now_ms, const hs_msg *m);
int client_handle(dtls_conn *c, uint64_t now_ms, const hs_msg *m);
int client_start(dtls_conn *c, uint64_t now_ms);
/* A ChangeCipherSpec record arrived. */
int hs_change_cipher_spec(dtls_conn *c, uint64_t now_ms);
/* The state machine now waits for the peer's ChangeCipherSpec: apply one
 * that arrived early (reordered) at once. */
int hs_wait_ccs(dtls_conn *c, uint64_t now_ms, hs_state state);

/* The CID length records to us carry (for record_parse), 0 for none. */
static inline int conn_cid_rx_len(const dtls_conn *c) { return c->cid_on ? c->cid_rx_len : 0; }

/* conn.c: process one raw record (used for records held back). */
void conn_process_record(dtls_conn *c, uint64_t now_ms, const record *rec);

/* hello.c */
typedef struct client_hello {
    uint16_t version;
    const uint8_t *random;
    const uint8_t *session_id;
    size_t session_id_len;
    const uint8_t *cookie;
    size_t cookie_len;
    dtls_rd suites;
    dtls_rd compressions;
    dtls_rd extensions; /* may be empty */
    bool has_extensions;
} client_hello;
bool client_hello_parse(const uint8_t *body, size_t len, client_hello *ch);
/* RFC 6066 3: a HostName is an ASCII DNS name without a trailing dot, and
 * never a literal IP address (which some clients send all the same). */
typedef enum { HOSTNAME_OK, HOSTNAME_IP_LITERAL, HOSTNAME_BAD } hostname_kind;
hostname_kind hello_hostname_kind(dtls_rd name);
const uint16_t *hello_sig_schemes(size_t *n);
const uint16_t *hello_groups(size_t *n);
bool hello_list_has(const uint16_t *list, size_t n, uint16_t v);
void hello_write_sig_schemes(dtls_wr *w);
bool hello_peer_scheme_ok(uint16_t scheme, EVP_PKEY *key);
uint16_t hello_key_group(EVP_PKEY *key);
bool hello_scheme_is_natural(uint16_t scheme, EVP_PKEY *key);

/* kx.c */
int kx_write_certificate(dtls_conn *c, bool empty);
int kx_parse_certificate(dtls_conn *c, const hs_msg *m, bool *empty);
int kx_write_ecdhe_params(dtls_conn *c, dtls_wr *w);
int kx_ecdhe_secret(dtls_conn *c, const uint8_t *point, size_t len, uint8_t *out, size_t *out_len);
int kx_psk_premaster(dtls_hs *hs, const uint8_t *other, size_t other_len,
                     const uint8_t *psk, size_t psk_len);
int kx_keep_psk_identity(dtls_conn *c, const uint8_t *id, size_t len);

/* resume.c: sessions in the handshake (RFC 5246 7.3, RFC 5077) */
int session_capture(dtls_conn *c, uint64_t now_ms, dtls_session *s);
bool session_resumable_here(const dtls_conn *c);
int session_adopt(dtls_conn *c);
bool server_find_session(dtls_conn *c, uint64_t now_ms, const client_hello *ch,
                         const uint8_t *ticket, size_t ticket_len);
int server_new_session(dtls_conn *c);
void server_remember_session(dtls_conn *c, uint64_t now_ms);
int server_write_ticket(dtls_conn *c, uint64_t now_ms);
void client_keep_session(dtls_conn *c, uint64_t now_ms, bool *is_new);
void client_check_offer(dtls_conn *c, uint64_t now_ms);

/* cid.c: RFC 9146 Connection IDs in the hellos */
int cid_make_ours(dtls_conn *c);
void cid_write_extension(const dtls_conn *c, dtls_wr *w);
bool cid_parse_extension(dtls_conn *c, dtls_rd data);

/* version.c: protocol versions (RFC 6347 4.1; DTLS 1.0 is RFC 4347) */
/* Whether suite s may run over version (AEAD and SHA-256/384 CBC suites
 * need DTLS 1.2, RFC 5246 and RFC 5289). */
bool version_suite_ok(uint16_t version, const dtls_suite *s);
/* v is at least as new as w (DTLS versions count down). */
static inline bool version_at_least(uint16_t v, uint16_t w) { return v <= w; }
/* Server: the version to answer a ClientHello with, or an alert. */
int version_server_choose(const dtls_config *cfg, uint16_t client_version, bool fallback_scsv,
                          uint16_t *out);
/* Client: the record version of our hellos (before the server chose). */
uint16_t version_client_record(const dtls_config *cfg);

/* config.c: derive the two cookie keys of an external secret for now_ms */
void config_cookie_keys_for(dtls_config *cfg, uint64_t now_ms);
/* config.c: out_len bytes of key for one wall-clock period of a shared
 * secret (HKDF-SHA256, info = label | period); false on failure */
bool config_period_key(const uint8_t *secret, size_t secret_len, const char *label,
                       uint64_t period, uint8_t *out, size_t out_len);
/* cookie.c */
bool cookie_check(dtls_config *cfg, const uint8_t *peer, size_t peer_len,
                  const client_hello *ch);

/* reneg.c: renegotiation (RFC 5746, RFC 5246 7.4.1.1) and the epochs it
 * moves through (RFC 6347 4.1) */
dtls_protect *epoch_write_prot(dtls_conn *c, uint16_t epoch);
size_t epoch_write_overhead(const dtls_conn *c, uint16_t epoch);
void epoch_write_advance(dtls_conn *c);
void epoch_read_advance(dtls_conn *c);
bool epoch_prev_read(dtls_conn *c, uint16_t epoch, dtls_protect **prot, replay_window **window);
int reneg_start(dtls_conn *c, uint64_t now_ms);
bool reneg_peer_request(dtls_conn *c, uint64_t now_ms, uint16_t epoch, uint16_t seq);
bool reneg_drop_fragment(dtls_conn *c, uint16_t epoch, uint8_t type);
void reneg_server_random_check(dtls_conn *c);
void reneg_learn_seq(dtls_conn *c, uint16_t epoch, uint8_t type, uint16_t seq, uint32_t foff);
void reneg_write_info(const dtls_conn *c, dtls_wr *w);
int reneg_parse_info(dtls_conn *c, dtls_rd data);
int reneg_check_hello(dtls_conn *c, bool scsv);
int reneg_check_etm(dtls_conn *c);
bool reneg_stage_cid(dtls_conn *c, bool offered, dtls_rd data, int *alert);
bool reneg_established(dtls_conn *c, uint64_t now_ms);
void reneg_peer_refused(dtls_conn *c);
bool reneg_abandon_on_timeout(dtls_conn *c);
void reneg_closing(dtls_conn *c);
bool reneg_data_acks_flight(const dtls_conn *c);
uint64_t reneg_deadline(const dtls_conn *c);
void reneg_tick(dtls_conn *c, uint64_t now_ms);
void reneg_free(dtls_conn *c);
size_t reneg_memory(const dtls_conn *c);

#endif

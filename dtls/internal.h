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
#include "suite.h"

#define DTLS1_2_VERSION 0xFEFD
#define DTLS1_0_VERSION 0xFEFF

/* Record content types (RFC 5246 6.2.1). */
enum { CT_CHANGE_CIPHER_SPEC = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPLICATION_DATA = 23 };

/* Handshake message types (RFC 5246 7.4, RFC 6347 4.2.2). */
enum {
    HT_HELLO_REQUEST = 0,
    HT_CLIENT_HELLO = 1,
    HT_SERVER_HELLO = 2,
    HT_HELLO_VERIFY_REQUEST = 3,
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
    EXT_EXTENDED_MASTER_SECRET = 23,
    EXT_RENEGOTIATION_INFO = 0xFF01,
};

#define RECORD_HEADER_LEN 13
#define HANDSHAKE_HEADER_LEN 12
#define MAX_RECORD_PLAINTEXT 16384      /* RFC 5246 6.2.1 */
#define MAX_RECORD_CIPHERTEXT (16384 + 2048)
#define MAX_DATAGRAM 16384              /* the largest MTU we accept */
#define MAX_HANDSHAKE_MESSAGE 32768     /* bigger messages are refused */
#define MAX_FUTURE_MESSAGES 8           /* buffered messages past the next */
#define MAX_EARLY_RECORDS 8             /* next-epoch records held before CCS */
#define MAX_EARLY_BYTES 8192
#define MAX_PSK_IDENTITY 128            /* RFC 4279 5.3 allows 2^16-1; we cap */
#define MAX_PSK_KEY 64
#define COOKIE_LEN 32
#define MAX_SUITES 32
#define FINAL_FLIGHT_KEEP_MS (2 * 120 * 1000) /* RFC 6347 4.2.4: twice the TCP MSL */

/* ---- configuration ---- */

struct dtls_config {
    dtls_callbacks cb;
    /* certificate authentication */
    dtls_chain chain;
    EVP_PKEY *key;
    X509_STORE *ca;
    bool verify_peer;        /* client: check the server's chain and name */
    bool request_cert;       /* server: send CertificateRequest */
    bool require_cert;       /* server: fail without a client certificate */
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
    bool ems;
    /* HelloVerifyRequest cookies (RFC 6347 4.2.1): HMAC under a secret that
     * rotates; the previous one is still accepted for one period. */
    uint8_t cookie_secret[2][32];
    EVP_MAC_CTX *cookie_mac[2]; /* HMAC-SHA256 keyed with each secret */
    uint64_t cookie_rotated_at;
    bool cookie_init;
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
    uint8_t epoch;
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

/* A handshake message being reassembled (RFC 6347 4.2.3). */
typedef struct reasm_msg {
    bool used;
    uint8_t type;
    uint16_t epoch;    /* every fragment must come in the same epoch */
    uint16_t seq;
    uint32_t len;
    uint32_t have;     /* bytes received so far (without overlaps) */
    uint8_t *body;
    uint8_t *bitmap;   /* one bit per body byte */
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
    /* handshake message sequence numbers (RFC 6347 4.2.2) */
    uint16_t next_send_seq;
    /* reassembly of the peer's messages */
    reasm_msg reasm[MAX_FUTURE_MESSAGES + 1];
    /* early next-epoch records */
    early_record early[MAX_EARLY_RECORDS];
    size_t nearly, early_bytes;
    /* retransmission (RFC 6347 4.2.4.1) */
    uint64_t rto_ms;
    uint64_t retransmit_at;     /* 0: timer off */
    uint64_t give_up_at;
    bool ccs_early;             /* the peer's CCS came before we were ready */
    unsigned auth_failures;     /* protected records that did not open */
    bool replaying_early;       /* processing records held back before CCS */
    uint8_t verify_data_client[12];
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
    /* read side: epoch 0 is plaintext; epoch 1 protected by rd_aead and
     * guarded by the replay window (epoch 0 cannot be authenticated, so a
     * window there would only let forged numbers lock the peer out; its
     * duplicates are caught by message_seq instead) */
    uint16_t read_epoch;
    replay_window replay;
    dtls_aead rd_aead;
    /* write side */
    uint16_t write_epoch;
    uint64_t write_seq[2];
    dtls_aead wr_aead;
    /* the next-epoch keys, derived before ChangeCipherSpec is received */
    dtls_aead pending_rd_aead;
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
    dtls_hs *hs;               /* NULL once the handshake is over */
    /* after the handshake */
    uint8_t *peer_cert_der;
    size_t peer_cert_der_len;
    uint8_t *psk_identity;
    size_t psk_identity_len;
    char *servername;          /* server: the client's server_name, if any */
    dtls_stats stats;
    /* nesting of public calls: while > 0 a close keeps the handshake state
     * alive, since the code that made the callback may still use it */
    int depth;
    bool closing;              /* sending our last alert: no second close */
    bool was_established;      /* the handshake completed (for accessors after close) */
    uint8_t hello_tag[8];      /* server: start of the client_random that began us */
};

/* ---- shared internal functions ---- */

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
    uint8_t type;
    uint16_t version;
    uint16_t epoch;
    uint64_t seq;
    const uint8_t *frag; /* the fragment as received (maybe protected) */
    size_t len;
    const uint8_t *raw;  /* the whole record, header included */
    size_t raw_len;
} record;
/* Parse one record header from r; false when malformed (then the rest of
 * the datagram is dropped, RFC 6347 4.1.2.7). */
bool record_parse(dtls_rd *r, record *rec);
bool replay_check(const replay_window *w, uint64_t seq);
void replay_update(replay_window *w, uint64_t seq);
/* Decrypt rec into cfg->rbuf if its epoch is protected. */
bool record_unprotect(dtls_conn *c, dtls_aead *a, const record *rec,
                      const uint8_t **out, size_t *out_len);
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
int keys_finished(const dtls_conn *c, bool client, uint8_t out[12]);
struct hs_msg;
int keys_check_finished(dtls_conn *c, const struct hs_msg *m);
const EVP_MD *keys_prf_md(const dtls_suite *s);

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

/* cookie.c */
bool cookie_check(dtls_config *cfg, const uint8_t *peer, size_t peer_len,
                  const client_hello *ch);

#endif

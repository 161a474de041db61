/* conn.c — one association: the public connection API, the dispatch of
 * records by content type and epoch, alerts, application data, closing and
 * timers. Bad records are dropped and counted here (RFC 6347 4.1.2.7);
 * handshake messages go to handshake.c.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

/* ---- events and logging ---- */

void conn_emit(dtls_conn *c, const dtls_event *ev)
{
    if (c->cfg->cb.event)
        c->cfg->cb.event(c->user, ev);
}

void conn_log(dtls_conn *c, int level, const char *fmt, ...)
{
    if (!c->cfg->cb.log || (c->cfg->log_threshold && level < *c->cfg->log_threshold))
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->cfg->cb.log(c->user, level, msg);
}

/* Free what only a live association needs. Deferred while a public call is
 * on the stack: a callback may close the connection under the handshake
 * code that invoked it (dtls.h, re-entrancy). */
static void conn_release(dtls_conn *c)
{
    if (c->depth == 0 && c->state == DTLS_STATE_CLOSED) {
        hs_free(c);
        flight_free(c);
    }
}

static void conn_enter(dtls_conn *c)
{
    c->depth++;
}

static int conn_leave(dtls_conn *c, int rc)
{
    c->depth--;
    conn_release(c);
    return rc;
}

static void conn_closed(dtls_conn *c, int error)
{
    if (c->state == DTLS_STATE_CLOSED)
        return;
    c->state = DTLS_STATE_CLOSED;
    if (c->error == DTLS_OK)
        c->error = error;
    reneg_closing(c);
    conn_release(c);
    dtls_event ev = { .type = DTLS_EV_CLOSED, .error = c->error };
    conn_emit(c, &ev);
}

int conn_send_alert(dtls_conn *c, int level, int desc)
{
    uint8_t alert[2] = { (uint8_t)level, (uint8_t)desc };
    int rc = record_send(c, CT_ALERT, alert, sizeof alert);
    if (desc != DTLS_ALERT_CLOSE_NOTIFY) {
        dtls_event ev = { .type = DTLS_EV_ALERT, .alert_level = level, .alert_desc = desc,
                          .alert_sent = 1 };
        conn_emit(c, &ev);
    }
    return rc;
}

int conn_fail(dtls_conn *c, int alert, const char *why)
{
    if (c->state == DTLS_STATE_CLOSED || c->closing)
        return c->error != DTLS_OK ? c->error : DTLS_ERR_CLOSED;
    c->closing = true;
    conn_log(c, DTLS_LOG_WARN, "%s%s%s", why, alert >= 0 ? ": sending " : "",
             alert >= 0 ? dtls_alert_name(alert) : "");
    if (alert >= 0) {
        if (c->error == DTLS_OK)
            c->error = DTLS_ERR_FROM_ALERT(alert);
        conn_send_alert(c, 2, alert);
    }
    conn_closed(c, c->error != DTLS_OK ? c->error : DTLS_ERR_INTERNAL);
    return c->error;
}

void conn_established(dtls_conn *c, uint64_t now_ms)
{
    bool reneg = reneg_established(c, now_ms);
    c->state = DTLS_STATE_ESTABLISHED;
    c->was_established = true;
    c->last_io_ms = now_ms;
    dtls_hs *hs = c->hs;
    /* Keep only what the record layer needs (and the peer's identity). */
    if (hs->peer_chain.n && !c->peer_cert_der) {
        c->peer_cert_der = malloc(hs->peer_chain.der_len[0]);
        if (c->peer_cert_der) {
            memcpy(c->peer_cert_der, hs->peer_chain.der[0], hs->peer_chain.der_len[0]);
            c->peer_cert_der_len = hs->peer_chain.der_len[0];
        }
    }
    bool new_session = false;
    if (c->role == DTLS_ROLE_CLIENT)
        client_keep_session(c, now_ms, &new_session);
    bool keep_flight = hs->final_flight_ours;
    bool resumed = hs->resumed;
    hs_free(c);
    if (!keep_flight) {
        /* The peer's Finished proves it has our whole flight. */
        flight_free(c);
    } else {
        /* Our last flight (the server's in a full handshake, the client's
         * in an abbreviated one) is kept to answer a peer that lost it,
         * until the peer shows it has it or twice the MSL passes
         * (RFC 6347 4.2.4). */
        c->flight_expires = now_ms + FINAL_FLIGHT_KEEP_MS;
    }
    conn_log(c, DTLS_LOG_INFO, "%s done %s%s", reneg ? "renegotiation" : "handshake",
             c->suite ? c->suite->name : "", resumed ? " (resumed)" : "");
    dtls_event ev = { .type = reneg ? DTLS_EV_RENEGOTIATED : DTLS_EV_HANDSHAKE_DONE };
    conn_emit(c, &ev);
    if (new_session && c->state == DTLS_STATE_ESTABLISHED) {
        dtls_event sev = { .type = DTLS_EV_SESSION };
        conn_emit(c, &sev);
    }
}

/* ---- lifetime ---- */

dtls_conn *dtls_conn_new(dtls_config *cfg, dtls_role role, const uint8_t *peer,
                         size_t peer_len, void *user)
{
    if (!cfg || peer_len > sizeof ((dtls_hs *)0)->peer_addr)
        return NULL;
    dtls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = cfg;
    c->role = role;
    c->user = user;
    c->state = DTLS_STATE_HANDSHAKING;
    if (hs_new(c, 0) != DTLS_OK) {
        free(c);
        return NULL;
    }
    if (peer_len)
        memcpy(c->hs->peer_addr, peer, peer_len);
    c->hs->peer_addr_len = peer_len;
    c->hs->give_up_at = 0; /* armed by the first call that brings a time */
    return c;
}

void dtls_conn_free(dtls_conn *c)
{
    if (!c)
        return;
    hs_free(c);
    flight_free(c);
    protect_cleanup(&c->rd_prot);
    protect_cleanup(&c->wr_prot);
    protect_cleanup(&c->pending_rd_prot);
    reneg_free(c);
    free(c->peer_cert_der);
    free(c->servername);
    free(c->cid_tx);
    if (c->session) {
        session_clear(c->session);
        free(c->session);
    }
    if (c->psk_identity)
        OPENSSL_cleanse(c->psk_identity, c->psk_identity_len);
    free(c->psk_identity);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

static void arm_give_up(dtls_conn *c, uint64_t now_ms)
{
    if (c->hs && !c->hs->give_up_at)
        c->hs->give_up_at = now_ms + c->cfg->handshake_timeout_ms;
}

int dtls_conn_set_servername(dtls_conn *c, const char *name)
{
    /* RFC 6066 3: a host_name is never empty; an empty name would also
     * turn the certificate's name check into no check at all. */
    if (!c->hs || c->role != DTLS_ROLE_CLIENT || !name || !*name || strlen(name) > 255)
        return DTLS_ERR_ARG;
    free(c->hs->servername);
    c->hs->servername = strdup(name);
    return c->hs->servername ? DTLS_OK : DTLS_ERR_INTERNAL;
}

int dtls_conn_renegotiate(dtls_conn *c, uint64_t now_ms)
{
    conn_enter(c);
    return conn_leave(c, reneg_start(c, now_ms));
}

int dtls_conn_start(dtls_conn *c, uint64_t now_ms)
{
    if (c->role != DTLS_ROLE_CLIENT)
        return DTLS_OK;
    if (!c->hs || c->hs->state != HS_C_WAIT_SERVER_HELLO || flight_count(c))
        return DTLS_ERR_STATE;
    arm_give_up(c, now_ms);
    conn_enter(c);
    return conn_leave(c, client_start(c, now_ms));
}

/* ---- input ---- */

/* RFC 5246 7.2.2 (and 7.2.2's unsupported_extension): alerts that are
 * "always fatal" end the session even when they arrive as warnings. */
static bool alert_always_fatal(int desc)
{
    switch (desc) {
    case DTLS_ALERT_UNEXPECTED_MESSAGE:
    case DTLS_ALERT_BAD_RECORD_MAC:
    case 21: /* decryption_failed_RESERVED */
    case DTLS_ALERT_RECORD_OVERFLOW:
    case 30: /* decompression_failure */
    case DTLS_ALERT_HANDSHAKE_FAILURE:
    case DTLS_ALERT_ILLEGAL_PARAMETER:
    case DTLS_ALERT_UNKNOWN_CA:
    case DTLS_ALERT_ACCESS_DENIED:
    case DTLS_ALERT_DECODE_ERROR:
    case DTLS_ALERT_DECRYPT_ERROR:
    case DTLS_ALERT_PROTOCOL_VERSION:
    case DTLS_ALERT_INSUFFICIENT_SECURITY:
    case DTLS_ALERT_INTERNAL_ERROR:
    case DTLS_ALERT_UNSUPPORTED_EXTENSION:
        return true;
    default:
        return false;
    }
}

static void handle_alert(dtls_conn *c, uint16_t epoch, const uint8_t *p, size_t len)
{
    if (len != 2) {
        c->stats.dropped_malformed++;
        return;
    }
    /* Once the association is protected, plaintext alerts could be forged
     * by anyone: ignore them (RFC 6347 4.1.2.7). */
    if (epoch == 0 && c->read_epoch > 0) {
        c->stats.dropped_epoch++;
        return;
    }
    int level = p[0], desc = p[1];
    /* RFC 5246 7.2: AlertLevel is warning(1) or fatal(2); any other value
     * is a field out of its range (decode_error, RFC 5246 7.2.2). */
    if (level != 1 && level != 2) {
        conn_fail(c, DTLS_ALERT_DECODE_ERROR, "alert with an unknown level");
        return;
    }
    if (level == 1 && alert_always_fatal(desc))
        level = 2;
    if (desc == DTLS_ALERT_CLOSE_NOTIFY) {
        conn_log(c, DTLS_LOG_FINE, "peer sent close_notify");
        /* RFC 5246 7.2.1: answer with our own close_notify. */
        conn_send_alert(c, 1, DTLS_ALERT_CLOSE_NOTIFY);
        conn_closed(c, DTLS_OK);
        return;
    }
    dtls_event ev = { .type = DTLS_EV_ALERT, .alert_level = level, .alert_desc = desc };
    conn_emit(c, &ev);
    if (level == 2 || c->state == DTLS_STATE_CLOSED) {
        conn_log(c, DTLS_LOG_WARN, "peer sent fatal alert %s", dtls_alert_name(desc));
        if (c->error == DTLS_OK)
            c->error = DTLS_ERR_FROM_ALERT(desc);
        conn_closed(c, c->error);
    } else {
        conn_log(c, DTLS_LOG_INFO, "peer sent warning alert %s", dtls_alert_name(desc));
        if (desc == DTLS_ALERT_NO_RENEGOTIATION)
            reneg_peer_refused(c);
    }
}

static void handle_app_data(dtls_conn *c, uint16_t epoch, const uint8_t *p, size_t len)
{
    /* Only protected data after our side of the handshake is complete. */
    if (epoch == 0 || c->state != DTLS_STATE_ESTABLISHED) {
        c->stats.dropped_unexpected++;
        return;
    }
    /* The client has our final flight: it is talking to us in epoch 1. */
    if (c->flight && !c->hs && reneg_data_acks_flight(c))
        flight_free(c);
    dtls_event ev = { .type = DTLS_EV_APP_DATA, .data = p, .len = len };
    conn_emit(c, &ev);
}

/* A record of the next epoch before we switched: keep a bounded few
 * (reordering around ChangeCipherSpec is normal, RFC 6347 4.1). */
static void hold_early_record(dtls_conn *c, const record *rec)
{
    dtls_hs *hs = c->hs;
    if (hs->nearly == MAX_EARLY_RECORDS || hs->early_bytes + rec->raw_len > MAX_EARLY_BYTES) {
        c->stats.dropped_epoch++;
        return;
    }
    uint8_t *copy = malloc(rec->raw_len);
    if (!copy)
        return;
    memcpy(copy, rec->raw, rec->raw_len);
    hs->early[hs->nearly].bytes = copy;
    hs->early[hs->nearly].len = rec->raw_len;
    hs->nearly++;
    hs->early_bytes += rec->raw_len;
}

/* The client sent CCS and then, in the place of CertificateVerify, its
 * Finished: a certificate without proof of the key (RFC 5246 7.4.8). The
 * record is opened with the pending keys just to look at the message_seq. */
static bool skips_certificate_verify(dtls_conn *c, const record *rec)
{
    dtls_hs *hs = c->hs;
    if (!hs->ccs_early || hs->state != HS_S_WAIT_CERTIFICATE_VERIFY)
        return false;
    const uint8_t *p;
    size_t n;
    uint8_t type;
    if (!record_unprotect(c, &c->pending_rd_prot, rec, &p, &n, &type) || type != CT_HANDSHAKE)
        return false;
    dtls_rd r = rd_init(p, n);
    rd_skip(&r, 4);
    return rd_ok(&r) && rd_u16(&r) == c->next_recv_seq;
}

void conn_process_record(dtls_conn *c, uint64_t now_ms, const record *rec)
{
    c->stats.records_in++;
    if ((rec->type < CT_CHANGE_CIPHER_SPEC || rec->type > CT_APPLICATION_DATA)
        && rec->type != CT_TLS12_CID) { /* a CID record's real type is inside */
        c->stats.dropped_unexpected++; /* RFC 5246 6: unknown content type */
        return;
    }
    bool protected_epoch = rec->epoch > 0;
    dtls_protect *prot = &c->rd_prot;
    replay_window *window = &c->replay;
    if (rec->epoch == c->read_epoch) {
        /* the current epoch */
    } else if (c->hs && rec->epoch == c->read_epoch + 1) {
        if (c->pending_rd_ready && skips_certificate_verify(c, rec)) {
            conn_fail(c, DTLS_ALERT_UNEXPECTED_MESSAGE, "client certificate without CertificateVerify");
            return;
        }
        hold_early_record(c, rec);
        return;
    } else if (rec->epoch == 0 && rec->type == CT_HANDSHAKE) {
        /* The peer resending its epoch-0 messages: handshake.c decides. */
    } else if (epoch_prev_read(c, rec->epoch, &prot, &window)) {
        /* late records of the epoch a renegotiation left (RFC 6347 4.1) */
    } else {
        c->stats.dropped_epoch++;
        return;
    }
    if (protected_epoch && !replay_check(window, rec->seq)) {
        c->stats.dropped_replay++;
        return;
    }
    const uint8_t *p;
    size_t n;
    uint8_t type;
    if (!record_unprotect(c, prot, rec, &p, &n, &type)) {
        c->stats.dropped_auth++;
        /* Dropped (RFC 6347 4.1.2.7): anyone can forge a record, and late
         * ones from an earlier session on the same addresses are normal
         * (those were held back before the CCS and are replayed after it),
         * even where the peer's Finished is due. A wrong key (a mismatched
         * PSK) is still reported before the handshake timeout: by the
         * server, once the client's Finished fails again after the client
         * resent its flight (a copy of its ClientKeyExchange, which a
         * forger cannot make). A client in a full handshake never needs
         * this: a server with another key fails on our Finished before
         * sending its own. (In an abbreviated one the server's Finished
         * comes first; a server that echoed our session ID without holding
         * the session is found out at the handshake timeout.) */
        if (c->hs && rec->epoch > 0) {
            dtls_hs *hs = c->hs;
            hs->auth_failures++;
            if (hs->state == HS_S_WAIT_FINISHED && (rec->type == CT_HANDSHAKE || rec->type == CT_TLS12_CID)
                && !hs->replaying_early) {
                if (hs->finished_failed_once && hs->peer_resent_flight) {
                    conn_fail(c, DTLS_ALERT_BAD_RECORD_MAC,
                              "the client's resent Finished does not authenticate either (wrong key?)");
                    return;
                }
                hs->finished_failed_once = true;
                hs->peer_resent_flight = false;
            }
        }
        return;
    }
    if (protected_epoch) {
        /* RFC 9146 6: only a record newer than all before may move the
         * peer's address; the host asks after the call. */
        bool newest = window == &c->replay && (!c->replay.any || rec->seq > c->replay.max_seq);
        replay_update(window, rec->seq);
        c->stats.records_authenticated++;
        if (newest) {
            c->recv_newest = true;
            if (c->recv_moved) {
                c->recv_moved = false;
                dtls_event ev = { .type = DTLS_EV_PEER_MOVED };
                conn_emit(c, &ev);
            }
        }
    }
    /* A stateless server answered the first hello with the hello's own
     * record number (RFC 6347 4.2.1); continue from the one that created
     * us so that the client's replay window takes our ServerHello. */
    if (c->hs && c->hs->state == HS_S_WAIT_CLIENT_HELLO && rec->epoch == 0 && c->write_epoch == 0
        && rec->seq > c->write_seq[0])
        c->write_seq[0] = rec->seq;
    switch (type) {
    case CT_HANDSHAKE:
        hs_recv_record(c, now_ms, rec->epoch, p, n);
        break;
    case CT_CHANGE_CIPHER_SPEC:
        if (n != 1 || p[0] != 1) {
            c->stats.dropped_malformed++;
            break;
        }
        hs_change_cipher_spec(c, now_ms);
        break;
    case CT_ALERT:
        handle_alert(c, rec->epoch, p, n);
        break;
    case CT_APPLICATION_DATA:
        handle_app_data(c, rec->epoch, p, n);
        break;
    default: /* an unknown type inside a tls12_cid record */
        c->stats.dropped_unexpected++;
        break;
    }
    if (protected_epoch) /* no plaintext left behind in the shared buffer */
        OPENSSL_cleanse(c->cfg->rbuf, n);
}

int dtls_conn_recv(dtls_conn *c, uint64_t now_ms, const uint8_t *dgram, size_t len)
{
    if (c->state == DTLS_STATE_CLOSED)
        return c->error != DTLS_OK ? c->error : DTLS_ERR_CLOSED;
    arm_give_up(c, now_ms);
    c->last_io_ms = now_ms;
    /* Not in a renegotiation: the session's version stays (RFC 6347 4.1). */
    if (c->role == DTLS_ROLE_SERVER && c->hs && c->hs->state == HS_S_WAIT_CLIENT_HELLO
        && !c->hs->reneg)
        c->version = DTLS1_2_VERSION;
    conn_enter(c);
    c->recv_newest = false;
    dtls_rd r = rd_init(dgram, len);
    while (rd_left(&r) > 0 && c->state != DTLS_STATE_CLOSED) {
        record rec;
        if (!record_parse(&r, &rec, conn_cid_rx_len(c))) {
            c->stats.dropped_malformed++;
            break;
        }
        conn_process_record(c, now_ms, &rec);
    }
    return conn_leave(c, c->state == DTLS_STATE_CLOSED && c->error != DTLS_OK ? c->error : DTLS_OK);
}

int dtls_conn_recv_moved(dtls_conn *c, uint64_t now_ms, const uint8_t *dgram, size_t len)
{
    c->recv_moved = c->state == DTLS_STATE_ESTABLISHED && c->cid_on;
    int rc = dtls_conn_recv(c, now_ms, dgram, len);
    c->recv_moved = false;
    return rc;
}

/* ---- output ---- */

size_t dtls_conn_max_send(const dtls_conn *c)
{
    if (c->state != DTLS_STATE_ESTABLISHED)
        return 0;
    size_t overhead = record_overhead(c, c->write_epoch);
    size_t n = c->cfg->mtu > overhead ? c->cfg->mtu - overhead : 0;
    return n > MAX_RECORD_PLAINTEXT ? MAX_RECORD_PLAINTEXT : n;
}

int dtls_conn_send(dtls_conn *c, uint64_t now_ms, const uint8_t *data, size_t len)
{
    if (c->state == DTLS_STATE_CLOSED)
        return DTLS_ERR_CLOSED;
    if (c->state != DTLS_STATE_ESTABLISHED)
        return DTLS_ERR_STATE;
    if (len > dtls_conn_max_send(c))
        return DTLS_ERR_TOO_BIG;
    c->last_io_ms = now_ms;
    conn_enter(c);
    /* RFC 6347 4.1: close rather than wrap the sequence number. */
    if (c->write_seq[c->write_epoch & 1] >= MAX_RECORD_SEQ - 1) {
        conn_log(c, DTLS_LOG_WARN, "record sequence numbers ran out: closing");
        c->error = DTLS_ERR_SEQ_EXHAUSTED;
        c->closing = true;
        conn_send_alert(c, 1, DTLS_ALERT_CLOSE_NOTIFY);
        conn_closed(c, DTLS_ERR_SEQ_EXHAUSTED);
        return conn_leave(c, DTLS_ERR_SEQ_EXHAUSTED);
    }
    return conn_leave(c, record_send(c, CT_APPLICATION_DATA, data, len));
}

int dtls_conn_close(dtls_conn *c, uint64_t now_ms)
{
    (void)now_ms;
    if (c->state == DTLS_STATE_CLOSED || c->closing)
        return DTLS_OK;
    c->closing = true;
    /* During the handshake the peer has no keys for epoch 1 yet unless we
     * sent our CCS; record_send uses the epoch we write in. */
    conn_enter(c);
    conn_send_alert(c, 1, DTLS_ALERT_CLOSE_NOTIFY);
    conn_closed(c, DTLS_OK);
    return conn_leave(c, DTLS_OK);
}

/* When an established association's live cipher contexts are parked
 * (dtls_config_set_key_park): most sessions of a server are idle most of
 * the time, and the contexts are most of what one holds (AES-GCM: 2 x
 * 1.2 KB of 4 KB). The keys stay, wiped on free as before. */
static uint64_t park_deadline(const dtls_conn *c)
{
    if (c->hs || c->state != DTLS_STATE_ESTABLISHED || !c->cfg->key_park_ms
        || (!protect_parkable(&c->rd_prot) && !protect_parkable(&c->wr_prot)))
        return UINT64_MAX;
    return c->last_io_ms + c->cfg->key_park_ms;
}

uint64_t dtls_conn_deadline(const dtls_conn *c)
{
    if (c->state == DTLS_STATE_CLOSED)
        return UINT64_MAX;
    uint64_t d = hs_deadline(c), park = park_deadline(c);
    return park < d ? park : d;
}

void dtls_conn_tick(dtls_conn *c, uint64_t now_ms)
{
    if (c->state == DTLS_STATE_CLOSED)
        return;
    arm_give_up(c, now_ms);
    conn_enter(c);
    hs_tick(c, now_ms);
    if (now_ms >= park_deadline(c)) {
        protect_park(&c->rd_prot);
        protect_park(&c->wr_prot);
    }
    conn_leave(c, DTLS_OK);
}

/* ---- accessors ---- */

dtls_state dtls_conn_state(const dtls_conn *c) { return c->state; }
void *dtls_conn_user(const dtls_conn *c) { return c->user; }
void dtls_conn_set_user(dtls_conn *c, void *user) { c->user = user; }
const dtls_stats *dtls_conn_stats(const dtls_conn *c) { return &c->stats; }

const char *dtls_conn_cipher_name(const dtls_conn *c)
{
    return c->was_established && c->suite ? c->suite->name : NULL;
}

const char *dtls_conn_version_name(const dtls_conn *c)
{
    if (!c->was_established)
        return NULL;
    return c->version == DTLS1_0_VERSION ? "DTLSv1" : "DTLSv1.2";
}

int dtls_conn_encrypt_then_mac(const dtls_conn *c)
{
    return c->was_established && c->etm;
}

const uint8_t *dtls_conn_peer_cert_der(const dtls_conn *c, size_t *len)
{
    *len = c->peer_cert_der_len;
    return c->peer_cert_der;
}

const char *dtls_conn_servername(const dtls_conn *c)
{
    return c->role == DTLS_ROLE_SERVER ? c->servername : NULL;
}

const uint8_t *dtls_conn_psk_identity(const dtls_conn *c, size_t *len)
{
    *len = c->psk_identity_len;
    return c->psk_identity;
}

size_t dtls_conn_memory(const dtls_conn *c)
{
    /* What we allocate ourselves; libcrypto's cipher contexts are counted
     * by the benchmark's RSS measurement, not here. */
    size_t n = sizeof *c + c->peer_cert_der_len + c->psk_identity_len + c->cid_tx_len
             + protect_memory(&c->rd_prot) + protect_memory(&c->wr_prot)
             + protect_memory(&c->pending_rd_prot);
    if (c->flight)
        n += sizeof *c->flight + c->flight->cap;
    if (c->hs)
        n += sizeof *c->hs + c->hs->transcript_cap + c->hs->reasm_bytes + c->hs->early_bytes;
    return n + reneg_memory(c);
}

/* reneg.c — renegotiation on a live association (RFC 5746, RFC 5246
 * 7.4.1.1): starting one (a server's HelloRequest, a client's new
 * ClientHello), the policy for those the peer starts, the secure
 * renegotiation indication in both hellos, and the epoch changes a
 * handshake brings (RFC 6347 4.1): the next epoch's write keys wait for our
 * ChangeCipherSpec, and the previous epoch's keys stay usable for a while,
 * so application data flows throughout. The record format is record.c's;
 * the messages are handled by server.c and client.c as in a first
 * handshake, with the hooks below where a renegotiation differs.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

/* The keys of the epoch before the current one, each way. */
struct reneg_prev {
    bool rd_ready, wr_ready;
    uint16_t rd_epoch, wr_epoch;
    dtls_protect rd, wr;
    replay_window replay;
    uint64_t expires;          /* 0 while the handshake that made it runs */
};

static void prev_drop(dtls_conn *c)
{
    struct reneg_prev *p = c->reneg.prev;
    if (!p)
        return;
    protect_cleanup(&p->rd);
    protect_cleanup(&p->wr);
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
    c->reneg.prev = NULL;
}

static struct reneg_prev *prev_get(dtls_conn *c)
{
    if (!c->reneg.prev)
        c->reneg.prev = calloc(1, sizeof *c->reneg.prev);
    return c->reneg.prev;
}

/* ---- epochs (RFC 6347 4.1) ---- */

/* Messages of our flight stay in the epoch they were framed in: a resend
 * of the part before our ChangeCipherSpec uses the previous keys. */
dtls_protect *epoch_write_prot(dtls_conn *c, uint16_t epoch)
{
    struct reneg_prev *p = c->reneg.prev;
    if (p && p->wr_ready && epoch == p->wr_epoch && epoch != c->write_epoch)
        return &p->wr;
    return &c->wr_prot;
}

size_t epoch_write_overhead(const dtls_conn *c, uint16_t epoch)
{
    const struct reneg_prev *p = c->reneg.prev;
    if (p && p->wr_ready && epoch == p->wr_epoch && epoch != c->write_epoch)
        return protect_overhead_max(&p->wr);
    return protect_overhead_max(&c->wr_prot);
}

/* Our ChangeCipherSpec: later records go in the next epoch, numbered from
 * zero, under the keys keys_install left in the handshake. */
void epoch_write_advance(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    struct reneg_prev *p = c->write_epoch > 0 ? prev_get(c) : NULL;
    if (p) {
        protect_cleanup(&p->wr);
        p->wr = c->wr_prot;
        p->wr_epoch = c->write_epoch;
        p->wr_ready = true;
        p->expires = 0;
    } else {
        /* the first handshake (epoch 0 has no keys), or out of memory:
         * then only a resend of our old-epoch messages is lost */
        protect_cleanup(&c->wr_prot);
    }
    c->wr_prot = hs->pending_wr_prot;
    memset(&hs->pending_wr_prot, 0, sizeof hs->pending_wr_prot);
    c->write_epoch++;
    c->write_seq[c->write_epoch & 1] = 0;
    /* RFC 9146: the CID the peer chose in this renegotiation goes on our
     * records from the new epoch on. */
    if (hs->reneg && hs->peer_cid) {
        free(c->cid_tx);
        c->cid_tx = NULL;
        c->cid_tx_len = 0;
        if (hs->peer_cid_len && (c->cid_tx = malloc(hs->peer_cid_len))) {
            memcpy(c->cid_tx, hs->peer_cid_value, hs->peer_cid_len);
            c->cid_tx_len = hs->peer_cid_len;
        }
    }
}

/* The peer's ChangeCipherSpec: the pending read keys become current, with
 * a fresh replay window; the old ones are kept for late records. */
void epoch_read_advance(dtls_conn *c)
{
    struct reneg_prev *p = c->read_epoch > 0 ? prev_get(c) : NULL;
    if (p) {
        protect_cleanup(&p->rd);
        p->rd = c->rd_prot;
        p->replay = c->replay;
        p->rd_epoch = c->read_epoch;
        p->rd_ready = true;
        p->expires = 0;
    } else {
        protect_cleanup(&c->rd_prot);
    }
    c->rd_prot = c->pending_rd_prot;
    memset(&c->pending_rd_prot, 0, sizeof c->pending_rd_prot);
    c->pending_rd_ready = false;
    c->read_epoch++;
    memset(&c->replay, 0, sizeof c->replay);
}

bool epoch_prev_read(dtls_conn *c, uint16_t epoch, dtls_protect **prot, replay_window **window)
{
    struct reneg_prev *p = c->reneg.prev;
    if (!p || !p->rd_ready || epoch != p->rd_epoch || epoch + 1 != c->read_epoch)
        return false;
    *prot = &p->rd;
    *window = &p->replay;
    return true;
}

/* ---- starting a renegotiation ---- */

/* RFC 6347 4.1: the epoch must not wrap; a new association is needed. */
static bool epochs_left(const dtls_conn *c)
{
    return c->write_epoch < UINT16_MAX - 1 && c->read_epoch < UINT16_MAX - 1;
}

/* A new handshake on the live association, in its current epoch. */
static int begin(dtls_conn *c, uint64_t now_ms)
{
    prev_drop(c);
    /* The last handshake's final flight is replaced by this one's. */
    flight_free(c);
    if (hs_new(c, now_ms) != DTLS_OK)
        return DTLS_ERR_INTERNAL;
    dtls_hs *hs = c->hs;
    hs->reneg = true;
    hs->base_epoch = c->read_epoch;
    if (c->role == DTLS_ROLE_CLIENT && c->servername && !(hs->servername = strdup(c->servername))) {
        hs_free(c);
        return DTLS_ERR_INTERNAL;
    }
    return DTLS_OK;
}

/* RFC 5246 7.4.1.1: an empty HelloRequest, resent until the ClientHello
 * comes, and never part of the transcript. RFC 6347 4.2.2: it is the
 * first message of the new handshake (message_seq 0, ServerHello 1). */
static int send_hello_request(dtls_conn *c, uint64_t now_ms)
{
    int rc = flight_reset(c);
    if (rc == DTLS_OK) {
        dtls_wr w = flight_msg_begin(c, 1);
        rc = flight_msg_end(c, HT_HELLO_REQUEST, &w);
    }
    c->hs->transcript_len = 0;
    c->hs->reneg_requested = true;
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not send HelloRequest");
    flight_start_timer(c, now_ms);
    return DTLS_OK;
}

int reneg_start(dtls_conn *c, uint64_t now_ms)
{
    if (c->state != DTLS_STATE_ESTABLISHED || c->closing)
        return c->state == DTLS_STATE_CLOSED ? DTLS_ERR_CLOSED : DTLS_ERR_STATE;
    if (c->hs)
        return DTLS_ERR_STATE; /* one handshake at a time */
    if (!c->reneg.secure || !epochs_left(c))
        return DTLS_ERR_STATE;
    int rc = begin(c, now_ms);
    if (rc != DTLS_OK)
        return rc;
    c->reneg.local = true;
    conn_log(c, DTLS_LOG_FINE, "starting a renegotiation");
    return c->role == DTLS_ROLE_CLIENT ? client_start(c, now_ms) : send_hello_request(c, now_ms);
}

/* After a handshake, the peer sent a ClientHello (to a server) or a
 * HelloRequest (to a client) in the current epoch. Accepted only when
 * allowed, no sooner than the interval after the last handshake, and with
 * secure renegotiation (RFC 5746 4.2, 4.4: never the legacy kind); else
 * refused with a no_renegotiation warning (RFC 5246 7.2.2). True when a
 * server's new handshake should now take this ClientHello fragment. */
bool reneg_peer_request(dtls_conn *c, uint64_t now_ms, uint16_t epoch, uint16_t seq)
{
    if (epoch != c->read_epoch || c->closing)
        return false; /* a stale copy from an epoch we left */
    const char *why = NULL;
    if (!c->cfg->allow_reneg)
        why = "renegotiation refused";
    else if (!c->reneg.secure)
        why = "renegotiation refused: the peer has no secure renegotiation (RFC 5746)";
    else if (now_ms - c->reneg.last_done_at < c->cfg->reneg_interval_ms)
        why = "renegotiation refused: too soon after the last handshake";
    else if (!epochs_left(c))
        why = "renegotiation refused: the epoch would wrap";
    if (why) {
        conn_log(c, DTLS_LOG_INFO, "%s", why);
        conn_send_alert(c, 1, DTLS_ALERT_NO_RENEGOTIATION);
        return false;
    }
    if (begin(c, now_ms) != DTLS_OK) {
        conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "out of memory");
        return false;
    }
    conn_log(c, DTLS_LOG_FINE, "the peer starts a renegotiation");
    if (c->role == DTLS_ROLE_SERVER) {
        c->next_recv_seq = seq;
        return true;
    }
    /* The ServerHello follows the HelloRequest's number (RFC 6347 4.2.2). */
    c->next_recv_seq = (uint16_t)(seq + 1);
    client_start(c, now_ms);
    return false;
}

/* Fragments a handshake in progress ignores: a HelloRequest at a client
 * (RFC 5246 7.4.1.1), and in a renegotiation anything from an epoch before
 * the one it started in, or a Finished there (the last handshake's). */
bool reneg_drop_fragment(dtls_conn *c, uint16_t epoch, uint8_t type)
{
    dtls_hs *hs = c->hs;
    if (c->role == DTLS_ROLE_CLIENT && type == HT_HELLO_REQUEST)
        return true;
    return hs->reneg && (epoch < hs->base_epoch || (epoch == hs->base_epoch && type == HT_FINISHED));
}

/* A client renegotiating learns the server's numbering from its
 * ServerHello, as a server learns the client's from the ClientHello: the
 * record authenticated, so it is the server's. */
void reneg_learn_seq(dtls_conn *c, uint16_t epoch, uint8_t type, uint16_t seq, uint32_t foff)
{
    dtls_hs *hs = c->hs;
    if (hs->reneg && hs->state == HS_C_WAIT_SERVER_HELLO && foff == 0 && epoch == hs->base_epoch
        && (type == HT_SERVER_HELLO || type == HT_HELLO_VERIFY_REQUEST))
        c->next_recv_seq = seq;
}

/* OpenSSL's server (3.0, with cookie exchange on, as s_server has it)
 * takes a renegotiation ClientHello without a cookie as one to ignore, and
 * answers it all the same with a flight made from its previous state: the
 * last handshake's server_random in the ServerHello, and the last
 * client_random under its ServerKeyExchange signature and in its keys. (A
 * cookie would make it go right, and Mbed TLS refuse the hello: it wants
 * none in a renegotiation.) Seen in a ServerHello of a renegotiation, that
 * server_random means exactly this; the handshake goes on with the old
 * randoms on our side too. The flight is authenticated (it comes in the
 * protected epoch), the ECDHE keys on both sides are fresh, and the
 * transcript (Finished, extended master secret) still covers our new
 * ClientHello. */
void reneg_server_random_check(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    if (!hs->reneg || !c->reneg.randoms
        || CRYPTO_memcmp(hs->server_random, c->reneg.randoms + 32, 32) != 0)
        return;
    /* Only where the new handshake still binds fresh keys without our new
     * client_random: an ephemeral key exchange, and the extended master
     * secret over a transcript with our new ClientHello. Otherwise (plain
     * PSK or RSA key transport, or no EMS) the old randoms could give back
     * the previous master secret; the handshake goes on with our random
     * and fails if the server did sign or derive from the old one. */
    if (!dtls_suite_uses_ecdhe(hs->suite) || hs->suite->kx == DTLS_KX_RSA
        || !(hs->peer_ems && c->cfg->ems))
        return;
    hs->reneg_old_randoms = true;
    conn_log(c, DTLS_LOG_FINE, "the server answers from its last handshake's randoms "
                               "(OpenSSL with cookie exchange): going on with them");
    memcpy(hs->client_random, c->reneg.randoms, 32);
}

/* ---- the secure renegotiation indication (RFC 5746 3) ---- */

/* renegotiation_info: empty in a first handshake; in a renegotiation the
 * client's verify_data from the client, both from the server (3.5, 3.6). */
static size_t info_len(const dtls_conn *c)
{
    return !c->hs->reneg ? 0 : c->role == DTLS_ROLE_CLIENT ? 12 : 24;
}

void reneg_write_info(const dtls_conn *c, dtls_wr *w)
{
    if (c->role == DTLS_ROLE_SERVER && !c->hs->peer_secure_reneg)
        return;
    size_t n = info_len(c);
    wr_u16(w, EXT_RENEGOTIATION_INFO);
    wr_u16(w, (uint16_t)(n + 1));
    wr_u8(w, (uint8_t)n);
    wr_bytes(w, c->reneg.verify_data, n);
}

/* The peer's renegotiation_info; a wrong value is a handshake_failure
 * (RFC 5746 3.4, 3.5, 3.7), compared in constant time. Returns an alert
 * or 0. */
int reneg_parse_info(dtls_conn *c, dtls_rd data)
{
    dtls_rd v = rd_vec(&data, 1);
    if (!rd_done(&data) || !rd_ok(&v))
        return DTLS_ALERT_DECODE_ERROR;
    size_t want = c->hs->reneg ? (c->role == DTLS_ROLE_SERVER ? 12 : 24) : 0;
    if (v.len != want || (want && CRYPTO_memcmp(v.p, c->reneg.verify_data, want) != 0))
        return DTLS_ALERT_HANDSHAKE_FAILURE;
    c->hs->peer_secure_reneg = true;
    return 0;
}

/* After the hello's extensions: whether the handshake may go on. A server
 * takes the SCSV as the indication in a first handshake and refuses it in
 * a renegotiation (3.7); a client refuses a server without the indication
 * (3.4) unless allowLegacyServer, and then never renegotiates. Returns
 * DTLS_OK or the error after failing the connection. */
int reneg_check_hello(dtls_conn *c, bool scsv)
{
    dtls_hs *hs = c->hs;
    if (c->role == DTLS_ROLE_SERVER && !hs->reneg) {
        hs->peer_secure_reneg |= scsv;
        return DTLS_OK;
    }
    if (c->role == DTLS_ROLE_SERVER && scsv)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE, "renegotiation ClientHello with the SCSV");
    if (hs->reneg && !hs->peer_secure_reneg)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE, "renegotiation without renegotiation_info");
    if (!hs->reneg && !hs->peer_secure_reneg && !c->cfg->allow_legacy_server)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE,
                         "the server does not support secure renegotiation (RFC 5746; "
                         "allowLegacyServer connects all the same)");
    if (c->role == DTLS_ROLE_CLIENT && hs->reneg && c->cid_on && !hs->peer_cid)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE, "the renegotiation dropped the Connection IDs");
    return DTLS_OK;
}

/* RFC 7366 3.1: once Encrypt-then-MAC is in use, a renegotiation must not
 * go back to MAC-then-encrypt, i.e. choose a CBC suite without it (an
 * AEAD suite has no MAC-then-encrypt to fall back to). The server checks
 * its own choice, the client the server's. Returns DTLS_OK or the error
 * after failing the connection with handshake_failure. */
int reneg_check_etm(dtls_conn *c)
{
    const dtls_hs *hs = c->hs;
    if (!hs->reneg || !c->etm || hs->suite->cbc == DTLS_CBC_NONE || hs->peer_etm)
        return DTLS_OK;
    return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE,
                     "the renegotiation drops Encrypt-then-MAC (RFC 7366 3.1)");
}

/* RFC 9146 in a renegotiation: CIDs stay in use if they were, and never
 * start; ours stays the same (hosts route by it), the peer may choose a
 * new one for our records, which takes effect with the new epoch. False
 * when this is no renegotiation (the caller does the first-handshake
 * thing); else *alert is set when the offer is not acceptable. */
bool reneg_stage_cid(dtls_conn *c, bool offered, dtls_rd data, int *alert)
{
    dtls_hs *hs = c->hs;
    *alert = 0;
    if (!hs->reneg)
        return false;
    if (!c->cid_on) {
        /* A server ignores the offer; a client never made one. */
        if (offered && c->role == DTLS_ROLE_CLIENT)
            *alert = DTLS_ALERT_UNSUPPORTED_EXTENSION;
        return true;
    }
    if (!offered) {
        *alert = DTLS_ALERT_HANDSHAKE_FAILURE;
        return true;
    }
    dtls_rd cid = rd_vec(&data, 1);
    if (!rd_done(&data) || !rd_ok(&cid) || 13 + cid.len + 1 + 24 + 64 > c->cfg->mtu) {
        *alert = DTLS_ALERT_DECODE_ERROR;
        return true;
    }
    memcpy(hs->peer_cid_value, cid.p, cid.len);
    hs->peer_cid_len = (uint8_t)cid.len;
    hs->peer_cid = true;
    return true;
}

/* ---- the end of a handshake ---- */

/* Called as any handshake completes: keep what the next one checks. True
 * when it was a renegotiation. */
bool reneg_established(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    c->reneg.secure = hs->peer_secure_reneg;
    memcpy(c->reneg.verify_data, hs->verify_data_client, 12);
    memcpy(c->reneg.verify_data + 12, hs->verify_data_server, 12);
    c->reneg.last_done_at = now_ms;
    c->reneg.local = false;
    /* A client checks the same name in every handshake. */
    if (c->role == DTLS_ROLE_CLIENT && hs->servername && !c->servername)
        c->servername = strdup(hs->servername); /* NULL: the next one fails, not this */
    if (c->role == DTLS_ROLE_CLIENT && c->reneg.secure
        && (c->reneg.randoms || (c->reneg.randoms = malloc(64)))) {
        memcpy(c->reneg.randoms, hs->client_random, 32);
        memcpy(c->reneg.randoms + 32, hs->server_random, 32);
    }
    if (!hs->reneg)
        return false;
    /* The peer's identity is the new handshake's. */
    free(c->peer_cert_der);
    c->peer_cert_der = NULL;
    c->peer_cert_der_len = 0;
    /* A PSK handshake set its own identity (kx_keep_psk_identity); any
     * other leaves none, not the last handshake's. */
    if (!dtls_suite_uses_psk(hs->suite) && c->psk_identity) {
        OPENSSL_cleanse(c->psk_identity, c->psk_identity_len);
        free(c->psk_identity);
        c->psk_identity = NULL;
        c->psk_identity_len = 0;
    }
    c->session_reused = hs->resumed;
    c->suite = hs->suite;
    c->etm = hs->peer_etm && hs->suite->cbc != DTLS_CBC_NONE;
    if (c->reneg.prev)
        c->reneg.prev->expires = now_ms + RENEG_PREV_EPOCH_KEEP_MS;
    return true;
}

static void report(dtls_conn *c, int error)
{
    c->reneg.local = false;
    dtls_event ev = { .type = DTLS_EV_RENEGOTIATED, .error = error };
    conn_emit(c, &ev);
}

/* Our renegotiation ends before anything changed: the association goes
 * on in its epoch, the host hears why. */
static void abandon(dtls_conn *c, int error)
{
    hs_free(c);
    flight_free(c);
    protect_cleanup(&c->pending_rd_prot);
    c->pending_rd_ready = false;
    report(c, error);
}

static bool nothing_changed(const dtls_conn *c)
{
    const dtls_hs *hs = c->hs;
    return hs && hs->reneg && c->reneg.local
        && hs->state == (c->role == DTLS_ROLE_SERVER ? HS_S_WAIT_CLIENT_HELLO : HS_C_WAIT_SERVER_HELLO);
}

/* A no_renegotiation warning answers ours (RFC 5746 4.2, 4.4). */
void reneg_peer_refused(dtls_conn *c)
{
    if (nothing_changed(c)) {
        conn_log(c, DTLS_LOG_INFO, "the peer refused to renegotiate");
        abandon(c, DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION));
    }
}

/* Our renegotiation was never answered: give it up, not the association. */
bool reneg_abandon_on_timeout(dtls_conn *c)
{
    if (!nothing_changed(c))
        return false;
    conn_log(c, DTLS_LOG_INFO, "renegotiation not answered: given up");
    abandon(c, DTLS_ERR_TIMEOUT);
    return true;
}

/* The association ends during our renegotiation. */
void reneg_closing(dtls_conn *c)
{
    if (c->hs && c->hs->reneg && c->reneg.local)
        report(c, c->error != DTLS_OK ? c->error : DTLS_ERR_CLOSED);
}

/* Whether the peer's application data shows it has our final flight: not
 * after a renegotiation, where it keeps sending while the handshake runs. */
bool reneg_data_acks_flight(const dtls_conn *c)
{
    return c->reneg.prev == NULL;
}

uint64_t reneg_deadline(const dtls_conn *c)
{
    const struct reneg_prev *p = c->reneg.prev;
    return p && p->expires ? p->expires : UINT64_MAX;
}

void reneg_tick(dtls_conn *c, uint64_t now_ms)
{
    const struct reneg_prev *p = c->reneg.prev;
    if (!p || !p->expires || now_ms < p->expires)
        return;
    prev_drop(c);
    /* Our final flight's first messages were framed in the old epoch. */
    flight_free(c);
}

void reneg_free(dtls_conn *c)
{
    prev_drop(c);
    free(c->reneg.randoms);
}

size_t reneg_memory(const dtls_conn *c)
{
    const struct reneg_prev *p = c->reneg.prev;
    return (p ? sizeof *p + protect_memory(&p->rd) + protect_memory(&p->wr) : 0)
           + (c->reneg.randoms ? 64 : 0);
}

/* ---- the public calls ---- */

void dtls_config_set_renegotiation(dtls_config *cfg, int allow, uint64_t interval_ms)
{
    cfg->allow_reneg = allow != 0;
    cfg->reneg_interval_ms = interval_ms;
}

void dtls_config_set_allow_legacy_server(dtls_config *cfg, int allow)
{
    cfg->allow_legacy_server = allow != 0;
}

int dtls_conn_renegotiating(const dtls_conn *c)
{
    return c->state == DTLS_STATE_ESTABLISHED && c->hs != NULL;
}

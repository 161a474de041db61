/* resume.c — sessions as the handshake sees them (RFC 5246 7.3, RFC 5077,
 * RFC 7627 5.3): capturing the session a full handshake made, deciding
 * whether a ClientHello may resume one, adopting it into an abbreviated
 * handshake, and the client's session blob. The wire messages are written
 * by server.c and client.c; the value and its sealing live in session.c,
 * ticket.c and session_cache.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/* The session the current handshake established (or resumed). */
int session_capture(dtls_conn *c, uint64_t now_ms, dtls_session *s)
{
    dtls_hs *hs = c->hs;
    memset(s, 0, sizeof *s);
    s->version = c->version;
    s->suite_id = hs->suite->id;
    s->ems = hs->resumed ? hs->resume.ems : hs->peer_ems && c->cfg->ems;
    /* Client: whether the server proved who it is (chain and name, or the
     * PSK); a verifying client never offers a session that was not. */
    s->verified = hs->resumed ? hs->resume.verified
                : dtls_suite_uses_psk(hs->suite) || (c->cfg->verify_peer && c->cfg->check_name);
    if (c->role == DTLS_ROLE_SERVER)
        config_auth_context(c->cfg, s->auth_context);
    memcpy(s->master_secret, hs->master_secret, 48);
    uint64_t wall = now_ms + (uint64_t)c->cfg->clock_offset_ms;
    s->created_ms = hs->resumed ? hs->resume.created_ms : wall;
    /* A renewed ticket lives only as long as the session it carries
     * (RFC 5077 3.3: the hint is the remaining lifetime). */
    uint64_t age_s = wall > s->created_ms ? (wall - s->created_ms) / 1000 : 0;
    uint64_t timeout_s = c->cfg->session_timeout_ms / 1000;
    s->lifetime_s = (uint32_t)(age_s < timeout_s ? timeout_s - age_s : 0);
    /* A client keeps only an ID the server gave; one it made up to offer
     * a ticket is made afresh for each offer (RFC 5077 3.4). */
    if (c->role == DTLS_ROLE_SERVER || !hs->own_session_id) {
        memcpy(s->session_id, hs->session_id, hs->session_id_len);
        s->session_id_len = hs->session_id_len;
    }
    const char *name = c->role == DTLS_ROLE_SERVER ? c->servername : hs->servername;
    if (name)
        snprintf(s->servername, sizeof s->servername, "%s", name);
    /* No identity: psk_identity is NULL, and memcpy from NULL is undefined
     * even for 0 bytes (the UBSan build stops there). */
    if (c->psk_identity_len && c->psk_identity_len <= sizeof s->psk_identity) {
        memcpy(s->psk_identity, c->psk_identity, c->psk_identity_len);
        s->psk_identity_len = (uint8_t)c->psk_identity_len;
    }
    const uint8_t *cert = hs->peer_chain.n ? hs->peer_chain.der[0] : c->peer_cert_der;
    size_t cert_len = hs->peer_chain.n ? hs->peer_chain.der_len[0] : c->peer_cert_der_len;
    if (cert_len > SESSION_PEER_CERT_MAX)
        return DTLS_ERR_TOO_BIG; /* not resumable: its identity would be lost */
    if (cert_len && !(s->peer_cert = malloc(cert_len)))
        return DTLS_ERR_INTERNAL;
    if (cert_len)
        memcpy(s->peer_cert, cert, cert_len);
    s->peer_cert_len = cert_len;
    return DTLS_OK;
}

/* Only sessions with the extended master secret are ever resumed, on
 * either side (RFC 7627 5.3 lets us refuse the others). */
bool session_resumable_here(const dtls_conn *c)
{
    return c->cfg->ems && c->hs->peer_ems;
}

/* A resumed association answers for its identity as the original did:
 * the peer's certificate and PSK identity come from the session. */
int session_adopt(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    memcpy(hs->master_secret, hs->resume.master_secret, 48);
    hs->resumed = true;
    if (hs->resume.psk_identity_len
        && kx_keep_psk_identity(c, hs->resume.psk_identity, hs->resume.psk_identity_len) != DTLS_OK)
        return DTLS_ERR_INTERNAL;
    if (hs->resume.peer_cert_len) {
        free(c->peer_cert_der);
        if (!(c->peer_cert_der = malloc(hs->resume.peer_cert_len)))
            return DTLS_ERR_INTERNAL;
        memcpy(c->peer_cert_der, hs->resume.peer_cert, hs->resume.peer_cert_len);
        c->peer_cert_der_len = hs->resume.peer_cert_len;
    }
    c->session_reused = true;
    return DTLS_OK;
}

/* ---- server ---- */

/* Whether the session in hs->resume may be resumed by this hello: same
 * version, a suite the client offers and we still allow, the same
 * server_name, and EMS on both sides (RFC 7627 5.3; RFC 5246 7.4.1.2). */
static bool session_fits_hello(dtls_conn *c, const client_hello *ch)
{
    dtls_session *s = &c->hs->resume;
    if (s->version != DTLS1_2_VERSION || s->version != c->version || !s->ems
        || !session_resumable_here(c))
        return false;
    if (strcmp(s->servername, c->servername ? c->servername : "") != 0)
        return false;
    /* Made under another client-authentication policy (another node with
     * the same ticket keys, or this one reconfigured): a client that was
     * never asked for a certificate must not skip the check now. */
    uint8_t context[8];
    config_auth_context(c->cfg, context);
    if (memcmp(context, s->auth_context, sizeof context) != 0)
        return false;
    if (c->cfg->require_cert && !s->peer_cert_len && !s->psk_identity_len)
        return false;
    /* A PSK identity withdrawn since no longer resumes. */
    if (s->psk_identity_len) {
        uint8_t key[MAX_PSK_KEY];
        int n = c->cfg->cb.psk_lookup
              ? c->cfg->cb.psk_lookup(c->user, s->psk_identity, s->psk_identity_len, key, sizeof key) : -1;
        OPENSSL_cleanse(key, sizeof key);
        if (n <= 0 || c->state == DTLS_STATE_CLOSED)
            return false;
    }
    const dtls_suite *usable[MAX_SUITES];
    size_t n = config_usable_suites(c->cfg, DTLS_ROLE_SERVER, usable, MAX_SUITES);
    for (size_t i = 0; i < n; i++) {
        if (usable[i]->id != s->suite_id)
            continue;
        dtls_rd offered = ch->suites;
        while (rd_left(&offered) >= 2)
            if (rd_u16(&offered) == s->suite_id) {
                c->hs->suite = usable[i];
                return true;
            }
    }
    return false;
}

bool server_find_session(dtls_conn *c, uint64_t now_ms, const client_hello *ch,
                         const uint8_t *ticket, size_t ticket_len)
{
    dtls_hs *hs = c->hs;
    bool found = false;
    bool renew = false;
    bool ticket_offered = c->cfg->tickets && ticket_len;
    if (ticket_offered)
        found = ticket_open(c->cfg, now_ms, ticket, ticket_len, &hs->resume, &renew);
    /* RFC 5077 3.4: with a ticket presented, the session ID is only the
     * client's marker, never a key into the cache. */
    else if (ch->session_id_len == SESSION_ID_MAX)
        found = session_cache_get(&c->cfg->cache, ch->session_id, ch->session_id_len,
                                  now_ms, &hs->resume);
    if (found && !session_fits_hello(c, ch)) {
        session_clear(&hs->resume);
        hs->suite = NULL;
        found = false;
    }
    if (!found)
        return false;
    /* RFC 5077 3.4: echo the client's session ID to say "resumed". */
    memcpy(hs->session_id, ch->session_id, ch->session_id_len);
    hs->session_id_len = (uint8_t)ch->session_id_len;
    hs->renew_ticket = renew && hs->peer_tickets;
    return true;
}

/* A full handshake: a ticket when the client takes them, else a fresh
 * session ID for the cache. A client given a ticket resumes with it, so it
 * gets no cache entry (and an empty session ID, which RFC 5077 3.4
 * allows): the cache serves only clients without tickets, and costs
 * nothing per ticket session. */
int server_new_session(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    hs->session_id_len = 0;
    hs->renew_ticket = false;
    if (!session_resumable_here(c))
        return DTLS_OK;
    hs->renew_ticket = c->cfg->tickets && hs->peer_tickets;
    /* With client certificates the ticket may grow too big to ride in a
     * ClientHello (server_write_ticket then sends none): keep a cache
     * entry as well. */
    if ((!hs->renew_ticket || c->cfg->request_cert) && c->cfg->cache.max) {
        if (!config_public_random(c->cfg, hs->session_id, SESSION_ID_MAX))
            return DTLS_ERR_INTERNAL;
        hs->session_id_len = SESSION_ID_MAX;
    }
    return DTLS_OK;
}

/* Once the client's Finished verified: keep the session for later. */
void server_remember_session(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    if (hs->resumed || hs->session_id_len != SESSION_ID_MAX)
        return;
    dtls_session s;
    if (session_capture(c, now_ms, &s) == DTLS_OK)
        session_cache_put(&c->cfg->cache, &s, now_ms + c->cfg->session_timeout_ms);
    session_clear(&s);
}

/* RFC 5077 3.3: NewSessionTicket, lifetime hint and the sealed session. */
int server_write_ticket(dtls_conn *c, uint64_t now_ms)
{
    if (!c->hs->renew_ticket)
        return DTLS_OK;
    dtls_session s;
    int rc = session_capture(c, now_ms, &s);
    size_t cap = TICKET_OVERHEAD + session_encoded_len(&s, false);
    if (rc == DTLS_OK && cap > TICKET_MAX_IN_HELLO)
        rc = DTLS_ERR_TOO_BIG;
    if (rc == DTLS_ERR_TOO_BIG) { /* an empty ticket: "none this time" (RFC 5077 3.3) */
        session_clear(&s);
        dtls_wr w = flight_msg_begin(c, 6);
        wr_uint(&w, 0, 4);
        wr_u16(&w, 0);
        return flight_msg_end(c, HT_NEW_SESSION_TICKET, &w);
    }
    dtls_wr w = flight_msg_begin(c, 6 + cap);
    wr_uint(&w, s.lifetime_s, 4);
    size_t mark = wr_vec_begin(&w, 2);
    size_t n = 0;
    if (rc != DTLS_OK || ticket_seal(c->cfg, now_ms, &s, wr_ptr(&w), wr_room(&w), &n) != 0)
        w.err = true;
    w.len += n;
    wr_vec_end(&w, mark, 2);
    session_clear(&s);
    return flight_msg_end(c, HT_NEW_SESSION_TICKET, &w);
}

/* ---- client ---- */

int dtls_conn_set_session(dtls_conn *c, const uint8_t *blob, size_t len)
{
    if (c->role != DTLS_ROLE_CLIENT || !c->hs || c->hs->state != HS_C_WAIT_SERVER_HELLO
        || flight_count(c))
        return DTLS_ERR_STATE;
    dtls_hs *hs = c->hs;
    session_clear(&hs->resume);
    hs->resuming = false;
    if (!blob || !session_decode(&hs->resume, blob, len, true))
        return DTLS_ERR_ARG;
    /* Offered only when it could be accepted: EMS, a suite we offer, and
     * the PSK identity we would use now (RFC 5246 7.4.1.2, RFC 7627 5.3). */
    const dtls_suite *usable[MAX_SUITES];
    size_t n = config_usable_suites(c->cfg, DTLS_ROLE_CLIENT, usable, MAX_SUITES);
    bool suite_ok = false;
    for (size_t i = 0; i < n; i++)
        suite_ok |= usable[i]->id == hs->resume.suite_id;
    bool psk_ok = hs->resume.psk_identity_len == c->cfg->psk_identity_len
        && memcmp(hs->resume.psk_identity, c->cfg->psk_identity, c->cfg->psk_identity_len) == 0;
    /* A ticket that would make our hello too big for one datagram is not
     * offered (the session ID, if any, still is). */
    if (hs->resume.ticket_len > TICKET_MAX_IN_HELLO || hs->resume.ticket_len + 625 > c->cfg->mtu) {
        free(hs->resume.ticket);
        hs->resume.ticket = NULL;
        hs->resume.ticket_len = 0;
    }
    if (!suite_ok || !psk_ok || !hs->resume.ems || !c->cfg->ems
        || hs->resume.version != DTLS1_2_VERSION
        || (c->cfg->verify_peer && !hs->resume.verified)
        || (!hs->resume.session_id_len && !hs->resume.ticket_len)) {
        session_clear(&hs->resume);
        return DTLS_OK;
    }
    /* RFC 5077 3.4: with a ticket, an ID of our own shows acceptance;
     * a fresh one for every offer, so offers are not linkable by it. */
    hs->own_session_id = !hs->resume.session_id_len;
    if (hs->resume.session_id_len) {
        memcpy(hs->session_id, hs->resume.session_id, hs->resume.session_id_len);
        hs->session_id_len = hs->resume.session_id_len;
    } else if (config_public_random(c->cfg, hs->session_id, SESSION_ID_MAX)) {
        hs->session_id_len = SESSION_ID_MAX;
    } else {
        session_clear(&hs->resume);
        return DTLS_ERR_INTERNAL;
    }
    hs->resuming = true;
    return DTLS_OK;
}

/* At start, once the server name and the time are known: a session made
 * with another name is not offered (RFC 6066 3: it could not prove this
 * server), nor one past the lifetime its server gave it. */
void client_check_offer(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    uint64_t wall = now_ms + (uint64_t)c->cfg->clock_offset_ms;
    bool expired = hs->resume.lifetime_s
        && hs->resume.created_ms + (uint64_t)hs->resume.lifetime_s * 1000 <= wall;
    if (hs->resuming && (expired
        || strcmp(hs->resume.servername, hs->servername ? hs->servername : "") != 0)) {
        session_clear(&hs->resume);
        hs->resuming = false;
        hs->session_id_len = 0;
    }
}

/* After a client handshake: the session to hand out, and whether it is
 * news (a new session, or a new ticket for the old one). */
void client_keep_session(dtls_conn *c, uint64_t now_ms, bool *is_new)
{
    dtls_hs *hs = c->hs;
    *is_new = false;
    dtls_session *s = calloc(1, sizeof *s);
    if (!s)
        return;
    bool ok;
    if (hs->resumed && !hs->new_ticket_len) {
        ok = session_copy(s, &hs->resume) == 0; /* the same session again */
    } else {
        ok = session_capture(c, now_ms, s) == DTLS_OK;
        if (ok && hs->new_ticket_len) { /* from the server's NewSessionTicket */
            s->ticket = hs->new_ticket;
            s->ticket_len = hs->new_ticket_len;
            s->lifetime_s = hs->new_ticket_lifetime;
            hs->new_ticket = NULL;
            hs->new_ticket_len = 0;
        }
        *is_new = ok;
    }
    if (!ok || !s->ems || (!s->session_id_len && !s->ticket_len)) {
        session_clear(s);
        free(s);
        *is_new = false;
        /* A renegotiation replaced the session: the one before it is no
         * longer this association's to offer (nor its master secret to
         * keep). */
        if (hs->reneg && c->session) {
            session_clear(c->session);
            free(c->session);
            c->session = NULL;
        }
        return;
    }
    if (c->session) {
        session_clear(c->session);
        free(c->session);
    }
    c->session = s;
}

int dtls_conn_get_session(const dtls_conn *c, uint8_t **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    if (!c->session)
        return DTLS_ERR_STATE;
    size_t n = session_encoded_len(c->session, true);
    uint8_t *p = malloc(n);
    if (!p)
        return DTLS_ERR_INTERNAL;
    dtls_wr w = wr_init(p, n);
    if (!session_encode(c->session, true, &w)) {
        OPENSSL_cleanse(p, n);
        free(p);
        return DTLS_ERR_INTERNAL;
    }
    *blob = p;
    *len = n;
    return DTLS_OK;
}

int dtls_conn_session_reused(const dtls_conn *c) { return c->session_reused; }

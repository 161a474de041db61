/* test_session.c — resumption between our two engines in memory: tickets
 * and the session-ID cache, the abbreviated handshake's reversed final
 * flight on a lossy network, and every way an offered session must fall
 * back to a full handshake (tampered, expired, foreign, EMS or suite
 * mismatch, evicted mid-handshake), never to a failure. */
#include "unit.h"
#include "pair.h"
#include "internal.h"

static char *srv_cert, *srv_key, *cli_cert, *cli_key;

static dtls_config *server_config(void)
{
    dtls_config *cfg = dtls_config_new();
    char err[256];
    CHECK(dtls_config_set_cert_chain_pem(cfg, srv_cert, strlen(srv_cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_key_pem(cfg, srv_key, strlen(srv_key), err, sizeof err) == DTLS_OK);
    return cfg;
}

static dtls_config *client_config(void)
{
    dtls_config *cfg = dtls_config_new();
    char err[256];
    CHECK(dtls_config_add_ca_pem(cfg, srv_cert, strlen(srv_cert), err, sizeof err) == DTLS_OK);
    return cfg;
}

typedef struct outcome {
    bool established;
    bool client_reused, server_reused;
    size_t sessions;        /* DTLS_EV_SESSION on the client */
    uint8_t *blob;          /* the client's session afterwards */
    size_t blob_len;
    bool echoed;
    char cipher[64];
    bool server_saw_peer_cert;
    char psk_identity[32];
} outcome;

static void outcome_free(outcome *o)
{
    if (o->blob)
        OPENSSL_cleanse(o->blob, o->blob_len);
    free(o->blob);
    memset(o, 0, sizeof *o);
}

/* One association from a new client connection, offering blob if given;
 * time carries over in *now so tickets can age. */
static outcome connect_once(dtls_config *c, dtls_config *s, const uint8_t *blob, size_t blob_len,
                            uint64_t *now, uint64_t seed, unsigned loss)
{
    outcome o;
    memset(&o, 0, sizeof o);
    pair p;
    pair_init(&p, c, s, seed);
    if (*now)
        p.now = *now;
    p.drop = loss;
    p.reorder = loss;
    p.dup = loss;
    dtls_conn_set_servername(p.client.conn, "localhost");
    if (blob)
        CHECK(dtls_conn_set_session(p.client.conn, blob, blob_len) == DTLS_OK);
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    o.established = pair_run(&p, pair_both_established, 300000);
    if (o.established) {
        p.drop = p.reorder = p.dup = 0;
        CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"ping", 4) == DTLS_OK);
        CHECK(dtls_conn_send(p.server.conn, p.now, (const uint8_t *)"pong", 4) == DTLS_OK);
        pair_run(&p, pair_never, 2000);
        o.echoed = p.server.app_len == 4 && memcmp(p.server.app, "ping", 4) == 0
                && p.client.app_len == 4 && memcmp(p.client.app, "pong", 4) == 0;
        o.client_reused = dtls_conn_session_reused(p.client.conn);
        o.server_reused = dtls_conn_session_reused(p.server.conn);
        snprintf(o.cipher, sizeof o.cipher, "%s", dtls_conn_cipher_name(p.server.conn));
        size_t n = 0;
        o.server_saw_peer_cert = dtls_conn_peer_cert_der(p.server.conn, &n) && n > 0;
        const uint8_t *id = dtls_conn_psk_identity(p.server.conn, &n);
        if (id && n < sizeof o.psk_identity)
            memcpy(o.psk_identity, id, n);
        dtls_conn_get_session(p.client.conn, &o.blob, &o.blob_len);
    }
    o.sessions = p.client.sessions;
    if (!o.established || !o.echoed)
        fprintf(stderr, "client retransmits %llu, server conn %p state %d hs %d, client hs %d\n",
                (unsigned long long)dtls_conn_stats(p.client.conn)->retransmits, (void *)p.server.conn,
                p.server.conn ? (int)dtls_conn_state(p.server.conn) : -1,
                p.server.conn && p.server.conn->hs ? (int)p.server.conn->hs->state : -1,
                p.client.conn->hs ? (int)p.client.conn->hs->state : -1);
    if (!o.established || !o.echoed)
        fprintf(stderr, "seed %llu: established c=%d s=%d closed c=%d(%s) s=%d(%s) echoed=%d\n",
                (unsigned long long)seed, p.client.established, p.server.established,
                p.client.closed, dtls_strerror(p.client.close_error), p.server.closed,
                dtls_strerror(p.server.close_error), o.echoed);
    *now = p.now + 1000;
    pair_free(&p);
    return o;
}

/* Tickets (the default): the second association resumes, both sides say
 * so, and the client is told of the new session each time. */
static void test_ticket_resumption(void)
{
    dtls_config *s = server_config(), *c = client_config();
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 1, 0);
    CHECK(first.established && first.echoed && !first.client_reused && !first.server_reused);
    CHECK(first.sessions == 1 && first.blob != NULL);
    for (int i = 0; i < 3; i++) {
        outcome again = connect_once(c, s, first.blob, first.blob_len, &now, 2 + (uint64_t)i, 0);
        CHECK(again.established && again.echoed && again.client_reused && again.server_reused);
        CHECK(strcmp(again.cipher, first.cipher) == 0);
        CHECK(again.blob != NULL); /* the same session stays resumable */
        outcome_free(&again);
    }
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* Tickets off: the session-ID cache resumes, and costs at most 256 bytes
 * per entry (the budget) for a certificate session. */
static void test_cache_resumption(void)
{
    dtls_config *s = server_config(), *c = client_config();
    dtls_config_set_tickets(s, 0);
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 3, 0);
    CHECK(first.established && first.blob && dtls_config_session_cache_count(s) == 1);
    outcome again = connect_once(c, s, first.blob, first.blob_len, &now, 4, 0);
    CHECK(again.established && again.echoed && again.client_reused && again.server_reused);
    outcome_free(&again);
    /* Evicted: full handshake, no failure. */
    dtls_session ds;
    CHECK(session_decode(&ds, first.blob, first.blob_len, true));
    session_cache_remove(&s->cache, ds.session_id, ds.session_id_len);
    session_clear(&ds);
    again = connect_once(c, s, first.blob, first.blob_len, &now, 5, 0);
    CHECK(again.established && again.echoed && !again.client_reused && !again.server_reused);
    outcome_free(&again);
    outcome_free(&first);
    for (int i = 0; i < 200; i++) {
        outcome o = connect_once(c, s, NULL, 0, &now, 100 + (uint64_t)i, 0);
        outcome_free(&o);
    }
    size_t count = dtls_config_session_cache_count(s);
    size_t per_entry = dtls_config_session_cache_memory(s) / count;
    printf("session cache: %zu entries, %zu bytes per entry (+ allocator overhead)\n", count, per_entry);
    CHECK(count >= 200 && per_entry + 16 <= 256);
    /* The bound holds: the oldest go first. */
    CHECK(dtls_config_set_session_cache(s, 10) == DTLS_OK);
    for (int i = 0; i < 30; i++) {
        outcome o = connect_once(c, s, NULL, 0, &now, 400 + (uint64_t)i, 0);
        outcome_free(&o);
    }
    CHECK(dtls_config_session_cache_count(s) == 10);
    dtls_config_free(c);
    dtls_config_free(s);
}

static bool server_awaits_client_finish(pair *p)
{
    return p->server.conn && p->server.conn->hs && p->server.conn->hs->resumed;
}

/* Evicted while the abbreviated handshake is under way: the handshake has
 * its own copy of the session and finishes; only later offers miss. */
static void test_evicted_mid_handshake(void)
{
    dtls_config *s = server_config(), *c = client_config();
    dtls_config_set_tickets(s, 0);
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 30, 0);
    CHECK(first.established && first.blob);
    pair p;
    pair_init(&p, c, s, 31);
    p.now = now;
    dtls_conn_set_servername(p.client.conn, "localhost");
    CHECK(dtls_conn_set_session(p.client.conn, first.blob, first.blob_len) == DTLS_OK);
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    CHECK(pair_run(&p, server_awaits_client_finish, 5000));
    CHECK(dtls_config_session_cache_count(s) == 1);
    dtls_session ds;
    CHECK(session_decode(&ds, first.blob, first.blob_len, true));
    session_cache_remove(&s->cache, ds.session_id, ds.session_id_len);
    session_clear(&ds);
    CHECK(dtls_config_session_cache_count(s) == 0);
    CHECK(pair_run(&p, pair_both_established, 5000));
    CHECK(dtls_conn_session_reused(p.server.conn) && dtls_conn_session_reused(p.client.conn));
    now = p.now + 1000;
    pair_free(&p);
    outcome later = connect_once(c, s, first.blob, first.blob_len, &now, 32, 0);
    CHECK(later.established && !later.server_reused);
    outcome_free(&later);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* Review findings: a session is offered only to the server name it was
 * made with; a ticket too big for one hello is not offered; a server with
 * another client-authentication policy (but the same ticket keys) does not
 * resume it; a session made without verification is not offered by a
 * verifying client. */
static void test_offer_rules(void)
{
    dtls_config *s = server_config(), *c = client_config();
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 40, 0);
    CHECK(first.established && first.blob);
    pair p;
    pair_init(&p, c, s, 41);
    CHECK(dtls_conn_set_session(p.client.conn, first.blob, first.blob_len) == DTLS_OK);
    dtls_conn_set_servername(p.client.conn, "bank.example");
    dtls_conn_start(p.client.conn, p.now);
    CHECK(!p.client.conn->hs->resuming);
    pair_free(&p);

    dtls_session ds;
    CHECK(session_decode(&ds, first.blob, first.blob_len, true) && ds.ticket_len && !ds.session_id_len);
    uint8_t *big = calloc(1, TICKET_MAX_IN_HELLO + 1);
    free(ds.ticket);
    ds.ticket = big;
    ds.ticket_len = TICKET_MAX_IN_HELLO + 1;
    uint8_t blob[2048];
    dtls_wr w = wr_init(blob, sizeof blob);
    CHECK(session_encode(&ds, true, &w));
    pair_init(&p, c, s, 42);
    CHECK(dtls_conn_set_session(p.client.conn, blob, w.len) == DTLS_OK);
    CHECK(!p.client.conn->hs->resuming); /* no ID to fall back on */
    pair_free(&p);
    session_clear(&ds);

    dtls_config *unverified = client_config();
    dtls_config_set_verify_peer(unverified, 0);
    outcome u = connect_once(unverified, s, NULL, 0, &now, 43, 0);
    CHECK(u.established && u.blob);
    pair_init(&p, c, s, 44);
    CHECK(dtls_conn_set_session(p.client.conn, u.blob, u.blob_len) == DTLS_OK);
    CHECK(!p.client.conn->hs->resuming);
    pair_free(&p);
    outcome_free(&u);
    dtls_config_free(unverified);

    uint8_t keys[DTLS_TICKET_KEY_LEN] = { 9 };
    dtls_config *asks = server_config();
    char err[256];
    dtls_config_set_ticket_keys(s, keys, sizeof keys);
    dtls_config_set_ticket_keys(asks, keys, sizeof keys);
    CHECK(dtls_config_add_ca_pem(asks, cli_cert, strlen(cli_cert), err, sizeof err) == DTLS_OK);
    dtls_config_set_request_cert(asks, 1, 0);
    outcome k = connect_once(c, s, NULL, 0, &now, 45, 0);
    outcome o = connect_once(c, asks, k.blob, k.blob_len, &now, 46, 0);
    CHECK(o.established && !o.server_reused && !o.client_reused);
    outcome_free(&o);
    /* Under its own policy the same server resumes, and keeps a cache
     * entry beside the ticket (a client certificate could outgrow it). */
    size_t cached = dtls_config_session_cache_count(asks);
    o = connect_once(c, asks, NULL, 0, &now, 47, 0);
    CHECK(o.established && o.blob && dtls_config_session_cache_count(asks) == cached + 1);
    outcome again = connect_once(c, asks, o.blob, o.blob_len, &now, 48, 0);
    CHECK(again.established && again.server_reused);
    outcome_free(&again);
    outcome_free(&o);
    outcome_free(&k);
    dtls_config_free(asks);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* The cache directly: least recently used goes first, and a session that
 * carries a big client certificate counts for its bytes. */
static void test_cache_bounds(void)
{
    session_cache cache;
    session_cache_init(&cache, 3);
    dtls_session s;
    memset(&s, 0, sizeof s);
    s.version = DTLS1_2_VERSION;
    s.ems = true;
    s.session_id_len = SESSION_ID_MAX;
    for (uint8_t i = 1; i <= 3; i++) {
        memset(s.session_id, i, SESSION_ID_MAX);
        CHECK(session_cache_put(&cache, &s, 100000) == 0);
    }
    uint8_t id1[SESSION_ID_MAX];
    memset(id1, 1, sizeof id1);
    dtls_session got;
    CHECK(session_cache_get(&cache, id1, sizeof id1, 0, &got)); /* 1 is now the newest */
    session_clear(&got);
    memset(s.session_id, 4, SESSION_ID_MAX);
    CHECK(session_cache_put(&cache, &s, 100000) == 0);
    uint8_t id2[SESSION_ID_MAX];
    memset(id2, 2, sizeof id2);
    CHECK(session_cache_get(&cache, id1, sizeof id1, 0, &got));
    session_clear(&got);
    CHECK(!session_cache_get(&cache, id2, sizeof id2, 0, &got)); /* 2 was the least recent */
    CHECK(!session_cache_get(&cache, id1, sizeof id1, 200000, &got)); /* expired */
    /* 3 entries allow 768 bytes: one 600-byte certificate session pushes
     * out everything else, and a bigger one is refused. */
    uint8_t cert[600] = { 0 };
    s.peer_cert = cert;
    s.peer_cert_len = sizeof cert;
    memset(s.session_id, 5, SESSION_ID_MAX);
    CHECK(session_cache_put(&cache, &s, 100000) == 0);
    CHECK(cache.count == 1 && session_cache_memory(&cache) <= 3 * SESSION_CACHE_BYTES_PER_ENTRY
                                                              + cache.nbuckets * sizeof(void *));
    uint8_t big[900] = { 0 };
    s.peer_cert = big;
    s.peer_cert_len = sizeof big;
    memset(s.session_id, 6, SESSION_ID_MAX);
    CHECK(session_cache_put(&cache, &s, 100000) == -1);
    session_cache_free(&cache);
}

/* Neither tickets nor cache: nothing is resumable, and no session event. */
static void test_nothing_resumable(void)
{
    dtls_config *s = server_config(), *c = client_config();
    dtls_config_set_tickets(s, 0);
    dtls_config_set_session_cache(s, 0);
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 6, 0);
    CHECK(first.established && first.sessions == 0 && first.blob == NULL);
    outcome_free(&first);
    /* A session without EMS is never made resumable (RFC 7627 5.3). */
    dtls_config_free(s);
    s = server_config();
    dtls_config_set_extended_master_secret(s, 0);
    first = connect_once(c, s, NULL, 0, &now, 7, 0);
    CHECK(first.established && first.sessions == 0 && first.blob == NULL);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* Every byte of the ticket flipped: a full handshake, never a failure. */
static void test_tampered_tickets(void)
{
    dtls_config *s = server_config(), *c = client_config();
    dtls_config_set_session_cache(s, 0); /* tickets alone */
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 8, 0);
    CHECK(first.established && first.blob);
    dtls_session ds;
    CHECK(session_decode(&ds, first.blob, first.blob_len, true) && ds.ticket_len > TICKET_OVERHEAD);
    size_t ticket_at = first.blob_len - ds.ticket_len;
    size_t full = 0, reused = 0;
    for (size_t i = 0; i < ds.ticket_len; i += (i < 64 || ds.ticket_len - i < 24) ? 1 : 7) {
        uint8_t *bad = malloc(first.blob_len);
        memcpy(bad, first.blob, first.blob_len);
        bad[ticket_at + i] ^= 0x01;
        outcome o = connect_once(c, s, bad, first.blob_len, &now, 1000 + i, 0);
        full += o.established && o.echoed && !o.client_reused && !o.server_reused;
        reused += o.client_reused || o.server_reused;
        outcome_free(&o);
        free(bad);
    }
    CHECK(full > 0 && reused == 0);
    session_clear(&ds);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* Expiry, foreign keys, shared keys, and rotation by prepending. */
static void test_ticket_keys(void)
{
    uint8_t keys[3 * DTLS_TICKET_KEY_LEN];
    for (size_t i = 0; i < sizeof keys; i++)
        keys[i] = (uint8_t)(i * 7 + 1);
    dtls_config *a = server_config(), *b = server_config(), *other = server_config();
    dtls_config *c = client_config();
    dtls_config_set_session_cache(a, 0);
    dtls_config_set_session_cache(b, 0);
    dtls_config_set_session_cache(other, 0);
    CHECK(dtls_config_set_ticket_keys(a, keys + DTLS_TICKET_KEY_LEN, DTLS_TICKET_KEY_LEN) == DTLS_OK);
    /* b has a newer key first and a's key second: it opens a's tickets. */
    CHECK(dtls_config_set_ticket_keys(b, keys, 2 * DTLS_TICKET_KEY_LEN) == DTLS_OK);
    CHECK(dtls_config_set_ticket_keys(other, keys + 2 * DTLS_TICKET_KEY_LEN, DTLS_TICKET_KEY_LEN) == DTLS_OK);
    CHECK(dtls_config_set_ticket_keys(a, keys, 47) == DTLS_ERR_ARG);
    uint64_t now = 0;
    outcome first = connect_once(c, a, NULL, 0, &now, 9, 0);
    CHECK(first.established && first.blob);
    outcome o = connect_once(c, b, first.blob, first.blob_len, &now, 10, 0);
    CHECK(o.established && o.server_reused && o.client_reused && o.sessions == 1);
    outcome_free(&o);
    o = connect_once(c, other, first.blob, first.blob_len, &now, 11, 0);
    CHECK(o.established && o.echoed && !o.server_reused && !o.client_reused);
    outcome_free(&o);
    /* Expired: two hours and a bit later. */
    uint64_t later = now + DEFAULT_SESSION_TIMEOUT_MS + 1000;
    o = connect_once(c, a, first.blob, first.blob_len, &later, 12, 0);
    CHECK(o.established && o.echoed && !o.server_reused);
    outcome_free(&o);
    /* Keys made by the engine rotate; the previous one still opens. */
    dtls_config *auto_keys = server_config();
    dtls_config_set_session_cache(auto_keys, 0);
    CHECK(dtls_config_set_session_timeout(auto_keys, 60000) == DTLS_OK);
    now = 0;
    outcome t = connect_once(c, auto_keys, NULL, 0, &now, 13, 0);
    uint64_t t1 = now + 61000; /* rotated once: sealed under the previous key */
    o = connect_once(c, auto_keys, t.blob, t.blob_len, &t1, 14, 0);
    CHECK(o.established && o.server_reused == false); /* 61 s > the 60 s lifetime */
    outcome_free(&o);
    outcome_free(&t);
    dtls_config_free(auto_keys);
    outcome_free(&first);
    dtls_config_free(a);
    dtls_config_free(b);
    dtls_config_free(other);
    dtls_config_free(c);
}

/* A shared ticket secret: two servers derive the same key for a period and
 * resume each other's tickets; a ticket of the previous period still opens,
 * one from two periods back does not (its key is gone), and another secret
 * opens nothing. The session timeout is both the period and the lifetime,
 * so a later period's resumption is tested with a ticket made at its end. */
static void test_ticket_secret(void)
{
    uint8_t secret[DTLS_TICKET_SECRET_MIN], other_secret[DTLS_TICKET_SECRET_MIN];
    memset(secret, 0x5a, sizeof secret);
    memset(other_secret, 0xa5, sizeof other_secret);
    dtls_config *a = server_config(), *b = server_config(), *other = server_config();
    dtls_config *c = client_config();
    CHECK(dtls_config_set_ticket_secret(a, secret, 31) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_ticket_secret(a, secret, sizeof secret) == DTLS_OK);
    CHECK(dtls_config_set_ticket_secret(b, secret, sizeof secret) == DTLS_OK);
    CHECK(dtls_config_set_ticket_secret(other, other_secret, sizeof other_secret) == DTLS_OK);
    dtls_config *all[] = { a, b, other };
    for (size_t i = 0; i < 3; i++) {
        dtls_config_set_session_cache(all[i], 0); /* tickets alone */
        CHECK(dtls_config_set_session_timeout(all[i], 60000) == DTLS_OK);
    }
    /* Made at 59 s, near the end of period 0, by a. */
    uint64_t now = 59000;
    outcome first = connect_once(c, a, NULL, 0, &now, 31, 0);
    CHECK(first.established && first.blob);
    uint8_t name0[16];
    memcpy(name0, a->ticket_keys, sizeof name0);
    /* b, in period 1, opens it with the previous period's key. */
    uint64_t t = 61000;
    outcome o = connect_once(c, b, first.blob, first.blob_len, &t, 32, 0);
    CHECK(o.established && o.server_reused && o.client_reused);
    CHECK(memcmp(b->ticket_keys, name0, sizeof name0) != 0);                 /* rotated */
    CHECK(memcmp(b->ticket_keys + TICKET_KEY_LEN, name0, sizeof name0) == 0); /* kept */
    outcome_free(&o);
    t = 61000;
    o = connect_once(c, other, first.blob, first.blob_len, &t, 33, 0);
    CHECK(o.established && o.echoed && !o.server_reused);
    outcome_free(&o);
    /* Two periods on, the key of period 0 is gone from every holder. */
    dtls_session s;
    CHECK(session_decode(&s, first.blob, first.blob_len, true) && s.ticket_len);
    bool renew = false;
    dtls_session opened;
    CHECK(!ticket_open(a, 120000, s.ticket, s.ticket_len, &opened, &renew));
    CHECK(a->nticket_keys == 2 && memcmp(a->ticket_keys + TICKET_KEY_LEN, name0, sizeof name0) != 0);
    session_clear(&s);
    /* Keys given afterwards replace the secret, and the other way round. */
    uint8_t keys[DTLS_TICKET_KEY_LEN] = { 1 };
    CHECK(dtls_config_set_ticket_keys(a, keys, sizeof keys) == DTLS_OK && a->ticket_master_len == 0);
    CHECK(dtls_config_set_ticket_secret(a, secret, sizeof secret) == DTLS_OK && !a->ticket_keys_external);
    outcome_free(&first);
    dtls_config_free(a);
    dtls_config_free(b);
    dtls_config_free(other);
    dtls_config_free(c);
}

/* The session's rules: EMS both ways, the suite still offered, the same
 * server_name; anything else is a full handshake. */
static void test_mismatches(void)
{
    dtls_config *s = server_config(), *c = client_config();
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 15, 0);
    CHECK(first.established && first.blob);
    /* The server no longer does EMS: full handshake (RFC 7627 5.3). */
    dtls_config_set_extended_master_secret(s, 0);
    outcome o = connect_once(c, s, first.blob, first.blob_len, &now, 16, 0);
    CHECK(o.established && !o.server_reused && !o.client_reused);
    outcome_free(&o);
    dtls_config_set_extended_master_secret(s, 1);
    /* The client would offer other suites only: not offered at all. */
    dtls_config *c2 = client_config();
    char err[128];
    CHECK(dtls_config_set_ciphers(c2, strcmp(first.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384") == 0
                                  ? "ECDHE-ECDSA-CHACHA20-POLY1305" : "ECDHE-ECDSA-AES256-GCM-SHA384",
                                  err, sizeof err) == DTLS_OK);
    o = connect_once(c2, s, first.blob, first.blob_len, &now, 17, 0);
    CHECK(o.established && !o.server_reused && !o.client_reused);
    outcome_free(&o);
    dtls_config_free(c2);
    /* The server no longer allows the suite: full handshake. */
    dtls_config *s2 = server_config();
    CHECK(dtls_config_set_ciphers(s2, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305",
                                  err, sizeof err) == DTLS_OK);
    uint8_t keys[DTLS_TICKET_KEY_LEN] = { 1 };
    dtls_config_set_ticket_keys(s, keys, sizeof keys);
    dtls_config_set_ticket_keys(s2, keys, sizeof keys);
    outcome k = connect_once(c, s, NULL, 0, &now, 18, 0);
    o = connect_once(c, s2, k.blob, k.blob_len, &now, 19, 0);
    CHECK(o.established && !o.server_reused && !o.client_reused);
    outcome_free(&o);
    outcome_free(&k);
    dtls_config_free(s2);
    /* Garbage is refused at once. */
    pair p;
    pair_init(&p, c, s, 20);
    CHECK(dtls_conn_set_session(p.client.conn, (const uint8_t *)"junk", 4) == DTLS_ERR_ARG);
    pair_free(&p);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* PSK and client-certificate sessions resume with their identity. */
static void test_identity_carried(void)
{
    dtls_config *s = server_config(), *c = client_config();
    char err[256];
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(i + 1);
    CHECK(dtls_config_set_ciphers(c, "PSK-AES128-CCM8", err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_psk(c, (const uint8_t *)"client1", 7, key, sizeof key) == DTLS_OK);
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 21, 0);
    CHECK(first.established && first.blob && strcmp(first.psk_identity, "client1") == 0);
    outcome o = connect_once(c, s, first.blob, first.blob_len, &now, 22, 0);
    CHECK(o.server_reused && strcmp(o.psk_identity, "client1") == 0
          && strcmp(o.cipher, "PSK-AES128-CCM8") == 0);
    outcome_free(&o);
    /* Another identity on the client: the session is not offered. */
    CHECK(dtls_config_set_psk(c, (const uint8_t *)"client2", 7, key, sizeof key) == DTLS_OK);
    pair p;
    pair_init(&p, c, s, 23);
    CHECK(dtls_conn_set_session(p.client.conn, first.blob, first.blob_len) == DTLS_OK);
    CHECK(!p.client.conn->hs->resuming);
    pair_free(&p);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);

    s = server_config();
    c = client_config();
    CHECK(dtls_config_add_ca_pem(s, cli_cert, strlen(cli_cert), err, sizeof err) == DTLS_OK);
    dtls_config_set_request_cert(s, 1, 1);
    CHECK(dtls_config_set_cert_chain_pem(c, cli_cert, strlen(cli_cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_key_pem(c, cli_key, strlen(cli_key), err, sizeof err) == DTLS_OK);
    first = connect_once(c, s, NULL, 0, &now, 24, 0);
    CHECK(first.established && first.server_saw_peer_cert && first.blob);
    o = connect_once(c, s, first.blob, first.blob_len, &now, 25, 0);
    CHECK(o.server_reused && o.server_saw_peer_cert);
    outcome_free(&o);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* 50 abbreviated handshakes at 20 % loss, reordering and duplication
 * both ways: the server's flight and the client's kept final flight are
 * resent until each side has what it needs. */
static void test_lossy_resumption(void)
{
    dtls_config *s = server_config(), *c = client_config();
    /* Six tries in the default 60 s: at 36 % loss per round trip some
     * seeds lose every one of them before a connection even exists. */
    dtls_config_set_handshake_timeout(c, 240000);
    dtls_config_set_handshake_timeout(s, 240000);
    uint64_t now = 0;
    outcome first = connect_once(c, s, NULL, 0, &now, 26, 0);
    int ok = 0, reused = 0;
    for (int i = 0; i < 50; i++) {
        outcome o = connect_once(c, s, first.blob, first.blob_len, &now, 2000 + (uint64_t)i, 200);
        ok += o.established && o.echoed;
        reused += o.client_reused && o.server_reused;
        outcome_free(&o);
    }
    printf("lossy resumption: %d/50 established, %d resumed\n", ok, reused);
    CHECK(ok == 50 && reused == 50);
    outcome_free(&first);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* The value's byte form: round trip, and every truncation refused. */
static void test_session_encoding(void)
{
    dtls_session a;
    memset(&a, 0, sizeof a);
    a.version = DTLS1_2_VERSION;
    a.suite_id = 0xC02B;
    a.ems = true;
    memset(a.master_secret, 0x42, 48);
    a.created_ms = 1234567890123ull;
    a.lifetime_s = 7200;
    a.session_id_len = 32;
    memset(a.session_id, 0x33, 32);
    strcpy(a.servername, "example.org");
    a.psk_identity_len = 3;
    memcpy(a.psk_identity, "dev", 3);
    uint8_t cert[5] = { 1, 2, 3, 4, 5 }, tick[7] = { 9, 8, 7, 6, 5, 4, 3 };
    a.peer_cert = cert;
    a.peer_cert_len = sizeof cert;
    a.ticket = tick;
    a.ticket_len = sizeof tick;
    uint8_t buf[512];
    dtls_wr w = wr_init(buf, sizeof buf);
    CHECK(session_encode(&a, true, &w) && w.len == session_encoded_len(&a, true));
    dtls_session b;
    CHECK(session_decode(&b, buf, w.len, true));
    CHECK(b.suite_id == 0xC02B && b.ems && b.created_ms == a.created_ms && b.lifetime_s == 7200
          && memcmp(b.master_secret, a.master_secret, 48) == 0 && strcmp(b.servername, "example.org") == 0
          && b.peer_cert_len == 5 && b.ticket_len == 7 && memcmp(b.ticket, tick, 7) == 0);
    session_clear(&b);
    size_t refused = 0;
    for (size_t n = 0; n < w.len; n++)
        refused += !session_decode(&b, buf, n, true);
    CHECK(refused == w.len);
    buf[0] = 2; /* a format we do not know */
    CHECK(!session_decode(&b, buf, w.len, true));
}

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &srv_cert, &srv_key, err, sizeof err) == DTLS_OK);
    CHECK(dtls_make_self_signed("test-client", 30, &cli_cert, &cli_key, err, sizeof err) == DTLS_OK);
    test_session_encoding();
    test_ticket_resumption();
    test_cache_resumption();
    test_evicted_mid_handshake();
    test_cache_bounds();
    test_offer_rules();
    test_nothing_resumable();
    test_tampered_tickets();
    test_ticket_keys();
    test_ticket_secret();
    test_mismatches();
    test_identity_carried();
    test_lossy_resumption();
    free(srv_cert);
    free(srv_key);
    free(cli_cert);
    free(cli_key);
    return unit_report();
}

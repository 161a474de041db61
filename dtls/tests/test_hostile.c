/* test_hostile.c — what the engine does with hostile or broken input:
 * garbage, truncation, wrong epochs, replays, forged or misplaced handshake
 * messages, inconsistent fragments, renegotiation attempts, hello floods.
 * Uses the engine's internals to forge what a real peer would not send. */
#include "unit.h"
#include "pair.h"
#include "internal.h"

static char *srv_cert, *srv_key, *cli_cert, *cli_key;
static size_t mtu_for_setup; /* 0: the default */

static void setup(pair *p, bool client_cert)
{
    char err[256];
    dtls_config *s = dtls_config_new(), *c = dtls_config_new();
    dtls_config_set_cert_chain_pem(s, srv_cert, strlen(srv_cert), err, sizeof err);
    dtls_config_set_key_pem(s, srv_key, strlen(srv_key), err, sizeof err);
    dtls_config_add_ca_pem(c, srv_cert, strlen(srv_cert), err, sizeof err);
    if (client_cert) {
        dtls_config_add_ca_pem(s, cli_cert, strlen(cli_cert), err, sizeof err);
        dtls_config_set_request_cert(s, 1, 1);
        dtls_config_set_cert_chain_pem(c, cli_cert, strlen(cli_cert), err, sizeof err);
        dtls_config_set_key_pem(c, cli_key, strlen(cli_key), err, sizeof err);
    }
    if (mtu_for_setup) {
        dtls_config_set_mtu(s, mtu_for_setup);
        dtls_config_set_mtu(c, mtu_for_setup);
    }
    pair_init(p, c, s, 0);
    dtls_conn_set_servername(p->client.conn, "localhost");
}

static void teardown(pair *p)
{
    dtls_config *c = p->ccfg, *s = p->scfg;
    pair_free(p);
    dtls_config_free(c);
    dtls_config_free(s);
}

static bool established(pair *p)
{
    CHECK(dtls_conn_start(p->client.conn, p->now) == DTLS_OK);
    bool ok = pair_run(p, pair_both_established, 10000);
    CHECK(ok);
    return ok;
}

static bool setup_established(pair *p)
{
    setup(p, false);
    return established(p);
}

static bool echo_works(pair *p)
{
    size_t before = p->server.app_len;
    CHECK(dtls_conn_send(p->client.conn, p->now, (const uint8_t *)"ping", 4) == DTLS_OK);
    pair_run(p, pair_never, 100);
    bool ok = p->server.app_len == before + 4 && memcmp(p->server.app + before, "ping", 4) == 0;
    CHECK(ok);
    return ok;
}

/* Garbage and truncated records never hurt an established association. */
static void test_garbage(void)
{
    pair p;
    if (!setup_established(&p))
        return teardown(&p);
    uint8_t junk[300];
    uint64_t authenticated = dtls_conn_stats(p.server.conn)->records_authenticated;
    CHECK(authenticated > 0);
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(pair_rand(&p) % sizeof junk);
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)pair_rand(&p);
        if (round % 3 == 0 && len > 13) { /* plausible header, bad body */
            junk[0] = (uint8_t)(20 + round % 4);
            junk[1] = 0xFE;
            junk[2] = 0xFD;
            junk[3] = 0;
            junk[4] = (uint8_t)(round % 2);
        }
        CHECK(dtls_conn_recv(p.server.conn, p.now, junk, len) == DTLS_OK);
    }
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
    const dtls_stats *st = dtls_conn_stats(p.server.conn);
    CHECK(st->dropped_malformed + st->dropped_auth + st->dropped_epoch + st->dropped_unexpected > 0);
    CHECK(p.server.app_records == 0);
    CHECK(dtls_conn_stats(p.server.conn)->records_authenticated == authenticated);
    echo_works(&p);
    CHECK(dtls_conn_stats(p.server.conn)->records_authenticated == authenticated + 1);
    teardown(&p);
}

/* Capture the client's next datagram to the server instead of sending it. */
static uint8_t captured[4096];
static size_t captured_len;
static int capture_left;
static void capture_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (to_server && capture_left > 0) {
        capture_left--;
        memcpy(captured, b, *len);
        captured_len = *len;
        *len = 0;
    }
}

static void test_replay_and_epochs(void)
{
    pair p;
    if (!setup_established(&p))
        return teardown(&p);
    p.tap = capture_tap;
    capture_left = 1;
    dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"once", 4);
    p.tap = NULL;
    CHECK(captured_len > 13);
    dtls_conn_recv(p.server.conn, p.now, captured, captured_len);
    dtls_conn_recv(p.server.conn, p.now, captured, captured_len);
    CHECK(p.server.app_records == 1);
    CHECK(dtls_conn_stats(p.server.conn)->dropped_replay == 1);
    /* Same record claimed for epoch 2, and for epoch 0: dropped. */
    captured[4] = 2;
    dtls_conn_recv(p.server.conn, p.now, captured, captured_len);
    captured[4] = 0;
    dtls_conn_recv(p.server.conn, p.now, captured, captured_len);
    CHECK(p.server.app_records == 1);
    /* A flipped bit in the ciphertext fails authentication. */
    p.tap = capture_tap;
    capture_left = 1;
    dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"twice", 5);
    p.tap = NULL;
    captured[captured_len - 1] ^= 1;
    dtls_conn_recv(p.server.conn, p.now, captured, captured_len);
    CHECK(dtls_conn_stats(p.server.conn)->dropped_auth == 1);
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
    echo_works(&p);
    teardown(&p);
}

/* A plaintext epoch-0 record of any kind, sent to the server now. */
static void inject_plain(pair *p, uint8_t type, const uint8_t *body, size_t len, uint64_t seq)
{
    uint8_t rec[512];
    dtls_wr w = wr_init(rec, sizeof rec);
    wr_u8(&w, type);
    wr_u16(&w, DTLS1_2_VERSION);
    wr_u16(&w, 0);
    wr_u48(&w, seq);
    wr_u16(&w, (uint16_t)len);
    wr_bytes(&w, body, len);
    dtls_conn_recv(p->server.conn, p->now, rec, w.len);
}

static bool server_waits_for_cke(pair *p)
{
    return p->server.conn && p->server.conn->hs
        && p->server.conn->hs->state == HS_S_WAIT_CLIENT_KEY_EXCHANGE;
}

/* Drop the client's second flight so the test can act in between. */
static void drop_client_flight_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)b;
    /* the flight that carries our ChangeCipherSpec */
    if (to_server && p->client.conn->hs && p->client.conn->write_epoch == 1)
        *len = 0;
}

/* A handshake held with the client's second flight lost, the server
 * waiting in the state `until` tests for. */
static bool setup_held(pair *p, bool client_cert, bool (*until)(pair *))
{
    setup(p, client_cert);
    p->tap = drop_client_flight_tap;
    dtls_conn_start(p->client.conn, p->now);
    pair_run(p, until, 5000);
    bool ok = until(p);
    CHECK(ok);
    return ok;
}

static void test_misplaced_messages(void)
{
    pair p;
    setup_held(&p, false, server_waits_for_cke);
    /* CCS before the key exchange: discarded (RFC 6347 4.1). */
    static const uint8_t ccs = 1;
    inject_plain(&p, CT_CHANGE_CIPHER_SPEC, &ccs, 1, 100);
    CHECK(dtls_conn_stats(p.server.conn)->dropped_unexpected == 1);
    /* Application data in epoch 0: never delivered. */
    inject_plain(&p, CT_APPLICATION_DATA, (const uint8_t *)"early", 5, 101);
    CHECK(p.server.app_records == 0);
    /* Fragments: past the message end, then disagreeing with the first. */
    uint8_t frag[] = { HT_CLIENT_KEY_EXCHANGE, 0, 0, 40, 0, 5, 0, 0, 30, 0, 0, 20, 1, 2 };
    inject_plain(&p, CT_HANDSHAKE, frag, sizeof frag - 2, 102);
    uint8_t f1[12 + 4] = { HT_CLIENT_KEY_EXCHANGE, 0, 0, 40, 0, 6, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4 };
    uint8_t f2[12 + 4] = { HT_CLIENT_KEY_EXCHANGE, 0, 0, 50, 0, 6, 0, 0, 4, 0, 0, 4, 1, 2, 3, 4 };
    inject_plain(&p, CT_HANDSHAKE, f1, sizeof f1, 103);
    inject_plain(&p, CT_HANDSHAKE, f2, sizeof f2, 104);
    /* (the first is malformed; the second, which disagrees with the
     * first, is kept as a rival version: a forged first fragment must not
     * decide the message, see test_spoofed_first_fragment) */
    CHECK(dtls_conn_stats(p.server.conn)->dropped_malformed >= 1);
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_HANDSHAKING);
    /* The real flight still completes the handshake. */
    p.tap = NULL;
    pair_run(&p, pair_both_established, 10000);
    CHECK(pair_both_established(&p));
    teardown(&p);

    /* A message claiming 16 MB: refused with illegal_parameter. */
    setup_held(&p, false, server_waits_for_cke);
    uint8_t huge[12 + 4] = { HT_CLIENT_KEY_EXCHANGE, 0xFF, 0xFF, 0xFF, 0, 5, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4 };
    inject_plain(&p, CT_HANDSHAKE, huge, sizeof huge, 200);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_ILLEGAL_PARAMETER);
    teardown(&p);

    /* A message the state machine does not expect: unexpected_message. */
    setup_held(&p, false, server_waits_for_cke);
    uint8_t hello_done[12] = { HT_SERVER_HELLO_DONE, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0 };
    hello_done[5] = (uint8_t)p.server.conn->next_recv_seq;
    inject_plain(&p, CT_HANDSHAKE, hello_done, sizeof hello_done, 300);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_UNEXPECTED_MESSAGE);
    teardown(&p);
}

/* Hold the client's final flight, edit it, and let the timer resend it. */
static void edit_client_flight(pair *p, void (*edit)(dtls_conn *c))
{
    p->tap = drop_client_flight_tap;
    dtls_conn_start(p->client.conn, p->now);
    bool client_waits(pair * q);
    pair_run(p, pair_never, 200);
    CHECK(p->client.conn->hs && (p->client.conn->hs->state == HS_C_WAIT_CCS
                                 || p->client.conn->hs->state == HS_C_WAIT_NEW_SESSION_TICKET));
    edit(p->client.conn);
    p->tap = NULL;
}

static void corrupt_finished(dtls_conn *c)
{
    flight *f = c->flight;
    for (size_t i = 0; i < f->nmsgs; i++)
        if (f->msgs[i].type == HT_FINISHED)
            f->buf[f->msgs[i].off] ^= 0x55;
}

static void drop_certificate_verify(dtls_conn *c)
{
    flight *f = c->flight;
    for (size_t i = 0; i < f->nmsgs; i++) {
        if (f->msgs[i].type != HT_CERTIFICATE_VERIFY)
            continue;
        uint16_t seq = f->msgs[i].seq;
        memmove(&f->msgs[i], &f->msgs[i + 1], (f->nmsgs - i - 1) * sizeof f->msgs[0]);
        f->nmsgs--;
        for (size_t j = i; j < f->nmsgs; j++)
            if (f->msgs[j].type == HT_FINISHED)
                f->msgs[j].seq = seq;
        return;
    }
}

static void test_forged_flights(void)
{
    pair p;
    setup(&p, false);
    edit_client_flight(&p, corrupt_finished);
    pair_run(&p, pair_any_closed, 10000);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_DECRYPT_ERROR);
    CHECK(!p.server.established);
    teardown(&p);

    setup(&p, true);
    edit_client_flight(&p, drop_certificate_verify);
    pair_run(&p, pair_any_closed, 10000);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_UNEXPECTED_MESSAGE);
    CHECK(!p.server.established);
    teardown(&p);
}

/* RFC 5746 4.5 / our policy: renegotiation is refused with a warning and
 * the association goes on. */
static void test_renegotiation_refused(void)
{
    pair p;
    if (!setup_established(&p))
        return teardown(&p);
    /* message_seq 0: a new handshake starts its numbering again. */
    uint8_t hello[12 + 40] = { HT_CLIENT_HELLO, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 40 };
    CHECK(record_send(p.client.conn, CT_HANDSHAKE, hello, sizeof hello) == DTLS_OK);
    pair_run(&p, pair_never, 100);
    CHECK(p.client.nalerts == 1 && p.client.alerts_received[0] == DTLS_ALERT_NO_RENEGOTIATION);
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
    CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_ESTABLISHED);
    echo_works(&p);
    /* And a HelloRequest to the client likewise. */
    uint8_t hello_request[12] = { HT_HELLO_REQUEST, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    CHECK(record_send(p.server.conn, CT_HANDSHAKE, hello_request, sizeof hello_request) == DTLS_OK);
    pair_run(&p, pair_never, 100);
    CHECK(p.server.nalerts == 1 && p.server.alerts_received[0] == DTLS_ALERT_NO_RENEGOTIATION);
    echo_works(&p);
    teardown(&p);
}

/* A flood of cookieless hellos from many ports: only HelloVerifyRequests,
 * each no larger than the hello (RFC 6347 4.2.1), and no connection. */
static void test_hello_flood(void)
{
    pair p;
    setup(&p, false);
    p.tap = capture_tap;
    capture_left = 1;
    dtls_conn_start(p.client.conn, p.now);
    p.tap = NULL;
    CHECK(captured_len > 60);
    size_t replies = 0, oversize = 0;
    for (uint32_t port = 0; port < 20000; port++) {
        uint8_t addr[6] = { 127, 0, 0, 1, (uint8_t)(port >> 8), (uint8_t)port };
        uint8_t reply[256];
        size_t rlen = 0;
        if (dtls_accept(p.scfg, p.now, addr, sizeof addr, captured, captured_len, reply,
                        sizeof reply, &rlen) == DTLS_ACCEPT_REPLY)
            replies++;
        oversize += rlen > captured_len;
    }
    CHECK(replies == 20000 && oversize == 0);
    /* A hello too short to answer without amplifying gets nothing. */
    uint8_t reply[256];
    size_t rlen = 0;
    CHECK(dtls_accept(p.scfg, p.now, (const uint8_t *)"peer", 4, captured, 40, reply, sizeof reply, &rlen)
          == DTLS_ACCEPT_DROP);
    /* A cookie from another address does not verify. */
    uint8_t hvr[256];
    CHECK(dtls_accept(p.scfg, p.now, (const uint8_t *)"A", 1, captured, captured_len, hvr, sizeof hvr, &rlen)
          == DTLS_ACCEPT_REPLY);
    teardown(&p);
}

/* A cookie secret set from outside: a HelloVerifyRequest made by one config
 * verifies at another holding the same secret (two processes, two nodes),
 * not at one with another secret; it stays valid into the next wall-clock
 * period, not the one after. The configs have different monotonic clocks
 * and agree through their clock offsets. */
static void test_shared_cookie_secret(void)
{
    pair p;
    setup(&p, false);
    uint8_t secret[32], other[32];
    for (int i = 0; i < 32; i++) {
        secret[i] = (uint8_t)(7 * i + 1);
        other[i] = (uint8_t)(7 * i + 2);
    }
    CHECK(dtls_config_set_cookie_secret(p.scfg, secret, 31) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_cookie_secret(p.scfg, secret, 65) == DTLS_ERR_ARG);
    dtls_config *a = dtls_config_new(), *b = dtls_config_new(), *c = dtls_config_new();
    CHECK(dtls_config_set_cookie_secret(a, secret, sizeof secret) == DTLS_OK);
    CHECK(dtls_config_set_cookie_secret(b, secret, sizeof secret) == DTLS_OK);
    CHECK(dtls_config_set_cookie_secret(c, other, sizeof other) == DTLS_OK);
    /* Wall clock: one second before a period boundary. a's monotonic clock
     * reads 1000, b's 5,000,000: their offsets differ. */
    const uint64_t period = DTLS_COOKIE_PERIOD_MS;
    int64_t wall = (int64_t)(period * 1000000 - 1000);
    dtls_config_set_clock_offset(a, wall - 1000);
    dtls_config_set_clock_offset(b, wall - 5000000);
    dtls_config_set_clock_offset(c, wall - 1000);
    dtls_config_rotate_cookie_secret(a); /* a no-op with a shared secret */

    p.tap = capture_tap;
    capture_left = 1;
    dtls_conn_start(p.client.conn, p.now);
    const uint8_t addr[6] = { 127, 0, 0, 1, 0x12, 0x34 };
    uint8_t hvr[256], reply[256];
    size_t hvr_len = 0, rlen = 0;
    CHECK(dtls_accept(a, 1000, addr, sizeof addr, captured, captured_len, hvr, sizeof hvr, &hvr_len)
          == DTLS_ACCEPT_REPLY);
    /* The client answers the HelloVerifyRequest with its cookie. */
    capture_left = 1;
    captured_len = 0;
    dtls_conn_recv(p.client.conn, p.now, hvr, hvr_len);
    CHECK(captured_len > hvr_len);
    CHECK(dtls_accept(a, 1000, addr, sizeof addr, captured, captured_len, reply, sizeof reply, &rlen)
          == DTLS_ACCEPT_NEW);
    CHECK(dtls_accept(b, 5000000, addr, sizeof addr, captured, captured_len, reply, sizeof reply, &rlen)
          == DTLS_ACCEPT_NEW);
    CHECK(dtls_accept(c, 1000, addr, sizeof addr, captured, captured_len, reply, sizeof reply, &rlen)
          == DTLS_ACCEPT_REPLY);
    /* From another address it is no cookie at all. */
    const uint8_t addr2[6] = { 127, 0, 0, 1, 0x12, 0x35 };
    CHECK(dtls_accept(b, 5000000, addr2, sizeof addr2, captured, captured_len, reply, sizeof reply, &rlen)
          == DTLS_ACCEPT_REPLY);
    /* Two seconds later the wall clock is in the next period: still good. */
    CHECK(dtls_accept(b, 5002000, addr, sizeof addr, captured, captured_len, reply, sizeof reply, &rlen)
          == DTLS_ACCEPT_NEW);
    CHECK(dtls_accept(a, 1000 + period, addr, sizeof addr, captured, captured_len, reply, sizeof reply,
                      &rlen) == DTLS_ACCEPT_NEW);
    /* Two periods on: expired, a fresh HelloVerifyRequest instead. */
    CHECK(dtls_accept(b, 5002000 + period, addr, sizeof addr, captured, captured_len, reply,
                      sizeof reply, &rlen) == DTLS_ACCEPT_REPLY);
    CHECK(dtls_accept(a, 1000 + 2 * period, addr, sizeof addr, captured, captured_len, reply,
                      sizeof reply, &rlen) == DTLS_ACCEPT_REPLY);
    /* ...whose cookie is not the old one. */
    CHECK(memcmp(reply, hvr, hvr_len) != 0);
    dtls_config_free(a);
    dtls_config_free(b);
    dtls_config_free(c);
    p.tap = NULL;
    teardown(&p);
}

/* ---- re-entrancy: the host closes the connection from a callback ---- */

static pair *reentrant_pair;
static int close_in_psk, close_in_send;

static int closing_psk_lookup(void *user, const uint8_t *id, size_t id_len, uint8_t *key, size_t cap)
{
    pair_side *side = user;
    if (close_in_psk)
        dtls_conn_close(side->conn, side->pair->now);
    return pair_psk_lookup(user, id, id_len, key, cap);
}

static void closing_send(void *user, const uint8_t *d, size_t len)
{
    pair_side *side = user;
    pair_send_cb(user, d, len);
    if (close_in_send && side == &side->pair->server && side->conn
        && dtls_conn_state(side->conn) == DTLS_STATE_HANDSHAKING)
        dtls_conn_close(side->conn, side->pair->now);
}

static void test_close_from_callbacks(void)
{
    for (int which = 0; which < 2; which++) {
        pair p;
        char err[256];
        dtls_config *s = dtls_config_new(), *c = dtls_config_new();
        dtls_config_set_ciphers(s, "PSK-AES128-CCM8", err, sizeof err);
        dtls_config_set_ciphers(c, "PSK-AES128-CCM8", err, sizeof err);
        uint8_t key[16];
        for (int i = 0; i < 16; i++)
            key[i] = (uint8_t)(i + 1);
        dtls_config_set_psk(c, (const uint8_t *)"client1", 7, key, sizeof key);
        pair_init(&p, c, s, 0);
        reentrant_pair = &p;
        dtls_callbacks cb = { .send = closing_send, .event = pair_event_cb,
                              .psk_lookup = closing_psk_lookup };
        dtls_config_set_callbacks(s, &cb);
        close_in_psk = which == 0;
        close_in_send = which == 1;
        dtls_conn_start(p.client.conn, p.now);
        pair_run(&p, pair_never, 3000);
        CHECK(p.server.closed && !p.server.established);
        CHECK(p.server.close_error == DTLS_OK);
        CHECK(!p.client.established);
        close_in_psk = close_in_send = 0;
        teardown(&p);
    }
}

/* Spoofed datagrams from the peer's address never end an association. */
static void test_spoofed_after_handshake(void)
{
    pair p;
    if (!setup_established(&p))
        return teardown(&p);
    /* An epoch-0 Certificate claiming 16 MB, to either side. */
    static const uint8_t huge[] = { 22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 12,
                                    HT_CERTIFICATE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0 };
    CHECK(dtls_conn_recv(p.server.conn, p.now, huge, sizeof huge) == DTLS_OK);
    CHECK(dtls_conn_recv(p.client.conn, p.now, huge, sizeof huge) == DTLS_OK);
    /* Plaintext alerts once the association is protected. */
    static const uint8_t fatal[] = { 21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0x51, 0, 2, 2, 40 };
    CHECK(dtls_conn_recv(p.server.conn, p.now, fatal, sizeof fatal) == DTLS_OK);
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
    CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_ESTABLISHED);
    echo_works(&p);
    teardown(&p);
}

/* Forged protected junk during a handshake is dropped, not fatal. */
static void test_forged_records_during_handshake(void)
{
    pair p;
    setup(&p, false);
    dtls_conn_start(p.client.conn, p.now);
    uint8_t junk[13 + 40] = { 22, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 40 };
    for (int i = 13; i < (int)sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37);
    for (int i = 0; i < 5; i++) {
        junk[10] = (uint8_t)i;
        dtls_conn_recv(p.client.conn, p.now, junk, sizeof junk);
    }
    CHECK(pair_run(&p, pair_both_established, 10000));
    teardown(&p);

    /* An epoch-0 message carrying the awaited number, after the switch to
     * epoch 1: dropped. */
    setup(&p, false);
    p.tap = drop_client_flight_tap;
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, pair_never, 200);
    p.tap = NULL;
    /* The server's CCS + Finished reach the client only after it resends. */
    pair_run(&p, pair_both_established, 10000);
    CHECK(pair_both_established(&p));
    teardown(&p);
}

/* Every MTU from the smallest: flights always fit (a zero-length message
 * right at the end of a datagram once failed). */
static void test_mtu_sweep(void)
{
    char err[256];
    dtls_config *s = dtls_config_new(), *c = dtls_config_new();
    dtls_config_set_cert_chain_pem(s, srv_cert, strlen(srv_cert), err, sizeof err);
    dtls_config_set_key_pem(s, srv_key, strlen(srv_key), err, sizeof err);
    dtls_config_add_ca_pem(c, srv_cert, strlen(srv_cert), err, sizeof err);
    int ok = 0, total = 0;
    for (size_t mtu = 256; mtu <= 1400; mtu += 1) {
        dtls_config_set_mtu(s, mtu);
        dtls_config_set_mtu(c, mtu);
        for (int rep = 0; rep < 2; rep++) {
            pair p;
            pair_init(&p, c, s, mtu * 3 + (size_t)rep);
            dtls_conn_set_servername(p.client.conn, "localhost");
            dtls_conn_start(p.client.conn, p.now);
            total++;
            if (pair_run(&p, pair_both_established, 5000))
                ok++;
            else
                fprintf(stderr, "handshake failed at MTU %zu\n", mtu);
            pair_free(&p);
        }
    }
    CHECK(ok == total);
    dtls_config_free(s);
    dtls_config_free(c);
}

/* A copy of the hello that began an association is recognised as such
 * (not as a new association, RFC 6347 4.2.8) and answered with the final
 * flight (RFC 6347 4.2.4). */
static uint8_t hellos[2][2048];
static size_t hello_lens[2];
static int nhellos;
static void hello_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (to_server && nhellos < 2 && *len <= sizeof hellos[0] && dtls_is_client_hello(b, *len)) {
        memcpy(hellos[nhellos], b, *len);
        hello_lens[nhellos++] = *len;
    }
}

static void test_own_hello(void)
{
    pair p;
    setup(&p, false);
    nhellos = 0;
    p.tap = hello_tap;
    if (!established(&p))
        return teardown(&p);
    p.tap = NULL;
    CHECK(nhellos == 2);
    CHECK(dtls_conn_is_own_hello(p.server.conn, hellos[1], hello_lens[1]));
    CHECK(!dtls_conn_is_own_hello(p.client.conn, hellos[1], hello_lens[1]));
    uint64_t before = dtls_conn_stats(p.server.conn)->retransmits;
    p.now += 300;
    dtls_conn_recv(p.server.conn, p.now, hellos[1], hello_lens[1]);
    CHECK(dtls_conn_stats(p.server.conn)->retransmits == before + 1);
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
    /* Another client's hello is not ours. */
    pair q;
    setup(&q, false);
    nhellos = 0;
    q.tap = hello_tap;
    dtls_conn_start(q.client.conn, q.now);
    q.tap = NULL;
    CHECK(nhellos == 1 && !dtls_conn_is_own_hello(p.server.conn, hellos[0], hello_lens[0]));
    teardown(&q);
    echo_works(&p);
    teardown(&p);
}


/* One epoch-0 record of 1-byte fragments of ClientKeyExchange messages
 * claiming mlen bytes: nmsgs messages from first_seq on, per_msg fragments
 * each, stride bytes apart from offset base (modulo mlen). Returns the
 * datagram's length. */
static size_t one_byte_fragments(uint8_t *out, size_t cap, uint64_t rseq, uint16_t first_seq,
                                 uint32_t mlen, unsigned nmsgs, unsigned per_msg, uint32_t stride,
                                 uint32_t base)
{
    dtls_wr w = wr_init(out, cap);
    wr_u8(&w, CT_HANDSHAKE);
    wr_u16(&w, DTLS1_2_VERSION);
    wr_u16(&w, 0);
    wr_u48(&w, rseq);
    wr_u16(&w, (uint16_t)(nmsgs * per_msg * (HANDSHAKE_HEADER_LEN + 1)));
    for (unsigned i = 0; i < nmsgs; i++)
        for (unsigned j = 0; j < per_msg; j++) {
            wr_u8(&w, HT_CLIENT_KEY_EXCHANGE);
            wr_u24(&w, mlen);
            wr_u16(&w, (uint16_t)(first_seq + i));
            wr_u24(&w, (base + j * stride) % mlen);
            wr_u24(&w, 1);
            wr_u8(&w, 0xAA);
        }
    CHECK(wr_ok(&w));
    return w.len;
}

/* Issue 12.1: memory amplification in reassembly. The datagram:
 * 949 bytes, 72 one-byte fragments, one per 4 KiB page of nine 32 KiB
 * messages (message_seq next..next+8). Before: ~330 KB per association
 * (the claimed lengths), then ~48 KB (512-byte chunks for every page);
 * the target is at most 20 KB for the whole association. Then the same at
 * full MTU, datagram after datagram: the association stays within
 * MAX_REASM_BYTES, messages not yet due within MAX_FUTURE_REASM_BYTES,
 * and the real flight still completes the handshake. */
static void test_reassembly_memory(void)
{
    pair p;
    setup_held(&p, false, server_waits_for_cke);
    dtls_conn *s = p.server.conn;
    uint16_t next = s->next_recv_seq;
    uint8_t rec[1500];
    size_t len = one_byte_fragments(rec, sizeof rec, 500, next, MAX_HANDSHAKE_MESSAGE,
                                    MAX_FUTURE_MESSAGES + 1, 8, 4096, 0);
    CHECK(len == 949);
    size_t before = dtls_conn_memory(s);
    dtls_conn_recv(s, p.now, rec, len);
    size_t after = dtls_conn_memory(s);
    fprintf(stderr, "reassembly attack, one 949-byte datagram: %zu -> %zu bytes per association\n",
            before, after);
    CHECK(after <= 20 * 1024);
    CHECK(s->hs->reasm_bytes > 0); /* it did buffer: the next message, at least */
    CHECK(dtls_conn_state(s) == DTLS_STATE_HANDSHAKING);

    /* 40 full-MTU datagrams (1396 bytes: 107 fragments), 512 bytes apart. */
    size_t peak = 0;
    for (unsigned d = 0; d < 40; d++) {
        len = one_byte_fragments(rec, sizeof rec, 501 + d, (uint16_t)(next + d % 9),
                                 MAX_HANDSHAKE_MESSAGE, 1, 107, 512, d * 7);
        dtls_conn_recv(s, p.now, rec, len);
        CHECK(s->hs->reasm_bytes <= MAX_REASM_BYTES);
        CHECK(reasm_future_bytes(s) <= MAX_FUTURE_REASM_BYTES);
        CHECK(p.scfg->reasm_in_use == s->hs->reasm_bytes);
        if (dtls_conn_memory(s) > peak)
            peak = dtls_conn_memory(s);
    }
    fprintf(stderr, "reassembly attack, 40 full datagrams: peak %zu bytes per association\n", peak);
    CHECK(peak <= before + MAX_REASM_BYTES);
    CHECK(dtls_conn_state(s) == DTLS_STATE_HANDSHAKING);
    /* The real flight still completes the handshake, and every byte of
     * reassembly is given back to the server's budget. */
    p.tap = NULL;
    CHECK(pair_run(&p, pair_both_established, 10000));
    CHECK(p.scfg->reasm_in_use == 0);
    teardown(&p);
}

/* Another client of the server configuration scfg, from another port,
 * held with its second flight lost (as setup_held). */
static void held_client_of(pair *p, dtls_config *scfg, uint64_t seed, uint8_t port)
{
    char err[256];
    dtls_config *cc = dtls_config_new();
    dtls_config_add_ca_pem(cc, srv_cert, strlen(srv_cert), err, sizeof err);
    pair_init(p, cc, scfg, seed);
    p->peer_addr[5] = port;
    dtls_conn_set_servername(p->client.conn, "localhost");
    p->tap = drop_client_flight_tap;
    dtls_conn_start(p->client.conn, p->now);
    pair_run(p, server_waits_for_cke, 5000);
    CHECK(server_waits_for_cke(p));
}

/* Sends the server of p one datagram of 1-byte fragments: count of them,
 * 512 bytes apart, for message next_recv_seq + ahead. */
static void scatter(pair *p, uint64_t rseq, unsigned ahead, unsigned count)
{
    uint8_t rec[1500];
    dtls_conn *s = p->server.conn;
    size_t len = one_byte_fragments(rec, sizeof rec, rseq, (uint16_t)(s->next_recv_seq + ahead),
                                    MAX_HANDSHAKE_MESSAGE, 1, count, 512, 0);
    dtls_conn_recv(s, p->now, rec, len);
}

/* Issue 12.1, the server's cap (dtls_config_set_max_reassembly): with it
 * at its minimum, one association holding what one may leaves another only
 * the rest; a third still gets DTLS_REASSEMBLY_RESERVE for the message it
 * waits for; a message not yet due never makes room by evicting; what one
 * gives back, the others can use; no association is lost, and the budget
 * returns to 0. */
static void test_reassembly_server_budget(void)
{
    pair a, b, c;
    setup(&a, false);
    CHECK(dtls_config_set_max_reassembly(a.scfg, DTLS_REASSEMBLY_MIN - 1) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_max_reassembly(a.scfg, DTLS_REASSEMBLY_MIN) == DTLS_OK);
    a.tap = drop_client_flight_tap;
    dtls_conn_start(a.client.conn, a.now);
    pair_run(&a, server_waits_for_cke, 5000);
    CHECK(server_waits_for_cke(&a));
    held_client_of(&b, a.scfg, 1, 0x78);
    held_client_of(&c, a.scfg, 2, 0x79);
    const dtls_config *server = a.scfg;
    dtls_conn *sa = a.server.conn, *sb = b.server.conn, *sc = c.server.conn;

    /* a holds what one association's messages may: its next message a
     * chunk for every 512 bytes of 32 KiB, and the next but one its share */
    scatter(&a, 500, 0, 64);
    scatter(&a, 501, 1, 64);
    size_t a_holds = sa->hs->reasm_bytes;
    CHECK(a_holds > 40000);
    CHECK(dtls_config_reassembly_memory(server) == a_holds);

    /* b asks as much for its next message and gets only what is left */
    uint64_t dropped = sb->stats.dropped_unexpected;
    scatter(&b, 500, 0, 64);
    size_t b_holds = sb->hs->reasm_bytes;
    fprintf(stderr, "server budget %u: a holds %zu, b gets %zu\n", DTLS_REASSEMBLY_MIN, a_holds,
            b_holds);
    CHECK(b_holds <= DTLS_REASSEMBLY_MIN - a_holds);
    CHECK(b_holds > DTLS_REASSEMBLY_RESERVE && b_holds < a_holds);
    CHECK(sb->stats.dropped_unexpected > dropped);
    CHECK(dtls_config_reassembly_memory(server) == a_holds + b_holds);
    CHECK(dtls_conn_state(sb) == DTLS_STATE_HANDSHAKING);

    /* the budget spent, c still gets its reserve for the message it waits
     * for (a client certificate of a few KB would complete)... */
    scatter(&c, 500, 0, 64);
    size_t c_holds = sc->hs->reasm_bytes;
    fprintf(stderr, "server budget spent: c gets %zu\n", c_holds);
    CHECK(c_holds > DTLS_REASSEMBLY_RESERVE - REASM_CHUNK - 200 && c_holds <= DTLS_REASSEMBLY_RESERVE);
    CHECK(dtls_config_reassembly_memory(server) > DTLS_REASSEMBLY_MIN);
    /* ...and nothing for a later one; nor does b's later one find room or
     * make any by evicting the message b waits for */
    scatter(&c, 501, 1, 1);
    CHECK(sc->hs->reasm_bytes == c_holds);
    scatter(&b, 501, 1, 1);
    CHECK(sb->hs->reasm_bytes == b_holds);
    CHECK(dtls_config_reassembly_memory(server) == a_holds + b_holds + c_holds);
    CHECK(dtls_config_reassembly_memory(server) <= DTLS_REASSEMBLY_MIN + DTLS_REASSEMBLY_RESERVE);

    /* a completes with its real flight and gives its memory back: b's
     * resent fragments now all find room */
    a.tap = NULL;
    CHECK(pair_run(&a, pair_both_established, 10000));
    CHECK(dtls_config_reassembly_memory(server) == b_holds + c_holds);
    scatter(&b, 502, 0, 64);
    CHECK(sb->hs->reasm_bytes > b_holds);
    CHECK(dtls_config_reassembly_memory(server) == sb->hs->reasm_bytes + c_holds);
    b.tap = NULL;
    c.tap = NULL;
    CHECK(pair_run(&b, pair_both_established, 10000));
    CHECK(pair_run(&c, pair_both_established, 10000));
    CHECK(dtls_config_reassembly_memory(server) == 0);
    dtls_config *bc = b.ccfg, *cc = c.ccfg;
    pair_free(&b);
    pair_free(&c);
    dtls_config_free(bc);
    dtls_config_free(cc);
    teardown(&a);
}

static bool server_waits_for_certificate(pair *p)
{
    return p->server.conn && p->server.conn->hs
        && p->server.conn->hs->state == HS_S_WAIT_CERTIFICATE;
}

/* Issue 12.6: one spoofed fragment claiming the next message's number with
 * another type or length must not stall the handshake until the timeout:
 * neither for a message that comes whole (ClientKeyExchange) nor for one
 * that comes in fragments (a client Certificate at MTU 300). */
static void test_spoofed_first_fragment(void)
{
    for (int fragmented = 0; fragmented < 2; fragmented++) {
        pair p;
        mtu_for_setup = fragmented ? 300 : 0;
        setup_held(&p, fragmented, fragmented ? server_waits_for_certificate : server_waits_for_cke);
        mtu_for_setup = 0;
        uint16_t next = p.server.conn->next_recv_seq;
        uint8_t type = fragmented ? HT_CERTIFICATE : HT_CLIENT_KEY_EXCHANGE;
        uint8_t forged[12 + 4] = { type, 0, 0x10, 0, (uint8_t)(next >> 8), (uint8_t)next,
                                   0, 0, 0, 0, 0, 4, 1, 2, 3, 4 };
        inject_plain(&p, CT_HANDSHAKE, forged, sizeof forged, 600);
        /* and one of another type, for the message after it */
        forged[0] = HT_FINISHED;
        forged[5] = (uint8_t)(next + 1);
        inject_plain(&p, CT_HANDSHAKE, forged, sizeof forged, 601);
        CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_HANDSHAKING);
        p.tap = NULL;
        uint64_t start = p.now;
        /* the client's first retransmission (1 s) must be enough */
        CHECK(pair_run(&p, pair_both_established, 3000));
        CHECK(p.now - start < 3000);
        teardown(&p);
    }
}

/* Hold back the first epoch-1 flight in one direction (the client's
 * CKE..Finished, or the server's CCS + Finished). */
static bool hold_to_server;
static uint8_t held[4096];
static size_t held_len;
static void hold_epoch1_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    dtls_conn *from = to_server ? p->client.conn : p->server.conn;
    if (to_server == hold_to_server && held_len == 0 && from && from->hs && from->write_epoch == 1) {
        memcpy(held, b, *len);
        held_len = *len;
        *len = 0;
    }
}

/* Feed a held flight with a forged epoch-1 handshake record just before
 * its Finished record. */
static void feed_with_junk_before_finished(dtls_conn *to, uint64_t now)
{
    dtls_rd r = rd_init(held, held_len);
    size_t finished_at = 0;
    record rec;
    while (rd_left(&r) > 0 && record_parse(&r, &rec, 0))
        if (rec.epoch == 1 && rec.type == CT_HANDSHAKE)
            finished_at = (size_t)(rec.raw - held);
    CHECK(finished_at > 0);
    uint8_t junk[13 + 40] = { CT_HANDSHAKE, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0x03, 0xE8, 0, 40 };
    for (size_t i = 13; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 29);
    dtls_conn_recv(to, now, held, finished_at);
    CHECK(to->hs && (to->hs->state == HS_S_WAIT_FINISHED || to->hs->state == HS_C_WAIT_FINISHED));
    dtls_conn_recv(to, now, junk, sizeof junk);
    CHECK(dtls_conn_stats(to)->dropped_auth == 1);
    dtls_conn_recv(to, now, held + finished_at, held_len - finished_at);
}

/* Issue 12.4: a forged record where the peer's Finished is due is dropped
 * (RFC 6347 4.1.2.7), in both roles; a real wrong key still fails with
 * bad_record_mac soon after the client resends, not at the timeout. */
static void test_junk_before_finished(void)
{
    for (int side = 0; side < 2; side++) {
        pair p;
        setup(&p, false);
        hold_to_server = side == 0;
        held_len = 0;
        p.tap = hold_epoch1_tap;
        dtls_conn_start(p.client.conn, p.now);
        pair_run(&p, pair_never, 500);
        p.tap = NULL;
        CHECK(held_len > 0);
        pair_side *to = side == 0 ? &p.server : &p.client;
        feed_with_junk_before_finished(to->conn, p.now);
        CHECK(!to->closed);
        CHECK(pair_run(&p, pair_both_established, 100));
        echo_works(&p);
        teardown(&p);
    }

    /* A wrong PSK: the server reports bad_record_mac after the client's
     * first retransmission, well before the handshake timeout. */
    pair p;
    char err[256];
    dtls_config *s = dtls_config_new(), *c = dtls_config_new();
    dtls_config_set_ciphers(s, "PSK-AES128-CCM8", err, sizeof err);
    dtls_config_set_ciphers(c, "PSK-AES128-CCM8", err, sizeof err);
    uint8_t key[16] = { 9 };
    dtls_config_set_psk(c, (const uint8_t *)"client1", 7, key, sizeof key);
    pair_init(&p, c, s, 0);
    uint64_t start = p.now;
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, pair_any_closed, 10000);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_BAD_RECORD_MAC);
    CHECK(p.now - start < 5000);
    pair_run(&p, pair_never, 100);
    CHECK(p.client.closed && dtls_err_alert(p.client.close_error) == DTLS_ALERT_BAD_RECORD_MAC);
    teardown(&p);
}

/* Issue 12.7: a ClientHello whose version is no DTLS version gets
 * protocol_version, not a ServerHello. */
static uint16_t hello_version;
static void hello_version_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (to_server && dtls_is_client_hello(b, *len) && *len > 27) {
        b[25] = (uint8_t)(hello_version >> 8);
        b[26] = (uint8_t)hello_version;
    }
}

static void test_non_dtls_hello_version(void)
{
    static const uint16_t versions[] = { 0x0303, 0x0000, 0x0100, 0xFEFF };
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        pair p;
        setup(&p, false);
        hello_version = versions[i];
        p.tap = hello_version_tap;
        dtls_conn_start(p.client.conn, p.now);
        pair_run(&p, pair_any_closed, 3000);
        CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_PROTOCOL_VERSION);
        CHECK(!p.server.established && !p.client.established);
        teardown(&p);
    }
}

/* RFC 5246 7.2: an alert level other than warning/fatal is decode_error;
 * an always-fatal alert sent as a warning still ends the session; a
 * warning that may be one (no_renegotiation) does not. */
static void test_alert_levels(void)
{
    static const struct { uint8_t level, desc; bool fatal; int error_alert; } cases[] = {
        { 1, DTLS_ALERT_NO_RENEGOTIATION, false, -1 },
        { 1, DTLS_ALERT_UNEXPECTED_MESSAGE, true, DTLS_ALERT_UNEXPECTED_MESSAGE },
        { 1, DTLS_ALERT_BAD_RECORD_MAC, true, DTLS_ALERT_BAD_RECORD_MAC },
        { 1, DTLS_ALERT_HANDSHAKE_FAILURE, true, DTLS_ALERT_HANDSHAKE_FAILURE },
        { 3, DTLS_ALERT_NO_RENEGOTIATION, true, DTLS_ALERT_DECODE_ERROR },
        { 0, DTLS_ALERT_CLOSE_NOTIFY, true, DTLS_ALERT_DECODE_ERROR },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pair p;
        if (!setup_established(&p)) {
            teardown(&p);
            continue;
        }
        uint8_t alert[2] = { cases[i].level, cases[i].desc };
        CHECK(record_send(p.client.conn, CT_ALERT, alert, sizeof alert) == DTLS_OK);
        pair_run(&p, pair_never, 100);
        if (cases[i].fatal) {
            CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == cases[i].error_alert);
        } else {
            CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
            echo_works(&p);
        }
        teardown(&p);
    }
}

/* RFC 6347 4.1: at the end of the sequence numbers the association closes
 * (with an error saying so), it does not wrap or linger. */
static void test_sequence_exhausted(void)
{
    pair p;
    if (!setup_established(&p))
        return teardown(&p);
    p.client.conn->write_seq[1] = MAX_RECORD_SEQ - 2;
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"last", 4) == DTLS_OK);
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"more", 4) == DTLS_ERR_SEQ_EXHAUSTED);
    CHECK(p.client.closed && p.client.close_error == DTLS_ERR_SEQ_EXHAUSTED);
    CHECK(strstr(dtls_strerror(DTLS_ERR_SEQ_EXHAUSTED), "sequence") != NULL);
    pair_run(&p, pair_never, 100);
    CHECK(p.server.app_len == 4 && memcmp(p.server.app, "last", 4) == 0);
    CHECK(p.server.closed && p.server.close_error == DTLS_OK); /* its close_notify arrived */
    teardown(&p);
}

/* A record of an unknown content type is skipped alone; the records after
 * it in the same datagram are still read (RFC 6347 4.1.2.7). */
static void test_unknown_content_type(void)
{
    pair p;
    if (!setup_established(&p))
        return teardown(&p);
    p.tap = capture_tap;
    capture_left = 1;
    dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"after", 5);
    p.tap = NULL;
    uint8_t dgram[13 + 3 + sizeof captured] = { 99, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 3, 1, 2, 3 };
    memcpy(dgram + 16, captured, captured_len);
    dtls_conn_recv(p.server.conn, p.now, dgram, 16 + captured_len);
    CHECK(p.server.app_records == 1 && p.server.app_len == 5);
    CHECK(dtls_conn_stats(p.server.conn)->dropped_unexpected >= 1);
    CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
    teardown(&p);
}

static void run_with_name(pair *p, const char *name, int check_name)
{
    dtls_config_set_check_server_name(p->ccfg, check_name);
    dtls_conn_free(p->client.conn);
    p->client.conn = dtls_conn_new(p->ccfg, DTLS_ROLE_CLIENT, NULL, 0, &p->client);
    if (name)
        CHECK(dtls_conn_set_servername(p->client.conn, name) == DTLS_OK);
    dtls_conn_start(p->client.conn, p->now);
    pair_run(p, pair_both_established, 3000);
    pair_run(p, pair_never, 100);
}

/* RFC 6066 3: the server accepts one host_name, a DNS name without a
 * trailing dot and no IP literal; anything else ends the handshake before
 * it reaches the host. */
/* Rewrites the client's server_name "aaaa.example" on the wire (in every
 * hello, so the cookie still verifies): into two host_names, or into an IP
 * literal, which the client itself would never send. */
static const uint8_t *sni_rewrite; /* 15 bytes from the entry's name_type */
static void sni_rewrite_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    static const char name[] = "aaaa.example"; /* 12 bytes */
    if (!to_server || !dtls_is_client_hello(b, *len))
        return;
    for (size_t i = 3; i + 12 <= *len; i++) {
        if (memcmp(b + i, name, 12) == 0) {
            memcpy(b + i - 3, sni_rewrite, 15);
            return;
        }
    }
}

static void test_server_name_syntax(void)
{
    /* 3 + 4 + 3 + 5 bytes: two entries in the place of one of 12 bytes */
    static const uint8_t two[15] = { 0, 0, 4, 'a', 'a', 'a', 'a', 0, 0, 5, 'e', 'x', 'a', 'm', 'p' };
    static const uint8_t ip[15] = { 0, 0, 12, '1', '0', '.', '2', '0', '0', '.', '3', '0', '.', '4', '0' };
    static const struct { const char *name; const uint8_t *rewrite; int alert; const char *seen; } cases[] = {
        { "Good-Name_1.example", NULL, -1, "Good-Name_1.example" },
        { "example.com.", NULL, DTLS_ALERT_ILLEGAL_PARAMETER, NULL },
        { "bad name.example", NULL, DTLS_ALERT_ILLEGAL_PARAMETER, NULL },
        { "a..b", NULL, DTLS_ALERT_ILLEGAL_PARAMETER, NULL },
        { "10.1.2.300", NULL, DTLS_ALERT_ILLEGAL_PARAMETER, NULL },
        { "aaaa.example", two, DTLS_ALERT_DECODE_ERROR, NULL },
        /* An IP literal is ignored, not refused (libcoap sends one); the
         * edit on the wire then shows when the keys differ (the extended
         * master secret covers the hello), as it must. */
        { "aaaa.example", ip, DTLS_ALERT_BAD_RECORD_MAC, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pair p;
        setup(&p, false);
        sni_rewrite = cases[i].rewrite;
        p.tap = cases[i].rewrite ? sni_rewrite_tap : NULL;
        run_with_name(&p, cases[i].name, 0);
        const char *seen = p.server.conn ? dtls_conn_servername(p.server.conn) : NULL;
        CHECK(cases[i].seen ? seen && strcmp(seen, cases[i].seen) == 0 : seen == NULL);
        if (cases[i].alert < 0) {
            CHECK(pair_both_established(&p));
        } else {
            CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == cases[i].alert);
            CHECK(!p.server.established);
        }
        teardown(&p);
    }
}

/* Issue 12.3: a verifying client checks a name. An empty one is refused
 * (RFC 6066 3); none at all fails the handshake instead of checking the
 * chain alone; turning the check off is explicit; an IP literal is checked
 * against iPAddress SANs and not sent as server_name. */
static void test_server_name_checks(void)
{
    static const struct { const char *name; int check; bool ok; const char *sni; } cases[] = {
        { NULL, 1, false, NULL },
        { NULL, 0, true, NULL },
        { "wrong.example", 1, false, NULL },
        { "wrong.example", 0, true, "wrong.example" },
        { "localhost", 1, true, "localhost" },
        { "127.0.0.1", 1, true, NULL },   /* the test certificate's IP SAN */
        { "10.1.2.3", 1, false, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pair p;
        setup(&p, false);
        CHECK(dtls_conn_set_servername(p.client.conn, "") == DTLS_ERR_ARG);
        run_with_name(&p, cases[i].name, cases[i].check);
        if (cases[i].ok) {
            CHECK(pair_both_established(&p));
            const char *sni = p.server.conn ? dtls_conn_servername(p.server.conn) : NULL;
            CHECK(cases[i].sni ? sni && strcmp(sni, cases[i].sni) == 0 : sni == NULL);
        } else {
            CHECK(p.client.closed && !p.client.established && !p.server.established);
        }
        teardown(&p);
    }
}

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &srv_cert, &srv_key, err, sizeof err) == DTLS_OK);
    CHECK(dtls_make_self_signed("test-client", 30, &cli_cert, &cli_key, err, sizeof err) == DTLS_OK);
    test_garbage();
    test_replay_and_epochs();
    test_misplaced_messages();
    test_forged_flights();
    test_renegotiation_refused();
    test_hello_flood();
    test_shared_cookie_secret();
    test_close_from_callbacks();
    test_spoofed_after_handshake();
    test_forged_records_during_handshake();
    test_mtu_sweep();
    test_own_hello();
    test_reassembly_memory();
    test_reassembly_server_budget();
    test_spoofed_first_fragment();
    test_junk_before_finished();
    test_non_dtls_hello_version();
    test_alert_levels();
    test_sequence_exhausted();
    test_unknown_content_type();
    test_server_name_checks();
    test_server_name_syntax();
    free(srv_cert);
    free(srv_key);
    free(cli_cert);
    free(cli_key);
    return unit_report();
}

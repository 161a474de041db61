/* test_handshake.c — whole handshakes between our client and our server
 * engines in memory: every suite, client certificates, PSK identities, and
 * a lossy, reordering, duplicating network. */
#include "unit.h"
#include "pair.h"

static char *srv_cert, *srv_key, *cli_cert, *cli_key;

static dtls_config *server_config(const char *ciphers)
{
    dtls_config *cfg = dtls_config_new();
    char err[256];
    CHECK(dtls_config_set_cert_chain_pem(cfg, srv_cert, strlen(srv_cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_key_pem(cfg, srv_key, strlen(srv_key), err, sizeof err) == DTLS_OK);
    if (ciphers)
        CHECK(dtls_config_set_ciphers(cfg, ciphers, err, sizeof err) == DTLS_OK);
    return cfg;
}

static dtls_config *client_config(const char *ciphers)
{
    dtls_config *cfg = dtls_config_new();
    char err[256];
    CHECK(dtls_config_add_ca_pem(cfg, srv_cert, strlen(srv_cert), err, sizeof err) == DTLS_OK);
    if (ciphers)
        CHECK(dtls_config_set_ciphers(cfg, ciphers, err, sizeof err) == DTLS_OK);
    return cfg;
}

static void set_client_psk(dtls_config *cfg, const char *id, uint8_t first_key_byte)
{
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(first_key_byte + i);
    CHECK(dtls_config_set_psk(cfg, (const uint8_t *)id, strlen(id), key, sizeof key) == DTLS_OK);
}

/* Handshake, then one message each way, compared byte for byte. */
static bool handshake_and_echo(pair *p, uint64_t limit_ms)
{
    dtls_conn_set_servername(p->client.conn, "localhost");
    CHECK(dtls_conn_start(p->client.conn, p->now) == DTLS_OK);
    if (!pair_run(p, pair_both_established, limit_ms))
        return false;
    const char *msg = "hello over dtls";
    p->drop = p->dup = p->reorder = 0; /* application data is not retransmitted */
    CHECK(dtls_conn_send(p->client.conn, p->now, (const uint8_t *)msg, strlen(msg)) == DTLS_OK);
    CHECK(dtls_conn_send(p->server.conn, p->now, (const uint8_t *)"pong", 4) == DTLS_OK);
    pair_run(p, pair_never, 1000);
    bool ok = p->server.app_len == strlen(msg) && memcmp(p->server.app, msg, strlen(msg)) == 0
           && p->client.app_len == 4 && memcmp(p->client.app, "pong", 4) == 0;
    CHECK(ok);
    return ok;
}

static void test_suite(const char *name, bool psk)
{
    dtls_config *s = server_config(name), *c = client_config(name);
    if (psk)
        set_client_psk(c, "client1", 1);
    pair p;
    pair_init(&p, c, s, 0);
    bool ok = handshake_and_echo(&p, 5000);
    if (!ok)
        fprintf(stderr, "suite %s failed\n", name);
    CHECK(ok);
    CHECK(p.hvr_sent == 1);
    if (ok) {
        CHECK(strcmp(dtls_conn_cipher_name(p.server.conn), name) == 0);
        CHECK(strcmp(dtls_conn_cipher_name(p.client.conn), name) == 0);
        size_t n = 0;
        const uint8_t *id = dtls_conn_psk_identity(p.server.conn, &n);
        CHECK(!psk || (n == 7 && memcmp(id, "client1", 7) == 0));
        /* RFC 6066: the name the client asked for reaches the server host. */
        CHECK(dtls_conn_servername(p.server.conn) && strcmp(dtls_conn_servername(p.server.conn), "localhost") == 0);
        CHECK(dtls_conn_servername(p.client.conn) == NULL);
    }
    pair_free(&p);
    dtls_config_free(s);
    dtls_config_free(c);
}

static void test_all_suites(void)
{
    const char *cert_suites[] = {
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM8",
    };
    for (size_t i = 0; i < sizeof cert_suites / sizeof cert_suites[0]; i++)
        test_suite(cert_suites[i], false);
    const char *psk_suites[] = {
        "PSK-AES128-CCM8", "PSK-AES128-CCM", "PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384",
        "ECDHE-PSK-CHACHA20-POLY1305", "ECDHE-PSK-AES128-GCM-SHA256",
    };
    for (size_t i = 0; i < sizeof psk_suites / sizeof psk_suites[0]; i++)
        test_suite(psk_suites[i], true);
}

/* Idle record keys are parked (dtls_config_set_key_park) and re-keyed
 * by the next record, in either direction, with and without CIDs; the
 * deadline asks for the park only while contexts are live. */
static void test_key_parking(const char *name, bool cid)
{
    dtls_config *s = server_config(name), *c = client_config(name);
    if (cid) {
        CHECK(dtls_config_set_connection_id(s, 4) == DTLS_OK);
        CHECK(dtls_config_set_connection_id(c, 3) == DTLS_OK);
    }
    pair p;
    pair_init(&p, c, s, 7);
    CHECK(handshake_and_echo(&p, 5000));
    for (int round = 0; round < 3; round++) {
        p.now += DTLS_KEY_PARK_DEFAULT_MS + 1;
        dtls_conn_tick(p.server.conn, p.now);
        dtls_conn_tick(p.client.conn, p.now);
        /* Parked: only the final flight's retention (or nothing) is left. */
        CHECK(dtls_conn_deadline(p.server.conn) > p.now + DTLS_KEY_PARK_DEFAULT_MS);
        CHECK(dtls_conn_deadline(p.client.conn) > p.now + DTLS_KEY_PARK_DEFAULT_MS);
        size_t sa = p.server.app_len, ca = p.client.app_len;
        const char *up = round & 1 ? "to the server first" : "x";
        for (int k = 0; k < 3; k++) {
            if (round & 1) {
                CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)up, strlen(up)) == DTLS_OK);
                CHECK(dtls_conn_send(p.server.conn, p.now, (const uint8_t *)"back", 4) == DTLS_OK);
            } else {
                CHECK(dtls_conn_send(p.server.conn, p.now, (const uint8_t *)"back", 4) == DTLS_OK);
                CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)up, strlen(up)) == DTLS_OK);
            }
        }
        pair_run(&p, pair_never, 10);
        CHECK(p.server.app_len == sa + 3 * strlen(up) && memcmp(p.server.app + sa, up, strlen(up)) == 0);
        CHECK(p.client.app_len == ca + 12 && memcmp(p.client.app + ca, "back", 4) == 0);
        CHECK(!p.server.closed && !p.client.closed);
        /* Busy: the deadline is the park, key_park ms after the last record. */
        CHECK(dtls_conn_deadline(p.server.conn) <= p.now + DTLS_KEY_PARK_DEFAULT_MS);
        CHECK(dtls_conn_deadline(p.client.conn) <= p.now + DTLS_KEY_PARK_DEFAULT_MS);
    }
    dtls_stats st = *dtls_conn_stats(p.server.conn);
    CHECK(st.dropped_auth == 0 && st.dropped_replay == 0);
    pair_free(&p);
    /* Off: no park deadline, ever. */
    dtls_config_set_key_park(s, 0);
    dtls_config_set_key_park(c, 0);
    pair_init(&p, c, s, 8);
    CHECK(handshake_and_echo(&p, 5000));
    CHECK(dtls_conn_deadline(p.server.conn) > p.now + 60000);
    CHECK(dtls_conn_deadline(p.client.conn) == UINT64_MAX);
    pair_free(&p);
    dtls_config_free(s);
    dtls_config_free(c);
}

/* The last datagram the client sent, for replaying it to the server. */
static uint8_t last_client_dgram[2048];
static size_t last_client_len;

static void keep_client_send(pair *p, bool to_server, uint8_t *bytes, size_t *len)
{
    (void)p;
    if (to_server && *len <= sizeof last_client_dgram) {
        memcpy(last_client_dgram, bytes, *len);
        last_client_len = *len;
    }
}

/* A server whose keys are parked while it still keeps its final flight
 * (RFC 6347 4.2.4) answers the client's resent last flight with that flight,
 * sealed under re-made keys that the client accepts. */
static void test_parked_final_flight(void)
{
    dtls_config *s = server_config("ECDHE-ECDSA-AES128-GCM-SHA256");
    dtls_config *c = client_config("ECDHE-ECDSA-AES128-GCM-SHA256");
    pair p;
    pair_init(&p, c, s, 9);
    p.tap = keep_client_send;
    dtls_conn_set_servername(p.client.conn, "localhost");
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    CHECK(pair_run(&p, pair_both_established, 5000));
    p.tap = NULL;
    p.now += DTLS_KEY_PARK_DEFAULT_MS + 1;
    dtls_conn_tick(p.server.conn, p.now);
    dtls_conn_tick(p.client.conn, p.now);
    /* Parked: the deadline left is the final flight's 2 MSL. */
    CHECK(dtls_conn_deadline(p.server.conn) > p.now + DTLS_KEY_PARK_DEFAULT_MS);
    uint64_t resent = dtls_conn_stats(p.server.conn)->retransmits;
    pair_server_input(&p, last_client_dgram, last_client_len); /* the client's flight again */
    CHECK(dtls_conn_stats(p.server.conn)->retransmits == resent + 1);
    CHECK(p.client.inbox.n > 0);
    pair_run(&p, pair_never, 10);
    CHECK(!p.client.closed && !p.server.closed && p.client.nalerts == 0 && p.server.nalerts == 0);
    CHECK(dtls_conn_stats(p.client.conn)->dropped_auth == 0);
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"after", 5) == DTLS_OK);
    CHECK(dtls_conn_send(p.server.conn, p.now, (const uint8_t *)"again", 5) == DTLS_OK);
    pair_run(&p, pair_never, 10);
    CHECK(p.server.app_len == 5 && memcmp(p.server.app, "after", 5) == 0);
    CHECK(p.client.app_len == 5 && memcmp(p.client.app, "again", 5) == 0);
    pair_free(&p);
    dtls_config_free(s);
    dtls_config_free(c);
}

static void test_client_certificate(void)
{
    dtls_config *s = server_config(NULL), *c = client_config(NULL);
    char err[256];
    CHECK(dtls_config_add_ca_pem(s, cli_cert, strlen(cli_cert), err, sizeof err) == DTLS_OK);
    dtls_config_set_request_cert(s, 1, 1);
    CHECK(dtls_config_set_cert_chain_pem(c, cli_cert, strlen(cli_cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_key_pem(c, cli_key, strlen(cli_key), err, sizeof err) == DTLS_OK);
    pair p;
    pair_init(&p, c, s, 0);
    CHECK(handshake_and_echo(&p, 5000));
    size_t n = 0;
    CHECK(dtls_conn_peer_cert_der(p.server.conn, &n) != NULL && n > 100);
    pair_free(&p);
    dtls_config_free(c);

    /* Required but not given: handshake_failure. */
    c = client_config(NULL);
    pair_init(&p, c, s, 0);
    dtls_conn_set_servername(p.client.conn, "localhost");
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, pair_any_closed, 5000);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_HANDSHAKE_FAILURE);
    pair_free(&p);
    dtls_config_free(c);
    dtls_config_free(s);
}

static void test_psk_failures(void)
{
    /* Unknown identity: unknown_psk_identity, both sides closed. */
    dtls_config *s = server_config("PSK-AES128-CCM8"), *c = client_config("PSK-AES128-CCM8");
    set_client_psk(c, "nobody", 1);
    pair p;
    pair_init(&p, c, s, 0);
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, pair_any_closed, 5000);
    pair_run(&p, pair_never, 100);
    CHECK(p.server.closed && dtls_err_alert(p.server.close_error) == DTLS_ALERT_UNKNOWN_PSK_IDENTITY);
    pair_run(&p, pair_never, 100);
    CHECK(p.client.nalerts == 1 && p.client.alerts_received[0] == DTLS_ALERT_UNKNOWN_PSK_IDENTITY);
    pair_free(&p);
    dtls_config_free(c);

    /* Wrong key: the server cannot open the client's Finished. */
    c = client_config("PSK-AES128-CCM8");
    set_client_psk(c, "client1", 7);
    pair_init(&p, c, s, 0);
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, pair_any_closed, 5000);
    CHECK(p.server.closed && !p.server.established);
    bool client_done(pair * q);
    pair_run(&p, client_done, 5000);
    CHECK(p.client.closed && !p.client.established);
    pair_free(&p);
    dtls_config_free(c);
    dtls_config_free(s);
}

bool client_done(pair *q);
bool client_done(pair *q) { return q->client.closed; }

/* RFC 6347 4.2.4: everything survives 20 % loss, duplicates, reordering. */
static void test_lossy_network(void)
{
    dtls_config *s = server_config(NULL), *c = client_config(NULL);
    int ok = 0;
    uint64_t retransmits = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        pair p;
        pair_init(&p, c, s, seed);
        p.drop = 200;
        p.dup = 100;
        p.reorder = 100;
        if (handshake_and_echo(&p, 120000))
            ok++;
        else
            fprintf(stderr, "lossy handshake failed with seed %llu\n", (unsigned long long)seed);
        retransmits += dtls_conn_stats(p.client.conn)->retransmits;
        if (p.server.conn)
            retransmits += dtls_conn_stats(p.server.conn)->retransmits;
        pair_free(&p);
    }
    CHECK(ok == 100);
    CHECK(retransmits > 20); /* the loss was real and was recovered from */
    printf("lossy network: %d/100 handshakes, %llu retransmissions\n", ok, (unsigned long long)retransmits);
    dtls_config_free(s);
    dtls_config_free(c);
}

/* The gaps between the client's unanswered ClientHellos. */
static uint64_t sent_at[32];
static size_t nsent;

static void record_client_send(pair *p, bool to_server, uint8_t *bytes, size_t *len)
{
    (void)bytes;
    (void)len;
    if (to_server && nsent < 32)
        sent_at[nsent++] = p->now;
}

static bool gaps_are(dtls_config *c, const uint64_t *want, size_t n)
{
    dtls_config *s = server_config(NULL);
    pair p;
    pair_init(&p, c, s, 7);
    p.tap = record_client_send;
    p.drop = 1000; /* nothing arrives: the client retransmits on its timer alone */
    nsent = 0;
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    pair_run(&p, client_done, 400000);
    bool ok = nsent == n + 1 && p.client.closed;
    for (size_t i = 0; ok && i < n; i++)
        ok = sent_at[i + 1] - sent_at[i] == want[i];
    if (!ok) {
        fprintf(stderr, "retransmission gaps:");
        for (size_t i = 1; i < nsent; i++)
            fprintf(stderr, " %llu", (unsigned long long)(sent_at[i] - sent_at[i - 1]));
        fprintf(stderr, " (closed %d)\n", p.client.closed);
    }
    pair_free(&p);
    dtls_config_free(s);
    return ok;
}

/* RFC 6347 4.2.4.1: 1 s, doubling, capped at 60 s; configurable (RFC 7925
 * 11), and the handshake timeout ends the tries. */
static void test_retransmit_timer(void)
{
    dtls_config *c = client_config(NULL);
    dtls_config_set_handshake_timeout(c, 250000);
    static const uint64_t rfc[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000 };
    CHECK(gaps_are(c, rfc, sizeof rfc / sizeof rfc[0]));

    CHECK(dtls_config_set_retransmit_timeout(c, 200, 800) == DTLS_OK);
    dtls_config_set_handshake_timeout(c, 3000); /* tries at 0 .2 .6 1.4 2.2 */
    static const uint64_t fast[] = { 200, 400, 800, 800 };
    CHECK(gaps_are(c, fast, sizeof fast / sizeof fast[0]));

    CHECK(dtls_config_set_retransmit_timeout(c, 9, 100) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_retransmit_timeout(c, 1000, 999) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_retransmit_timeout(c, 1000, DTLS_RTO_MAX_MS + 1) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_retransmit_timeout(c, 500, 500) == DTLS_OK);
    dtls_config_free(c);
}

/* A small MTU: every flight is fragmented and reassembled. */
static void test_small_mtu(void)
{
    dtls_config *s = server_config(NULL), *c = client_config(NULL);
    CHECK(dtls_config_set_mtu(s, 256) == DTLS_OK);
    CHECK(dtls_config_set_mtu(c, 256) == DTLS_OK);
    pair p;
    pair_init(&p, c, s, 5);
    p.reorder = 300;
    CHECK(handshake_and_echo(&p, 20000));
    pair_free(&p);
    dtls_config_free(s);
    dtls_config_free(c);
}

static void test_close_notify(void)
{
    dtls_config *s = server_config(NULL), *c = client_config(NULL);
    pair p;
    pair_init(&p, c, s, 0);
    CHECK(handshake_and_echo(&p, 5000));
    CHECK(dtls_conn_close(p.client.conn, p.now) == DTLS_OK);
    CHECK(p.client.closed && p.client.close_error == DTLS_OK);
    pair_run(&p, pair_never, 100);
    CHECK(p.server.closed && p.server.close_error == DTLS_OK);
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"x", 1) == DTLS_ERR_CLOSED);
    pair_free(&p);
    dtls_config_free(s);
    dtls_config_free(c);
}

static void test_verify_failures(void)
{
    /* The client trusts another CA: unknown_ca, and the server learns it. */
    dtls_config *s = server_config(NULL), *c = dtls_config_new();
    char err[256];
    CHECK(dtls_config_add_ca_pem(c, cli_cert, strlen(cli_cert), err, sizeof err) == DTLS_OK);
    pair p;
    pair_init(&p, c, s, 0);
    dtls_conn_set_servername(p.client.conn, "localhost");
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, client_done, 5000);
    CHECK(p.client.closed && dtls_err_alert(p.client.close_error) == DTLS_ALERT_UNKNOWN_CA);
    pair_run(&p, pair_never, 100);
    CHECK(p.server.closed);
    pair_free(&p);
    dtls_config_free(c);

    /* Wrong name. */
    c = client_config(NULL);
    pair_init(&p, c, s, 0);
    dtls_conn_set_servername(p.client.conn, "example.org");
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, client_done, 5000);
    CHECK(p.client.closed && !p.client.established);
    pair_free(&p);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* The key-log hook: one NSS line per side, the same on both (both derive
 * the same master secret), in the format Wireshark reads. */
static char keylog_lines[2][256];
static int keylog_calls;

static void keylog_cb(void *user, const char *line)
{
    pair_side *side = user;
    int i = side == &side->pair->server;
    snprintf(keylog_lines[i], sizeof keylog_lines[i], "%s", line);
    keylog_calls++;
}

static void test_keylog(void)
{
    dtls_config *s = server_config(NULL), *c = client_config(NULL);
    pair p;
    pair_init(&p, c, s, 0);
    dtls_callbacks cb = { .send = pair_send_cb, .event = pair_event_cb,
                          .psk_lookup = pair_psk_lookup, .keylog = keylog_cb };
    dtls_config_set_callbacks(c, &cb);
    dtls_config_set_callbacks(s, &cb);
    CHECK(handshake_and_echo(&p, 5000));
    CHECK(keylog_calls == 2);
    CHECK(strcmp(keylog_lines[0], keylog_lines[1]) == 0);
    CHECK(strncmp(keylog_lines[0], "CLIENT_RANDOM ", 14) == 0);
    CHECK(strlen(keylog_lines[0]) == 14 + 64 + 1 + 96);
    CHECK(strspn(keylog_lines[0] + 14, "0123456789abcdef") == 64 && keylog_lines[0][78] == ' ' &&
          strspn(keylog_lines[0] + 79, "0123456789abcdef") == 96);
    pair_free(&p);
    dtls_config_free(s);
    dtls_config_free(c);
}

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &srv_cert, &srv_key, err, sizeof err) == DTLS_OK);
    CHECK(dtls_make_self_signed("test-client", 30, &cli_cert, &cli_key, err, sizeof err) == DTLS_OK);
    test_all_suites();
    test_key_parking("ECDHE-ECDSA-AES128-GCM-SHA256", false);
    test_key_parking("ECDHE-ECDSA-AES128-GCM-SHA256", true);
    test_key_parking("ECDHE-ECDSA-CHACHA20-POLY1305", false);
    test_key_parking("ECDHE-ECDSA-AES128-CCM8", true);
    test_parked_final_flight();
    test_client_certificate();
    test_psk_failures();
    test_small_mtu();
    test_close_notify();
    test_verify_failures();
    test_lossy_network();
    test_retransmit_timer();
    test_keylog();
    free(srv_cert);
    free(srv_key);
    free(cli_cert);
    free(cli_key);
    return unit_report();
}

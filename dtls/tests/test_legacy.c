/* test_legacy.c — the opt-in legacy protocol end to end between our own
 * client and server engines: every CBC-HMAC and RSA key transport suite in
 * DTLS 1.2 and (where the suite allows) DTLS 1.0, Encrypt-then-MAC on and
 * off, version negotiation and refused downgrades, implicit rejection of a
 * bad RSA premaster (the same failure at the same point as a wrong key),
 * RFC 7507 fallback refusal, CBC sessions resumed (DTLS 1.0 ones never),
 * DTLS 1.0 client certificates, and CBC records checked byte for byte against
 * an independent construction (cbc_ref.h: one-shot EVP AES-CBC and HMAC
 * from the RFC text), including forged ones with bad padding or a bad MAC,
 * which are dropped and counted. */
#include "internal.h"
#include "prf.h"
#include "unit.h"
#include "pair.h"
#include "cbc_ref.h"
#include "test_certs.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

static char *ec_cert, *ec_key, *rsa_cert, *rsa_key, *rsa2_key;

/* A self-signed RSA certificate for "localhost" (dtls_make_self_signed
 * makes ECDSA ones only). */
static void make_rsa(char **cert_pem, char **key_pem)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    CHECK(key != NULL);
    if (cert_pem)
        *cert_pem = test_cert_pem(key, NULL);
    *key_pem = test_key_pem(key);
    EVP_PKEY_free(key);
}

typedef struct opts {
    const char *ciphers;
    uint16_t cmin, cmax, smin, smax;
    int cetm, setm;
    bool psk, rsa;
} opts;

static dtls_config *make_config(const opts *o, bool server)
{
    dtls_config *cfg = dtls_config_new();
    char err[256];
    if (server) {
        const char *cert = o->rsa ? rsa_cert : ec_cert, *key = o->rsa ? rsa_key : ec_key;
        CHECK(dtls_config_set_cert_chain_pem(cfg, cert, strlen(cert), err, sizeof err) == DTLS_OK);
        CHECK(dtls_config_set_key_pem(cfg, key, strlen(key), err, sizeof err) == DTLS_OK);
    } else {
        const char *ca = o->rsa ? rsa_cert : ec_cert;
        CHECK(dtls_config_add_ca_pem(cfg, ca, strlen(ca), err, sizeof err) == DTLS_OK);
        if (o->psk) {
            uint8_t key[16];
            for (int i = 0; i < 16; i++)
                key[i] = (uint8_t)(1 + i);
            CHECK(dtls_config_set_psk(cfg, (const uint8_t *)"client1", 7, key, 16) == DTLS_OK);
        }
    }
    CHECK(dtls_config_set_ciphers(cfg, o->ciphers, err, sizeof err) == DTLS_OK);
    uint16_t mn = server ? o->smin : o->cmin, mx = server ? o->smax : o->cmax;
    CHECK(dtls_config_set_versions(cfg, mn ? mn : DTLS_VERSION_1_2, mx ? mx : DTLS_VERSION_1_2) == DTLS_OK);
    dtls_config_set_encrypt_then_mac(cfg, server ? o->setm : o->cetm);
    return cfg;
}

typedef struct run {
    dtls_config *c, *s;
    pair p;
} run;

static void run_start(run *r, const opts *o, void (*tap)(pair *, bool, uint8_t *, size_t *))
{
    r->c = make_config(o, false);
    r->s = make_config(o, true);
    pair_init(&r->p, r->c, r->s, 1);
    r->p.tap = tap;
    dtls_conn_set_servername(r->p.client.conn, "localhost");
    CHECK(dtls_conn_start(r->p.client.conn, r->p.now) == DTLS_OK);
}

static void run_end(run *r)
{
    pair_free(&r->p);
    dtls_config_free(r->c);
    dtls_config_free(r->s);
}

/* One suite, one version, EtM wanted or not: a handshake, then data both
 * ways; the version, suite and EtM flag are what both ends agreed. */
static void check_suite(const char *suite, uint16_t version, int etm, bool psk, bool rsa)
{
    opts o = { suite, version, version, version, version, etm, etm, psk, rsa };
    run r;
    run_start(&r, &o, NULL);
    bool ok = pair_run(&r.p, pair_both_established, 5000);
    if (ok) {
        CHECK(dtls_conn_send(r.p.client.conn, r.p.now, (const uint8_t *)"ping", 4) == DTLS_OK);
        CHECK(dtls_conn_send(r.p.server.conn, r.p.now, (const uint8_t *)"pong!", 5) == DTLS_OK);
        pair_run(&r.p, pair_never, 1000);
        ok = r.p.server.app_len == 4 && memcmp(r.p.server.app, "ping", 4) == 0
          && r.p.client.app_len == 5 && memcmp(r.p.client.app, "pong!", 5) == 0;
        const char *vname = version == DTLS_VERSION_1_0 ? "DTLSv1" : "DTLSv1.2";
        ok = ok && strcmp(dtls_conn_version_name(r.p.client.conn), vname) == 0
                && strcmp(dtls_conn_version_name(r.p.server.conn), vname) == 0
                && strcmp(dtls_conn_cipher_name(r.p.client.conn), suite) == 0
                && strcmp(dtls_conn_cipher_name(r.p.server.conn), suite) == 0
                && dtls_conn_encrypt_then_mac(r.p.client.conn) == etm
                && dtls_conn_encrypt_then_mac(r.p.server.conn) == etm;
    }
    if (!ok)
        fprintf(stderr, "suite %s version %04x etm %d failed\n", suite, version, etm);
    CHECK(ok);
    run_end(&r);
}

static void test_all_legacy_suites(void)
{
    static const struct { const char *name; bool psk, rsa, dtls10; } suites[] = {
        { "ECDHE-ECDSA-AES128-SHA", false, false, true },
        { "ECDHE-ECDSA-AES256-SHA", false, false, true },
        { "ECDHE-ECDSA-AES128-SHA256", false, false, false },
        { "ECDHE-ECDSA-AES256-SHA384", false, false, false },
        { "ECDHE-RSA-AES128-SHA", false, true, true },
        { "ECDHE-RSA-AES256-SHA", false, true, true },
        { "ECDHE-RSA-AES128-SHA256", false, true, false },
        { "ECDHE-RSA-AES256-SHA384", false, true, false },
        { "PSK-AES128-CBC-SHA256", true, false, true },
        { "PSK-AES256-CBC-SHA384", true, false, true },
        { "AES128-SHA", false, true, true },
        { "AES256-SHA", false, true, true },
        { "AES128-SHA256", false, true, false },
        { "AES256-SHA256", false, true, false },
    };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        for (int etm = 0; etm < 2; etm++) {
            check_suite(suites[i].name, DTLS_VERSION_1_2, etm, suites[i].psk, suites[i].rsa);
            if (suites[i].dtls10)
                check_suite(suites[i].name, DTLS_VERSION_1_0, etm, suites[i].psk, suites[i].rsa);
        }
    }
}

/* A handshake under o: it completes with version and suite, or (want_alert
 * > 0) ends with that alert from the server (server_sends) or the client. */
static void negotiate(const opts *o, const char *version, const char *suite, int want_alert,
                      bool server_sends)
{
    run r;
    run_start(&r, o, NULL);
    bool up = pair_run(&r.p, pair_both_established, 5000);
    if (want_alert == 0) {
        CHECK(up);
        CHECK(up && strcmp(dtls_conn_version_name(r.p.client.conn), version) == 0
              && strcmp(dtls_conn_version_name(r.p.server.conn), version) == 0
              && strcmp(dtls_conn_cipher_name(r.p.client.conn), suite) == 0);
    } else {
        pair_side *sender = server_sends ? &r.p.server : &r.p.client;
        pair_side *receiver = server_sends ? &r.p.client : &r.p.server;
        CHECK(!up && sender->closed && receiver->closed);
        CHECK(sender->close_error == DTLS_ERR_FROM_ALERT(want_alert));
        CHECK(receiver->nalerts == 1 && receiver->alerts_received[0] == want_alert);
    }
    run_end(&r);
}

/* DTLS 1.0 client authentication: CertificateRequest without a scheme
 * list, CertificateVerify signed the DTLS 1.0 way (sig10.h), both roles. */
static void test_dtls10_client_certificate(void)
{
    for (int rsa = 0; rsa < 2; rsa++) {
        opts o = { rsa ? "ECDHE-RSA-AES128-SHA" : "ECDHE-ECDSA-AES256-SHA", DTLS_VERSION_1_0,
                   DTLS_VERSION_1_0, DTLS_VERSION_1_0, DTLS_VERSION_1_0, 1, 1, false, rsa != 0 };
        run r;
        r.c = make_config(&o, false);
        r.s = make_config(&o, true);
        char err[256];
        /* the client authenticates with the other kind of key */
        const char *cert = rsa ? ec_cert : rsa_cert, *key = rsa ? ec_key : rsa_key;
        CHECK(dtls_config_set_cert_chain_pem(r.c, cert, strlen(cert), err, sizeof err) == DTLS_OK);
        CHECK(dtls_config_set_key_pem(r.c, key, strlen(key), err, sizeof err) == DTLS_OK);
        CHECK(dtls_config_add_ca_pem(r.s, cert, strlen(cert), err, sizeof err) == DTLS_OK);
        dtls_config_set_request_cert(r.s, 1, 1);
        pair_init(&r.p, r.c, r.s, 1);
        dtls_conn_set_servername(r.p.client.conn, "localhost");
        CHECK(dtls_conn_start(r.p.client.conn, r.p.now) == DTLS_OK);
        CHECK(pair_run(&r.p, pair_both_established, 5000));
        size_t n = 0;
        CHECK(dtls_conn_peer_cert_der(r.p.server.conn, &n) != NULL && n > 0);
        CHECK(strcmp(dtls_conn_version_name(r.p.server.conn), "DTLSv1") == 0);
        run_end(&r);
    }
}

/* RFC 6347 4.1: the newest both speak; 1.0 only where enabled. */
static void test_version_negotiation(void)
{
    const char *cs = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA";
    /* Both speak 1.0 and 1.2: 1.2, with the AEAD suite. */
    opts o = { cs, DTLS_VERSION_1_0, DTLS_VERSION_1_2, DTLS_VERSION_1_0, DTLS_VERSION_1_2, 1, 1, false, false };
    negotiate(&o, "DTLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", 0, false);
    /* A 1.0-only client, a server that also speaks 1.0: 1.0, CBC. */
    o.cmax = DTLS_VERSION_1_0;
    negotiate(&o, "DTLSv1", "ECDHE-ECDSA-AES128-SHA", 0, false);
    /* A 1.0-only client, a server with the default minimum: protocol_version. */
    o.smin = DTLS_VERSION_1_2;
    negotiate(&o, NULL, NULL, DTLS_ALERT_PROTOCOL_VERSION, true);
    /* A server that answers 1.0 to a client that did not enable it. */
    o = (opts){ cs, DTLS_VERSION_1_2, DTLS_VERSION_1_2, DTLS_VERSION_1_0, DTLS_VERSION_1_0, 1, 1, false, false };
    negotiate(&o, NULL, NULL, DTLS_ALERT_PROTOCOL_VERSION, false);
}

/* RFC 5246 7.4.7.1: the premaster's version is the one the client offered
 * (ClientHello.client_version), not the one negotiated, and the server
 * checks it against the offer. A client that speaks 1.0 and 1.2 meets a
 * 1.0-only server: the premaster says 1.2 and the handshake completes in
 * 1.0 (a server checking against the negotiated version would take it for
 * a rollback and go on with a random premaster). The same client with a
 * server that keeps the default range gets 1.2, its DTLS 1.0 record
 * version on the ClientHello notwithstanding (RFC 6347 4.1). */
static void test_offered_version_in_premaster(void)
{
    opts o = { "AES128-SHA", DTLS_VERSION_1_0, DTLS_VERSION_1_2, DTLS_VERSION_1_0, DTLS_VERSION_1_0,
               1, 1, false, true };
    negotiate(&o, "DTLSv1", "AES128-SHA", 0, false);
    o.smin = o.smax = DTLS_VERSION_1_2;
    negotiate(&o, "DTLSv1.2", "AES128-SHA", 0, false);
}

/* A man in the middle rewriting the client's offered version to 1.0 when
 * both could speak 1.2: the handshake fails at the client's Finished. With
 * the extended master secret the keys themselves depend on the hellos, so
 * the Finished record does not open (bad_record_mac once the client resent
 * it); without, the keys agree but the Finished, which covers the hellos,
 * does not verify (decrypt_error). */
static void downgrade_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (to_server && *len > 27 && b[0] == CT_HANDSHAKE && b[3] == 0 && b[4] == 0
        && b[13] == HT_CLIENT_HELLO && b[25] == 0xFE && b[26] == 0xFD)
        b[26] = 0xFF;
}

static void test_downgrade_by_rewriting(void)
{
    opts o = { "ECDHE-ECDSA-AES128-SHA", DTLS_VERSION_1_0, DTLS_VERSION_1_2, DTLS_VERSION_1_0,
               DTLS_VERSION_1_2, 1, 1, false, false };
    for (int ems = 1; ems >= 0; ems--) {
        run r;
        r.c = make_config(&o, false);
        r.s = make_config(&o, true);
        dtls_config_set_extended_master_secret(r.c, ems);
        dtls_config_set_extended_master_secret(r.s, ems);
        pair_init(&r.p, r.c, r.s, 1);
        r.p.tap = downgrade_tap;
        dtls_conn_set_servername(r.p.client.conn, "localhost");
        CHECK(dtls_conn_start(r.p.client.conn, r.p.now) == DTLS_OK);
        CHECK(!pair_run(&r.p, pair_both_established, 10000));
        CHECK(!r.p.server.established && r.p.server.closed && r.p.client.closed);
        int want = ems ? DTLS_ALERT_BAD_RECORD_MAC : DTLS_ALERT_DECRYPT_ERROR;
        CHECK(r.p.server.close_error == DTLS_ERR_FROM_ALERT(want));
        CHECK(r.p.client.nalerts == 1 && r.p.client.alerts_received[0] == want);
        run_end(&r);
    }
}

/* RFC 7507: a client that says (TLS_FALLBACK_SCSV) it retried with an
 * older version than its best, to a server that could do better, is
 * refused with inappropriate_fallback. The tap puts the SCSV in place of
 * the client's second suite in both ClientHellos. */
static void fallback_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (!to_server || *len < 13 + 12 + 35 || b[0] != CT_HANDSHAKE || b[13] != HT_CLIENT_HELLO)
        return;
    size_t at = 13 + 12 + 2 + 32;
    at += 1 + b[at];             /* session_id */
    if (at >= *len)
        return;
    at += 1 + b[at];             /* cookie */
    if (at + 6 <= *len && b[at] == 0 && b[at + 1] >= 4) {
        b[at + 4] = 0x56;        /* suites[1] */
        b[at + 5] = 0x00;
    }
}

static void test_fallback_scsv(void)
{
    opts o = { "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA", DTLS_VERSION_1_0, DTLS_VERSION_1_0,
               DTLS_VERSION_1_0, DTLS_VERSION_1_2, 1, 1, false, false };
    run r;
    run_start(&r, &o, fallback_tap);
    CHECK(!pair_run(&r.p, pair_both_established, 5000));
    CHECK(r.p.server.closed && r.p.server.close_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_INAPPROPRIATE_FALLBACK));
    CHECK(r.p.client.nalerts == 1 && r.p.client.alerts_received[0] == DTLS_ALERT_INAPPROPRIATE_FALLBACK);
    run_end(&r);
}

/* Sessions: a DTLS 1.2 CBC session (with the extended master secret)
 * resumes, with Encrypt-then-MAC agreed again and data flowing; a DTLS 1.0
 * session is never resumed (a full handshake instead). */
static bool resumed_second_time(uint16_t version, const char *suite)
{
    opts o = { suite, version, version, version, version, 1, 1, false, true };
    dtls_config *c = make_config(&o, false), *s = make_config(&o, true);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    bool reused = false;
    for (int round = 0; round < 2; round++) {
        pair p;
        pair_init(&p, c, s, (uint64_t)round + 7);
        dtls_conn_set_servername(p.client.conn, "localhost");
        if (blob)
            CHECK(dtls_conn_set_session(p.client.conn, blob, blob_len) == DTLS_OK);
        CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
        CHECK(pair_run(&p, pair_both_established, 5000));
        CHECK(dtls_conn_encrypt_then_mac(p.server.conn) == 1);
        CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"again", 5) == DTLS_OK);
        pair_run(&p, pair_never, 500);
        CHECK(p.server.app_len == 5 && memcmp(p.server.app, "again", 5) == 0);
        if (round == 0) {
            CHECK(dtls_conn_get_session(p.client.conn, &blob, &blob_len) == DTLS_OK);
        } else {
            reused = dtls_conn_session_reused(p.client.conn) && dtls_conn_session_reused(p.server.conn);
        }
        pair_free(&p);
    }
    free(blob);
    dtls_config_free(c);
    dtls_config_free(s);
    return reused;
}

static void test_legacy_sessions(void)
{
    CHECK(resumed_second_time(DTLS_VERSION_1_2, "AES128-SHA"));
    CHECK(resumed_second_time(DTLS_VERSION_1_2, "ECDHE-RSA-AES256-SHA384"));
    CHECK(!resumed_second_time(DTLS_VERSION_1_0, "AES256-SHA"));
}

/* ---- RSA key transport: implicit rejection ---- */

static int cke_tamper; /* 1: flip a byte of the encrypted premaster */

static void cke_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    /* The first record of the client's second flight: epoch 0, handshake,
     * ClientKeyExchange; its vector starts after the 12-byte header. */
    if (cke_tamper && to_server && *len > 13 + 12 + 2 + 100 && b[0] == CT_HANDSHAKE
        && b[3] == 0 && b[4] == 0 && b[13] == HT_CLIENT_KEY_EXCHANGE)
        b[13 + 12 + 2 + 100] ^= 0x40;
}

typedef struct rsa_outcome {
    bool established;
    int server_error;
    int client_alert;
    uint64_t server_dropped_auth;
    uint64_t server_records_out;
} rsa_outcome;

static rsa_outcome rsa_run(int tamper, bool wrong_key)
{
    opts o = { "AES128-SHA", 0, 0, 0, 0, 1, 1, false, true };
    run r;
    r.c = make_config(&o, false);
    r.s = make_config(&o, true);
    if (wrong_key) { /* the server decrypts with a key its certificate does not hold */
        char err[256];
        CHECK(dtls_config_set_key_pem(r.s, rsa2_key, strlen(rsa2_key), err, sizeof err) == DTLS_OK);
    }
    dtls_config_set_handshake_timeout(r.s, 20000);
    pair_init(&r.p, r.c, r.s, 1);
    cke_tamper = tamper;
    r.p.tap = cke_tap;
    dtls_conn_set_servername(r.p.client.conn, "localhost");
    CHECK(dtls_conn_start(r.p.client.conn, r.p.now) == DTLS_OK);
    pair_run(&r.p, pair_both_established, 15000);
    rsa_outcome out = { r.p.client.established && r.p.server.established,
                        r.p.server.close_error,
                        r.p.client.nalerts ? r.p.client.alerts_received[0] : -1,
                        r.p.server.conn ? dtls_conn_stats(r.p.server.conn)->dropped_auth : 0,
                        r.p.server.conn ? dtls_conn_stats(r.p.server.conn)->records_out : 0 };
    cke_tamper = 0;
    run_end(&r);
    return out;
}

static void test_rsa_implicit_rejection(void)
{
    rsa_outcome good = rsa_run(0, false);
    CHECK(good.established);
    rsa_outcome bad_block = rsa_run(1, false);
    rsa_outcome wrong_key = rsa_run(0, true);
    /* No alert at ClientKeyExchange: the client's Finished does not open
     * (dropped and counted), and once the client resent its flight the
     * server ends with bad_record_mac. Both failures look the same. */
    CHECK(!bad_block.established && !wrong_key.established);
    CHECK(bad_block.server_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_BAD_RECORD_MAC));
    CHECK(wrong_key.server_error == bad_block.server_error);
    CHECK(bad_block.client_alert == DTLS_ALERT_BAD_RECORD_MAC && wrong_key.client_alert == bad_block.client_alert);
    CHECK(bad_block.server_dropped_auth >= 1 && bad_block.server_dropped_auth == wrong_key.server_dropped_auth);
    CHECK(bad_block.server_records_out == wrong_key.server_records_out);
}

/* ---- records against the independent construction ---- */

static uint8_t server_random[32];
static uint8_t master[48], client_random[32];

static void random_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (!to_server && *len > 13 + 12 + 34 && b[0] == CT_HANDSHAKE && b[13] == HT_SERVER_HELLO)
        memcpy(server_random, b + 13 + 12 + 2, 32);
}

static int hexval(char ch) { return ch <= '9' ? ch - '0' : ch - 'a' + 10; }

static void keylog_cb(void *user, const char *line)
{
    (void)user;
    /* "CLIENT_RANDOM <64 hex> <96 hex>" */
    for (int i = 0; i < 32; i++)
        client_random[i] = (uint8_t)(hexval(line[14 + 2 * i]) << 4 | hexval(line[15 + 2 * i]));
    for (int i = 0; i < 48; i++)
        master[i] = (uint8_t)(hexval(line[79 + 2 * i]) << 4 | hexval(line[80 + 2 * i]));
}

/* The last datagram the client sent to the server, captured. */
static uint8_t last_c2s[2048];
static size_t last_c2s_len;

static void capture_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    random_tap(p, to_server, b, len);
    if (to_server && *len <= sizeof last_c2s) {
        memcpy(last_c2s, b, *len);
        last_c2s_len = *len;
    }
}

static void check_records(const char *suite, int alg_index, uint16_t version, int etm)
{
    const struct alg_info *a = &algs[alg_index];
    opts o = { suite, version, version, version, version, etm, etm, false, strstr(suite, "RSA") || !strstr(suite, "ECDSA") };
    run r;
    r.c = make_config(&o, false);
    r.s = make_config(&o, true);
    pair_init(&r.p, r.c, r.s, 1);
    dtls_callbacks cb = { .send = pair_send_cb, .event = pair_event_cb, .keylog = keylog_cb };
    dtls_config_set_callbacks(r.c, &cb);
    r.p.tap = capture_tap;
    dtls_conn_set_servername(r.p.client.conn, "localhost");
    CHECK(dtls_conn_start(r.p.client.conn, r.p.now) == DTLS_OK);
    CHECK(pair_run(&r.p, pair_both_established, 5000));
    /* The key block from the master secret, independently (RFC 5246 6.3):
     * client MAC key, server MAC key, client key, server key. */
    uint8_t block[2 * (48 + 32)];
    size_t kb = 2 * (a->mac_len + a->key_len);
    const EVP_MD *md = version == DTLS_VERSION_1_0 ? NULL
                     : strstr(suite, "SHA384") ? EVP_sha384() : EVP_sha256();
    CHECK(dtls_prf(md, master, 48, "key expansion", server_random, 32, client_random, 32, block, kb) == 0);
    const uint8_t *cmac = block, *ckey = block + 2 * a->mac_len;

    /* 1. A record our client sealed opens under the reference receiver. */
    const char *msg = "application data, checked byte for byte";
    CHECK(dtls_conn_send(r.p.client.conn, r.p.now, (const uint8_t *)msg, strlen(msg)) == DTLS_OK);
    CHECK(last_c2s_len > 13 && last_c2s[0] == CT_APPLICATION_DATA);
    struct pfx pf;
    memcpy(pf.b, last_c2s + 3, 8); /* epoch || seq */
    pf.b[8] = CT_APPLICATION_DATA;
    pf.b[9] = (uint8_t)(version >> 8);
    pf.b[10] = (uint8_t)version;
    pf.len = 11;
    uint8_t plain[2048];
    size_t plain_len = 0;
    CHECK(cbc_ref_open(a, etm, ckey, cmac, &pf, last_c2s + 13, last_c2s_len - 13, plain, &plain_len) == 0);
    CHECK(plain_len == strlen(msg) && memcmp(plain, msg, plain_len) == 0);
    pair_run(&r.p, pair_never, 100);
    CHECK(r.p.server.app_records == 1);

    /* 2. Records made by the reference: a good one is taken, one with bad
     * padding (its MAC good: MAC-then-encrypt) or a bad MAC is dropped,
     * counted, and the session goes on. */
    const dtls_stats *st = dtls_conn_stats(r.p.server.conn);
    for (int kind = 0; kind < 3; kind++) {
        uint64_t seq = 100 + (uint64_t)kind;
        uint8_t rec[512], body[256], mac[64];
        size_t n = 0;
        memcpy(body, "reference", 9);
        size_t plen = 9;
        rec[0] = CT_APPLICATION_DATA;
        rec[1] = (uint8_t)(version >> 8);
        rec[2] = (uint8_t)version;
        rec[3] = 0;
        rec[4] = 1;
        for (int i = 0; i < 6; i++)
            rec[5 + i] = (uint8_t)(seq >> (40 - 8 * i));
        memcpy(pf.b, rec + 3, 8);
        uint8_t *iv = rec + 13;
        for (int i = 0; i < 16; i++)
            iv[i] = (uint8_t)(0x30 + i + kind);
        if (!etm) {
            CHECK(ref_record_mac(a, cmac, &pf, plen, body, plen, mac) == 0);
            memcpy(body + plen, mac, a->mac_len);
            n = plen + a->mac_len;
        } else {
            n = plen;
        }
        size_t pad = 15 - n % 16;
        for (size_t i = 0; i <= pad; i++)
            body[n + i] = (uint8_t)pad;
        if (kind == 1)
            body[n] ^= 1; /* a padding byte that disagrees with the length */
        n += pad + 1;
        CHECK(ref_cbc_dir(a->cipher, ckey, iv, body, n, rec + 13 + 16, 1) == 0);
        size_t frag = 16 + n;
        if (etm) {
            CHECK(ref_record_mac(a, cmac, &pf, frag, rec + 13, frag, mac) == 0);
            memcpy(rec + 13 + frag, mac, a->mac_len);
            frag += a->mac_len;
        }
        if (kind == 2)
            rec[13 + frag - 1] ^= 0x80; /* the MAC (EtM) or the padding block (MtE) */
        rec[11] = (uint8_t)(frag >> 8);
        rec[12] = (uint8_t)frag;
        uint64_t dropped = st->dropped_auth;
        size_t records = r.p.server.app_records;
        CHECK(dtls_conn_recv(r.p.server.conn, r.p.now, rec, 13 + frag) == DTLS_OK);
        if (kind == 0) {
            CHECK(r.p.server.app_records == records + 1 && st->dropped_auth == dropped);
        } else {
            CHECK(r.p.server.app_records == records && st->dropped_auth == dropped + 1);
        }
        CHECK(dtls_conn_state(r.p.server.conn) == DTLS_STATE_ESTABLISHED);
    }
    run_end(&r);
}

static void test_records_independent(void)
{
    /* alg indexes into cbc_ref.h's table */
    check_records("AES128-SHA", 0, DTLS_VERSION_1_2, 0);
    check_records("AES128-SHA", 0, DTLS_VERSION_1_2, 1);
    check_records("AES256-SHA", 1, DTLS_VERSION_1_0, 0);
    check_records("AES256-SHA", 1, DTLS_VERSION_1_0, 1);
    check_records("AES128-SHA256", 2, DTLS_VERSION_1_2, 1);
    check_records("ECDHE-RSA-AES256-SHA384", 4, DTLS_VERSION_1_2, 0);
}

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &ec_cert, &ec_key, err, sizeof err) == DTLS_OK);
    make_rsa(&rsa_cert, &rsa_key);
    make_rsa(NULL, &rsa2_key);
    test_all_legacy_suites();
    test_version_negotiation();
    test_offered_version_in_premaster();
    test_dtls10_client_certificate();
    test_downgrade_by_rewriting();
    test_fallback_scsv();
    test_legacy_sessions();
    test_rsa_implicit_rejection();
    test_records_independent();
    free(ec_cert);
    free(ec_key);
    free(rsa_cert);
    free(rsa_key);
    free(rsa2_key);
    return unit_report();
}

/* test_cid.c — RFC 9146 Connection IDs between our two engines: what is
 * negotiated for each combination of settings, the tls12_cid records on
 * the wire (checked against an independent construction of RFC 9146 5.2's
 * additional data), classification for hosts, and the rules that keep a
 * forged or replayed record from moving anything. */
#include "unit.h"
#include "pair.h"
#include "internal.h"

#include <openssl/evp.h>

static char *srv_cert, *srv_key;

/* The last datagram each way, as it was on the wire. */
static uint8_t last_to_server[2048], last_to_client[2048];
static size_t last_to_server_len, last_to_client_len;

static void capture_tap(pair *p, bool to_server, uint8_t *bytes, size_t *len)
{
    (void)p;
    uint8_t *dst = to_server ? last_to_server : last_to_client;
    size_t *dlen = to_server ? &last_to_server_len : &last_to_client_len;
    if (*len <= sizeof last_to_server) {
        memcpy(dst, bytes, *len);
        *dlen = *len;
    }
}

static void configs(dtls_config **c, dtls_config **s, int client_cid, int server_cid,
                    const char *ciphers)
{
    char err[256];
    *s = dtls_config_new();
    *c = dtls_config_new();
    CHECK(dtls_config_set_cert_chain_pem(*s, srv_cert, strlen(srv_cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_key_pem(*s, srv_key, strlen(srv_key), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_add_ca_pem(*c, srv_cert, strlen(srv_cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_connection_id(*c, client_cid) == DTLS_OK);
    CHECK(dtls_config_set_connection_id(*s, server_cid) == DTLS_OK);
    if (ciphers) {
        CHECK(dtls_config_set_ciphers(*c, ciphers, err, sizeof err) == DTLS_OK);
        CHECK(dtls_config_set_ciphers(*s, ciphers, err, sizeof err) == DTLS_OK);
    }
}

static bool connect_pair(pair *p, dtls_config *c, dtls_config *s)
{
    pair_init(p, c, s, 5);
    p->tap = capture_tap;
    dtls_conn_set_servername(p->client.conn, "localhost");
    CHECK(dtls_conn_start(p->client.conn, p->now) == DTLS_OK);
    bool ok = pair_run(p, pair_both_established, 10000);
    CHECK(ok);
    return ok;
}

static bool send_and_check(pair *p, bool from_client, const char *msg)
{
    pair_side *to = from_client ? &p->server : &p->client;
    size_t before = to->app_len;
    CHECK(dtls_conn_send(from_client ? p->client.conn : p->server.conn, p->now,
                         (const uint8_t *)msg, strlen(msg)) == DTLS_OK);
    pair_run(p, pair_never, 100);
    bool ok = to->app_len == before + strlen(msg) && memcmp(to->app + before, msg, strlen(msg)) == 0;
    CHECK(ok);
    return ok;
}

/* What each combination negotiates, and what the records look like. */
static void test_negotiation(void)
{
    static const struct { int client, server; bool on; int to_server_cid, to_client_cid; } cases[] = {
        { 4, 4, true, 4, 4 },    /* both ways */
        { 0, 6, true, 6, 0 },    /* the client wants none, sends the server's */
        { 5, 0, true, 0, 5 },
        { 4, -1, false, 0, 0 },  /* the server does not speak it */
        { -1, 4, false, 0, 0 },  /* the client did not offer */
        { 0, 0, true, 0, 0 },    /* negotiated, but both empty */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dtls_config *c, *s;
        configs(&c, &s, cases[i].client, cases[i].server, NULL);
        pair p;
        if (connect_pair(&p, c, s)) {
            CHECK(dtls_conn_cid_in_use(p.client.conn) == (cases[i].to_server_cid || cases[i].to_client_cid));
            size_t n;
            const uint8_t *cid = dtls_conn_cid(p.server.conn, &n);
            CHECK(n == (size_t)cases[i].to_server_cid);
            send_and_check(&p, true, "from the client");
            /* The client's record carries the server's CID, in the clear. */
            bool cid_record = last_to_server[0] == CT_TLS12_CID;
            CHECK(cid_record == (cases[i].to_server_cid > 0));
            if (cid_record)
                CHECK_MEM(last_to_server + 11, cid, n);
            dtls_dgram_info info;
            dtls_classify(s, last_to_server, last_to_server_len, &info);
            CHECK(info.epoch == 1 && !info.client_hello && info.cid_len == n
                  && (n == 0 || memcmp(info.cid, cid, n) == 0));
            send_and_check(&p, false, "from the server");
            CHECK((last_to_client[0] == CT_TLS12_CID) == (cases[i].to_client_cid > 0));
        }
        pair_free(&p);
        dtls_config_free(c);
        dtls_config_free(s);
    }
}

/* Every AEAD through the explicit-additional-data path, both ways. */
static void test_every_aead(void)
{
    static const char *suites[] = {
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-CCM", "ECDHE-ECDSA-AES128-CCM8",
    };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        dtls_config *c, *s;
        configs(&c, &s, 3, 8, suites[i]);
        pair p;
        if (connect_pair(&p, c, s)) {
            CHECK(send_and_check(&p, true, "x") && send_and_check(&p, false, "yz"));
            char big[1000];
            memset(big, 'b', sizeof big - 1);
            big[sizeof big - 1] = 0;
            CHECK(send_and_check(&p, true, big));
        }
        pair_free(&p);
        dtls_config_free(c);
        dtls_config_free(s);
    }
}

/* A tls12_cid record rebuilt from its parts with plain EVP calls and
 * RFC 9146 5.2's additional data written out here: the engine's record
 * must be byte for byte the same (AES-128-GCM, nonce = salt || epoch||seq). */
static void test_independent_construction(void)
{
    dtls_conn *tx = calloc(1, sizeof *tx);
    dtls_config *cfg = dtls_config_new();
    tx->cfg = cfg;
    tx->version = DTLS1_2_VERSION;
    tx->cid_on = true;
    tx->cid_tx_len = 3;
    tx->cid_tx = (uint8_t *)"\xAA\xBB\xCC";
    uint8_t key[16], salt[4];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x10 + i);
    memcpy(salt, "\x01\x02\x03\x04", 4);
    tx->wr_prot.kind = PROTECT_AEAD;
    CHECK(dtls_aead_init(&tx->wr_prot.u.aead, DTLS_AEAD_AES_128_GCM, key, salt, 1) == 0);
    tx->write_seq[1] = 0x0102030405ull;
    uint8_t out[256];
    dtls_wr w = wr_init(out, sizeof out);
    CHECK(record_write(tx, &w, 1, CT_APPLICATION_DATA, (const uint8_t *)"hello", 5));

    /* Expected: header 25 | FEFD | 0001 | seq | CID | length, then
     * explicit nonce (epoch||seq) | GCM(inner = "hello" || 23) | tag. */
    uint8_t ad[8 + 3 + 2 + 8 + 3 + 2], *a = ad;
    memset(a, 0xFF, 8); a += 8;
    *a++ = 25; *a++ = 3; *a++ = 25;
    *a++ = 0xFE; *a++ = 0xFD;
    const uint8_t epoch_seq[8] = { 0, 1, 0, 1, 2, 3, 4, 5 };
    memcpy(a, epoch_seq, 8); a += 8;
    memcpy(a, "\xAA\xBB\xCC", 3); a += 3;
    *a++ = 0; *a++ = 6;
    uint8_t nonce[12], inner[6] = { 'h', 'e', 'l', 'l', 'o', 23 }, ct[6], tag[16];
    memcpy(nonce, salt, 4);
    memcpy(nonce + 4, epoch_seq, 8);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    CHECK(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, nonce) == 1);
    CHECK(EVP_EncryptUpdate(ctx, NULL, &n, ad, sizeof ad) == 1);
    CHECK(EVP_EncryptUpdate(ctx, ct, &n, inner, sizeof inner) == 1 && n == 6);
    CHECK(EVP_EncryptFinal_ex(ctx, ct + n, &n) == 1);
    CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    uint8_t want[13 + 3 + 8 + 6 + 16] = { 25, 0xFE, 0xFD, 0, 1, 0, 1, 2, 3, 4, 5, 0xAA, 0xBB, 0xCC,
                                          0, 30 };
    memcpy(want + 16, epoch_seq, 8);
    memcpy(want + 24, ct, 6);
    memcpy(want + 30, tag, 16);
    CHECK(w.len == sizeof want);
    CHECK_MEM(out, want, sizeof want);
    protect_cleanup(&tx->wr_prot);
    free(tx);
    dtls_config_free(cfg);
}

/* RFC 9146 6: the host may move the peer only on a record that
 * authenticates and is newer than all before it. */
static void test_newest_and_forgeries(void)
{
    dtls_config *c, *s;
    configs(&c, &s, 4, 4, NULL);
    pair p;
    if (!connect_pair(&p, c, s))
        goto out;
    dtls_conn *srv = p.server.conn;
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"one", 3) == DTLS_OK);
    uint8_t older[2048];
    size_t older_len = last_to_server_len;
    memcpy(older, last_to_server, older_len);
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"two", 3) == DTLS_OK);
    /* Deliver "two" before "one", as if from a new address: two is newest
     * and reports the move (once), one (late) is not and does not. */
    pair_side *sv = &p.server;
    CHECK(sv->inbox.n == 2);
    CHECK(dtls_conn_recv_moved(srv, p.now, sv->inbox.d[1].bytes, sv->inbox.d[1].len) == DTLS_OK);
    CHECK(dtls_conn_last_recv_newest(srv) && sv->moves == 1);
    CHECK(dtls_conn_recv_moved(srv, p.now, sv->inbox.d[0].bytes, sv->inbox.d[0].len) == DTLS_OK);
    CHECK(!dtls_conn_last_recv_newest(srv) && p.server.app_len == 6 && sv->moves == 1);
    /* Replayed: dropped, not newest, no move. */
    uint64_t replays = dtls_conn_stats(srv)->dropped_replay;
    CHECK(dtls_conn_recv_moved(srv, p.now, older, older_len) == DTLS_OK);
    CHECK(!dtls_conn_last_recv_newest(srv) && dtls_conn_stats(srv)->dropped_replay == replays + 1);
    /* Forged (a flipped ciphertext byte, the sequence number pushed ahead):
     * dropped, not newest, no move, the association lives. */
    older[5] = 0x7F;
    older[older_len - 1] ^= 1;
    CHECK(dtls_conn_recv_moved(srv, p.now, older, older_len) == DTLS_OK);
    CHECK(!dtls_conn_last_recv_newest(srv) && dtls_conn_state(srv) == DTLS_STATE_ESTABLISHED);
    CHECK(sv->moves == 1);
    /* Another CID on a fresh record: not ours, dropped. */
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"three", 5) == DTLS_OK);
    memcpy(older, last_to_server, last_to_server_len);
    older[11] ^= 0xFF;
    uint64_t auth = dtls_conn_stats(srv)->dropped_auth;
    CHECK(dtls_conn_recv(srv, p.now, older, last_to_server_len) == DTLS_OK);
    CHECK(dtls_conn_stats(srv)->dropped_auth == auth + 1 && !dtls_conn_last_recv_newest(srv));
    pair_run(&p, pair_never, 100); /* the real one still arrives */
    CHECK(p.server.app_len == 11);
    /* A plain protected record where a CID was agreed: dropped. */
    p.client.conn->cid_tx_len = 0;
    auth = dtls_conn_stats(srv)->dropped_auth;
    size_t got = p.server.app_len;
    CHECK(dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"plain", 5) == DTLS_OK);
    pair_run(&p, pair_never, 100);
    CHECK(p.server.app_len == got && dtls_conn_stats(srv)->dropped_auth == auth + 1);
    pair_free(&p);
    dtls_config_free(c);
    dtls_config_free(s);
    /* And a CID record on an association that has none: dropped. */
    configs(&c, &s, -1, -1, NULL);
    if (connect_pair(&p, c, s)) {
        CHECK(!dtls_conn_cid_in_use(p.server.conn));
        uint8_t fake[64] = { CT_TLS12_CID, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 0, 30 };
        uint64_t bad = dtls_conn_stats(p.server.conn)->dropped_malformed;
        CHECK(dtls_conn_recv(p.server.conn, p.now, fake, 47) == DTLS_OK);
        CHECK(dtls_conn_stats(p.server.conn)->dropped_malformed == bad + 1);
        CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
        send_and_check(&p, true, "still fine");
    }
out:
    pair_free(&p);
    dtls_config_free(c);
    dtls_config_free(s);
}

/* The host's generator names our CIDs. */
static int fixed_cid(void *user, uint8_t *cid, size_t len)
{
    memset(cid, *(int *)user, len);
    return 0;
}

static void test_generator(void)
{
    dtls_config *c, *s;
    configs(&c, &s, 2, 6, NULL);
    int fill = 0x5A;
    dtls_config_set_cid_generator(s, fixed_cid, &fill);
    CHECK(dtls_config_set_connection_id(s, 21) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_connection_id(s, -2) == DTLS_ERR_ARG);
    pair p;
    if (connect_pair(&p, c, s)) {
        size_t n;
        const uint8_t *cid = dtls_conn_cid(p.server.conn, &n);
        CHECK(n == 6 && cid && memcmp(cid, "\x5A\x5A\x5A\x5A\x5A\x5A", 6) == 0);
    }
    pair_free(&p);
    dtls_config_free(c);
    dtls_config_free(s);
}

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &srv_cert, &srv_key, err, sizeof err) == DTLS_OK);
    test_independent_construction();
    test_negotiation();
    test_every_aead();
    test_newest_and_forgeries();
    test_generator();
    free(srv_cert);
    free(srv_key);
    return unit_report();
}

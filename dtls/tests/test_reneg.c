/* test_reneg.c — renegotiation (RFC 5746) between two engines: started by
 * either side, with application data flowing both ways throughout, over a
 * lossy network; the epochs, sessions and identities it moves on; and the
 * refusals: not allowed, too soon, no indication, SCSV, a wrong
 * verify_data, a server without RFC 5746. */
#include "unit.h"
#include "pair.h"
#include "internal.h"

static char *srv_cert, *srv_key, *cli_cert, *cli_key;

typedef struct reneg_opts {
    bool server_allows, client_allows;
    uint64_t interval_ms;
    int cid_len;           /* -1: no CIDs */
    bool client_cert;
    bool psk;
    const char *ciphers;   /* both sides, when set */
    uint16_t min_version, max_version; /* both sides, when set */
    bool no_etm;           /* Encrypt-then-MAC off on both sides */
} reneg_opts;

static void setup(pair *p, const reneg_opts *o)
{
    char err[256];
    dtls_config *s = dtls_config_new(), *c = dtls_config_new();
    dtls_config_set_cert_chain_pem(s, srv_cert, strlen(srv_cert), err, sizeof err);
    dtls_config_set_key_pem(s, srv_key, strlen(srv_key), err, sizeof err);
    dtls_config_add_ca_pem(c, srv_cert, strlen(srv_cert), err, sizeof err);
    if (o->client_cert) {
        dtls_config_add_ca_pem(s, cli_cert, strlen(cli_cert), err, sizeof err);
        dtls_config_set_request_cert(s, 1, 1);
        dtls_config_set_cert_chain_pem(c, cli_cert, strlen(cli_cert), err, sizeof err);
        dtls_config_set_key_pem(c, cli_key, strlen(cli_key), err, sizeof err);
    }
    dtls_config_set_renegotiation(s, o->server_allows, o->interval_ms);
    dtls_config_set_renegotiation(c, o->client_allows, o->interval_ms);
    dtls_config_set_connection_id(s, o->cid_len);
    dtls_config_set_connection_id(c, o->cid_len);
    if (o->psk) {
        static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        dtls_config_set_psk(c, (const uint8_t *)"client1", 7, key, sizeof key);
        dtls_config_set_ciphers(c, "PSK-AES128-CCM8", err, sizeof err);
        dtls_config_set_ciphers(s, "PSK-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256", err, sizeof err);
    }
    if (o->ciphers) {
        CHECK(dtls_config_set_ciphers(c, o->ciphers, err, sizeof err) == DTLS_OK);
        CHECK(dtls_config_set_ciphers(s, o->ciphers, err, sizeof err) == DTLS_OK);
    }
    if (o->min_version) {
        CHECK(dtls_config_set_versions(c, o->min_version, o->max_version) == DTLS_OK);
        CHECK(dtls_config_set_versions(s, o->min_version, o->max_version) == DTLS_OK);
    }
    dtls_config_set_encrypt_then_mac(c, !o->no_etm);
    dtls_config_set_encrypt_then_mac(s, !o->no_etm);
    pair_init(p, c, s, 7);
    dtls_conn_set_servername(p->client.conn, "localhost");
}

static void teardown(pair *p)
{
    dtls_config *c = p->ccfg, *s = p->scfg;
    pair_free(p);
    dtls_config_free(c);
    dtls_config_free(s);
}

static bool start(pair *p, const reneg_opts *o)
{
    setup(p, o);
    CHECK(dtls_conn_start(p->client.conn, p->now) == DTLS_OK);
    bool ok = pair_run(p, pair_both_established, 10000);
    CHECK(ok);
    return ok;
}

static size_t want_client_reneg, want_server_reneg;
static bool no_session_event; /* the new session is not one to resume (no EMS) */
static bool renegotiated_again(pair *p)
{
    return p->client.renegotiations >= want_client_reneg && p->server.renegotiations >= want_server_reneg;
}

/* One datagram delivered (the client's inbox first), else the clock moved
 * to the next deadline. */
static void step(pair *p)
{
    for (int side = 0; side < 2; side++) {
        pair_side *sd = side ? &p->server : &p->client;
        if (!sd->inbox.n)
            continue;
        pair_dgram d = sd->inbox.d[0];
        memmove(sd->inbox.d, sd->inbox.d + 1, (sd->inbox.n - 1) * sizeof d);
        sd->inbox.n--;
        dtls_conn_recv(sd->conn, p->now, d.bytes, d.len);
        free(d.bytes);
        return;
    }
    uint64_t next = dtls_conn_deadline(p->client.conn);
    if (dtls_conn_deadline(p->server.conn) < next)
        next = dtls_conn_deadline(p->server.conn);
    if (next != UINT64_MAX && next > p->now)
        p->now = next;
    dtls_conn_tick(p->client.conn, p->now);
    dtls_conn_tick(p->server.conn, p->now);
}

/* Send one numbered message each way; true once both arrived. */
static void send_both(pair *p, int n)
{
    char msg[16];
    int len = snprintf(msg, sizeof msg, "c%03d", n);
    CHECK(dtls_conn_send(p->client.conn, p->now, (const uint8_t *)msg, (size_t)len) == DTLS_OK);
    len = snprintf(msg, sizeof msg, "s%03d", n);
    CHECK(dtls_conn_send(p->server.conn, p->now, (const uint8_t *)msg, (size_t)len) == DTLS_OK);
}

static size_t sent_each_way; /* messages sent by each side, pings included */

static bool echo_works(pair *p)
{
    sent_each_way++;
    CHECK(dtls_conn_send(p->server.conn, p->now, (const uint8_t *)"pong", 4) == DTLS_OK);
    size_t before = p->server.app_len;
    CHECK(dtls_conn_send(p->client.conn, p->now, (const uint8_t *)"ping", 4) == DTLS_OK);
    pair_run(p, pair_never, 100);
    bool ok = p->server.app_len == before + 4 && memcmp(p->server.app + before, "ping", 4) == 0;
    CHECK(ok);
    return ok;
}

/* A renegotiation started by role, data sent by both sides at every step
 * while it runs; every message arrives (those sent in the old epoch after
 * the peer switched, too). */
static void renegotiate_with_data(pair *p, dtls_role role, size_t round)
{
    dtls_conn *starter = role == DTLS_ROLE_CLIENT ? p->client.conn : p->server.conn;
    uint16_t epoch = p->client.conn->write_epoch;
    size_t sessions = p->client.sessions;
    want_client_reneg = p->client.renegotiations + 1;
    want_server_reneg = p->server.renegotiations + 1;
    CHECK(dtls_conn_renegotiate(starter, p->now) == DTLS_OK);
    CHECK(dtls_conn_renegotiating(starter));
    CHECK(dtls_conn_renegotiate(starter, p->now) == DTLS_ERR_STATE); /* one at a time */
    size_t sent = 0;
    for (int i = 0; i < 400 && !renegotiated_again(p); i++) {
        /* one message each way, then one datagram's worth of progress */
        if (dtls_conn_state(p->client.conn) == DTLS_STATE_ESTABLISHED
            && dtls_conn_state(p->server.conn) == DTLS_STATE_ESTABLISHED && i % 2 == 0) {
            send_both(p, (int)(round * 1000 + sent));
            sent++;
            sent_each_way++;
        }
        step(p);
    }
    CHECK(renegotiated_again(p));
    CHECK(p->client.reneg_error == DTLS_OK && p->server.reneg_error == DTLS_OK);
    CHECK(dtls_conn_state(p->client.conn) == DTLS_STATE_ESTABLISHED);
    CHECK(dtls_conn_state(p->server.conn) == DTLS_STATE_ESTABLISHED);
    CHECK(!dtls_conn_renegotiating(p->client.conn) && !dtls_conn_renegotiating(p->server.conn));
    CHECK(p->client.conn->write_epoch == epoch + 1 && p->client.conn->read_epoch == epoch + 1);
    CHECK(p->server.conn->write_epoch == epoch + 1 && p->server.conn->read_epoch == epoch + 1);
    CHECK(p->client.sessions == sessions + !no_session_event); /* a new session */
    CHECK(sent > 2);
    pair_run(p, pair_never, 2000);
    echo_works(p);
}

/* Every message sent during the renegotiations arrived, each way: those
 * sent in the old epoch after the peer switched, and those of the new
 * epoch that came before its ChangeCipherSpec. */
static void check_all_data(pair *p)
{
    CHECK(p->server.app_records == sent_each_way);
    CHECK(p->client.app_records == sent_each_way);
}

static void test_server_initiated(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .interval_ms = 0, .cid_len = -1 };
    if (start(&p, &o)) {
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 1);
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 2);
        check_all_data(&p);
    }
    teardown(&p);
}

static void test_client_initiated(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .server_allows = true, .interval_ms = 0, .cid_len = -1 };
    if (start(&p, &o)) {
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 2);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 3);
        check_all_data(&p);
    }
    teardown(&p);
}

/* The new handshake's identity: a client certificate asked for again, a
 * PSK identity. */
static void test_identities(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                     .client_cert = true };
    if (start(&p, &o)) {
        free(p.server.conn->peer_cert_der); /* so that only the renegotiation can set it */
        p.server.conn->peer_cert_der = NULL;
        p.server.conn->peer_cert_der_len = 0;
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 1);
        size_t len = 0;
        CHECK(dtls_conn_peer_cert_der(p.server.conn, &len) && len > 0);
        CHECK(dtls_conn_peer_cert_der(p.client.conn, &len) && len > 0);
        check_all_data(&p);
    }
    teardown(&p);
    sent_each_way = 0;
    o = (reneg_opts){ .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                      .psk = true };
    if (start(&p, &o)) {
        CHECK(strcmp(dtls_conn_cipher_name(p.client.conn), "PSK-AES128-CCM8") == 0);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        size_t len = 0;
        const uint8_t *id = dtls_conn_psk_identity(p.server.conn, &len);
        CHECK(id && len == 7 && memcmp(id, "client1", 7) == 0);
        CHECK(strcmp(dtls_conn_cipher_name(p.server.conn), "PSK-AES128-CCM8") == 0);
        /* From PSK to a certificate: the PSK identity is the last
         * handshake's no more. */
        char err[256];
        CHECK(dtls_config_set_ciphers(p.ccfg, "ECDHE-ECDSA-AES128-GCM-SHA256", err, sizeof err)
              == DTLS_OK);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 2);
        CHECK(strcmp(dtls_conn_cipher_name(p.server.conn), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
        len = 0;
        CHECK(dtls_conn_psk_identity(p.server.conn, &len) == NULL && len == 0);
        CHECK(dtls_conn_psk_identity(p.client.conn, &len) == NULL && len == 0);
        CHECK(dtls_conn_peer_cert_der(p.client.conn, &len) && len > 0);
        check_all_data(&p);
    }
    teardown(&p);
}

/* RFC 6347 4.1: after the epoch changed, a late record of the previous
 * epoch is still read (once: its own replay window), for
 * RENEG_PREV_EPOCH_KEEP_MS; after that it is dropped as from an old epoch. */
static void test_late_old_epoch(void)
{
    pair p;
    reneg_opts o = { .server_allows = true, .interval_ms = 0, .cid_len = -1 };
    if (start(&p, &o)) {
        want_client_reneg = want_server_reneg = 1;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        CHECK(pair_run(&p, renegotiated_again, 5000));
        dtls_conn *s = p.server.conn;
        CHECK(s->write_epoch == 2 && p.client.conn->read_epoch == 2);
        uint8_t dgram[256];
        dtls_wr w = wr_init(dgram, sizeof dgram);
        CHECK(record_write(s, &w, 1, CT_APPLICATION_DATA, (const uint8_t *)"late", 4));
        size_t records = p.client.app_records;
        const dtls_stats *st = dtls_conn_stats(p.client.conn);
        uint64_t replays = st->dropped_replay, old = st->dropped_epoch;
        dtls_conn_recv(p.client.conn, p.now, dgram, w.len);
        CHECK(p.client.app_records == records + 1);
        CHECK(memcmp(p.client.app + p.client.app_len - 4, "late", 4) == 0);
        dtls_conn_recv(p.client.conn, p.now, dgram, w.len);
        CHECK(p.client.app_records == records + 1 && st->dropped_replay == replays + 1);
        p.now += RENEG_PREV_EPOCH_KEEP_MS;
        dtls_conn_tick(p.client.conn, p.now);
        dtls_conn_tick(p.server.conn, p.now);
        w = wr_init(dgram, sizeof dgram);
        CHECK(record_write(s, &w, 1, CT_APPLICATION_DATA, (const uint8_t *)"gone", 4));
        dtls_conn_recv(p.client.conn, p.now, dgram, w.len);
        CHECK(p.client.app_records == records + 1 && st->dropped_epoch == old + 1);
        echo_works(&p);
    }
    teardown(&p);
}

/* Over a lossy network (drops, duplicates, reordering) both kinds still
 * complete, by the retransmission timers. */
/* Over a lossy network (resends of messages framed in the old epoch, with
 * its keys): on the default AEAD suite, on a CBC one with and without
 * Encrypt-then-MAC, and in DTLS 1.0. */
static void lossy_case(const reneg_opts *o);
static void test_lossy(void)
{
    reneg_opts o = { .server_allows = true, .client_allows = true, .interval_ms = 0, .cid_len = -1 };
    lossy_case(&o);
    o.ciphers = "ECDHE-ECDSA-AES128-SHA256";
    lossy_case(&o);
    o.no_etm = true;
    lossy_case(&o);
    o.ciphers = "ECDHE-ECDSA-AES128-SHA";
    o.min_version = o.max_version = DTLS_VERSION_1_0;
    lossy_case(&o);
}

static void lossy_case(const reneg_opts *o)
{
    pair p;
    if (start(&p, o)) {
        for (int round = 0; round < 6; round++) {
            p.drop = 200, p.dup = 100, p.reorder = 200;
            want_client_reneg = p.client.renegotiations + 1;
            want_server_reneg = p.server.renegotiations + 1;
            dtls_conn *starter = round % 2 ? p.server.conn : p.client.conn;
            CHECK(dtls_conn_renegotiate(starter, p.now) == DTLS_OK);
            CHECK(pair_run(&p, renegotiated_again, 120000));
            CHECK(p.client.reneg_error == DTLS_OK && p.server.reneg_error == DTLS_OK);
            p.drop = p.dup = p.reorder = 0;
            pair_run(&p, pair_never, 3000);
            CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_ESTABLISHED);
            CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
            echo_works(&p);
        }
        CHECK(p.client.conn->write_epoch == 7 && p.server.conn->read_epoch == 7);
    }
    teardown(&p);
}

/* Connection IDs stay in use across renegotiations, both ways, with data
 * flowing; the peer's CID is the one its renegotiation asked for. */
static void test_cids(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .server_allows = true, .client_allows = true, .interval_ms = 0, .cid_len = 4 };
    if (start(&p, &o)) {
        size_t len;
        const uint8_t *server_cid = dtls_conn_cid(p.server.conn, &len);
        uint8_t before[4];
        CHECK(server_cid && len == 4);
        memcpy(before, server_cid, 4);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 2);
        CHECK(dtls_conn_cid_in_use(p.client.conn) && dtls_conn_cid_in_use(p.server.conn));
        CHECK(p.client.conn->cid_tx_len == 4 && memcmp(p.client.conn->cid_tx, before, 4) == 0);
        check_all_data(&p);
    }
    teardown(&p);
}

/* The peer refuses (not allowed): the starter hears no_renegotiation, the
 * association goes on in its epoch. */
static void test_refused(void)
{
    pair p;
    reneg_opts o = { .interval_ms = 0, .cid_len = -1 };
    if (start(&p, &o)) {
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 2000);
        CHECK(p.client.renegotiations == 1);
        CHECK(p.client.reneg_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION));
        CHECK(p.server.renegotiations == 0);
        CHECK(!dtls_conn_renegotiating(p.client.conn));
        CHECK(p.client.conn->write_epoch == 1);
        echo_works(&p);
        /* and a server's HelloRequest to a client that does not allow it */
        CHECK(dtls_conn_renegotiate(p.server.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 2000);
        CHECK(p.server.renegotiations == 1);
        CHECK(p.server.reneg_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION));
        echo_works(&p);
    }
    teardown(&p);
}

/* At most one peer-initiated renegotiation per interval after the last
 * handshake; sooner is refused and the association goes on. */
static void test_interval(void)
{
    pair p;
    reneg_opts o = { .server_allows = true, .interval_ms = 60000, .cid_len = -1 };
    if (start(&p, &o)) {
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 2000);
        CHECK(p.client.reneg_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION));
        p.now += 60000;
        want_client_reneg = p.client.renegotiations + 1;
        want_server_reneg = 1;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        CHECK(pair_run(&p, renegotiated_again, 5000));
        CHECK(p.client.reneg_error == DTLS_OK);
        p.now += 30000;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 2000);
        CHECK(p.client.reneg_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION));
        CHECK(p.server.renegotiations == 1);
        echo_works(&p);
    }
    teardown(&p);
}

/* Our HelloRequest is never answered: given up at the handshake timeout,
 * the association goes on. One at a time; none once the epochs run out. */
static void test_unanswered_and_limits(void)
{
    pair p;
    reneg_opts o = { .client_allows = true, .interval_ms = 0, .cid_len = -1 };
    if (start(&p, &o)) {
        p.drop = 1000;
        CHECK(dtls_conn_renegotiate(p.server.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 70000);
        CHECK(p.server.renegotiations == 1 && p.server.reneg_error == DTLS_ERR_TIMEOUT);
        CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_ESTABLISHED);
        p.drop = 0;
        echo_works(&p);
        p.client.conn->write_epoch = p.client.conn->read_epoch = UINT16_MAX - 1;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_ERR_STATE);
    }
    teardown(&p);
}

/* A ClientHello made by hand, sent in the client's current epoch as a
 * renegotiation: suites, then optionally the SCSV and renegotiation_info. */
static void send_hello(pair *p, bool scsv, const uint8_t *info, size_t info_len)
{
    uint8_t msg[256];
    dtls_wr w = wr_init(msg, sizeof msg);
    wr_u8(&w, HT_CLIENT_HELLO);
    size_t len_at = w.len;
    wr_u24(&w, 0);
    wr_u16(&w, 0);  /* message_seq 0: a new handshake */
    wr_u24(&w, 0);
    wr_u24(&w, 0);
    size_t body = w.len;
    wr_u16(&w, DTLS1_2_VERSION);
    for (int i = 0; i < 32; i++)
        wr_u8(&w, (uint8_t)i);
    wr_u8(&w, 0); /* session_id */
    wr_u8(&w, 0); /* cookie */
    wr_u16(&w, scsv ? 4 : 2);
    wr_u16(&w, 0xC02B);
    if (scsv)
        wr_u16(&w, DTLS_SCSV_RENEGOTIATION);
    wr_u8(&w, 1);
    wr_u8(&w, 0);
    if (info) {
        wr_u16(&w, (uint16_t)(4 + 1 + info_len));
        wr_u16(&w, EXT_RENEGOTIATION_INFO);
        wr_u16(&w, (uint16_t)(1 + info_len));
        wr_u8(&w, (uint8_t)info_len);
        wr_bytes(&w, info, info_len);
    }
    size_t n = w.len - body;
    for (int k = 0; k < 2; k++) { /* length, then fragment_length */
        size_t at = k ? body - 3 : len_at;
        msg[at] = (uint8_t)(n >> 16), msg[at + 1] = (uint8_t)(n >> 8), msg[at + 2] = (uint8_t)n;
    }
    CHECK(wr_ok(&w));
    CHECK(record_send(p->client.conn, CT_HANDSHAKE, msg, w.len) == DTLS_OK);
    pair_run(p, pair_never, 1000);
}

static void expect_handshake_failure(pair *p)
{
    CHECK(p->server.closed && dtls_err_alert(p->server.close_error) == DTLS_ALERT_HANDSHAKE_FAILURE);
    CHECK(p->client.nalerts >= 1 && p->client.alerts_received[p->client.nalerts - 1] == DTLS_ALERT_HANDSHAKE_FAILURE);
}

/* RFC 5746 3.7: a renegotiation ClientHello without renegotiation_info,
 * with the SCSV (even beside a right renegotiation_info), or with a wrong
 * client_verify_data is a fatal handshake_failure. */
static void test_indication_required(void)
{
    reneg_opts o = { .server_allows = true, .interval_ms = 0, .cid_len = -1 };
    for (int variant = 0; variant < 4; variant++) {
        pair p;
        if (start(&p, &o)) {
            uint8_t vd[12];
            memcpy(vd, p.client.conn->reneg.verify_data, 12);
            if (variant == 0) {
                send_hello(&p, false, NULL, 0);
            } else if (variant == 1) {
                send_hello(&p, true, vd, 12);
            } else if (variant == 2) {
                vd[11] ^= 1;
                send_hello(&p, false, vd, 12);
            } else {
                send_hello(&p, false, vd, 0); /* empty, as in a first handshake */
            }
            expect_handshake_failure(&p);
        }
        teardown(&p);
    }
    /* The control: the same hand-made hello with the right value gets a
     * ServerHello (the handshake then goes nowhere: no client behind it). */
    pair p;
    if (start(&p, &o)) {
        send_hello(&p, false, p.client.conn->reneg.verify_data, 12);
        CHECK(!p.server.closed && dtls_conn_renegotiating(p.server.conn));
    }
    teardown(&p);
}

/* A wrong verify_data through the real engines: the client's (the server
 * refuses the hello), and the server's (the client refuses the
 * ServerHello). */
static void test_wrong_verify_data(void)
{
    reneg_opts o = { .server_allows = true, .client_allows = true, .interval_ms = 0, .cid_len = -1 };
    pair p;
    if (start(&p, &o)) {
        p.client.conn->reneg.verify_data[0] ^= 0x80;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 2000);
        CHECK(dtls_err_alert(p.server.close_error) == DTLS_ALERT_HANDSHAKE_FAILURE);
        CHECK(p.client.closed && p.client.renegotiations == 1
              && dtls_err_alert(p.client.reneg_error) == DTLS_ALERT_HANDSHAKE_FAILURE);
    }
    teardown(&p);
    if (start(&p, &o)) {
        p.server.conn->reneg.verify_data[23] ^= 0x01;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_any_closed, 2000);
        CHECK(p.client.closed && dtls_err_alert(p.client.close_error) == DTLS_ALERT_HANDSHAKE_FAILURE);
    }
    teardown(&p);
}

/* A server without RFC 5746: renegotiation_info taken out of its
 * ServerHello on the way (and out of its own transcript, so that only the
 * indication differs). */
static void strip_info(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    static const uint8_t info[5] = { 0xFF, 0x01, 0x00, 0x01, 0x00 };
    if (to_server || *len < 13 + 12 || b[0] != CT_HANDSHAKE || b[3] || b[4] || b[13] != HT_SERVER_HELLO)
        return;
    size_t rec_len = (size_t)b[11] << 8 | b[12];
    uint8_t *m = b + 13, *end = m + rec_len;
    uint8_t *at = NULL;
    for (uint8_t *q = m; q + 5 <= end; q++)
        if (memcmp(q, info, 5) == 0)
            at = q;
    if (!at)
        return;
    memmove(at, at + 5, (size_t)(b + *len - at - 5));
    *len -= 5;
    rec_len -= 5;
    b[11] = (uint8_t)(rec_len >> 8), b[12] = (uint8_t)rec_len;
    uint32_t mlen = (uint32_t)rec_len - 12;
    m[1] = (uint8_t)(mlen >> 16), m[2] = (uint8_t)(mlen >> 8), m[3] = (uint8_t)mlen;
    m[9] = m[1], m[10] = m[2], m[11] = m[3];
    size_t ext_at = 12 + 2 + 32 + 1 + m[12 + 34] + 3;
    unsigned ext_len = ((unsigned)m[ext_at] << 8 | m[ext_at + 1]) - 5;
    m[ext_at] = (uint8_t)(ext_len >> 8), m[ext_at + 1] = (uint8_t)ext_len;
    /* the server's transcript: ClientHello, then this ServerHello */
    dtls_hs *hs = p->server.conn->hs;
    dtls_rd r = rd_init(hs->transcript, hs->transcript_len);
    rd_skip(&r, 1);
    uint32_t ch_len = rd_u24(&r);
    size_t sh_at = 12 + ch_len, old_end = sh_at + 12 + mlen + 5;
    CHECK(hs->transcript_len >= old_end && hs->transcript[sh_at] == HT_SERVER_HELLO);
    memcpy(hs->transcript + sh_at, m, 12 + mlen);
    memmove(hs->transcript + sh_at + 12 + mlen, hs->transcript + old_end, hs->transcript_len - old_end);
    hs->transcript_len -= 5;
}

static void test_legacy_server(void)
{
    reneg_opts o = { .server_allows = true, .client_allows = true, .interval_ms = 0, .cid_len = -1 };
    pair p;
    setup(&p, &o);
    p.tap = strip_info;
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    pair_run(&p, pair_any_closed, 5000);
    CHECK(p.client.closed && dtls_err_alert(p.client.close_error) == DTLS_ALERT_HANDSHAKE_FAILURE);
    CHECK(!p.client.established);
    teardown(&p);

    setup(&p, &o);
    dtls_config_set_allow_legacy_server(p.ccfg, 1);
    p.tap = strip_info;
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    CHECK(pair_run(&p, pair_both_established, 5000));
    p.tap = NULL;
    echo_works(&p);
    /* never renegotiates: not itself, and not when the server asks */
    CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_ERR_STATE);
    CHECK(dtls_conn_renegotiate(p.server.conn, p.now) == DTLS_OK);
    pair_run(&p, pair_never, 2000);
    CHECK(p.server.reneg_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION));
    CHECK(p.client.renegotiations == 0);
    echo_works(&p);
    teardown(&p);
}

/* Renegotiations on CBC-HMAC suites (RFC 7366 Encrypt-then-MAC on and
 * off) and in DTLS 1.0, started by either side, data flowing both ways
 * throughout; and ones that switch between an AEAD and a CBC suite, and
 * between Encrypt-then-MAC and MAC-then-encrypt, where the old epoch's
 * records must still be opened the old way. */
/* Records on the wire in another version than the session's (RFC 6347
 * 4.1: the record version is the negotiated one; OpenSSL drops others). */
static uint16_t wire_version;
static size_t wrong_versions;
static void version_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    (void)to_server;
    for (size_t off = 0; off + 13 <= *len;) {
        uint16_t v = (uint16_t)(b[off + 1] << 8 | b[off + 2]);
        if (wire_version && v != wire_version)
            wrong_versions++;
        off += 13 + (size_t)(b[off + 11] << 8 | b[off + 12]);
    }
}

static void reneg_cbc_case(const char *ciphers, bool etm, uint16_t min, uint16_t max,
                           uint16_t want_version)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                     .ciphers = ciphers, .no_etm = !etm, .min_version = min, .max_version = max };
    if (start(&p, &o)) {
        CHECK(p.client.conn->version == want_version && p.server.conn->version == want_version);
        CHECK(dtls_conn_encrypt_then_mac(p.client.conn) == etm);
        wire_version = want_version;
        wrong_versions = 0;
        p.tap = version_tap;
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 2);
        CHECK(p.client.conn->version == want_version && p.server.conn->version == want_version);
        CHECK(dtls_conn_encrypt_then_mac(p.client.conn) == etm);
        CHECK(dtls_conn_encrypt_then_mac(p.server.conn) == etm);
        CHECK(wrong_versions == 0);
        p.tap = NULL;
        wire_version = 0;
        check_all_data(&p);
    }
    teardown(&p);
}

/* A renegotiation keeps the session's version even when both could now
 * speak a newer one (as OpenSSL does; RFC 6347 4.1 record versions). */
static void test_version_kept(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                     .ciphers = "ECDHE-ECDSA-AES128-SHA", .min_version = DTLS_VERSION_1_0,
                     .max_version = DTLS_VERSION_1_2 };
    setup(&p, &o);
    CHECK(dtls_config_set_versions(p.scfg, DTLS_VERSION_1_0, DTLS_VERSION_1_0) == DTLS_OK);
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    if (pair_run(&p, pair_both_established, 10000)) {
        CHECK(p.server.conn->version == DTLS_VERSION_1_0);
        CHECK(dtls_config_set_versions(p.scfg, DTLS_VERSION_1_0, DTLS_VERSION_1_2) == DTLS_OK);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 2);
        CHECK(p.client.conn->version == DTLS_VERSION_1_0 && p.server.conn->version == DTLS_VERSION_1_0);
        check_all_data(&p);
        /* A server that answers a renegotiation in another version: the
         * client refuses it. */
        p.server.conn->version = DTLS_VERSION_1_2;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 5000);
        CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_CLOSED);
        CHECK(p.server.nalerts >= 1
              && p.server.alerts_received[p.server.nalerts - 1] == DTLS_ALERT_PROTOCOL_VERSION);
    } else {
        CHECK(false);
    }
    teardown(&p);
}

/* Renegotiations that switch the record protection: AEAD to CBC, EtM to
 * MAC-then-encrypt and back, CBC to AEAD; the old epoch's late records
 * are still opened the old way. The server's preference decides. */
static void test_switch_protection(void)
{
    pair p;
    sent_each_way = 0;
    char err[256];
    const char *both = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256";
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                     .ciphers = both };
    if (start(&p, &o)) {
        CHECK(strcmp(dtls_conn_cipher_name(p.client.conn), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
        CHECK(dtls_config_set_ciphers(p.scfg, "ECDHE-ECDSA-AES128-SHA256", err, sizeof err) == DTLS_OK);
        /* While it runs (new keys derived, not in use), the suite in use
         * is still the old one. */
        want_client_reneg = p.client.renegotiations + 1;
        want_server_reneg = p.server.renegotiations + 1;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        for (int i = 0; i < 200 && !(p.client.conn->hs && p.client.conn->pending_rd_ready); i++)
            step(&p);
        CHECK(p.client.conn->hs && p.client.conn->pending_rd_ready);
        CHECK(strcmp(dtls_conn_cipher_name(p.client.conn), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
        CHECK(!dtls_conn_encrypt_then_mac(p.client.conn));
        CHECK(pair_run(&p, renegotiated_again, 10000));
        CHECK(echo_works(&p));
        CHECK(strcmp(dtls_conn_cipher_name(p.client.conn), "ECDHE-ECDSA-AES128-SHA256") == 0);
        CHECK(dtls_conn_encrypt_then_mac(p.client.conn) && dtls_conn_encrypt_then_mac(p.server.conn));
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 3); /* CBC with EtM again */
        CHECK(dtls_conn_encrypt_then_mac(p.client.conn) && dtls_conn_encrypt_then_mac(p.server.conn));
        CHECK(dtls_config_set_ciphers(p.scfg, both, err, sizeof err) == DTLS_OK);
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 4);
        CHECK(strcmp(dtls_conn_cipher_name(p.server.conn), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
        CHECK(!dtls_conn_encrypt_then_mac(p.client.conn));
        check_all_data(&p);
    }
    teardown(&p);
}

/* RFC 7366 3.1: with Encrypt-then-MAC in use, a renegotiation to a CBC
 * suite without it is a downgrade: handshake_failure, the association
 * ends. The server catches its own choice; a client catches a server that
 * does not (here the server's record of EtM is cleared so that it lets its
 * EtM-less choice through, as a server without the rule would). From
 * MAC-then-encrypt up to EtM is allowed. */
static void test_etm_not_dropped(void)
{
    for (int catcher = 0; catcher < 2; catcher++) {
        pair p;
        reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                         .ciphers = "ECDHE-ECDSA-AES128-SHA256" };
        if (start(&p, &o)) {
            CHECK(dtls_conn_encrypt_then_mac(p.client.conn) && dtls_conn_encrypt_then_mac(p.server.conn));
            dtls_config_set_encrypt_then_mac(p.scfg, 0);
            if (catcher == 1)
                p.server.conn->etm = false;
            CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
            pair_run(&p, pair_never, 5000);
            CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_CLOSED);
            CHECK(dtls_conn_state(p.server.conn) == DTLS_STATE_CLOSED);
            /* The catcher sent the alert; its peer received it. */
            pair_side *to = catcher == 0 ? &p.client : &p.server;
            CHECK(to->nalerts == 1 && to->alerts_received[0] == DTLS_ALERT_HANDSHAKE_FAILURE);
        }
        teardown(&p);
    }
    /* Upwards: MAC-then-encrypt, then a renegotiation with EtM. */
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                     .ciphers = "ECDHE-ECDSA-AES128-SHA256" };
    setup(&p, &o);
    dtls_config_set_encrypt_then_mac(p.scfg, 0);
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    if (pair_run(&p, pair_both_established, 10000)) {
        CHECK(!dtls_conn_encrypt_then_mac(p.client.conn));
        dtls_config_set_encrypt_then_mac(p.scfg, 1);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        CHECK(dtls_conn_encrypt_then_mac(p.client.conn) && dtls_conn_encrypt_then_mac(p.server.conn));
        check_all_data(&p);
    }
    teardown(&p);
}

/* CIDs are in use (an AEAD suite) and the server now prefers a CBC one:
 * a renegotiation may not drop the CIDs, so it keeps to an AEAD suite
 * rather than turning CIDs off under the running epoch. */
static void test_cids_keep_aead(void)
{
    pair p;
    sent_each_way = 0;
    char err[256];
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = 4,
                     .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256" };
    if (start(&p, &o)) {
        CHECK(dtls_conn_cid_in_use(p.client.conn) && dtls_conn_cid_in_use(p.server.conn));
        CHECK(dtls_config_set_ciphers(p.scfg, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256",
                                      err, sizeof err) == DTLS_OK);
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        renegotiate_with_data(&p, DTLS_ROLE_SERVER, 2);
        CHECK(strcmp(dtls_conn_cipher_name(p.server.conn), "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
        CHECK(dtls_conn_cid_in_use(p.client.conn) && dtls_conn_cid_in_use(p.server.conn));
        check_all_data(&p);
    }
    teardown(&p);
}

/* getSession() is the association's latest session: after a
 * renegotiation whose session cannot be resumed (no extended master
 * secret), not the one it replaced. */
static void test_session_replaced(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1 };
    if (start(&p, &o)) {
        uint8_t *blob = NULL;
        size_t len = 0;
        CHECK(dtls_conn_get_session(p.client.conn, &blob, &len) == DTLS_OK);
        free(blob);
        dtls_config_set_extended_master_secret(p.scfg, 0);
        size_t sessions = p.client.sessions;
        want_client_reneg = p.client.renegotiations + 1;
        want_server_reneg = p.server.renegotiations + 1;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, renegotiated_again, 10000);
        CHECK(renegotiated_again(&p) && p.client.reneg_error == DTLS_OK);
        CHECK(p.client.sessions == sessions); /* nothing new to resume */
        blob = NULL;
        CHECK(dtls_conn_get_session(p.client.conn, &blob, &len) == DTLS_ERR_STATE);
        free(blob);
    }
    teardown(&p);
}

/* The client's workaround for a server that answers a renegotiation from
 * its last handshake's randoms (reneg_server_random_check) only where the
 * handshake still binds fresh material: an ephemeral key exchange and the
 * extended master secret. A plain-PSK server without it that merely
 * repeats its server_random must not make the client derive the previous
 * master secret (same premaster, same randoms: no new keys at all). */
static void test_repeated_server_random(void)
{
    pair p;
    sent_each_way = 0;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1,
                     .psk = true };
    setup(&p, &o);
    dtls_config_set_extended_master_secret(p.ccfg, 0);
    dtls_config_set_extended_master_secret(p.scfg, 0);
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    if (pair_run(&p, pair_both_established, 10000) && p.client.conn->reneg.randoms) {
        /* the server's next random is its last server_random */
        memcpy(p.scfg->rand_pool, p.client.conn->reneg.randoms + 32, 32);
        p.scfg->rand_left = sizeof p.scfg->rand_pool;
        no_session_event = true;
        renegotiate_with_data(&p, DTLS_ROLE_CLIENT, 1);
        no_session_event = false;
        CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_ESTABLISHED);
        check_all_data(&p);
    } else {
        CHECK(false);
    }
    teardown(&p);
}

/* A server answering from its last randoms with another certificate:
 * the old-randoms signature proves nothing for the new identity, so the
 * client stops at the Certificate (before the signature check). */
static void test_repeated_random_new_cert(void)
{
    pair p;
    char err[256], *cert2 = NULL, *key2 = NULL;
    reneg_opts o = { .client_allows = true, .server_allows = true, .interval_ms = 0, .cid_len = -1 };
    CHECK(dtls_make_self_signed("localhost", 30, &cert2, &key2, err, sizeof err) == DTLS_OK);
    if (start(&p, &o) && p.client.conn->reneg.randoms) {
        dtls_config_add_ca_pem(p.ccfg, cert2, strlen(cert2), err, sizeof err);
        dtls_config_set_cert_chain_pem(p.scfg, cert2, strlen(cert2), err, sizeof err);
        dtls_config_set_key_pem(p.scfg, key2, strlen(key2), err, sizeof err);
        memcpy(p.scfg->rand_pool, p.client.conn->reneg.randoms + 32, 32);
        p.scfg->rand_left = sizeof p.scfg->rand_pool;
        CHECK(dtls_conn_renegotiate(p.client.conn, p.now) == DTLS_OK);
        pair_run(&p, pair_never, 5000);
        CHECK(dtls_conn_state(p.client.conn) == DTLS_STATE_CLOSED);
        CHECK(p.server.nalerts >= 1
              && p.server.alerts_received[p.server.nalerts - 1] == DTLS_ALERT_HANDSHAKE_FAILURE);
    }
    teardown(&p);
    free(cert2);
    free(key2);
}

static void test_cbc_suites(void)
{
    reneg_cbc_case("ECDHE-ECDSA-AES128-SHA256", true, 0, 0, DTLS_VERSION_1_2);
    reneg_cbc_case("ECDHE-ECDSA-AES128-SHA256", false, 0, 0, DTLS_VERSION_1_2);
    reneg_cbc_case("ECDHE-ECDSA-AES128-SHA", true, DTLS_VERSION_1_0, DTLS_VERSION_1_0,
                   DTLS_VERSION_1_0);
    reneg_cbc_case("ECDHE-ECDSA-AES128-SHA", false, DTLS_VERSION_1_0, DTLS_VERSION_1_0,
                   DTLS_VERSION_1_0);
}

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &srv_cert, &srv_key, err, sizeof err) == DTLS_OK);
    CHECK(dtls_make_self_signed("test-client", 30, &cli_cert, &cli_key, err, sizeof err) == DTLS_OK);
    test_server_initiated();
    test_client_initiated();
    test_identities();
    test_late_old_epoch();
    test_lossy();
    test_cids();
    test_refused();
    test_interval();
    test_unanswered_and_limits();
    test_indication_required();
    test_wrong_verify_data();
    test_legacy_server();
    test_cbc_suites();
    test_version_kept();
    test_switch_protection();
    test_etm_not_dropped();
    test_cids_keep_aead();
    test_session_replaced();
    test_repeated_server_random();
    test_repeated_random_new_cert();
    free(srv_cert);
    free(srv_key);
    free(cli_cert);
    free(cli_key);
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

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
    CHECK(p->client.sessions == sessions + 1); /* a new session */
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

int main(void)
{
    char err[256];
    CHECK(dtls_make_self_signed("localhost", 30, &srv_cert, &srv_key, err, sizeof err) == DTLS_OK);
    CHECK(dtls_make_self_signed("test-client", 30, &cli_cert, &cli_key, err, sizeof err) == DTLS_OK);
    test_server_initiated();
    test_client_initiated();
    free(srv_cert);
    free(srv_key);
    free(cli_cert);
    free(cli_key);
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

/* test_rt_cid.c — routing by Connection ID in the runtime (RFC 9146), over
 * loopback: a server that asks for 8-byte CIDs and a client that asks for
 * none. From a second socket (another source port) come a record with an
 * unknown CID, and a forged record carrying the association's real CID:
 * both are dropped, neither moves the peer, and the session still echoes
 * afterwards. (That a genuine, newest record does move it is shown by
 * spec/interop/cid_relay.sh and the Mbed TLS peers; replays by test_cid.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_internal.h"
#include "rt_test.h"

static rt_loop *loop;
static rt_server *server;
static rt_conn *client;
static rt_timer *step_timer, *deadline_timer;
static struct sockaddr_in server_addr;
static int other_fd = -1;
static int moves, echoes, step;
static rt_sockname peer_before;

static void server_message(void *host, rt_conn *conn, const uint8_t *data, size_t len)
{
    (void)host;
    rt_conn_send(conn, data, len, NULL, NULL, 0);
}

static void server_moved(void *host, rt_conn *conn, const rt_sockname *old)
{
    (void)host, (void)conn, (void)old;
    moves++;
}

static rt_conn *server_side(void)
{
    return rt_list_empty(&server->conns) ? NULL : RT_CONTAINER(server->conns.next, rt_conn, link);
}

/* A tls12_cid record from the other socket: epoch 1, a sequence number far
 * ahead of anything sent, the given CID, and bytes no key made. */
static void send_forged(const uint8_t cid[8])
{
    uint8_t rec[13 + 8 + 40] = { 25, 0xFE, 0xFD, 0, 1, 0, 0, 0x7F, 0, 0, 0 };
    memcpy(rec + 11, cid, 8);
    rec[19] = 0;
    rec[20] = 40;
    for (size_t i = 21; i < sizeof rec; i++)
        rec[i] = (uint8_t)(i * 13);
    CHECK(sendto(other_fd, rec, sizeof rec, 0, (struct sockaddr *)&server_addr, sizeof server_addr)
          == (ssize_t)sizeof rec);
}

static void next_step(void *arg)
{
    (void)arg;
    rt_conn *sc = server_side();
    if (client == NULL || sc == NULL)
        return;
    size_t n = 0;
    const uint8_t *cid = dtls_conn_cid(sc->engine, &n);
    switch (step++) {
    case 0: {
        CHECK(cid != NULL && n == 8);
        rt_conn_peer(sc, &peer_before);
        uint8_t unknown[8];
        memcpy(unknown, cid, 8);
        unknown[7] ^= 0x5A;
        send_forged(unknown);
        break;
    }
    case 1:
        CHECK(server->dropped_unknown_cid == 1);
        send_forged(cid);
        break;
    case 2: {
        rt_sockname now;
        rt_conn_peer(sc, &now);
        CHECK(moves == 0 && now.port == peer_before.port);
        CHECK(rt_conn_established(sc) && server->conn_count == 1);
        CHECK(rt_conn_send(client, (const uint8_t *)"still here", 10, NULL, NULL, 0) == 0);
        break;
    }
    default:
        rt_timer_stop(step_timer);
        rt_conn_close(client);
        rt_server_close(server);
        rt_timer_stop(deadline_timer);
    }
}

static void client_secure(void *host, rt_conn *conn)
{
    (void)host, (void)conn;
    CHECK(rt_conn_cid_in_use(conn));
    rt_timer_start(step_timer, 50, 100);
}

static void client_message(void *host, rt_conn *conn, const uint8_t *data, size_t len)
{
    (void)host, (void)conn;
    if (len == 10 && memcmp(data, "still here", 10) == 0)
        echoes++;
}

static void client_closed(void *host, rt_conn *conn)
{
    (void)host, (void)conn;
    client = NULL;
}

static void give_up(void *arg)
{
    (void)arg;
    rt_timer_stop(step_timer);
    if (client)
        rt_conn_close(client);
    rt_server_close(server);
}

int main(void)
{
    char err[256];
    loop = rt_loop_new();
    rt_tls_options so;
    rt_test_psk_options(&so, NULL);
    so.connection_id = 8;
    rt_handlers sh = { .conn_message = server_message, .psk_lookup = rt_test_psk_lookup,
                       .conn_moved = server_moved };
    int port = 0;
    server = rt_test_server(loop, &so, &sh, &port);
    uv_ip4_addr("127.0.0.1", port, &server_addr);
    other_fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(other_fd >= 0);

    rt_tls_options co;
    rt_test_psk_options(&co, "cid");
    co.connection_id = 0;
    rt_handlers ch = { .conn_secure = client_secure, .conn_message = client_message,
                       .conn_closed = client_closed };
    client = rt_client_connect(loop, 4, "127.0.0.1", port, &co, &ch, NULL, err, sizeof err);
    CHECK(client != NULL);
    if (!client)
        return 1;
    step_timer = rt_timer_new(loop, next_step, NULL);
    deadline_timer = rt_timer_new(loop, give_up, NULL);
    rt_timer_start(deadline_timer, 10000, 0);
    CHECK(rt_conn_start_handshake(client) == 0);
    rt_loop_run(loop);

    CHECK(step >= 4);
    CHECK(moves == 0);
    CHECK(echoes == 1);
    close(other_fd);
    rt_timer_free(step_timer);
    rt_timer_free(deadline_timer);
    rt_loop_free(loop);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

/* test_rt_restart.c — a client that restarts in the middle of a handshake,
 * from the same address and port, gets through at once (RFC 6347 4.2.8)
 * instead of being taken for a retransmission until the old handshake
 * times out. The first client is a handshake from 127.0.0.1:P that stops
 * after its cookie; the second a real client bound to P.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "rt_test.h"

static rt_server *server;
static rt_timer *deadline_timer;
static bool secure;
static int abandoned;

static void client_secured(void *host, rt_conn *conn)
{
    (void)host;
    secure = true;
    rt_conn_close(conn);
    rt_server_close(server);
    rt_timer_stop(deadline_timer);
}

static void server_conn_closed(void *host, rt_conn *conn)
{
    (void)host, (void)conn;
    abandoned++;
}

static void give_up(void *arg)
{
    (void)arg;
    rt_server_close(server);
}

/* A free loopback port (bound, read, released). */
static int free_port(rt_loop *loop)
{
    uv_udp_t probe;
    struct sockaddr_in any;
    int port = 0;
    uv_ip4_addr("127.0.0.1", 0, &any);
    uv_udp_init(&loop->uv, &probe);
    if (uv_udp_bind(&probe, (const struct sockaddr *)&any, 0) == 0) {
        struct sockaddr_in name;
        int len = sizeof name;
        if (uv_udp_getsockname(&probe, (struct sockaddr *)&name, &len) == 0)
            port = ntohs(name.sin_port);
    }
    uv_close((uv_handle_t *)&probe, NULL);
    uv_run(&loop->uv, UV_RUN_NOWAIT);
    return port;
}

int main(void)
{
    char err[256];
    rt_loop *loop = rt_loop_new();
    rt_tls_options so;
    rt_test_psk_options(&so, NULL);
    /* The stalled association must not resend its flight while the test
     * sets up: the restarted client, on the same port, would take that
     * ServerHello for its own (a loaded sanitizer run stalls > 1 s). */
    so.retransmit_ms = 10000;
    so.max_retransmit_ms = 10000;
    rt_handlers sh = { .conn_closed = server_conn_closed, .psk_lookup = rt_test_psk_lookup };
    int port = 0;
    server = rt_test_server(loop, &so, &sh, &port);
    int client_port = free_port(loop);
    CHECK(client_port > 0);
    rt_addr from;
    CHECK(rt_addr_parse(&from, 4, "127.0.0.1", client_port) == 0);
    CHECK(rt_test_stalled_handshake(loop, server, &from));
    CHECK(server->handshake_count == 1);

    rt_tls_options co;
    rt_test_psk_options(&co, "restarted");
    co.local_address = "127.0.0.1";
    co.local_port = client_port;
    rt_handlers ch = { .conn_secure = client_secured };
    rt_conn *c = rt_client_connect(loop, 4, "127.0.0.1", port, &co, &ch, NULL, err, sizeof err);
    CHECK(c != NULL);
    deadline_timer = rt_timer_new(loop, give_up, NULL);
    rt_timer_start(deadline_timer, 3000, 0);
    if (c)
        CHECK(rt_conn_start_handshake(c) == 0);
    uint64_t start = rt_loop_now(loop);
    rt_loop_run(loop);
    fprintf(stderr, "restarted client: %s after %llu ms\n", secure ? "connected" : "not connected",
            (unsigned long long)(rt_loop_now(loop) - start));
    CHECK(secure);
    CHECK(abandoned >= 1); /* the stalled association was dropped */
    rt_timer_free(deadline_timer);
    rt_loop_free(loop);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

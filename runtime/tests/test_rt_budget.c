/* test_rt_budget.c — one address cannot take every handshake slot (issue
 * 12.2). A PSK server on 127.0.0.1 with maxHandshakes 8 and 4 per address;
 * twenty handshakes from twenty ports of another address (::1, handed to
 * the server's datagram handler in-process: its replies to an IPv6 address
 * cannot leave its IPv4 socket, so nothing but loopback traffic exists)
 * stall after their cookie. A real client from 127.0.0.1 must still get
 * through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "rt_test.h"

static rt_loop *loop;
static rt_server *server;
static rt_timer *deadline_timer;
static bool legit_secure;

static void legit_secured(void *host, rt_conn *conn)
{
    (void)host;
    legit_secure = true;
    rt_conn_close(conn);
    rt_server_close(server);
    rt_timer_stop(deadline_timer);
}

static void give_up(void *arg)
{
    (void)arg;
    rt_server_close(server);
}

int main(void)
{
    char err[256];
    loop = rt_loop_new();
    rt_tls_options so;
    rt_test_psk_options(&so, NULL);
    so.max_handshakes = 8;
    so.max_handshakes_per_address = 4;
    rt_handlers sh = { .psk_lookup = rt_test_psk_lookup };
    int port = 0;
    server = rt_test_server(loop, &so, &sh, &port);

    for (int i = 0; i < 20; i++) {
        rt_addr from;
        CHECK(rt_addr_parse(&from, 6, "::1", 20000 + i) == 0);
        CHECK(rt_test_stalled_handshake(loop, server, &from));
    }
    fprintf(stderr, "flood from 20 ports of ::1: %zu handshakes in progress (cap 8, 4 per address)\n",
            server->handshake_count);
    CHECK(server->handshake_count == 4);

    rt_tls_options co;
    rt_test_psk_options(&co, "legit");
    rt_handlers ch = { .conn_secure = legit_secured };
    rt_conn *legit = rt_client_connect(loop, 4, "127.0.0.1", port, &co, &ch, NULL, err, sizeof err);
    CHECK(legit != NULL);
    deadline_timer = rt_timer_new(loop, give_up, NULL);
    rt_timer_start(deadline_timer, 3000, 0);
    if (legit)
        CHECK(rt_conn_start_handshake(legit) == 0);
    rt_loop_run(loop);
    CHECK(legit_secure);
    rt_timer_free(deadline_timer);
    rt_loop_free(loop);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

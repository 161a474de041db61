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

int main(void)
{
    rt_loop *loop = rt_loop_new();
    rt_tls_options so;
    rt_test_psk_options(&so, NULL);
    so.max_handshakes = 8;
    so.max_handshakes_per_address = 4;
    rt_handlers sh = { .psk_lookup = rt_test_psk_lookup };
    int port = 0;
    rt_server *server = rt_test_server(loop, &so, &sh, &port);

    for (int i = 0; i < 20; i++) {
        rt_addr from;
        CHECK(rt_addr_parse(&from, 6, "::1", 20000 + i) == 0);
        CHECK(rt_test_stalled_handshake(loop, server, &from));
    }
    fprintf(stderr, "flood from 20 ports of ::1: %zu handshakes in progress (cap 8, 4 per address)\n",
            server->handshake_count);
    CHECK(server->handshake_count == 4);

    CHECK(rt_test_legit_client_connects(loop, server, port));
    rt_loop_free(loop);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

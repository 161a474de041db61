/* test_rt_idle.c — the idle timer follows authenticated records only
 * (issue 12.5): a PSK server with idleTimeout 1 s and a client on
 * 127.0.0.1, whose socket then sends unauthenticated junk every 20 ms from
 * the client's own address. The server must still close the association
 * for idleness (well before the 8 s deadline; junk counted as activity
 * would keep it open until then); junk must not keep it alive. The junk
 * only has to be flowing: 10 datagrams in the second (50 expected). The
 * margins are for a loaded machine, where libuv's timers run late: with a
 * 300 ms idle timeout, 50 ms ticks once gave 4 datagrams, and 20 ms ticks
 * failed once beside `ctest -j2` and four fuzzers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "rt_test.h"


static rt_loop *loop;
static rt_server *server;
static rt_conn *client;
static rt_timer *junk_timer, *deadline_timer;
static uint64_t secure_at, server_closed_at;
static int junk_sent;
static struct sockaddr_in server_addr;

static void server_conn_closed(void *host, rt_conn *conn)
{
    (void)host, (void)conn;
    if (!server_closed_at)
        server_closed_at = rt_loop_now(loop);
}

/* An epoch-1 application_data record that cannot authenticate. */
static void send_junk(void *arg)
{
    (void)arg;
    if (client == NULL || client->ep == NULL)
        return;
    uint8_t junk[13 + 32] = { 23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0x10, (uint8_t)junk_sent, 0, 32 };
    for (size_t i = 13; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7 + (size_t)junk_sent);
    uv_buf_t buf = uv_buf_init((char *)junk, sizeof junk);
    /* The client's socket is connected to the server: no address. */
    if (uv_udp_try_send(&client->ep->udp, &buf, 1, NULL) > 0)
        junk_sent++;
}

static void client_secure(void *host, rt_conn *conn)
{
    (void)host, (void)conn;
    secure_at = rt_loop_now(loop);
    rt_timer_start(junk_timer, 20, 20);
}

static void client_closed(void *host, rt_conn *conn)
{
    (void)host, (void)conn;
    client = NULL;
    rt_timer_stop(junk_timer);
    rt_server_close(server);
    rt_timer_stop(deadline_timer);
}

static void give_up(void *arg)
{
    (void)arg;
    rt_timer_stop(junk_timer);
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
    so.idle_timeout_ms = 1000;
    rt_handlers sh = { .conn_closed = server_conn_closed, .psk_lookup = rt_test_psk_lookup };
    int port = 0;
    server = rt_test_server(loop, &so, &sh, &port);
    uv_ip4_addr("127.0.0.1", port, &server_addr);

    rt_tls_options co;
    rt_test_psk_options(&co, "idle");
    rt_handlers ch = { .conn_secure = client_secure, .conn_closed = client_closed };
    client = rt_client_connect(loop, 4, "127.0.0.1", port, &co, &ch, NULL, err, sizeof err);
    CHECK(client != NULL);
    if (!client)
        return 1;
    junk_timer = rt_timer_new(loop, send_junk, NULL);
    deadline_timer = rt_timer_new(loop, give_up, NULL);
    rt_timer_start(deadline_timer, 8000, 0);
    CHECK(rt_conn_start_handshake(client) == 0);
    rt_loop_run(loop);

    /* The default for a server: 10 minutes; 0 still means never. */
    rt_tls_options d;
    rt_test_psk_options(&d, NULL);
    rt_server *by_default = rt_test_server(loop, &d, &sh, &port);
    CHECK(by_default->idle_timeout == 600000);
    rt_server_close(by_default);
    d.idle_timeout_ms = 0;
    rt_server *never = rt_test_server(loop, &d, &sh, &port);
    CHECK(never->idle_timeout == 0);
    rt_server_close(never);

    CHECK(secure_at != 0);
    CHECK(junk_sent >= 10);
    CHECK(server_closed_at != 0);
    uint64_t lived = server_closed_at - secure_at;
    fprintf(stderr, "junk datagrams: %d; server closed the association %llu ms after the handshake\n",
            junk_sent, (unsigned long long)lived);
    CHECK(lived >= 950 && lived < 4000);
    rt_timer_free(junk_timer);
    rt_timer_free(deadline_timer);
    rt_loop_free(loop);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

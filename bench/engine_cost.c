/* engine_cost.c — the server engine's own CPU per handshake, in memory:
 * client and server engines back to back (the server through dtls_accept,
 * cookie exchange included), each server-side call timed with the thread's
 * CPU clock, the client's work not counted. No sockets, no runtime, no Lua,
 * no scheduler: a steadier A/B figure for engine changes than the loopback
 * benchmark, whose kernel and load-generator share swamp small differences.
 *   engine_cost CERT KEY [N [full|psk|ticket|id]]
 * Each handshake is closed by the client with close_notify, as loadgen does.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_pair.h"

static uint8_t *session_blob;
static size_t session_len;
static double server_ns;
static unsigned long timed; /* intervals in server_ns, each paying one clock read */

static void on_send(void *user, const uint8_t *dgram, size_t len)
{
    queue_push(user, dgram, len);
}

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One handshake and its close; true when the server got established (and,
 * when resuming, resumed). Only server-side calls count in server_ns. */
static bool handshake(dtls_config *ccfg, dtls_config *scfg, unsigned i, bool resume)
{
    uint8_t peer[6] = { 127, 0, 0, 1, (uint8_t)(i >> 8), (uint8_t)i };
    dtls_conn *client = NULL, *server = NULL;
    bool ok = false;
    static uint64_t clock_ms = 1000; /* monotonic across every handshake */
    uint64_t now = clock_ms++;
    to_server.n = to_client.n = 0;
    client = dtls_conn_new(ccfg, DTLS_ROLE_CLIENT, NULL, 0, &to_server);
    if (!client || (resume && session_blob && dtls_conn_set_session(client, session_blob, session_len) != DTLS_OK)
        || dtls_conn_start(client, now) != DTLS_OK)
        goto done;
    for (int round = 0; round < 16; round++) {
        queue q = to_server;
        to_server.n = 0;
        double t0 = cpu_ns();
        for (int k = 0; k < q.n; k++) {
            if (!server) {
                uint8_t reply[DGRAM_MAX];
                size_t rlen = 0;
                dtls_accept_t a = dtls_accept(scfg, now, peer, sizeof peer, q.d[k], q.len[k],
                                              reply, sizeof reply, &rlen);
                if (a == DTLS_ACCEPT_REPLY && to_client.n < QCAP) {
                    memcpy(to_client.d[to_client.n], reply, rlen);
                    to_client.len[to_client.n++] = rlen;
                }
                if (a != DTLS_ACCEPT_NEW)
                    continue;
                server = dtls_conn_new(scfg, DTLS_ROLE_SERVER, peer, sizeof peer, &to_client);
                if (!server)
                    break;
            }
            dtls_conn_recv(server, now, q.d[k], q.len[k]);
        }
        server_ns += cpu_ns() - t0;
        timed++;
        q = to_client;
        to_client.n = 0;
        for (int k = 0; k < q.n; k++)
            dtls_conn_recv(client, now, q.d[k], q.len[k]);
        if (to_server.n == 0 && to_client.n == 0)
            break;
    }
    ok = server && dtls_conn_state(server) == DTLS_STATE_ESTABLISHED
      && (!resume || !session_blob || dtls_conn_session_reused(server));
    if (resume && !session_blob && ok)
        dtls_conn_get_session(client, &session_blob, &session_len);
    /* The client closes; the server answers its close_notify. */
    dtls_conn_close(client, now);
    double t0 = cpu_ns();
    for (int k = 0; server && k < to_server.n; k++)
        dtls_conn_recv(server, now, to_server.d[k], to_server.len[k]);
    dtls_conn_free(server);
    server_ns += cpu_ns() - t0;
    timed++;
done:
    dtls_conn_free(client);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: engine_cost CERT KEY [N [full|psk|ticket|id]]\n");
        return 2;
    }
    unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 2000;
    const char *mode = argc > 4 ? argv[4] : "ticket";
    bool psk = strcmp(mode, "psk") == 0, resume = strcmp(mode, "ticket") == 0 || strcmp(mode, "id") == 0;
    const char *suite = psk ? "PSK-AES128-CCM8" : "ECDHE-ECDSA-AES128-GCM-SHA256";
    if (n < 1 || n > 1000000 || (!psk && !resume && strcmp(mode, "full") != 0))
        return 2;
    char *cert = read_file(argv[1]), *key = read_file(argv[2]);
    char err[256] = "";
    dtls_config *s = dtls_config_new(), *c = dtls_config_new();
    int rc = pair_configs(s, c, cert, key, suite, psk, err, sizeof err);
    if (rc == 0 && strcmp(mode, "id") == 0)
        dtls_config_set_tickets(c, 0);
    unsigned done = 0;
    for (unsigned i = 0; rc == 0 && i < 64; i++) /* warm-up; the first makes the session */
        rc = handshake(c, s, 60000 + i, resume) ? 0 : -1;
    server_ns = 0;
    timed = 0;
    for (; rc == 0 && done < n; done++)
        rc = handshake(c, s, done, resume) ? 0 : -1;
    /* The thread CPU clock is a system call here (about 0.5 us in this VM):
     * take what one read costs off every timed interval. */
    double t0 = cpu_ns(), t1 = t0;
    for (int i = 0; i < 1000; i++)
        t1 = cpu_ns();
    double clock_ns = (t1 - t0) / 1000;
    if (rc == 0)
        printf("RESULT mode=engine_cost handshake=%s suite=%s handshakes=%u server_us_per_hs=%.2f"
               " raw_us_per_hs=%.2f clock_read_ns=%.0f\n",
               mode, suite, done, (server_ns - clock_ns * (double)timed) / 1e3 / done,
               server_ns / 1e3 / done, clock_ns);
    else
        fprintf(stderr, "engine_cost: set-up or handshake %u failed %s\n", done, err);
    free(session_blob);
    dtls_config_free(s);
    dtls_config_free(c);
    free(cert);
    free(key);
    return rc == 0 ? 0 : 1;
}

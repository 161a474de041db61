/* engine_mem.c — heap held by the engine alone per established server
 * connection, without sockets, runtime or Lua: client and server engines
 * wired back to back in memory (the server through dtls_accept), N server
 * connections kept, glibc's mallinfo2 read before and after. Separates the
 * engine's share of the benchmark's RSS-per-session figure from the rest.
 *   engine_mem CERT KEY [N [SUITE]]
 * Prints bytes per connection just after the handshake (the final flight
 * still kept for retransmission), once idle long enough for the record keys
 * to be parked (DTLS_KEY_PARK_DEFAULT_MS; the flight still kept), and after
 * the flight's retention expired.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_pair.h"

typedef struct side {
    dtls_conn *conn;
    queue *out; /* where this side's datagrams go */
} side;

static void on_send(void *user, const uint8_t *dgram, size_t len)
{
    side *s = user;
    if (s)
        queue_push(s->out, dgram, len);
}

/* One handshake; returns the established server connection or NULL. */
static dtls_conn *handshake(dtls_config *ccfg, dtls_config *scfg, unsigned i, uint64_t idle_ms)
{
    side client = { NULL, &to_server }, server = { NULL, &to_client };
    uint8_t peer[6] = { 127, 0, 0, 1, (uint8_t)(i >> 8), (uint8_t)i };
    to_server.n = to_client.n = 0;
    client.conn = dtls_conn_new(ccfg, DTLS_ROLE_CLIENT, NULL, 0, &client);
    if (!client.conn || dtls_conn_start(client.conn, 0) != DTLS_OK)
        return NULL;
    for (int round = 0; round < 16; round++) {
        queue q = to_server;
        to_server.n = 0;
        for (int k = 0; k < q.n; k++) {
            if (!server.conn) {
                uint8_t reply[DGRAM_MAX];
                size_t rlen = 0;
                dtls_accept_t a = dtls_accept(scfg, 0, peer, sizeof peer, q.d[k], q.len[k],
                                              reply, sizeof reply, &rlen);
                if (a == DTLS_ACCEPT_REPLY && to_client.n < QCAP) {
                    memcpy(to_client.d[to_client.n], reply, rlen);
                    to_client.len[to_client.n++] = rlen;
                }
                if (a != DTLS_ACCEPT_NEW)
                    continue;
                server.conn = dtls_conn_new(scfg, DTLS_ROLE_SERVER, peer, sizeof peer, &server);
                if (!server.conn)
                    break;
            }
            dtls_conn_recv(server.conn, 0, q.d[k], q.len[k]);
        }
        q = to_client;
        to_client.n = 0;
        for (int k = 0; k < q.n; k++)
            dtls_conn_recv(client.conn, 0, q.d[k], q.len[k]);
        if (to_server.n == 0 && to_client.n == 0)
            break;
    }
    bool ok = server.conn && dtls_conn_state(server.conn) == DTLS_STATE_ESTABLISHED;
    dtls_conn_free(client.conn);
    if (!ok) {
        dtls_conn_free(server.conn);
        return NULL;
    }
    dtls_conn_set_user(server.conn, NULL); /* `server` is on this stack frame */
    if (idle_ms) /* time passes with nothing sent or received */
        dtls_conn_tick(server.conn, idle_ms);
    return server.conn;
}

static int measure(dtls_config *ccfg, dtls_config *scfg, unsigned n, uint64_t idle_ms, double *per_conn,
                   size_t *accounted)
{
    dtls_conn **keep = calloc(n, sizeof *keep);
    if (!keep)
        return -1;
    for (unsigned i = 0; i < 32; i++) { /* warm-up: lazy libcrypto state, malloc arenas */
        dtls_conn *c = handshake(ccfg, scfg, 60000 + i, idle_ms);
        if (!c) {
            free(keep);
            return -1;
        }
        dtls_conn_free(c);
    }
    malloc_trim(0);
    size_t before = mallinfo2().uordblks;
    unsigned made = 0;
    for (; made < n; made++)
        if (!(keep[made] = handshake(ccfg, scfg, made, idle_ms)))
            break;
    size_t after = mallinfo2().uordblks;
    *per_conn = made ? ((double)after - (double)before) / made : 0;
    *accounted = made ? dtls_conn_memory(keep[0]) : 0;
    for (unsigned i = 0; i < made; i++)
        dtls_conn_free(keep[i]);
    free(keep);
    return made == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: engine_mem CERT KEY [N [SUITE]]\n");
        return 2;
    }
    unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 2000;
    const char *suite = argc > 4 ? argv[4] : "ECDHE-ECDSA-AES128-GCM-SHA256";
    if (n < 1 || n > 100000)
        return 2;
    char *cert = read_file(argv[1]), *key = read_file(argv[2]);
    char err[256] = "";
    dtls_config *s = dtls_config_new(), *c = dtls_config_new();
    int rc = pair_configs(s, c, cert, key, suite, true, err, sizeof err);
    double fresh = 0, idle = 0, expired = 0;
    size_t acc_fresh = 0, acc_idle = 0, acc_expired = 0;
    /* Idle: past the key park, within the flight's 2 MSL; expired: past
     * the flight's retention too. */
    if (rc == 0)
        rc = measure(c, s, n, 0, &fresh, &acc_fresh)
          || measure(c, s, n, DTLS_KEY_PARK_DEFAULT_MS + 1, &idle, &acc_idle)
          || measure(c, s, n, 24 * 3600 * 1000ull, &expired, &acc_expired);
    if (rc == 0)
        printf("RESULT mode=engine_mem suite=%s conns=%u heap_per_conn=%.0f heap_per_conn_idle=%.0f"
               " heap_per_conn_flight_expired=%.0f"
               " dtls_conn_memory=%zu dtls_conn_memory_idle=%zu dtls_conn_memory_flight_expired=%zu\n",
               suite, n, fresh, idle, expired, acc_fresh, acc_idle, acc_expired);
    else
        fprintf(stderr, "engine_mem: set-up or handshake failed %s\n", err);
    dtls_config_free(s);
    dtls_config_free(c);
    free(cert);
    free(key);
    return rc == 0 ? 0 : 1;
}

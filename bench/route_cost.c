/* route_cost.c — what routing one datagram costs the server, with and
 * without RFC 9146 Connection IDs, isolated from crypto and I/O: the
 * runtime's own steps for an established association, as in
 * runtime/server.c on_server_datagram — dtls_classify, then a lookup by
 * address (plain records) or by CID (tls12_cid records) — over tables of
 * N associations. Prints "RESULT ... plain_ns= cid_ns= delta_ns=".
 *   route_cost [ASSOCIATIONS] [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_internal.h"

#define CID_LEN 8

static rt_conn *conns;
static uint8_t (*cids)[CID_LEN];

static const uint8_t *cid_of(const rt_conn *c, size_t *len)
{
    *len = CID_LEN;
    return cids[c - conns];
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 10000;
    long rounds = argc > 2 ? atol(argv[2]) : 2000000;
    conns = calloc(n, sizeof *conns);
    cids = calloc(n, sizeof *cids);
    rt_peer_table by_addr, by_cid;
    if (!conns || !cids || rt_peer_table_init(&by_addr) || rt_peer_table_init_keyed(&by_cid, cid_of))
        return 1;
    for (size_t i = 0; i < n; i++) {
        rt_addr_parse(&conns[i].peer, 4, "127.0.0.1", (int)(1024 + i % 60000));
        conns[i].peer.key[3] = (uint8_t)(i / 60000); /* distinct beyond 60k */
        for (int k = 0; k < CID_LEN; k++)
            cids[i][k] = (uint8_t)rand();
        rt_peer_table_put(&by_addr, &conns[i]);
        rt_peer_table_put(&by_cid, &conns[i]);
    }
    dtls_config *plain_cfg = dtls_config_new(), *cid_cfg = dtls_config_new();
    dtls_config_set_connection_id(cid_cfg, CID_LEN);
    /* An epoch-1 application_data record of 100 bytes + AEAD overhead, and
     * the same as a tls12_cid record. */
    uint8_t plain[13 + 124] = { 23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 124 };
    uint8_t cid[13 + CID_LEN + 125] = { 25, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7 };
    cid[11 + CID_LEN] = 0;
    cid[12 + CID_LEN] = 125;
    size_t hits = 0;
    double t0 = now_ns();
    for (long r = 0; r < rounds; r++) {
        rt_conn *c = &conns[(size_t)r % n];
        dtls_dgram_info info;
        dtls_classify(plain_cfg, plain, sizeof plain, &info);
        if (info.cid_len == 0)
            hits += rt_peer_table_find(&by_addr, c->peer.key, c->peer.key_len) == c;
    }
    double t1 = now_ns();
    for (long r = 0; r < rounds; r++) {
        size_t k = (size_t)r % n;
        memcpy(cid + 11, cids[k], CID_LEN);
        dtls_dgram_info info;
        dtls_classify(cid_cfg, cid, sizeof cid, &info);
        if (info.cid_len)
            hits += rt_peer_table_find(&by_cid, info.cid, info.cid_len) == &conns[k];
    }
    double t2 = now_ns();
    double plain_ns = (t1 - t0) / (double)rounds, cid_ns = (t2 - t1) / (double)rounds;
    printf("RESULT mode=route_cost associations=%zu rounds=%ld found=%zu plain_ns=%.1f cid_ns=%.1f delta_ns=%.1f\n",
           n, rounds, hits, plain_ns, cid_ns, cid_ns - plain_ns);
    dtls_config_free(plain_cfg);
    dtls_config_free(cid_cfg);
    rt_peer_table_free(&by_addr);
    rt_peer_table_free(&by_cid);
    free(conns);
    free(cids);
    return hits == 2 * (size_t)rounds ? 0 : 1;
}

/* test_rt_tables.c — randomized checks of the runtime's peer table
 * (backward-shift deletion, growth, lookups) and deadline heap (ordering,
 * moves, removal) against a brute-force model, SipHash-2-4's published
 * test vector, and the per-address handshake budget's counting (IPv4
 * addresses, IPv6 /64s). Touches no sockets and no engine state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "rt_test.h"


#define N 3000

static rt_conn conns[N];
static bool in_table[N];

static void make_key(rt_conn *c, int i)
{
    memset(&c->peer, 0, sizeof c->peer);
    c->peer.key[0] = 4;
    /* Many keys share a prefix so probe chains form and wrap around. */
    c->peer.key[1] = (uint8_t)(i >> 8);
    c->peer.key[2] = (uint8_t)i;
    c->peer.key[3] = 127;
    c->peer.key[6] = 1;
    c->peer.key_len = 7;
}

static void test_siphash_vector(void)
{
    /* SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e. */
    uint8_t msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    CHECK(rt_siphash(k0, k1, msg, sizeof msg) == 0xa129ca6149be45e5ULL);
}

static void test_peer_table(void)
{
    rt_peer_table t;
    CHECK(rt_peer_table_init(&t) == 0);
    for (int i = 0; i < N; i++)
        make_key(&conns[i], i);
    srand(7);
    size_t live = 0;
    for (int step = 0; step < 200000; step++) {
        int i = rand() % N;
        if (rand() % 3 == 0 && in_table[i]) {
            rt_peer_table_remove(&t, &conns[i]);
            in_table[i] = false;
            live--;
        } else if (!in_table[i]) {
            CHECK(rt_peer_table_put(&t, &conns[i]) == 0);
            in_table[i] = true;
            live++;
        }
        if (step % 5000 == 0) {
            for (int j = 0; j < N; j++) {
                rt_conn *found = rt_peer_table_find(&t, conns[j].peer.key, conns[j].peer.key_len);
                CHECK(found == (in_table[j] ? &conns[j] : NULL));
            }
            CHECK(t.len == live);
        }
    }
    /* Replacing the entry for a key (RFC 6347 4.2.8 successor). */
    rt_conn other;
    make_key(&other, 5);
    if (!in_table[5]) {
        CHECK(rt_peer_table_put(&t, &conns[5]) == 0);
        in_table[5] = true;
    }
    size_t before = t.len;
    CHECK(rt_peer_table_put(&t, &other) == 0);
    CHECK(t.len == before);
    CHECK(rt_peer_table_find(&t, other.peer.key, other.peer.key_len) == &other);
    rt_peer_table_remove(&t, &conns[5]); /* not the entry any more: no-op */
    CHECK(rt_peer_table_find(&t, other.peer.key, other.peer.key_len) == &other);
    rt_peer_table_free(&t);
}

static void test_deadline_heap(void)
{
    rt_deadline_heap h;
    rt_heap_init(&h);
    for (int i = 0; i < N; i++) {
        conns[i].heap_index = RT_HEAP_NONE;
        conns[i].deadline = UINT64_MAX;
    }
    srand(11);
    for (int step = 0; step < 100000; step++) {
        int i = rand() % N;
        int op = rand() % 4;
        if (op == 0)
            rt_heap_remove(&h, &conns[i]);
        else if (op == 1)
            CHECK(rt_heap_set(&h, &conns[i], UINT64_MAX) == 0);
        else
            CHECK(rt_heap_set(&h, &conns[i], (uint64_t)(rand() % 100000)) == 0);
        if (step % 2000 == 0) {
            uint64_t min = UINT64_MAX;
            size_t count = 0;
            for (int j = 0; j < N; j++) {
                if (conns[j].heap_index != RT_HEAP_NONE) {
                    count++;
                    CHECK(h.items[conns[j].heap_index] == &conns[j]);
                    if (conns[j].deadline < min)
                        min = conns[j].deadline;
                }
            }
            CHECK(count == h.len);
            CHECK(count == 0 || rt_heap_top(&h)->deadline == min);
        }
    }
    /* Draining yields non-decreasing deadlines. */
    uint64_t last = 0;
    rt_conn *c;
    while ((c = rt_heap_top(&h)) != NULL) {
        CHECK(c->deadline >= last);
        last = c->deadline;
        rt_heap_remove(&h, c);
    }
    rt_heap_free(&h);
}

/* The per-address handshake budget (issue 12.2): IPv6 addresses count by
 * /64, IPv4 by address, an IPv4-mapped IPv6 address as its IPv4 address,
 * ports never. Fixed SipHash keys: the addresses below land on distinct
 * counters under them, so the result does not depend on a random key. */
static rt_addr addr(int family, const char *ip, int port)
{
    rt_addr a;
    CHECK(rt_addr_parse(&a, family, ip, port) == 0);
    return a;
}

static void test_addr_budget(void)
{
    rt_addr_budget b;
    CHECK(rt_addr_budget_init(&b, 3, 10000) == 0);
    b.k0 = 0x0123456789abcdefULL;
    b.k1 = 0xfedcba9876543210ULL;
    /* three hosts of one /64, from any port: one budget of 3 */
    rt_addr v6[4] = { addr(6, "2001:db8:1:2::1", 1000), addr(6, "2001:db8:1:2::1", 1001),
                      addr(6, "2001:db8:1:2:ffff:ffff:ffff:fffe", 2000),
                      addr(6, "2001:db8:1:2:abcd::7", 3000) };
    for (int i = 0; i < 3; i++)
        CHECK(rt_addr_budget_take(&b, &v6[i]) == 0);
    CHECK(rt_addr_budget_take(&b, &v6[3]) == -1);
    /* the neighbouring /64s have their own */
    rt_addr next64 = addr(6, "2001:db8:1:3::1", 1000), prev64 = addr(6, "2001:db8:1:1::1", 1000);
    CHECK(rt_addr_budget_take(&b, &next64) == 0);
    CHECK(rt_addr_budget_take(&b, &prev64) == 0);
    /* a handshake that ends gives its slot back to the whole /64 */
    rt_addr_budget_release(&b, &v6[0]);
    CHECK(rt_addr_budget_take(&b, &v6[3]) == 0);
    CHECK(rt_addr_budget_take(&b, &v6[1]) == -1);

    /* IPv4: by address, whatever the port; ::ffff:a.b.c.d is a.b.c.d */
    rt_addr v4[3] = { addr(4, "192.0.2.7", 1), addr(4, "192.0.2.7", 2), addr(4, "192.0.2.7", 3) };
    rt_addr mapped = addr(6, "::ffff:192.0.2.7", 4), other = addr(4, "192.0.2.8", 1);
    for (int i = 0; i < 3; i++)
        CHECK(rt_addr_budget_take(&b, &v4[i]) == 0);
    CHECK(rt_addr_budget_take(&b, &mapped) == -1);
    CHECK(rt_addr_budget_take(&b, &other) == 0);
    rt_addr_budget_release(&b, &mapped);
    CHECK(rt_addr_budget_take(&b, &v4[0]) == 0);
    rt_addr_budget_free(&b);
}

int main(void)
{
    test_siphash_vector();
    test_peer_table();
    test_deadline_heap();
    test_addr_budget();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("runtime tables: all checks passed\n");
    return 0;
}

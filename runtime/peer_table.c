/* peer_table.c — address -> association lookup for a server endpoint.
 * Owns the slot array only. Keyed SipHash-2-4 (Aumasson & Bernstein) keeps
 * probe chains short even against an attacker choosing source ports.
 * Never allocates on lookup; grows (rarely) on insert.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "rt_internal.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
    v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

uint64_t rt_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len)
{
    uint64_t v[4] = { k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                      k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL };
    size_t whole = len - (len % 8);
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(data + i);
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    }
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)data[whole + i] << (8 * i);
    v[3] ^= last;
    sip_round(v);
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static const uint8_t *conn_key(const rt_peer_table *t, const rt_conn *c, size_t *len)
{
    if (t->key)
        return t->key(c, len);
    *len = c->peer.key_len;
    return c->peer.key;
}

int rt_peer_table_init(rt_peer_table *t)
{
    return rt_peer_table_init_keyed(t, NULL);
}

int rt_peer_table_init_keyed(rt_peer_table *t, rt_peer_key_fn key)
{
    uint8_t seed[16];
    memset(t, 0, sizeof *t);
    t->key = key;
    if (uv_random(NULL, NULL, seed, sizeof seed, 0, NULL) != 0)
        return -1;
    t->k0 = load_le64(seed);
    t->k1 = load_le64(seed + 8);
    t->cap = 64;
    t->slots = calloc(t->cap, sizeof *t->slots);
    return t->slots ? 0 : -1;
}

void rt_peer_table_free(rt_peer_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->len = 0;
}

static bool slot_matches(const rt_peer_table *t, const rt_peer_slot *s, uint64_t hash,
                         const uint8_t *key, size_t key_len)
{
    if (s->hash != hash)
        return false;
    size_t len;
    const uint8_t *k = conn_key(t, s->conn, &len);
    return len == key_len && memcmp(k, key, key_len) == 0;
}

rt_conn *rt_peer_table_find(const rt_peer_table *t, const uint8_t *key, size_t key_len)
{
    if (t->len == 0)
        return NULL;
    uint64_t hash = rt_siphash(t->k0, t->k1, key, key_len);
    size_t mask = t->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const rt_peer_slot *s = &t->slots[i];
        if (s->conn == NULL)
            return NULL;
        if (slot_matches(t, s, hash, key, key_len))
            return s->conn;
    }
}

static void insert_slot(rt_peer_slot *slots, size_t cap, uint64_t hash, rt_conn *conn)
{
    size_t mask = cap - 1;
    size_t i = hash & mask;
    while (slots[i].conn != NULL)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].conn = conn;
}

static int grow(rt_peer_table *t)
{
    size_t cap = t->cap * 2;
    rt_peer_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].conn != NULL)
            insert_slot(slots, cap, t->slots[i].hash, t->slots[i].conn);
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

int rt_peer_table_put(rt_peer_table *t, rt_conn *conn)
{
    size_t key_len;
    const uint8_t *key = conn_key(t, conn, &key_len);
    uint64_t hash = rt_siphash(t->k0, t->k1, key, key_len);
    size_t mask = t->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        rt_peer_slot *s = &t->slots[i];
        if (s->conn == NULL)
            break;
        if (slot_matches(t, s, hash, key, key_len)) {
            s->conn = conn;
            return 0;
        }
    }
    /* Keep the load at most 1/2 so linear probes stay short. */
    if ((t->len + 1) * 2 > t->cap && grow(t) != 0)
        return -1;
    insert_slot(t->slots, t->cap, hash, conn);
    t->len++;
    return 0;
}

void rt_peer_table_remove(rt_peer_table *t, rt_conn *conn)
{
    if (t->len == 0)
        return;
    size_t key_len;
    const uint8_t *key = conn_key(t, conn, &key_len);
    uint64_t hash = rt_siphash(t->k0, t->k1, key, key_len);
    size_t mask = t->cap - 1;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
        if (t->slots[i].conn == NULL)
            return;
        if (t->slots[i].conn == conn)
            break;
    }
    /* Backward-shift deletion: pull later members of the probe chain into
     * the hole so lookups never need tombstones. */
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; t->slots[j].conn != NULL; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        /* j may move into hole when its home is not in (hole, j]. */
        bool stays = (hole < j) ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole].conn = NULL;
    t->slots[hole].hash = 0;
    t->len--;
}

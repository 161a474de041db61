/* peer_table.h — hash table from a key (a peer's transport address, or a
 * Connection ID we issued) to its current association. Open addressing with linear probing and backward-shift
 * deletion; keys hashed with SipHash under a random per-table key so remote
 * peers cannot choose colliding addresses. Never owns the connections.
 */
#ifndef DTLSRUN_PEER_TABLE_H
#define DTLSRUN_PEER_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* family (1) + port (2) + IPv6 address (16) */
#define RT_PEER_KEY_MAX 20

struct rt_conn;

typedef struct rt_peer_slot {
    uint64_t hash;
    struct rt_conn *conn; /* NULL: empty */
} rt_peer_slot;

/* The key a table files conn under. */
typedef const uint8_t *(*rt_peer_key_fn)(const struct rt_conn *conn, size_t *len);

typedef struct rt_peer_table {
    rt_peer_key_fn key;   /* NULL: the peer's address */
    rt_peer_slot *slots;
    size_t cap;   /* power of two */
    size_t len;
    uint64_t k0, k1;
} rt_peer_table;

int rt_peer_table_init(rt_peer_table *t);
/* A table keyed by something else than the address. */
int rt_peer_table_init_keyed(rt_peer_table *t, rt_peer_key_fn key);
void rt_peer_table_free(rt_peer_table *t);
struct rt_conn *rt_peer_table_find(const rt_peer_table *t, const uint8_t *key, size_t key_len);
/* Inserts or replaces the entry for conn's key. 0, or -1 out of memory. */
int rt_peer_table_put(rt_peer_table *t, struct rt_conn *conn);
/* Removes conn if it is the entry for its key. */
void rt_peer_table_remove(rt_peer_table *t, struct rt_conn *conn);

uint64_t rt_siphash(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len);

#endif

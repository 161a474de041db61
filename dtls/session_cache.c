/* session_cache.c — a bounded LRU of encoded sessions keyed by session ID:
 * a chained hash table for lookup and a doubly linked list for age. One
 * allocation per entry (header and encoded session together); nothing is
 * allocated on lookup.
 */
#include "session_cache.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

struct cache_entry {
    cache_entry *newer, *older;  /* LRU list */
    cache_entry *next;           /* hash chain */
    uint64_t expires_ms;
    uint8_t id[SESSION_ID_MAX];
    uint16_t len;
    uint8_t blob[];              /* session_encode without ticket or ID */
};

#define CACHE_MIN_BUCKETS 64

void session_cache_init(session_cache *c, size_t max)
{
    memset(c, 0, sizeof *c);
    c->max = max;
}

static size_t bucket_of(const session_cache *c, const uint8_t *id)
{
    uint64_t h = 0;
    memcpy(&h, id, sizeof h);
    return (size_t)(h & (c->nbuckets - 1));
}

static size_t entry_size(const cache_entry *e) { return sizeof *e + e->len; }

static void entry_free(cache_entry *e)
{
    OPENSSL_cleanse(e, sizeof *e + e->len);
    free(e);
}

void session_cache_free(session_cache *c)
{
    cache_entry *e = c->newest;
    while (e) {
        cache_entry *older = e->older;
        entry_free(e);
        e = older;
    }
    free(c->buckets);
    size_t max = c->max;
    session_cache_init(c, max);
}

static cache_entry **chain_find(session_cache *c, const uint8_t *id)
{
    if (!c->nbuckets)
        return NULL;
    cache_entry **pp = &c->buckets[bucket_of(c, id)];
    while (*pp && memcmp((*pp)->id, id, SESSION_ID_MAX) != 0)
        pp = &(*pp)->next;
    return *pp ? pp : NULL;
}

static void unlink_entry(session_cache *c, cache_entry **slot)
{
    cache_entry *e = *slot;
    *slot = e->next;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    c->count--;
    c->bytes -= entry_size(e);
    entry_free(e);
}

void session_cache_remove(session_cache *c, const uint8_t *id, size_t id_len)
{
    cache_entry **slot = id_len == SESSION_ID_MAX ? chain_find(c, id) : NULL;
    if (slot)
        unlink_entry(c, slot);
}

static int grow(session_cache *c)
{
    size_t n = c->nbuckets ? c->nbuckets * 2 : CACHE_MIN_BUCKETS;
    cache_entry **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    for (cache_entry *e = c->newest; e; e = e->older) {
        size_t i = bucket_of(c, e->id);
        e->next = b[i];
        b[i] = e;
    }
    return 0;
}

int session_cache_put(session_cache *c, const dtls_session *s, uint64_t expires_ms)
{
    if (c->max == 0 || s->session_id_len != SESSION_ID_MAX)
        return -1;
    session_cache_remove(c, s->session_id, SESSION_ID_MAX);
    /* The ID is the key: not stored twice. */
    dtls_session bare = *s;
    bare.session_id_len = 0;
    bare.ticket = NULL;
    bare.ticket_len = 0;
    size_t len = session_encoded_len(&bare, false);
    size_t budget = c->max * SESSION_CACHE_BYTES_PER_ENTRY;
    if (sizeof(cache_entry) + len > budget || len > UINT16_MAX) {
        OPENSSL_cleanse(&bare, sizeof bare);
        return -1;
    }
    while (c->oldest && (c->count >= c->max || c->bytes + sizeof(cache_entry) + len > budget))
        unlink_entry(c, chain_find(c, c->oldest->id));
    cache_entry *e = NULL;
    if ((c->count + 1 <= c->nbuckets || grow(c) == 0 || c->nbuckets) && (e = malloc(sizeof *e + len))) {
        dtls_wr w = wr_init(e->blob, len);
        if (!session_encode(&bare, false, &w)) {
            OPENSSL_cleanse(e->blob, len);
            free(e);
            e = NULL;
        }
    }
    OPENSSL_cleanse(&bare, sizeof bare);
    if (!e)
        return -1;
    memcpy(e->id, s->session_id, SESSION_ID_MAX);
    e->len = (uint16_t)len;
    e->expires_ms = expires_ms;
    size_t i = bucket_of(c, e->id);
    e->next = c->buckets[i];
    c->buckets[i] = e;
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->count++;
    c->bytes += entry_size(e);
    return 0;
}

/* The entry was used: it becomes the newest (least recently used goes
 * first). */
static void promote(session_cache *c, cache_entry *e)
{
    if (c->newest == e)
        return;
    e->newer->older = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = NULL;
    e->older = c->newest;
    c->newest->newer = e;
    c->newest = e;
}

bool session_cache_get(session_cache *c, const uint8_t *id, size_t id_len, uint64_t now_ms,
                       dtls_session *s)
{
    cache_entry **slot = id_len == SESSION_ID_MAX ? chain_find(c, id) : NULL;
    if (!slot)
        return false;
    cache_entry *e = *slot;
    if (now_ms >= e->expires_ms || !session_decode(s, e->blob, e->len, false)) {
        unlink_entry(c, slot);
        return false;
    }
    memcpy(s->session_id, e->id, SESSION_ID_MAX);
    s->session_id_len = SESSION_ID_MAX;
    promote(c, e);
    return true;
}

size_t session_cache_memory(const session_cache *c)
{
    return c->nbuckets * sizeof *c->buckets + c->bytes;
}

/* session_cache.h — the server's session-ID cache (RFC 5246 7.4.1.2): an
 * LRU from a 32-byte session ID we made to the encoded session value,
 * bounded in entries and in bytes (SESSION_CACHE_BYTES_PER_ENTRY per entry
 * allowed on average: a session that carries a client certificate counts
 * for more). Entries expire after the session timeout, and are wiped when
 * evicted or freed. IDs are our own random bytes, so their first eight
 * bytes are a hash nobody else chooses. Single-threaded, like the config.
 */
#ifndef DTLS_SESSION_CACHE_H
#define DTLS_SESSION_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

typedef struct cache_entry cache_entry;

typedef struct session_cache {
    cache_entry **buckets;
    size_t nbuckets;     /* power of two, grows with count */
    size_t count, max;
    size_t bytes;        /* the entries' own sizes */
    cache_entry *newest, *oldest;
} session_cache;

#define SESSION_CACHE_BYTES_PER_ENTRY 256
void session_cache_init(session_cache *c, size_t max);
void session_cache_free(session_cache *c);
/* Keep s under s->session_id until expires_ms (monotonic). The oldest
 * entry makes room. 0 or -1. */
int session_cache_put(session_cache *c, const dtls_session *s, uint64_t expires_ms);
/* The live session under id, decoded into s; expired ones are dropped. */
bool session_cache_get(session_cache *c, const uint8_t *id, size_t id_len, uint64_t now_ms,
                       dtls_session *s);
void session_cache_remove(session_cache *c, const uint8_t *id, size_t id_len);
/* Heap bytes held by the cache (entries and buckets). */
size_t session_cache_memory(const session_cache *c);

#endif

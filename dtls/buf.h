/* buf.h — bounds-checked reader and writer.
 *
 * Every byte that comes from the network is read through a dtls_rd. A read
 * past the end sets a sticky error flag and yields zeros, so parsers check
 * once at the end (rd_ok) instead of after every field. Writers do the same
 * for their fixed-capacity output buffers. No heap, no I/O.
 */
#ifndef DTLS_BUF_H
#define DTLS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct dtls_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool err;
} dtls_rd;

static inline dtls_rd rd_init(const uint8_t *p, size_t len)
{
    dtls_rd r = { p, len, 0, false };
    return r;
}
static inline size_t rd_left(const dtls_rd *r) { return r->err ? 0 : r->len - r->off; }
static inline bool rd_ok(const dtls_rd *r) { return !r->err; }
/* True when everything was read and nothing went wrong. */
static inline bool rd_done(const dtls_rd *r) { return !r->err && r->off == r->len; }
static inline const uint8_t *rd_ptr(const dtls_rd *r) { return r->p + r->off; }

static inline bool rd_need(dtls_rd *r, size_t n)
{
    if (r->err || r->len - r->off < n) {
        r->err = true;
        return false;
    }
    return true;
}
static inline uint64_t rd_uint(dtls_rd *r, size_t n)
{
    uint64_t v = 0;
    if (!rd_need(r, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[r->off + i];
    r->off += n;
    return v;
}
static inline uint8_t rd_u8(dtls_rd *r) { return (uint8_t)rd_uint(r, 1); }
static inline uint16_t rd_u16(dtls_rd *r) { return (uint16_t)rd_uint(r, 2); }
static inline uint32_t rd_u24(dtls_rd *r) { return (uint32_t)rd_uint(r, 3); }
static inline uint64_t rd_u48(dtls_rd *r) { return rd_uint(r, 6); }

/* n bytes in place; NULL (and the error flag) when fewer remain. */
static inline const uint8_t *rd_bytes(dtls_rd *r, size_t n)
{
    if (!rd_need(r, n))
        return NULL;
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}
static inline bool rd_copy(dtls_rd *r, void *out, size_t n)
{
    const uint8_t *p = rd_bytes(r, n);
    if (p && n)
        memcpy(out, p, n);
    return p != NULL;
}
static inline bool rd_skip(dtls_rd *r, size_t n) { return rd_bytes(r, n) != NULL; }

/* A length-prefixed vector (prefix of lenbytes bytes) as a sub-reader. The
 * sub-reader is empty and errored when the vector does not fit. */
static inline dtls_rd rd_vec(dtls_rd *r, size_t lenbytes)
{
    size_t n = (size_t)rd_uint(r, lenbytes);
    const uint8_t *p = rd_bytes(r, n);
    dtls_rd sub = { p, p ? n : 0, 0, p == NULL };
    return sub;
}
/* The rest of the reader as a sub-reader, consuming it. */
static inline dtls_rd rd_rest(dtls_rd *r)
{
    size_t n = rd_left(r);
    dtls_rd sub = { r->p + r->off, n, 0, r->err };
    r->off += n;
    return sub;
}

typedef struct dtls_wr {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool err;
} dtls_wr;

static inline dtls_wr wr_init(uint8_t *p, size_t cap)
{
    dtls_wr w = { p, cap, 0, false };
    return w;
}
static inline bool wr_ok(const dtls_wr *w) { return !w->err; }
static inline bool wr_need(dtls_wr *w, size_t n)
{
    if (w->err || w->cap - w->len < n) {
        w->err = true;
        return false;
    }
    return true;
}
static inline void wr_uint(dtls_wr *w, uint64_t v, size_t n)
{
    if (!wr_need(w, n))
        return;
    for (size_t i = 0; i < n; i++)
        w->p[w->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    w->len += n;
}
static inline void wr_u8(dtls_wr *w, uint8_t v) { wr_uint(w, v, 1); }
static inline void wr_u16(dtls_wr *w, uint16_t v) { wr_uint(w, v, 2); }
static inline void wr_u24(dtls_wr *w, uint32_t v) { wr_uint(w, v, 3); }
static inline void wr_u48(dtls_wr *w, uint64_t v) { wr_uint(w, v, 6); }
static inline void wr_bytes(dtls_wr *w, const void *p, size_t n)
{
    if (!wr_need(w, n))
        return;
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}
/* Reserve n bytes to fill in later; returns their offset. */
static inline size_t wr_reserve(dtls_wr *w, size_t n)
{
    size_t at = w->len;
    if (wr_need(w, n))
        w->len += n;
    return at;
}
/* Start a length-prefixed vector: returns a mark for wr_vec_end. */
static inline size_t wr_vec_begin(dtls_wr *w, size_t lenbytes) { return wr_reserve(w, lenbytes); }
static inline void wr_vec_end(dtls_wr *w, size_t mark, size_t lenbytes)
{
    if (w->err)
        return;
    size_t n = w->len - mark - lenbytes;
    if (lenbytes < 8 && n >> (8 * lenbytes)) {
        w->err = true;
        return;
    }
    for (size_t i = 0; i < lenbytes; i++)
        w->p[mark + i] = (uint8_t)(n >> (8 * (lenbytes - 1 - i)));
}
/* Room left, and a pointer to it, for writing in place. */
static inline uint8_t *wr_ptr(const dtls_wr *w) { return w->p + w->len; }
static inline size_t wr_room(const dtls_wr *w) { return w->err ? 0 : w->cap - w->len; }

#endif

/* fuzz_mutator.h — a structure-aware libFuzzer mutator for inputs that are
 * sequences of datagrams (u16 length prefixes, fuzz_common.h) of DTLS
 * records: the input is parsed into records and, in epoch-0 handshake
 * records, handshake fragments; one field is changed coherently (message
 * length, message_seq, fragment offset, type, a fragment split in two, a
 * record duplicated, moved, dropped or re-epoched, one extension of a
 * ClientHello/ServerHello dropped, duplicated, swapped, added or its body
 * mutated, one body mutated) and the whole is serialised again with every
 * length field that was not the target of the mutation recomputed. Inputs
 * that do not parse, and one time in four, go to LLVMFuzzerMutate.
 * Include in exactly one translation unit of a target. */
#ifndef DTLS_FUZZ_MUTATOR_H
#define DTLS_FUZZ_MUTATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

enum { MU_RAW, MU_REC, MU_FRAG, MU_TAIL };

typedef struct mu_unit {
    uint8_t kind;
    uint16_t dgram;        /* datagram index */
    bool cont;             /* MU_FRAG/MU_TAIL: in the record of the unit before */
    uint8_t rtype;         /* record header (MU_REC, first MU_FRAG of a record) */
    uint16_t version, epoch;
    uint64_t seq;
    uint8_t htype;         /* handshake header (MU_FRAG) */
    uint32_t hlen, off;
    uint16_t mseq;
    bool lie;              /* fragment_length is flen, not blen */
    uint32_t flen;
    uint8_t *body;         /* payload / fragment bytes / raw bytes, in the arena */
    size_t blen;
} mu_unit;

#define MU_MAX_UNITS 512
#define MU_ARENA (1 << 20)
static mu_unit mu_units[MU_MAX_UNITS];
static size_t mu_n;
static uint8_t mu_arena[MU_ARENA];
static size_t mu_used;
static uint64_t mu_rng;

static unsigned mu_rand(unsigned n)
{
    mu_rng ^= mu_rng << 13;
    mu_rng ^= mu_rng >> 7;
    mu_rng ^= mu_rng << 17;
    return n ? (unsigned)(mu_rng % n) : 0;
}

static uint8_t *mu_store(const uint8_t *p, size_t n, size_t room)
{
    if (mu_used + n + room > MU_ARENA)
        return NULL;
    uint8_t *d = mu_arena + mu_used;
    if (n)
        memcpy(d, p, n);
    mu_used += n + room;
    return d;
}

static mu_unit *mu_add(uint8_t kind, uint16_t dgram, const uint8_t *p, size_t n)
{
    if (mu_n == MU_MAX_UNITS)
        return NULL;
    mu_unit *u = &mu_units[mu_n];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->dgram = dgram;
    if (!(u->body = mu_store(p, n, 0)))
        return NULL;
    u->blen = n;
    mu_n++;
    return u;
}

static uint64_t mu_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static bool mu_parse(const uint8_t *d, size_t size)
{
    mu_n = 0;
    mu_used = 0;
    uint16_t dg = 0;
    while (size >= 2) {
        size_t len = (size_t)mu_be(d, 2);
        d += 2;
        size -= 2;
        if (len > size)
            len = size;
        const uint8_t *p = d;
        size_t left = len;
        while (left >= 13) {
            size_t rlen = (size_t)mu_be(p + 11, 2);
            if (p[0] == 25 || rlen > left - 13)
                break;
            const uint8_t *q = p + 13;
            size_t qleft = rlen;
            bool any = false;
            if (p[0] == 22 && mu_be(p + 3, 2) == 0) {
                while (qleft >= 12) {
                    size_t flen = (size_t)mu_be(q + 9, 3);
                    if (flen > qleft - 12)
                        break;
                    mu_unit *u = mu_add(MU_FRAG, dg, q + 12, flen);
                    if (!u)
                        return false;
                    u->cont = any;
                    u->htype = q[0];
                    u->hlen = (uint32_t)mu_be(q + 1, 3);
                    u->mseq = (uint16_t)mu_be(q + 4, 2);
                    u->off = (uint32_t)mu_be(q + 6, 3);
                    u->flen = (uint32_t)flen;
                    any = true;
                    q += 12 + flen;
                    qleft -= 12 + flen;
                }
            }
            mu_unit *u = NULL;
            if (!any)
                u = mu_add(MU_REC, dg, q, qleft);
            else if (qleft)
                u = mu_add(MU_TAIL, dg, q, qleft);
            if ((!any || qleft) && !u)
                return false;
            if (u)
                u->cont = any;
            /* every unit of the record carries its header (the first
             * one's is written), so any of them can start a record later */
            mu_unit *first = &mu_units[mu_n - 1];
            while (first > mu_units && first->cont)
                first--;
            for (mu_unit *v = first; v < mu_units + mu_n; v++) {
                v->rtype = p[0];
                v->version = (uint16_t)mu_be(p + 1, 2);
                v->epoch = (uint16_t)mu_be(p + 3, 2);
                v->seq = mu_be(p + 5, 6);
            }
            p += 13 + rlen;
            left -= 13 + rlen;
        }
        if (left && !mu_add(MU_RAW, dg, p, left))
            return false;
        d += len;
        size -= len;
        dg++;
    }
    return mu_n > 0;
}

static size_t mu_serialise(uint8_t *out, size_t cap)
{
    size_t n = 0, dstart = 0, rstart = 0;
    bool in_dgram = false, in_rec = false;
#define MU_PUT(v, k)                                                \
    do {                                                            \
        if (n + (k) > cap)                                          \
            return 0;                                               \
        for (size_t i_ = 0; i_ < (k); i_++)                         \
            out[n + i_] = (uint8_t)((uint64_t)(v) >> (8 * ((k) - 1 - i_))); \
        n += (k);                                                   \
    } while (0)
#define MU_END_REC()                                                \
    do {                                                            \
        if (in_rec) {                                               \
            size_t l_ = n - rstart - 13;                            \
            out[rstart + 11] = (uint8_t)(l_ >> 8);                  \
            out[rstart + 12] = (uint8_t)l_;                         \
        }                                                           \
        in_rec = false;                                             \
    } while (0)
#define MU_END_DGRAM()                                              \
    do {                                                            \
        MU_END_REC();                                               \
        if (in_dgram) {                                             \
            size_t l_ = n - dstart - 2;                             \
            out[dstart] = (uint8_t)(l_ >> 8);                       \
            out[dstart + 1] = (uint8_t)l_;                          \
        }                                                           \
        in_dgram = false;                                           \
    } while (0)
    for (size_t i = 0; i < mu_n; i++) {
        mu_unit *u = &mu_units[i];
        if (in_dgram && (i == 0 || u->dgram != mu_units[i - 1].dgram))
            MU_END_DGRAM();
        if (!in_dgram) {
            dstart = n;
            MU_PUT(0, 2);
            in_dgram = true;
        }
        bool starts = u->kind == MU_REC || ((u->kind == MU_FRAG || u->kind == MU_TAIL) && !(u->cont && in_rec));
        if (u->kind == MU_RAW || starts)
            MU_END_REC();
        if (starts) {
            rstart = n;
            MU_PUT(u->rtype, 1);
            MU_PUT(u->version, 2);
            MU_PUT(u->epoch, 2);
            MU_PUT(u->seq, 6);
            MU_PUT(0, 2);
            in_rec = true;
        }
        if (u->kind == MU_FRAG) {
            MU_PUT(u->htype, 1);
            MU_PUT(u->hlen, 3);
            MU_PUT(u->mseq, 2);
            MU_PUT(u->off, 3);
            MU_PUT(u->lie ? u->flen : u->blen, 3);
        }
        if (n + u->blen > cap)
            return 0;
        memcpy(out + n, u->body, u->blen);
        n += u->blen;
    }
    MU_END_DGRAM();
#undef MU_PUT
#undef MU_END_REC
#undef MU_END_DGRAM
    return n;
}

/* The extensions block of a whole ClientHello / ServerHello fragment:
 * its offset in the body, or 0 when there is none. */
static size_t mu_extensions_at(const mu_unit *u)
{
    if (u->kind != MU_FRAG || u->off != 0 || u->hlen != u->blen || (u->htype != 1 && u->htype != 2))
        return 0;
    size_t at = 2 + 32;
    const uint8_t *b = u->body;
    size_t n = u->blen;
    if (at >= n)
        return 0;
    at += 1 + b[at]; /* session_id */
    if (u->htype == 1) {
        if (at >= n)
            return 0;
        at += 1 + b[at]; /* cookie */
        if (at + 2 > n)
            return 0;
        at += 2 + (size_t)mu_be(b + at, 2); /* suites */
        if (at >= n)
            return 0;
        at += 1 + b[at]; /* compressions */
    } else {
        at += 3; /* suite, compression */
    }
    return at + 2 <= n && at + 2 + mu_be(u->body + at, 2) == n ? at : 0;
}

/* Rewrite u's body; a whole message keeps its lengths coherent. */
static void mu_set_body(mu_unit *u, uint8_t *b, size_t n)
{
    if (u->kind == MU_FRAG && u->off == 0 && u->hlen == u->blen)
        u->hlen = (uint32_t)n;
    u->body = b;
    u->blen = n;
}

static bool mu_mutate_extensions(mu_unit *u)
{
    size_t at = mu_extensions_at(u);
    if (!at)
        return false;
    /* the extensions as (offset, length) of each whole extension */
    size_t ext[64], elen[64], next = 0;
    for (size_t p = at + 2; p + 4 <= u->blen && next < 64;) {
        size_t l = 4 + (size_t)mu_be(u->body + p + 2, 2);
        if (p + l > u->blen)
            break;
        ext[next] = p;
        elen[next++] = l;
        p += l;
    }
    uint8_t *nb = mu_store(NULL, 0, u->blen * 2 + 1024);
    if (!nb)
        return false;
    memcpy(nb, u->body, at + 2);
    size_t n = at + 2;
    unsigned op = mu_rand(5), pick = next ? mu_rand((unsigned)next) : 0, other = next ? mu_rand((unsigned)next) : 0;
    static const uint16_t types[] = { 0, 10, 11, 13, 23, 35, 54, 0xFF01, 0x3374, 43, 51 };
    for (size_t i = 0; i < next; i++) {
        size_t src = i;
        if (op == 2 && i == pick)
            src = other; /* swap */
        else if (op == 2 && i == other)
            src = pick;
        if (op == 0 && i == pick)
            continue; /* drop */
        memcpy(nb + n, u->body + ext[src], elen[src]);
        n += elen[src];
        if (op == 1 && i == pick) { /* duplicate */
            memcpy(nb + n, u->body + ext[src], elen[src]);
            n += elen[src];
        }
        if (op == 3 && i == pick && elen[src] > 4) { /* mutate the body in place */
            size_t body_at = n - elen[src] + 4;
            size_t m = LLVMFuzzerMutate(nb + body_at, elen[src] - 4, elen[src] - 4 + 64);
            n = body_at + m;
            nb[body_at - 2] = (uint8_t)(m >> 8);
            nb[body_at - 1] = (uint8_t)m;
        }
    }
    if (op == 4 || !next) { /* add one */
        uint16_t t = types[mu_rand(sizeof types / sizeof types[0])];
        size_t l = mu_rand(8);
        nb[n++] = (uint8_t)(t >> 8);
        nb[n++] = (uint8_t)t;
        nb[n++] = 0;
        nb[n++] = (uint8_t)l;
        for (size_t i = 0; i < l; i++)
            nb[n++] = (uint8_t)mu_rand(256);
    }
    size_t total = n - at - 2;
    nb[at] = (uint8_t)(total >> 8);
    nb[at + 1] = (uint8_t)total;
    mu_set_body(u, nb, n);
    return true;
}

static bool mu_mutate_one(void)
{
    mu_unit *u = &mu_units[mu_rand((unsigned)mu_n)];
    mu_unit *frag = NULL;
    for (unsigned tries = 0; tries < 8 && !frag; tries++) {
        mu_unit *v = &mu_units[mu_rand((unsigned)mu_n)];
        if (v->kind == MU_FRAG)
            frag = v;
    }
    static const uint8_t htypes[] = { 0, 1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 20 };
    switch (mu_rand(14)) {
    case 0: /* message length */
        if (!frag)
            return false;
        switch (mu_rand(4)) {
        case 0: frag->hlen = (uint32_t)frag->blen; break;
        case 1: frag->hlen = frag->off + (uint32_t)frag->blen + mu_rand(64); break;
        case 2: frag->hlen = mu_rand(1 << 24); break;
        default: frag->hlen = frag->hlen ? frag->hlen - 1 : 0; break;
        }
        return true;
    case 1: /* message_seq */
        if (!frag)
            return false;
        frag->mseq = (uint16_t)(mu_rand(2) ? frag->mseq + mu_rand(5) - 2 : mu_rand(65536));
        return true;
    case 2: /* fragment offset */
        if (!frag)
            return false;
        switch (mu_rand(4)) {
        case 0: frag->off = 0; break;
        case 1: frag->off = frag->hlen; break;
        case 2: frag->off = frag->hlen > frag->blen ? frag->hlen - (uint32_t)frag->blen : 0; break;
        default: frag->off = mu_rand(frag->hlen + 2); break;
        }
        return true;
    case 3: /* handshake type */
        if (!frag)
            return false;
        frag->htype = mu_rand(8) ? htypes[mu_rand(sizeof htypes)] : (uint8_t)mu_rand(256);
        return true;
    case 4: { /* split a fragment in two records, or two fragments of one */
        if (!frag || frag->blen < 2 || mu_n == MU_MAX_UNITS)
            return false;
        size_t i = (size_t)(frag - mu_units), cut = 1 + mu_rand((unsigned)frag->blen - 1);
        memmove(&mu_units[i + 2], &mu_units[i + 1], (mu_n - i - 1) * sizeof *mu_units);
        mu_n++;
        mu_unit *b = &mu_units[i + 1];
        *b = *frag;
        frag->blen = cut;
        b->body = frag->body + cut;
        b->blen -= cut;
        b->off += (uint32_t)cut;
        b->cont = mu_rand(2);
        b->seq = frag->seq + 1;
        return true;
    }
    case 5: /* a whole unit repeated */
        if (mu_n == MU_MAX_UNITS)
            return false;
        mu_units[mu_n] = *u;
        mu_units[mu_n].cont = false;
        mu_units[mu_n].dgram = (uint16_t)(mu_units[mu_n - 1].dgram + mu_rand(2));
        mu_n++;
        return true;
    case 6: { /* two units swap places (datagrams stay where they were) */
        mu_unit *v = &mu_units[mu_rand((unsigned)mu_n)];
        mu_unit t = *u;
        uint16_t du = u->dgram, dv = v->dgram;
        *u = *v;
        *v = t;
        u->dgram = du;
        v->dgram = dv;
        return true;
    }
    case 7: { /* a unit dropped */
        if (mu_n < 2)
            return false;
        size_t i = (size_t)(u - mu_units);
        bool starts = !u->cont;
        memmove(u, u + 1, (mu_n - i - 1) * sizeof *u);
        mu_n--;
        if (starts && i < mu_n)
            mu_units[i].cont = false; /* the next unit now starts the record */
        return true;
    }
    case 8: /* record header fields */
        switch (mu_rand(4)) {
        case 0: u->epoch = (uint16_t)mu_rand(3); break;
        case 1: u->seq = mu_rand(2) ? u->seq + mu_rand(130) - 65 : ((uint64_t)1 << 48) - 1 - mu_rand(3); break;
        case 2: u->version = mu_rand(2) ? 0xFEFD : (uint16_t)(0xFE00 | mu_rand(256)); break;
        default: u->rtype = (uint8_t)(20 + mu_rand(7)); break;
        }
        return true;
    case 9: /* the fragment_length field lies */
        if (!frag)
            return false;
        frag->lie = true;
        frag->flen = mu_rand(2) ? (uint32_t)frag->blen + mu_rand(16) - 8 : mu_rand(1 << 24);
        return true;
    case 10:
    case 11:
        for (unsigned tries = 0; tries < 16; tries++)
            if (mu_mutate_extensions(&mu_units[mu_rand((unsigned)mu_n)]))
                return true;
        return false;
    default: { /* one body, mutated by libFuzzer; whole messages keep lengths coherent */
        uint8_t *nb = mu_store(u->body, u->blen, 256);
        if (!nb)
            return false;
        size_t m = LLVMFuzzerMutate(nb, u->blen, u->blen + 256);
        mu_set_body(u, nb, m);
        return true;
    }
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    mu_rng = (uint64_t)seed * 0x9E3779B97F4A7C15ull | 1;
    if (mu_rand(4) == 0 || !mu_parse(data, size))
        return LLVMFuzzerMutate(data, size, max_size);
    unsigned rounds = 1 + mu_rand(3);
    bool changed = false;
    for (unsigned r = 0; r < rounds; r++)
        changed |= mu_mutate_one();
    static uint8_t out[1 << 20];
    size_t n = changed ? mu_serialise(out, max_size < sizeof out ? max_size : sizeof out) : 0;
    if (!n)
        return LLVMFuzzerMutate(data, size, max_size);
    memcpy(data, out, n);
    return n;
}

#endif

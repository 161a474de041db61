/* protect.h — one direction's record protection, whichever kind the suite
 * uses: an AEAD (aead.h) or AES-CBC with HMAC (cbc.h, MAC-then-encrypt or
 * Encrypt-then-MAC). A tagged union so that the record layer seals and
 * opens without knowing which; keyed from a suite's key block slices.
 * Keys are wiped by protect_cleanup. The CBC state (its HMAC chaining
 * values make it three times an AEAD's) lives on the heap, so that the
 * AEAD sessions that are nearly all of them pay nothing for it.
 */
#ifndef DTLS_PROTECT_H
#define DTLS_PROTECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "cbc.h"
#include "suite.h"

typedef enum { PROTECT_NONE = 0, PROTECT_AEAD, PROTECT_CBC } protect_kind;

typedef struct dtls_protect {
    protect_kind kind;
    union {
        dtls_aead aead;
        dtls_cbc *cbc;
    } u;
} dtls_protect;

/* Key one direction for suite s from its key block slices (the writer's
 * MAC key, key and IV as dtls_key_block_slices gives them). etm: Encrypt-
 * then-MAC (RFC 7366) for a CBC suite; ignored for AEAD. Returns 0 or -1. */
int protect_init(dtls_protect *p, const dtls_suite *s, const dtls_key_slices *k, int encrypt,
                 int etm);
/* Free and wipe; safe on a zeroed struct. */
void protect_cleanup(dtls_protect *p);
/* Move src's keys into dst (dst cleaned first), leaving src empty. */
void protect_move(dtls_protect *dst, dtls_protect *src);

/* An idle direction gives back its libcrypto context and keeps the key;
 * the next seal or open re-keys (aead.h). CBC states stay as they are:
 * the legacy suites are rare enough not to need it. */
static inline void protect_park(dtls_protect *p)
{
    if (p->kind == PROTECT_AEAD)
        dtls_aead_park(&p->u.aead);
}

/* True while parking would free something. */
static inline bool protect_parkable(const dtls_protect *p)
{
    return p->kind == PROTECT_AEAD && dtls_aead_live(&p->u.aead);
}

/* Heap bytes the state holds (the CBC state; an AEAD's is in the struct). */
static inline size_t protect_memory(const dtls_protect *p)
{
    return p->kind == PROTECT_CBC ? sizeof *p->u.cbc : 0;
}

/* The most a record grows by (CBC: IV, MAC and a full block of padding). */
size_t protect_overhead_max(const dtls_protect *p);
/* The exact fragment length a plaintext of len bytes is sealed to. */
size_t protect_sealed_len(const dtls_protect *p, size_t len);

/* Seal/open a record's fragment (RFC 6347 4.1.2.1 MAC or additional data:
 * epoch||seq, type, version, length). out must not overlap in. 0 or -1;
 * a CBC record with bad padding or a bad MAC is -1 like any forgery. */
int protect_seal(dtls_protect *p, uint64_t epoch_seq, uint8_t type, uint16_t version,
                 const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
int protect_open(dtls_protect *p, uint64_t epoch_seq, uint8_t type, uint16_t version,
                 const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

/* The AEAD, for tls12_cid records (RFC 9146 5.2), or NULL: Connection IDs
 * are negotiated with AEAD suites only. */
static inline dtls_aead *protect_aead(dtls_protect *p)
{
    return p->kind == PROTECT_AEAD ? &p->u.aead : NULL;
}

#endif

/* aead.h — record protection with AEAD ciphers (RFC 5246 6.2.3.3).
 *
 * Nonces: AES-GCM (RFC 5288 3) and AES-CCM (RFC 6655 3): salt = 4-byte fixed
 * IV from the key block, explicit nonce = the record's 8-byte epoch||seq,
 * carried in the record before the ciphertext. ChaCha20-Poly1305
 * (RFC 7905 2): 12-byte fixed IV xor (0^32 || epoch||seq), no explicit nonce.
 * Additional data (RFC 6347 4.1.2.1): epoch||seq (8) || type || version ||
 * plaintext length (2).
 * The cipher context is keyed once; sealing and opening a record allocate
 * nothing. An idle direction may be parked: its libcrypto context (about
 * 1.2 KB for AES-GCM) is freed and only the key and fixed IV stay, and the
 * next record keys a fresh context. Keys are wiped by dtls_aead_cleanup.
 */
#ifndef DTLS_AEAD_H
#define DTLS_AEAD_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

typedef enum {
    DTLS_AEAD_NONE = 0,
    DTLS_AEAD_AES_128_GCM,
    DTLS_AEAD_AES_256_GCM,
    DTLS_AEAD_CHACHA20_POLY1305,
    DTLS_AEAD_AES_128_CCM,   /* 16-byte tag */
    DTLS_AEAD_AES_128_CCM_8, /* 8-byte tag */
} dtls_aead_alg;

typedef struct dtls_aead {
    EVP_CIPHER_CTX *ctx;  /* NULL when unkeyed (alg NONE) or parked */
    dtls_aead_alg alg;
    uint8_t key[32];      /* kept to re-key a parked context */
    uint8_t fixed_iv[12];
    uint8_t fixed_iv_len; /* 4 for GCM/CCM, 12 for ChaCha20-Poly1305 */
    uint8_t explicit_len; /* 8 for GCM/CCM, 0 for ChaCha20-Poly1305 */
    uint8_t tag_len;      /* 16, or 8 for CCM_8 */
    uint8_t key_len;      /* 16 or 32 */
    int encrypt;
    uint64_t gcm_next;    /* GCM sealing: the explicit nonce the context's
                             counter gives next; UINT64_MAX: unknown */
} dtls_aead;

/* Sizes from the key block for alg. */
size_t dtls_aead_key_len(dtls_aead_alg alg);
size_t dtls_aead_fixed_iv_len(dtls_aead_alg alg);

/* Key the context for one direction. Returns 0 or -1. */
int dtls_aead_init(dtls_aead *a, dtls_aead_alg alg, const uint8_t *key,
                   const uint8_t *fixed_iv, int encrypt);
/* Free the context and wipe key material; safe on a zeroed struct. */
void dtls_aead_cleanup(dtls_aead *a);
/* Free the libcrypto context of a keyed direction, keeping the key: the
 * next seal or open keys a new one (a few microseconds). No-op when
 * unkeyed or already parked. */
void dtls_aead_park(dtls_aead *a);
/* Whether a keyed direction holds a live libcrypto context. */
static inline int dtls_aead_live(const dtls_aead *a) { return a->ctx != NULL; }
/* Bytes a record grows by: explicit nonce + tag. */
static inline size_t dtls_aead_overhead(const dtls_aead *a)
{
    return (size_t)a->explicit_len + a->tag_len;
}

/* Encrypt in[0..in_len) of a record (type, version, epoch||seq) into out,
 * which receives explicit nonce || ciphertext || tag (in_len + overhead
 * bytes; out must not overlap in). Records must be sealed in sequence
 * order to stay on the fast path (any order is correct). Returns 0 or -1. */
int dtls_aead_seal(dtls_aead *a, uint64_t epoch_seq, uint8_t type, uint16_t version,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
/* Decrypt a record's fragment (explicit nonce || ciphertext || tag) into
 * out (room for in_len bytes; out must not overlap in). Only out[0..*out_len)
 * holds plaintext afterwards. Returns 0, or -1 when too short or the tag
 * does not verify (out's content is then unspecified). */
int dtls_aead_open(dtls_aead *a, uint64_t epoch_seq, uint8_t type, uint16_t version,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);

/* The same with the additional data given whole (RFC 9146 5.2's, for
 * records carrying a Connection ID). The nonce is built as above; a context
 * is used either in record mode (the two functions above) or this way,
 * never both, since record mode leaves state in the context. */
int dtls_aead_seal_ad(dtls_aead *a, uint64_t epoch_seq, const uint8_t *ad, size_t ad_len,
                      const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
int dtls_aead_open_ad(dtls_aead *a, const uint8_t *ad, size_t ad_len, uint64_t epoch_seq,
                      const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);

#endif

/* cbc.h — record protection with AES-CBC and HMAC, for old peers
 * (RFC 5246 6.2.3.2, RFC 6347 4.1.2.1, Encrypt-then-MAC RFC 7366).
 *
 * Both DTLS 1.2 and DTLS 1.0 (RFC 4347 4.1.2.1: DTLS 1.0 is TLS 1.1, RFC 4346
 * 6.2.3.2) carry an explicit per-record IV, so one construction serves both;
 * the version is only an input to the MAC. Keys come from the key block as
 * client/server MAC key then client/server encryption key, with no fixed IV
 * (RFC 4346 6.3, RFC 5246 6.3: IVs are only derived for implicit nonces).
 *
 * MAC-then-encrypt (RFC 5246 6.2.3.2) fragment:
 *   IV(16) || AES-CBC(plaintext || MAC || padding || padding_length)
 *   MAC = HMAC(epoch||seq(8) || type || version || plaintext length(2) || plaintext)
 * Encrypt-then-MAC (RFC 7366 3) fragment:
 *   IV(16) || AES-CBC(plaintext || padding || padding_length) || MAC
 *   MAC = HMAC(epoch||seq(8) || type || version || length of IV+ciphertext(2)
 *              || IV || ciphertext)
 *
 * The state is keyed once (an AES key schedule in an EVP_CIPHER_CTX, the
 * HMAC key as the hash states after K^ipad and K^opad); sealing and opening
 * a record allocate nothing. Opening a MAC-then-encrypt record checks the
 * padding and the MAC in constant time (cbc.c says how, and what is left).
 * Keys are wiped by dtls_cbc_cleanup.
 */
#ifndef DTLS_CBC_H
#define DTLS_CBC_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

typedef enum {
    DTLS_CBC_NONE = 0,
    DTLS_CBC_AES_128_SHA1,   /* RFC 5246 A.5: AES_128_CBC_SHA */
    DTLS_CBC_AES_256_SHA1,   /* AES_256_CBC_SHA */
    DTLS_CBC_AES_128_SHA256, /* AES_128_CBC_SHA256 (RFC 5246, RFC 5289, RFC 5487) */
    DTLS_CBC_AES_256_SHA256, /* AES_256_CBC_SHA256 (RFC 5246) */
    DTLS_CBC_AES_256_SHA384, /* AES_256_CBC_SHA384 (RFC 5289, RFC 5487) */
} dtls_cbc_alg;

#define DTLS_CBC_BLOCK 16       /* AES block, record IV and padding unit */
#define DTLS_CBC_MAX_MAC 48     /* HMAC-SHA384 */

typedef struct dtls_cbc {
    EVP_CIPHER_CTX *ctx;
    dtls_cbc_alg alg;
    uint8_t key_len;    /* 16 or 32 */
    uint8_t mac_len;    /* MAC and MAC key: 20, 32 or 48 (RFC 5246 6.2.3.1) */
    uint8_t hash_block; /* 64, or 128 for SHA-384 */
    int encrypt;
    int etm;            /* Encrypt-then-MAC negotiated (RFC 7366) */
    /* HMAC's key as the hash's chaining values after one block of K ^ ipad
     * and of K ^ opad (RFC 2104 2): every record resumes from them. */
    uint64_t inner[8];
    uint64_t outer[8];
} dtls_cbc;

/* Sizes from the key block for alg (RFC 5246 6.3); 0 for an unknown alg. */
size_t dtls_cbc_key_len(dtls_cbc_alg alg);
size_t dtls_cbc_mac_key_len(dtls_cbc_alg alg);

/* Key one direction. enc_key has dtls_cbc_key_len(alg) bytes, mac_key
 * dtls_cbc_mac_key_len(alg). etm: Encrypt-then-MAC (RFC 7366) rather than
 * MAC-then-encrypt. Returns 0 or -1. */
int dtls_cbc_init(dtls_cbc *c, dtls_cbc_alg alg, const uint8_t *enc_key,
                  const uint8_t *mac_key, int encrypt, int etm);
/* Free the context and wipe key material; safe on a zeroed struct. */
void dtls_cbc_cleanup(dtls_cbc *c);

/* The most a record grows by: IV + MAC + a full block of padding. */
static inline size_t dtls_cbc_overhead_max(const dtls_cbc *c)
{
    return DTLS_CBC_BLOCK + c->mac_len + DTLS_CBC_BLOCK;
}
/* The exact fragment length dtls_cbc_seal makes from in_len bytes (the
 * record header's length field, written before sealing). We pad minimally. */
size_t dtls_cbc_sealed_len(const dtls_cbc *c, size_t in_len);

/* Protect in[0..in_len) of a record (type, version, epoch||seq) into out
 * (dtls_cbc_sealed_len(c, in_len) bytes; out must not overlap in), with a
 * fresh random IV (RFC 5246 6.2.3.2: unpredictable). Returns 0 or -1. */
int dtls_cbc_seal(dtls_cbc *c, uint64_t epoch_seq, uint8_t type, uint16_t version,
                  const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
/* Check and decrypt a record's fragment into out (room for in_len bytes;
 * out must not overlap in). Only out[0..*out_len) holds plaintext
 * afterwards. Returns 0, or -1 for a fragment of an impossible length, bad
 * padding or a bad MAC, all alike (RFC 5246 6.2.3.2: one bad_record_mac;
 * DTLS drops the record, RFC 6347 4.1.2.7); out is wiped then. */
int dtls_cbc_open(dtls_cbc *c, uint64_t epoch_seq, uint8_t type, uint16_t version,
                  const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);

/* The MAC input is prefix || length (2) || data. For the records above the
 * prefix is epoch||seq (8) || type || version (RFC 6347 4.1.2.1); a
 * tls12_cid record (RFC 9146 5) has a longer one (seq_num_placeholder,
 * tls12_cid, cid_length, tls12_cid, version, epoch, sequence number, CID),
 * at most DTLS_CBC_MAX_PREFIX bytes with a 255-byte CID. */
#define DTLS_CBC_RECORD_PREFIX 11
#define DTLS_CBC_MAX_PREFIX (8 + 1 + 1 + 1 + 2 + 2 + 6 + 255)

static inline void dtls_cbc_record_prefix(uint8_t p[DTLS_CBC_RECORD_PREFIX], uint64_t epoch_seq,
                                          uint8_t type, uint16_t version)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)epoch_seq;
        epoch_seq >>= 8;
    }
    p[8] = type;
    p[9] = (uint8_t)(version >> 8);
    p[10] = (uint8_t)version;
}

/* dtls_cbc_seal with the MAC prefix given; iv NULL draws a random one (a
 * given IV is for known-answer tests only: record IVs must be
 * unpredictable). */
int dtls_cbc_seal_ad(dtls_cbc *c, const uint8_t *prefix, size_t prefix_len, const uint8_t *iv,
                     const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
/* dtls_cbc_open with the MAC prefix given. */
int dtls_cbc_open_ad(dtls_cbc *c, const uint8_t *prefix, size_t prefix_len, const uint8_t *in,
                     size_t in_len, uint8_t *out, size_t *out_len);

#endif

/* cbc_ref.h — the independent construction of CBC-HMAC records that
 * test_cbc and fuzz_cbc judge dtls_cbc by: one-shot EVP AES-CBC and HMAC on
 * buffers laid out from the RFC text (RFC 5246 6.2.3.2, RFC 7366 3,
 * RFC 9146 5 for longer MAC prefixes), and a receiver with early exits and
 * no care for timing. Header-only, for tests. */
#ifndef DTLS_TESTS_CBC_REF_H
#define DTLS_TESTS_CBC_REF_H

#include <stdint.h>
#include <string.h>
#include <openssl/evp.h>

#include "cbc.h"

struct alg_info {
    dtls_cbc_alg alg;
    const char *cipher, *digest;
    size_t key_len, mac_len;
};

static const struct alg_info algs[] = {
    { DTLS_CBC_AES_128_SHA1, "AES-128-CBC", "SHA1", 16, 20 },
    { DTLS_CBC_AES_256_SHA1, "AES-256-CBC", "SHA1", 32, 20 },
    { DTLS_CBC_AES_128_SHA256, "AES-128-CBC", "SHA256", 16, 32 },
    { DTLS_CBC_AES_256_SHA256, "AES-256-CBC", "SHA256", 32, 32 },
    { DTLS_CBC_AES_256_SHA384, "AES-256-CBC", "SHA384", 32, 48 },
};
#define N_ALGS (sizeof algs / sizeof algs[0])

/* Plain AES-CBC, no padding, on a fresh context; decrypts when !encrypt.
 * Returns 0 or -1. */
static inline int ref_cbc_dir(const char *cipher, const uint8_t *key, const uint8_t *iv,
                              const uint8_t *in, size_t len, uint8_t *out, int encrypt)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    int ok = c && ctx && EVP_CipherInit_ex(ctx, c, NULL, key, iv, encrypt) &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) &&
             EVP_CipherUpdate(ctx, out, &n, in, (int)len) &&
             EVP_CipherFinal_ex(ctx, out + n, &f) && (size_t)(n + f) == len;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

/* One-shot HMAC through EVP_Q_mac; returns the MAC's length, 0 on failure. */
static inline size_t ref_hmac(const char *digest, const uint8_t *key, size_t key_len,
                              const uint8_t *data, size_t len, uint8_t *out)
{
    size_t out_len = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, key_len, data, len, out, 64, &out_len) == NULL)
        return 0;
    return out_len;
}

/* The MAC input's prefix (before its 2-byte length): epoch||seq || type ||
 * version for an RFC 6347 record, longer with a CID (RFC 9146 5). */
struct pfx {
    uint8_t b[DTLS_CBC_MAX_PREFIX];
    size_t len;
};

/* prefix || length: the header the MAC covers. Returns its length. */
static inline size_t ref_hdr(uint8_t *out, const struct pfx *pf, size_t len)
{
    memcpy(out, pf->b, pf->len);
    out[pf->len] = (uint8_t)(len >> 8);
    out[pf->len + 1] = (uint8_t)len;
    return pf->len + 2;
}

/* HMAC(prefix || length || data) into mac. Returns 0 or -1. */
static inline int ref_record_mac(const struct alg_info *a, const uint8_t *mac_key,
                                 const struct pfx *pf, size_t len, const uint8_t *data,
                                 size_t n, uint8_t *mac)
{
    static uint8_t macin[DTLS_CBC_MAX_PREFIX + 2 + 70000];
    if (n > 70000)
        return -1;
    size_t h = ref_hdr(macin, pf, len);
    memcpy(macin + h, data, n);
    return ref_hmac(a->digest, mac_key, a->mac_len, macin, h + n, mac) == a->mac_len ? 0 : -1;
}

/* The receiver written straight from the RFC text, with early exits and no
 * care for timing: the verdict the constant-time one must reach. */
static inline int cbc_ref_open(const struct alg_info *a, int etm, const uint8_t *enc_key,
                               const uint8_t *mac_key, const struct pfx *pf, const uint8_t *rec,
                               size_t len, uint8_t *out, size_t *out_len)
{
    uint8_t mac[64];
    size_t tag = etm ? a->mac_len : 0, mte_mac = etm ? 0 : a->mac_len;
    if (len < 16 + tag || (len - 16 - tag) == 0 || (len - 16 - tag) % 16 != 0)
        return -1;
    size_t n = len - 16 - tag;
    if (etm) { /* RFC 7366 3: MAC first */
        if (ref_record_mac(a, mac_key, pf, 16 + n, rec, 16 + n, mac) != 0 ||
            memcmp(mac, rec + 16 + n, a->mac_len) != 0)
            return -1;
    }
    if (ref_cbc_dir(a->cipher, enc_key, rec, rec + 16, n, out, 0) != 0)
        return -1;
    size_t pad = out[n - 1];
    if (pad + 1 + mte_mac > n)
        return -1;
    for (size_t i = 0; i <= pad; i++)
        if (out[n - 1 - i] != pad)
            return -1;
    size_t plain = n - pad - 1 - mte_mac;
    if (!etm && (ref_record_mac(a, mac_key, pf, plain, out, plain, mac) != 0 ||
                 memcmp(mac, out + plain, a->mac_len) != 0))
        return -1;
    *out_len = plain;
    return 0;
}

#endif

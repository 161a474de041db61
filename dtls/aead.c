/* aead.c — AEAD record protection (RFC 5246 6.2.3.3) on libcrypto ciphers.
 * Owns additional-data construction and one keyed EVP_CIPHER_CTX per
 * direction, used in libcrypto's TLS record mode; per record it makes two
 * libcrypto calls and never allocates.
 */
#include "aead.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

enum { AEAD_AAD_LEN = 13, AEAD_NONCE_LEN = 12 };

/* Cipher implementations are fetched once per process: each fetch is a
 * method-store lookup we do not want on the handshake path. */
static EVP_CIPHER *ciphers[DTLS_AEAD_AES_128_CCM_8 + 1];
static CRYPTO_ONCE ciphers_once = CRYPTO_ONCE_STATIC_INIT;

static void ciphers_fetch(void)
{
    ciphers[DTLS_AEAD_AES_128_GCM] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    ciphers[DTLS_AEAD_AES_256_GCM] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    ciphers[DTLS_AEAD_CHACHA20_POLY1305] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    ciphers[DTLS_AEAD_AES_128_CCM] = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
    ciphers[DTLS_AEAD_AES_128_CCM_8] = ciphers[DTLS_AEAD_AES_128_CCM];
}

static const EVP_CIPHER *cipher_for(dtls_aead_alg alg)
{
    if (alg <= DTLS_AEAD_NONE || alg > DTLS_AEAD_AES_128_CCM_8)
        return NULL;
    if (!CRYPTO_THREAD_run_once(&ciphers_once, ciphers_fetch))
        return NULL;
    return ciphers[alg];
}

static int is_ccm(dtls_aead_alg alg)
{
    return alg == DTLS_AEAD_AES_128_CCM || alg == DTLS_AEAD_AES_128_CCM_8;
}

static int is_gcm(dtls_aead_alg alg)
{
    return alg == DTLS_AEAD_AES_128_GCM || alg == DTLS_AEAD_AES_256_GCM;
}

size_t dtls_aead_key_len(dtls_aead_alg alg)
{
    switch (alg) {
    case DTLS_AEAD_AES_128_GCM:
    case DTLS_AEAD_AES_128_CCM:
    case DTLS_AEAD_AES_128_CCM_8:
        return 16;
    case DTLS_AEAD_AES_256_GCM:
    case DTLS_AEAD_CHACHA20_POLY1305:
        return 32;
    default:
        return 0;
    }
}

/* RFC 5288 3 / RFC 6655 3: a 4-byte salt; RFC 7905 2: a 12-byte IV. */
size_t dtls_aead_fixed_iv_len(dtls_aead_alg alg)
{
    if (alg == DTLS_AEAD_CHACHA20_POLY1305)
        return 12;
    return dtls_aead_key_len(alg) ? 4 : 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A new libcrypto context keyed from a->key and a->fixed_iv. */
static int aead_key_ctx(dtls_aead *a)
{
    const EVP_CIPHER *cipher = cipher_for(a->alg);
    const dtls_aead_alg alg = a->alg;
    if (cipher == NULL)
        return -1;
    a->ctx = EVP_CIPHER_CTX_new();
    if (a->ctx == NULL)
        return -1;
    /* The nonce length, and for CCM the tag length (which fixes the MAC's
     * first block), must be known before the key is set. */
    if (!EVP_CipherInit_ex2(a->ctx, cipher, NULL, NULL, a->encrypt, NULL) ||
        !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, AEAD_NONCE_LEN, NULL))
        goto fail;
    if (is_ccm(alg) && !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, a->tag_len, NULL))
        goto fail;
    if (!EVP_CipherInit_ex2(a->ctx, NULL, a->key, NULL, a->encrypt, NULL))
        goto fail;
    /* The fixed part of every nonce, for the TLS record mode below: the
     * salt (GCM, CCM) or the whole IV (ChaCha20-Poly1305). A GCM sealing
     * context gets the whole IV at once (salt, zero counter): given the
     * salt alone, libcrypto draws a random counter, a DRBG call per key
     * that gcm_sync_counter overwrites at the first record anyway. */
    if (is_gcm(alg) && a->encrypt) {
        uint8_t iv[AEAD_NONCE_LEN] = { 0 };
        memcpy(iv, a->fixed_iv, 4);
        if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, iv) <= 0)
            goto fail;
    } else if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IV_FIXED, a->fixed_iv_len, a->fixed_iv) <= 0) {
        goto fail;
    }
    a->gcm_next = UINT64_MAX; /* synced on the first record */
    return 0;
fail:
    EVP_CIPHER_CTX_free(a->ctx);
    a->ctx = NULL;
    return -1;
}

int dtls_aead_init(dtls_aead *a, dtls_aead_alg alg, const uint8_t *key,
                   const uint8_t *fixed_iv, int encrypt)
{
    memset(a, 0, sizeof *a);
    if (cipher_for(alg) == NULL || key == NULL || fixed_iv == NULL)
        return -1;
    a->alg = alg;
    a->key_len = (uint8_t)dtls_aead_key_len(alg);
    a->fixed_iv_len = (uint8_t)dtls_aead_fixed_iv_len(alg);
    a->explicit_len = alg == DTLS_AEAD_CHACHA20_POLY1305 ? 0 : 8;
    a->tag_len = alg == DTLS_AEAD_AES_128_CCM_8 ? 8 : 16;
    a->encrypt = encrypt ? 1 : 0;
    memcpy(a->key, key, a->key_len);
    memcpy(a->fixed_iv, fixed_iv, a->fixed_iv_len);
    if (aead_key_ctx(a) != 0) {
        dtls_aead_cleanup(a);
        return -1;
    }
    return 0;
}

void dtls_aead_cleanup(dtls_aead *a)
{
    if (a == NULL)
        return;
    /* EVP_CIPHER_CTX_free cleanses the key schedule it holds. */
    EVP_CIPHER_CTX_free(a->ctx);
    OPENSSL_cleanse(a, sizeof *a);
}

void dtls_aead_park(dtls_aead *a)
{
    if (a->ctx == NULL)
        return;
    EVP_CIPHER_CTX_free(a->ctx);
    a->ctx = NULL;
    a->gcm_next = UINT64_MAX; /* a fresh context's counter is not synced */
}

/* A keyed direction's context, re-made when parked; false when unkeyed or
 * libcrypto fails. */
static inline int aead_ready(dtls_aead *a)
{
    return a->ctx != NULL || (a->alg != DTLS_AEAD_NONE && aead_key_ctx(a) == 0);
}

/* RFC 6347 4.1.2.1 with RFC 5246 6.2.3.3: epoch||seq, type, version, and a
 * length. In libcrypto's TLS record mode the length given is the fragment's
 * (explicit nonce + plaintext, + tag when opening); libcrypto puts the
 * plaintext length in its place before authenticating. */
static void make_aad(uint8_t aad[AEAD_AAD_LEN], uint64_t epoch_seq, uint8_t type,
                     uint16_t version, size_t len)
{
    put_be64(aad, epoch_seq);
    aad[8] = type;
    aad[9] = (uint8_t)(version >> 8);
    aad[10] = (uint8_t)version;
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
}

/* GCM sealing takes its explicit nonce from a counter inside the context;
 * point it at this record's epoch||seq (RFC 5288 3: the sequence number is
 * the explicit nonce). Records are sealed in sequence order, so after the
 * first record of an epoch the counter is already there. */
static int gcm_sync_counter(dtls_aead *a, uint64_t epoch_seq)
{
    uint8_t iv[AEAD_NONCE_LEN];
    memcpy(iv, a->fixed_iv, 4);
    put_be64(iv + 4, epoch_seq);
    /* -1: the whole IV, salt and counter (EVP_CTRL_GCM_SET_IV_FIXED). */
    int ok = EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_IV_FIXED, -1, iv) > 0;
    OPENSSL_cleanse(iv, sizeof iv);
    return ok;
}

/* One record through libcrypto's TLS record mode (what libssl uses): the
 * additional data goes in with EVP_CTRL_AEAD_TLS1_AAD, then one in-place
 * EVP_Cipher call builds the nonce from the fixed IV, encrypts and appends
 * the tag, or decrypts and checks the tag in constant time. The nonce's
 * explicit part comes from the record when opening, from the additional
 * data's epoch||seq when sealing with CCM, from the synced counter with
 * GCM; ChaCha20-Poly1305 xors epoch||seq into its fixed IV (RFC 7905 2).
 * This is two calls into libcrypto per record instead of five, with none of
 * the parameter plumbing of setting a fresh IV. */
static int tls_record_cipher(dtls_aead *a, const uint8_t aad[AEAD_AAD_LEN], uint8_t *buf, size_t len)
{
    uint8_t aad_copy[AEAD_AAD_LEN]; /* libcrypto rewrites its length field */
    memcpy(aad_copy, aad, sizeof aad_copy);
    /* The parameter itself rather than EVP_CTRL_AEAD_TLS1_AAD, which would
     * also read back the tag length we already know. */
    OSSL_PARAM params[2] = {
        OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, aad_copy, sizeof aad_copy),
        OSSL_PARAM_END,
    };
    if (!EVP_CIPHER_CTX_set_params(a->ctx, params))
        return 0;
    return EVP_Cipher(a->ctx, buf, buf, (unsigned)len) >= 0;
}

int dtls_aead_seal(dtls_aead *a, uint64_t epoch_seq, uint8_t type, uint16_t version,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t aad[AEAD_AAD_LEN];
    size_t total = in_len + dtls_aead_overhead(a);

    if (!a->encrypt || in_len > 0xffffu - a->explicit_len || (in == NULL && in_len) || !aead_ready(a))
        return -1;
    if (is_gcm(a->alg) && a->gcm_next != epoch_seq && !gcm_sync_counter(a, epoch_seq))
        return -1;
    if (in_len)
        memcpy(out + a->explicit_len, in, in_len);
    make_aad(aad, epoch_seq, type, version, a->explicit_len + in_len);
    if (!tls_record_cipher(a, aad, out, total)) {
        a->gcm_next = UINT64_MAX; /* where the counter stands is unknown */
        OPENSSL_cleanse(out, total);
        return -1;
    }
    a->gcm_next = epoch_seq + 1;
    *out_len = total;
    return 0;
}

int dtls_aead_open(dtls_aead *a, uint64_t epoch_seq, uint8_t type, uint16_t version,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t aad[AEAD_AAD_LEN];
    size_t overhead = dtls_aead_overhead(a);

    if (a->encrypt || in == NULL || in_len < overhead || in_len > 0xffff || !aead_ready(a))
        return -1;
    size_t plain_len = in_len - overhead;
    /* The record mode works in place: out becomes explicit nonce ||
     * plaintext || tag, and the plaintext then moves to the front. */
    memcpy(out, in, in_len);
    make_aad(aad, epoch_seq, type, version, in_len);
    if (!tls_record_cipher(a, aad, out, in_len))
        return -1; /* libcrypto has wiped what it decrypted */
    if (a->explicit_len) {
        memmove(out, out + a->explicit_len, plain_len);
        /* The move leaves a copy of the plaintext's last bytes behind it;
         * callers wipe only out[0..plain_len). */
        OPENSSL_cleanse(out + plain_len, a->explicit_len);
    }
    *out_len = plain_len;
    return 0;
}

/* ---- explicit additional data (RFC 9146 5.2) ---- */

/* RFC 5288 3 / RFC 6655 3: salt || explicit nonce (the sequence number, or
 * the one the record carries); RFC 7905 2: IV xor (0^32 || epoch||seq). */
static void full_nonce(const dtls_aead *a, const uint8_t explicit_nonce[8], uint8_t nonce[AEAD_NONCE_LEN])
{
    if (a->explicit_len) {
        memcpy(nonce, a->fixed_iv, 4);
        memcpy(nonce + 4, explicit_nonce, 8);
        return;
    }
    memcpy(nonce, a->fixed_iv, AEAD_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= explicit_nonce[i];
}

/* One AEAD pass over len >= 1 bytes (an inner plaintext always holds its
 * content type): nonce, (CCM: the length first), additional data, data.
 * Sealing appends the tag; opening checks the expected one in constant
 * time inside libcrypto. */
static int aead_pass(dtls_aead *a, const uint8_t nonce[AEAD_NONCE_LEN], const uint8_t *ad,
                     size_t ad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    int n = 0, m = 0;
    if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, a->encrypt, NULL))
        return 0;
    if (!a->encrypt && !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, a->tag_len, tag))
        return 0;
    if (is_ccm(a->alg) && !EVP_CipherUpdate(a->ctx, NULL, &n, NULL, (int)len))
        return 0;
    if (!EVP_CipherUpdate(a->ctx, NULL, &n, ad, (int)ad_len))
        return 0;
    if (EVP_CipherUpdate(a->ctx, out, &n, in, (int)len) <= 0)
        return 0;
    /* CCM checks its tag in the update call above; it has no final step. */
    if (!is_ccm(a->alg) && EVP_CipherFinal_ex(a->ctx, out + n, &m) <= 0)
        return 0;
    return !a->encrypt || EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, a->tag_len, tag) > 0;
}

int dtls_aead_seal_ad(dtls_aead *a, uint64_t epoch_seq, const uint8_t *ad, size_t ad_len,
                      const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t explicit_nonce[8], nonce[AEAD_NONCE_LEN];
    if (!a->encrypt || in_len == 0 || in_len > 0xffffu - dtls_aead_overhead(a) || !aead_ready(a))
        return -1;
    put_be64(explicit_nonce, epoch_seq);
    full_nonce(a, explicit_nonce, nonce);
    memcpy(out, explicit_nonce, a->explicit_len);
    int ok = aead_pass(a, nonce, ad, ad_len, in, in_len, out + a->explicit_len,
                       out + a->explicit_len + in_len);
    OPENSSL_cleanse(nonce, sizeof nonce);
    if (!ok) {
        OPENSSL_cleanse(out, in_len + dtls_aead_overhead(a));
        return -1;
    }
    *out_len = in_len + dtls_aead_overhead(a);
    return 0;
}

int dtls_aead_open_ad(dtls_aead *a, const uint8_t *ad, size_t ad_len, uint64_t epoch_seq,
                      const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t explicit_nonce[8], nonce[AEAD_NONCE_LEN], tag[16];
    size_t overhead = dtls_aead_overhead(a);
    if (a->encrypt || in == NULL || in_len <= overhead || in_len > 0xffff || !aead_ready(a))
        return -1;
    size_t plain_len = in_len - overhead;
    if (a->explicit_len)
        memcpy(explicit_nonce, in, 8);
    else
        put_be64(explicit_nonce, epoch_seq);
    full_nonce(a, explicit_nonce, nonce);
    memcpy(tag, in + a->explicit_len + plain_len, a->tag_len);
    int ok = aead_pass(a, nonce, ad, ad_len, in + a->explicit_len, plain_len, out, tag);
    OPENSSL_cleanse(nonce, sizeof nonce);
    if (!ok) {
        OPENSSL_cleanse(out, plain_len);
        return -1;
    }
    *out_len = plain_len;
    return 0;
}

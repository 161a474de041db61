/* aead.c — AEAD record protection (RFC 5246 6.2.3.3) on libcrypto ciphers.
 * Owns nonce and additional-data construction and one keyed EVP_CIPHER_CTX
 * per direction; per record it only sets the IV and never allocates.
 */
#include "aead.h"

#include <string.h>
#include <openssl/crypto.h>

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

int dtls_aead_init(dtls_aead *a, dtls_aead_alg alg, const uint8_t *key,
                   const uint8_t *fixed_iv, int encrypt)
{
    const EVP_CIPHER *cipher = cipher_for(alg);

    memset(a, 0, sizeof *a);
    if (cipher == NULL || key == NULL || fixed_iv == NULL)
        return -1;
    a->alg = alg;
    a->key_len = (uint8_t)dtls_aead_key_len(alg);
    a->fixed_iv_len = (uint8_t)dtls_aead_fixed_iv_len(alg);
    a->explicit_len = alg == DTLS_AEAD_CHACHA20_POLY1305 ? 0 : 8;
    a->tag_len = alg == DTLS_AEAD_AES_128_CCM_8 ? 8 : 16;
    a->encrypt = encrypt ? 1 : 0;
    memcpy(a->fixed_iv, fixed_iv, a->fixed_iv_len);

    a->ctx = EVP_CIPHER_CTX_new();
    if (a->ctx == NULL)
        goto fail;
    /* The nonce length, and for CCM the tag length (which fixes the MAC's
     * first block), must be known before the key is set. */
    if (!EVP_CipherInit_ex2(a->ctx, cipher, NULL, NULL, a->encrypt, NULL) ||
        !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, AEAD_NONCE_LEN, NULL))
        goto fail;
    if (is_ccm(alg) && !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, a->tag_len, NULL))
        goto fail;
    if (!EVP_CipherInit_ex2(a->ctx, NULL, key, NULL, a->encrypt, NULL))
        goto fail;
    return 0;
fail:
    dtls_aead_cleanup(a);
    return -1;
}

void dtls_aead_cleanup(dtls_aead *a)
{
    if (a == NULL)
        return;
    /* EVP_CIPHER_CTX_free cleanses the key schedule it holds. */
    EVP_CIPHER_CTX_free(a->ctx);
    OPENSSL_cleanse(a, sizeof *a);
}

/* The per-record nonce: salt || explicit nonce for GCM (RFC 5288 3) and CCM
 * (RFC 6655 3); the fixed IV xor the padded epoch||seq for ChaCha20-Poly1305
 * (RFC 7905 2). */
static void make_nonce(const dtls_aead *a, const uint8_t explicit_nonce[8], uint64_t epoch_seq,
                       uint8_t nonce[AEAD_NONCE_LEN])
{
    if (a->explicit_len) {
        memcpy(nonce, a->fixed_iv, 4);
        memcpy(nonce + 4, explicit_nonce, 8);
    } else {
        uint8_t seq[8];
        put_be64(seq, epoch_seq);
        memcpy(nonce, a->fixed_iv, AEAD_NONCE_LEN);
        for (int i = 0; i < 8; i++)
            nonce[4 + i] ^= seq[i];
    }
}

/* RFC 6347 4.1.2.1 with RFC 5246 6.2.3.3: epoch||seq, type, version, and the
 * plaintext length. */
static void make_aad(uint8_t aad[AEAD_AAD_LEN], uint64_t epoch_seq, uint8_t type,
                     uint16_t version, size_t plain_len)
{
    put_be64(aad, epoch_seq);
    aad[8] = type;
    aad[9] = (uint8_t)(version >> 8);
    aad[10] = (uint8_t)version;
    aad[11] = (uint8_t)(plain_len >> 8);
    aad[12] = (uint8_t)plain_len;
}

/* Set the nonce and feed the additional data; CCM needs the message length
 * before the additional data (it is encoded in the first MAC block). */
static int start_record(dtls_aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
                        const uint8_t aad[AEAD_AAD_LEN], size_t plain_len)
{
    int n;
    if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, a->encrypt, NULL))
        return 0;
    if (is_ccm(a->alg) && !EVP_CipherUpdate(a->ctx, NULL, &n, NULL, (int)plain_len))
        return 0;
    return EVP_CipherUpdate(a->ctx, NULL, &n, aad, AEAD_AAD_LEN);
}

int dtls_aead_seal(dtls_aead *a, uint64_t epoch_seq, uint8_t type, uint16_t version,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t nonce[AEAD_NONCE_LEN], aad[AEAD_AAD_LEN];
    int n = 0, fin = 0;

    if (a->ctx == NULL || !a->encrypt || in_len > 0xffff || (in == NULL && in_len))
        return -1;
    uint8_t *ct = out + a->explicit_len;
    if (a->explicit_len)
        put_be64(out, epoch_seq); /* RFC 5288 3: the explicit nonce is the sequence number */
    make_nonce(a, out, epoch_seq, nonce);
    make_aad(aad, epoch_seq, type, version, in_len);
    if (!start_record(a, nonce, aad, in_len))
        return -1;
    /* CCM computes its tag in the data call, so it needs one even for an
     * empty record; the input pointer then only has to be non-NULL. */
    if ((in_len || is_ccm(a->alg)) &&
        !EVP_CipherUpdate(a->ctx, ct, &n, in_len ? in : aad, (int)in_len))
        return -1;
    if (!EVP_CipherFinal_ex(a->ctx, ct + n, &fin))
        return -1;
    if ((size_t)n + (size_t)fin != in_len ||
        !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, a->tag_len, ct + in_len))
        return -1;
    *out_len = in_len + dtls_aead_overhead(a);
    return 0;
}

int dtls_aead_open(dtls_aead *a, uint64_t epoch_seq, uint8_t type, uint16_t version,
                   const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t nonce[AEAD_NONCE_LEN], aad[AEAD_AAD_LEN];
    size_t overhead = dtls_aead_overhead(a);
    int n = 0, fin = 0;

    if (a->ctx == NULL || a->encrypt || in == NULL || in_len < overhead ||
        in_len - overhead > 0xffff)
        return -1;
    size_t plain_len = in_len - overhead;
    const uint8_t *ct = in + a->explicit_len;
    /* The tag is checked by libcrypto (in constant time); our cast drops
     * const only because the control interface is not const-correct. */
    uint8_t *tag = (uint8_t *)(uintptr_t)(ct + plain_len);

    make_nonce(a, in, epoch_seq, nonce);
    make_aad(aad, epoch_seq, type, version, plain_len);
    if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 0, NULL) ||
        !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, a->tag_len, tag))
        return -1;
    if (is_ccm(a->alg)) {
        /* CCM verifies the tag within the single update call (RFC 3610 2.5
         * needs the whole message before the MAC is known). */
        if (!EVP_CipherUpdate(a->ctx, NULL, &n, NULL, (int)plain_len) ||
            !EVP_CipherUpdate(a->ctx, NULL, &n, aad, AEAD_AAD_LEN) ||
            EVP_CipherUpdate(a->ctx, out, &n, ct, (int)plain_len) <= 0)
            return -1;
    } else {
        if (!EVP_CipherUpdate(a->ctx, NULL, &n, aad, AEAD_AAD_LEN))
            return -1;
        n = 0;
        if (plain_len && !EVP_CipherUpdate(a->ctx, out, &n, ct, (int)plain_len))
            return -1;
        if (EVP_CipherFinal_ex(a->ctx, out + n, &fin) <= 0)
            return -1;
    }
    if ((size_t)n + (size_t)fin != plain_len)
        return -1;
    *out_len = plain_len;
    return 0;
}

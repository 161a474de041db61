/* sig10.c — DTLS 1.0 signatures (RSA over MD5||SHA-1, ECDSA over SHA-1) on
 * libcrypto's EVP_DigestSign/Verify. Owns the choice of hash and padding by
 * key type; holds no state and never logs what it signs.
 */
#include "sig10.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

/* The hash a DTLS 1.0 signature uses for this key, or NULL when the key
 * cannot sign one (RSA-PSS keys, Ed25519, ...: not in TLS 1.1). libcrypto's
 * "MD5-SHA1" is the 36-byte concatenation, and its RSA PKCS#1 signer sends
 * it without a DigestInfo, as RFC 4346 4.7 wants. */
static const char *sig10_md(EVP_PKEY *key)
{
    switch (key ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE) {
    case EVP_PKEY_RSA:
        return "MD5-SHA1";
    case EVP_PKEY_EC:
        return "SHA1";
    default:
        return NULL;
    }
}

/* One signing (sign set; *sig_len in: capacity, out: length) or one
 * verification of sig[0..*sig_len). Returns 0 or -1. */
static int sig10_run(EVP_PKEY *key, int sign, const uint8_t *tbs, size_t tbs_len, uint8_t *sig,
                     size_t *sig_len)
{
    const char *md = sig10_md(key);
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;
    if (md == NULL || sig == NULL || sig_len == NULL || (tbs == NULL && tbs_len))
        goto out;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL)
        goto out;
    ok = sign ? EVP_DigestSignInit_ex(mctx, &pctx, md, NULL, NULL, key, NULL) == 1
              : EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL, key, NULL) == 1;
    if (ok && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    if (ok && sign) {
        /* One call: a sizing call would hash tbs twice. EVP_PKEY_get_size
         * bounds every signature the key makes. */
        int need = EVP_PKEY_get_size(key);
        ok = need > 0 && (size_t)need <= *sig_len &&
             EVP_DigestSign(mctx, sig, sig_len, tbs, tbs_len) == 1;
    } else if (ok) {
        ok = *sig_len > 0 && EVP_DigestVerify(mctx, sig, *sig_len, tbs, tbs_len) == 1;
    }
    EVP_MD_CTX_free(mctx);
out:
    ERR_clear_error();
    return ok ? 0 : -1;
}

int dtls_sig10_sign(EVP_PKEY *key, const uint8_t *tbs, size_t tbs_len, uint8_t *sig,
                    size_t *sig_len)
{
    return sig10_run(key, 1, tbs, tbs_len, sig, sig_len);
}

int dtls_sig10_verify(EVP_PKEY *pub, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
                      size_t sig_len)
{
    /* Verification only reads sig. */
    return sig10_run(pub, 0, tbs, tbs_len, (uint8_t *)sig, &sig_len);
}

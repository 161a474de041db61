/* test_sig10.c — DTLS 1.0 signatures: RSA checked byte for byte against a
 * PKCS#1 v1.5 signature of MD5 || SHA-1 made with the raw RSA operation
 * (PKCS#1 v1.5 is deterministic) and recovered without a DigestInfo; ECDSA
 * exchanged both ways with plain EVP SHA-1 signing; tampering refused;
 * keys TLS 1.1 cannot sign with refused. */
#include "sig10.h"
#include "unit.h"

#include <openssl/rsa.h>

static const uint8_t tbs[] = "client_random || server_random || ServerECDHParams";

/* MD5(tbs) || SHA-1(tbs), the 36 bytes RFC 4346 4.7 signs with RSA. */
static void md5_sha1(const uint8_t *m, size_t n, uint8_t out[36])
{
    CHECK(EVP_Digest(m, n, out, NULL, EVP_md5(), NULL));
    CHECK(EVP_Digest(m, n, out + 16, NULL, EVP_sha1(), NULL));
}

static void test_rsa(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    uint8_t sig[512], want[512], rec[512], digest[36];
    size_t sig_len = sizeof sig, want_len = sizeof want, rec_len = sizeof rec;
    CHECK(key != NULL && other != NULL);
    CHECK(dtls_sig10_sign(key, tbs, sizeof tbs, sig, &sig_len) == 0);
    CHECK(sig_len == 256);

    /* The independent signature: raw PKCS#1 v1.5 (type 1) over the digest. */
    md5_sha1(tbs, sizeof tbs, digest);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CHECK(pctx && EVP_PKEY_sign_init(pctx) > 0 &&
          EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
          EVP_PKEY_sign(pctx, want, &want_len, digest, sizeof digest) > 0);
    EVP_PKEY_CTX_free(pctx);
    CHECK(want_len == sig_len);
    CHECK_MEM(sig, want, sig_len);
    /* What the signature holds is exactly the 36 bytes, no DigestInfo. */
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CHECK(pctx && EVP_PKEY_verify_recover_init(pctx) > 0 &&
          EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
          EVP_PKEY_verify_recover(pctx, rec, &rec_len, sig, sig_len) > 0);
    EVP_PKEY_CTX_free(pctx);
    CHECK(rec_len == 36);
    CHECK_MEM(rec, digest, 36);

    CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, sig, sig_len) == 0);
    CHECK(dtls_sig10_verify(key, tbs, sizeof tbs - 1, sig, sig_len) == -1);
    CHECK(dtls_sig10_verify(other, tbs, sizeof tbs, sig, sig_len) == -1);
    sig[100] ^= 1;
    CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, sig, sig_len) == -1);
    sig[100] ^= 1;
    CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, sig, sig_len - 1) == -1);
    CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, sig, 0) == -1);
    /* A DTLS 1.2-style RSA signature (SHA-256 with DigestInfo) is not one. */
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    size_t l12 = sizeof want;
    CHECK(m && EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
          EVP_DigestSign(m, want, &l12, tbs, sizeof tbs) == 1);
    EVP_MD_CTX_free(m);
    CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, want, l12) == -1);
    /* Too little room. */
    sig_len = 255;
    CHECK(dtls_sig10_sign(key, tbs, sizeof tbs, sig, &sig_len) == -1);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

static void test_ecdsa(void)
{
    static const char *curves[] = { "P-256", "P-384" };
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]);
        uint8_t sig[160], theirs[160];
        size_t sig_len = sizeof sig, theirs_len = sizeof theirs;
        CHECK(key != NULL);
        CHECK(dtls_sig10_sign(key, tbs, sizeof tbs, sig, &sig_len) == 0);
        /* Plain EVP with SHA-1 verifies ours and makes one we verify. */
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        CHECK(m && EVP_DigestVerifyInit_ex(m, NULL, "SHA1", NULL, NULL, key, NULL) == 1 &&
              EVP_DigestVerify(m, sig, sig_len, tbs, sizeof tbs) == 1);
        EVP_MD_CTX_free(m);
        m = EVP_MD_CTX_new();
        CHECK(m && EVP_DigestSignInit_ex(m, NULL, "SHA1", NULL, NULL, key, NULL) == 1 &&
              EVP_DigestSign(m, theirs, &theirs_len, tbs, sizeof tbs) == 1);
        EVP_MD_CTX_free(m);
        CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, theirs, theirs_len) == 0);
        /* A SHA-256 ECDSA signature is not a DTLS 1.0 one. */
        m = EVP_MD_CTX_new();
        theirs_len = sizeof theirs;
        CHECK(m && EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
              EVP_DigestSign(m, theirs, &theirs_len, tbs, sizeof tbs) == 1);
        EVP_MD_CTX_free(m);
        CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, theirs, theirs_len) == -1);
        CHECK(dtls_sig10_verify(key, tbs, sizeof tbs - 1, sig, sig_len) == -1);
        sig[sig_len / 2] ^= 0x08;
        CHECK(dtls_sig10_verify(key, tbs, sizeof tbs, sig, sig_len) == -1);
        EVP_PKEY_free(key);
    }
}

static EVP_PKEY *keygen(const char *type)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_generate(ctx, &key) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static void test_unusable_keys(void)
{
    EVP_PKEY *ed = keygen("ED25519");
    EVP_PKEY *pss = keygen("RSA-PSS");
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    CHECK(ed != NULL && pss != NULL);
    CHECK(dtls_sig10_sign(ed, tbs, sizeof tbs, sig, &sig_len) == -1);
    sig_len = sizeof sig;
    CHECK(dtls_sig10_sign(pss, tbs, sizeof tbs, sig, &sig_len) == -1);
    CHECK(dtls_sig10_verify(ed, tbs, sizeof tbs, sig, 64) == -1);
    CHECK(dtls_sig10_sign(NULL, tbs, sizeof tbs, sig, &sig_len) == -1);
    CHECK(dtls_sig10_verify(NULL, tbs, sizeof tbs, sig, 64) == -1);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(pss);
}

int main(void)
{
    test_rsa();
    test_ecdsa();
    test_unusable_keys();
    return unit_report();
}

/* test_prf.c — the TLS PRF against published vectors: the TLS 1.2 P_SHA256
 * and P_SHA384 vectors posted to the IETF TLS list, and NIST CAVP
 * (SP 800-135) TLS 1.0/1.1 and TLS 1.2 master-secret / key-block cases. */
#include "prf.h"
#include "unit.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

/* PRF(secret, label, seed) compared with expected; seed may be split in two
 * at split to exercise seed_a/seed_b. */
static void check_prf(const EVP_MD *md, const char *secret_hex, const char *label,
                      const char *seed_hex, size_t split, const char *want_hex)
{
    size_t secret_len, seed_len, want_len;
    uint8_t *secret = unit_hex(secret_hex, &secret_len);
    uint8_t *seed = unit_hex(seed_hex, &seed_len);
    uint8_t *want = unit_hex(want_hex, &want_len);
    uint8_t *out = malloc(want_len);

    if (split > seed_len)
        split = seed_len;
    CHECK(dtls_prf(md, secret, secret_len, label, seed, split, seed + split, seed_len - split,
                   out, want_len) == 0);
    CHECK_MEM(out, want, want_len);
    free(secret);
    free(seed);
    free(want);
    free(out);
}

static void test_tls12_sha256_vector(void)
{
    const char *want =
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
        "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66";
    check_prf(EVP_sha256(), "9bbe436ba940f017b17652849a71db35", "test label",
              "a0ba9f936cda311827a6f796ffd5198c", 16, want);
    /* The same seed split across seed_a and seed_b gives the same bytes. */
    check_prf(EVP_sha256(), "9bbe436ba940f017b17652849a71db35", "test label",
              "a0ba9f936cda311827a6f796ffd5198c", 5, want);
    check_prf(EVP_sha256(), "9bbe436ba940f017b17652849a71db35", "test label",
              "a0ba9f936cda311827a6f796ffd5198c", 0, want);
}

static void test_tls12_sha384_vector(void)
{
    check_prf(EVP_sha384(), "b80b733d6ceefcdc71566ea48e5567df", "test label",
              "cd665cf6a8447dd6ff8b27555edb7465", 8,
              "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
              "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
              "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
              "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
              "91c8f3a26854308d5eaa3be85e0990703d73e56f");
}

/* NIST CAVP TLS 1.2 SHA-256: master secret from the pre-master secret and
 * hello randoms, then the key block (RFC 5246 8.1, 6.3). */
static void test_cavp_tls12(void)
{
    check_prf(EVP_sha256(),
              "f8938ecc9edebc5030c0c6a441e213cd24e6f770a50dda07876f8d55da062bca"
              "db386b411fd4fe4313a604fce6c17fbc",
              "master secret",
              "36c129d01a3200894b9179faac589d9835d58775f9b5ea3587cb8fd0364cae8c"
              "f6c9575ed7ddd73e1f7d16eca115415812a43c2b747daaaae043abfb50053fce", 32,
              "202c88c00f84a17a20027079604787461176455539e705be730890602c289a50"
              "01e34eeb3a043e5d52a65e66125188bf");
    check_prf(EVP_sha256(),
              "202c88c00f84a17a20027079604787461176455539e705be730890602c289a50"
              "01e34eeb3a043e5d52a65e66125188bf",
              "key expansion",
              "ae6c806f8ad4d80784549dff28a4b58fd837681a51d928c3e30ee5ff14f39868"
              "62e1fd91f23f558a605f28478c58cf72637b89784d959df7e946d3f07bd1b616", 32,
              "d06139889fffac1e3a71865f504aa5d0d2a2e89506c6f2279b670c3e1b74f531"
              "016a2530c51a3a0f7e1d6590d0f0566b2f387f8d11fd4f731cdd572d2eae927f"
              "6f2f81410b25e6960be68985add6c38445ad9f8c64bf8068bf9a6679485d966f"
              "1ad6f68b43495b10a683755ea2b858d70ccac7ec8b053c6bd41ca299d4e51928");
}

/* NIST CAVP TLS 1.0/1.1 (P_MD5 xor P_SHA1, RFC 2246 5). */
static void test_cavp_tls10(void)
{
    check_prf(NULL,
              "bded7fa5c1699c010be23dd06ada3a48349f21e5f86263d512c0c5cc379f0e78"
              "0ec55d9844b2f1db02a96453513568d0",
              "master secret",
              "e5acaf549cd25c22d964c0d930fa4b5261d2507fad84c33715b7b9a864020693"
              "135e4d557fdf3aa6406d82975d5c606a9734c9334b42136e96990fbd5358cdb2", 32,
              "2f6962dfbc744c4b2138bb6b3d33054c5ecc14f24851d9896395a44ab3964efc"
              "2090c5bf51a0891209f46c1e1e998f62");
    check_prf(NULL,
              "2f6962dfbc744c4b2138bb6b3d33054c5ecc14f24851d9896395a44ab3964efc"
              "2090c5bf51a0891209f46c1e1e998f62",
              "key expansion",
              "67267e650eb32444119d222a368c191af3082888dc35afe8368e638c828874be"
              "d58a7b1cd4fedaa232159df652ce188f9d997e061b9bf48e83b62990440931f6", 32,
              "3088825988e77fce68d19f756e18e43eb7fe672433504feaf99b3c503d9091b1"
              "64f166db301d70c9fc0870b4a94563907bee1a61fb786cb717576890bcc51cb9"
              "ead97e01d0a2fea99c953377b195205ff07b369589178796edc963fd80fdbe51"
              "8a2fc1c35c18ae8d");
}

/* An odd-length secret: the two halves share the middle byte (RFC 2246 5).
 * Expected value computed independently with `openssl kdf ... MD5-SHA1
 * TLS1-PRF`. */
static void test_tls10_odd_secret(void)
{
    check_prf(NULL, "0102030405060708090a0b0c0d0e0f", "test label",
              "000102030405060708090a0b0c0d0e0f", 16,
              "518a0fb54138682318686a29c9ed95ed4273c8d0b2743f83e076c20f9f1890c7"
              "b0f6eb3c994f541f");
}

/* OpenSSL's own TLS1-PRF KDF, an independent implementation: digest
 * "MD5-SHA1" is the TLS 1.0/1.1 PRF, any other the TLS 1.2 P_hash. */
static int kdf_tls1_prf(const char *digest, const uint8_t *secret, size_t secret_len,
                        const char *label, const uint8_t *seed, size_t seed_len,
                        uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len),
        /* Several seed parameters are concatenated: label, then seed. */
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, strlen(label)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, seed_len),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) > 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

/* The TLS 1.0/1.1 PRF (RFC 2246 5) against OpenSSL's KDF over secrets of
 * odd and even lengths (the halves share a byte when odd) and outputs that
 * are not multiples of either hash's size; P_SHA256/P_SHA384 likewise. */
static void test_against_openssl_kdf(void)
{
    uint8_t secret[160], seed[64], got[200], want[200];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i * 37 + 11);
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)(0xc3 ^ i);
    /* up to and past both HMAC block sizes (64, 128): longer keys are hashed */
    static const size_t secret_lens[] = { 1, 2, 3, 16, 47, 48, 49, 64, 65, 99, 100, 128, 129, 160 };
    static const size_t out_lens[] = { 1, 12, 16, 20, 36, 48, 104, 136, 200 };
    static const struct { const EVP_MD *(*md)(void); const char *name; } mds[] = {
        { NULL, "MD5-SHA1" }, { EVP_sha256, "SHA256" }, { EVP_sha384, "SHA384" },
    };
    for (size_t m = 0; m < sizeof mds / sizeof mds[0]; m++) {
        int all_equal = 1;
        for (size_t s = 0; s < sizeof secret_lens / sizeof secret_lens[0]; s++) {
            for (size_t o = 0; o < sizeof out_lens / sizeof out_lens[0]; o++) {
                size_t sl = secret_lens[s], ol = out_lens[o];
                const EVP_MD *md = mds[m].md ? mds[m].md() : NULL;
                if (dtls_prf(md, secret, sl, "key expansion", seed, 32, seed + 32, 32, got, ol) != 0 ||
                    kdf_tls1_prf(mds[m].name, secret, sl, "key expansion", seed, 64, want, ol) != 0 ||
                    memcmp(got, want, ol) != 0)
                    all_equal = 0;
            }
        }
        CHECK(all_equal);
    }
}

/* Which PRF and transcript hash each version uses; the DTLS 1.0
 * transcript hash is MD5 || SHA-1 of the same bytes (RFC 4346 7.4.9). */
static void test_version_hashes(void)
{
    CHECK(dtls_prf_md(0xFEFF, 0) == NULL);
    CHECK(dtls_prf_md(0xFEFF, 1) == NULL);
    CHECK(dtls_prf_md(0xFEFD, 0) == EVP_sha256());
    CHECK(dtls_prf_md(0xFEFD, 1) == EVP_sha384());
    CHECK(dtls_transcript_md(0xFEFD, 0) == EVP_sha256());
    CHECK(dtls_transcript_md(0xFEFD, 1) == EVP_sha384());
    const EVP_MD *md = dtls_transcript_md(0xFEFF, 0);
    CHECK(md != NULL && EVP_MD_get_size(md) == 36);
    static const uint8_t msg[] = "handshake messages";
    uint8_t both[36], md5[16], sha1[20];
    unsigned int n = 0;
    CHECK(EVP_Digest(msg, sizeof msg, both, &n, md, NULL) && n == 36);
    CHECK(EVP_Digest(msg, sizeof msg, md5, NULL, EVP_md5(), NULL));
    CHECK(EVP_Digest(msg, sizeof msg, sha1, NULL, EVP_sha1(), NULL));
    CHECK_MEM(both, md5, 16);
    CHECK_MEM(both + 16, sha1, 20);
}

/* Key-block sanity (RFC 5246 6.3): a shorter output is a prefix of a longer
 * one, labels and seed order matter, and nothing is written past out_len. */
static void test_key_block_sanity(void)
{
    uint8_t master[48], sr[32], cr[32];
    uint8_t kb[136], kb_short[40], kb_swapped[40], kb_label[40];
    for (size_t i = 0; i < sizeof master; i++)
        master[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < 32; i++) {
        sr[i] = (uint8_t)i;
        cr[i] = (uint8_t)(0xff - i);
    }
    const EVP_MD *mds[2] = { EVP_sha256(), EVP_sha384() };
    for (int m = 0; m < 3; m++) {
        const EVP_MD *md = m < 2 ? mds[m] : NULL;
        memset(kb, 0xaa, sizeof kb);
        CHECK(dtls_prf(md, master, 48, "key expansion", sr, 32, cr, 32, kb, 128) == 0);
        CHECK(kb[128] == 0xaa && kb[135] == 0xaa);
        CHECK(dtls_prf(md, master, 48, "key expansion", sr, 32, cr, 32, kb_short, 40) == 0);
        CHECK_MEM(kb, kb_short, 40);
        CHECK(dtls_prf(md, master, 48, "key expansion", cr, 32, sr, 32, kb_swapped, 40) == 0);
        CHECK(memcmp(kb_short, kb_swapped, 40) != 0);
        CHECK(dtls_prf(md, master, 48, "master secret", sr, 32, cr, 32, kb_label, 40) == 0);
        CHECK(memcmp(kb_short, kb_label, 40) != 0);
    }
    /* SHA-256 and SHA-384 differ; seed_b may be NULL. */
    uint8_t a[32], b[32];
    CHECK(dtls_prf(EVP_sha256(), master, 48, "x", sr, 32, NULL, 0, a, 32) == 0);
    CHECK(dtls_prf(EVP_sha384(), master, 48, "x", sr, 32, NULL, 0, b, 32) == 0);
    CHECK(memcmp(a, b, 32) != 0);
    /* Finished-style 12-byte output (RFC 5246 7.4.9). */
    uint8_t vd_c[12], vd_s[12];
    CHECK(dtls_prf(EVP_sha256(), master, 48, "client finished", sr, 32, NULL, 0, vd_c, 12) == 0);
    CHECK(dtls_prf(EVP_sha256(), master, 48, "server finished", sr, 32, NULL, 0, vd_s, 12) == 0);
    CHECK(memcmp(vd_c, vd_s, 12) != 0);
    CHECK(dtls_prf(EVP_sha256(), master, 48, "x", sr, 32, NULL, 0, NULL, 12) == -1);
}

int main(void)
{
    test_tls12_sha256_vector();
    test_tls12_sha384_vector();
    test_cavp_tls12();
    test_cavp_tls10();
    test_tls10_odd_secret();
    test_against_openssl_kdf();
    test_version_hashes();
    test_key_block_sanity();
    return unit_report();
}

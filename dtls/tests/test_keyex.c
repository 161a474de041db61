/* test_keyex.c — ECDHE for X25519, P-256, P-384: agreement, encodings,
 * refusal of invalid points, and the RFC 7748 6.1 and RFC 5903 8.1
 * known answers. RSA key transport: round trips, and implicit rejection
 * (RFC 5246 7.4.7.1) of bad blocks, lengths, versions and keys. */
#include "keyex.h"
#include "unit.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

struct group_case {
    uint16_t group;
    size_t point_len, secret_len;
};

static const struct group_case cases[] = {
    { DTLS_GROUP_X25519, 32, 32 },
    { DTLS_GROUP_SECP256R1, 65, 32 },
    { DTLS_GROUP_SECP384R1, 97, 48 },
};

static void test_supported(void)
{
    CHECK(dtls_group_supported(DTLS_GROUP_X25519));
    CHECK(dtls_group_supported(DTLS_GROUP_SECP256R1));
    CHECK(dtls_group_supported(DTLS_GROUP_SECP384R1));
    CHECK(!dtls_group_supported(0));
    CHECK(!dtls_group_supported(25)); /* secp521r1: not offered */
    CHECK(!dtls_group_supported(30)); /* x448 */
    uint8_t pub[DTLS_MAX_POINT_LEN];
    size_t pub_len = 0;
    CHECK(dtls_ecdhe_generate(25, pub, &pub_len) == NULL);
}

static void test_agreement(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct group_case *c = &cases[i];
        uint8_t pa[DTLS_MAX_POINT_LEN], pb[DTLS_MAX_POINT_LEN];
        uint8_t sa[DTLS_MAX_ECDH_SECRET], sb[DTLS_MAX_ECDH_SECRET];
        size_t la = 0, lb = 0, na = 0, nb = 0;
        EVP_PKEY *ka = dtls_ecdhe_generate(c->group, pa, &la);
        EVP_PKEY *kb = dtls_ecdhe_generate(c->group, pb, &lb);
        CHECK(ka != NULL && kb != NULL);
        CHECK(la == c->point_len && lb == c->point_len);
        if (c->group != DTLS_GROUP_X25519)
            CHECK(pa[0] == 0x04 && pb[0] == 0x04);
        CHECK(memcmp(pa, pb, la) != 0);
        CHECK(dtls_ecdhe_derive(c->group, ka, pb, lb, sa, &na) == 0);
        CHECK(dtls_ecdhe_derive(c->group, kb, pa, la, sb, &nb) == 0);
        CHECK(na == c->secret_len && nb == c->secret_len);
        CHECK_MEM(sa, sb, c->secret_len);
        /* The same key used twice gives the same secret. */
        CHECK(dtls_ecdhe_derive(c->group, ka, pb, lb, sb, &nb) == 0);
        CHECK_MEM(sa, sb, c->secret_len);
        /* A point of another group is refused. */
        const struct group_case *o = &cases[(i + 1) % 3];
        uint8_t po[DTLS_MAX_POINT_LEN];
        size_t lo = 0;
        EVP_PKEY *ko = dtls_ecdhe_generate(o->group, po, &lo);
        CHECK(ko != NULL);
        CHECK(dtls_ecdhe_derive(c->group, ka, po, lo, sa, &na) == -1);
        /* A private key of another group is refused too. */
        CHECK(dtls_ecdhe_derive(c->group, ko, pb, lb, sa, &na) == -1);
        EVP_PKEY_free(ko);
        EVP_PKEY_free(ka);
        EVP_PKEY_free(kb);
    }
}

static void test_invalid_points(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct group_case *c = &cases[i];
        uint8_t pub[DTLS_MAX_POINT_LEN], peer[DTLS_MAX_POINT_LEN + 1], s[DTLS_MAX_ECDH_SECRET];
        size_t len = 0, pl = 0, n = 0;
        EVP_PKEY *k = dtls_ecdhe_generate(c->group, pub, &len);
        EVP_PKEY *kp = dtls_ecdhe_generate(c->group, peer, &pl);
        CHECK(k != NULL && kp != NULL);
        CHECK(dtls_ecdhe_derive(c->group, k, peer, pl, s, &n) == 0);
        /* Truncated, extended, empty. */
        CHECK(dtls_ecdhe_derive(c->group, k, peer, pl - 1, s, &n) == -1);
        peer[pl] = 0;
        CHECK(dtls_ecdhe_derive(c->group, k, peer, pl + 1, s, &n) == -1);
        CHECK(dtls_ecdhe_derive(c->group, k, peer, 0, s, &n) == -1);
        if (c->group == DTLS_GROUP_X25519) {
            /* The zero point and points of small order give an all-zero
             * shared secret (RFC 7748 6.1). */
            static const char *low_order[] = {
                "0000000000000000000000000000000000000000000000000000000000000000",
                "0100000000000000000000000000000000000000000000000000000000000000",
                "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            };
            for (size_t j = 0; j < sizeof low_order / sizeof low_order[0]; j++) {
                size_t hl;
                uint8_t *h = unit_hex(low_order[j], &hl);
                CHECK(dtls_ecdhe_derive(c->group, k, h, hl, s, &n) == -1);
                free(h);
            }
        } else {
            size_t coord = (pl - 1) / 2;
            uint8_t bad[DTLS_MAX_POINT_LEN];
            /* Compressed form, by length and by first byte. */
            memcpy(bad, peer, pl);
            bad[0] = 0x02;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, 1 + coord, s, &n) == -1);
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
            bad[0] = 0x03;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, 1 + coord, s, &n) == -1);
            /* Hybrid form (0x06/0x07) and a missing tag. */
            bad[0] = 0x06;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
            bad[0] = 0x00;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
            /* Off the curve: y changed. */
            memcpy(bad, peer, pl);
            bad[pl - 1] ^= 0x01;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
            /* Off the curve: x changed. */
            memcpy(bad, peer, pl);
            bad[1] ^= 0x80;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
            /* The all-zero "point" (0, 0) is not on either curve. */
            memset(bad, 0, pl);
            bad[0] = 0x04;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
            /* Coordinates >= p: all 0xff. */
            memset(bad, 0xff, pl);
            bad[0] = 0x04;
            CHECK(dtls_ecdhe_derive(c->group, k, bad, pl, s, &n) == -1);
        }
        /* After all the refusals the key still works. */
        CHECK(dtls_ecdhe_derive(c->group, k, peer, pl, s, &n) == 0);
        EVP_PKEY_free(k);
        EVP_PKEY_free(kp);
    }
}

static EVP_PKEY *x25519_from_raw(const char *hex)
{
    size_t len;
    uint8_t *raw = unit_hex(hex, &len);
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, raw, len);
    free(raw);
    return k;
}

/* RFC 7748 6.1. */
static void test_rfc7748_vector(void)
{
    size_t al, bl, kl;
    uint8_t *alice_pub = unit_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", &al);
    uint8_t *bob_pub = unit_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", &bl);
    uint8_t *k = unit_hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", &kl);
    EVP_PKEY *alice = x25519_from_raw("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    EVP_PKEY *bob = x25519_from_raw("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    uint8_t s[DTLS_MAX_ECDH_SECRET];
    size_t n = 0;
    CHECK(alice != NULL && bob != NULL);
    CHECK(dtls_ecdhe_derive(DTLS_GROUP_X25519, alice, bob_pub, bl, s, &n) == 0);
    CHECK(n == 32);
    CHECK_MEM(s, k, 32);
    CHECK(dtls_ecdhe_derive(DTLS_GROUP_X25519, bob, alice_pub, al, s, &n) == 0);
    CHECK_MEM(s, k, 32);
    EVP_PKEY_free(alice);
    EVP_PKEY_free(bob);
    free(alice_pub);
    free(bob_pub);
    free(k);
}

/* RFC 5903 8.1: the initiator's private key i with the responder's g^r. */
static void test_rfc5903_vector(void)
{
    size_t il, gl, zl, gil;
    uint8_t *i = unit_hex("c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433", &il);
    uint8_t *gi = unit_hex("04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"
                           "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3", &gil);
    uint8_t *gr = unit_hex("04d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"
                           "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab", &gl);
    uint8_t *z = unit_hex("d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de", &zl);
    BIGNUM *bn = BN_bin2bn(i, (int)il, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, gi, gil);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    CHECK(EVP_PKEY_fromdata_init(pctx) > 0);
    CHECK(EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) > 0);
    uint8_t s[DTLS_MAX_ECDH_SECRET];
    size_t n = 0;
    CHECK(dtls_ecdhe_derive(DTLS_GROUP_SECP256R1, key, gr, gl, s, &n) == 0);
    CHECK(n == 32);
    CHECK_MEM(s, z, 32);
    /* The P-256 code point with a P-384 size point is refused. */
    CHECK(dtls_ecdhe_derive(DTLS_GROUP_SECP384R1, key, gr, gl, s, &n) == -1);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    free(i);
    free(gi);
    free(gr);
    free(z);
}

/* ---- RSA key transport ------------------------------------------------- */

/* Raw RSA (no padding) of a hand-made encryption block em (modulus size),
 * laid out as RFC 8017 7.2.1 says: 00 || 02 || PS (nonzero) || 00 || M. */
static size_t rsa_raw(EVP_PKEY *key, const uint8_t *em, size_t em_len, uint8_t *out)
{
    size_t n = DTLS_MAX_RSA_ENC;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx && EVP_PKEY_encrypt_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0 &&
             EVP_PKEY_encrypt(ctx, out, &n, em, em_len) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok ? n : 0;
}

enum em_fault { EM_GOOD, EM_FIRST_BYTE, EM_BLOCK_TYPE, EM_NO_SEPARATOR, EM_SHORT, EM_LONG,
                EM_VERSION, EM_N };

/* An encryption block for premaster (48 bytes) with one fault. */
static void make_em(uint8_t *em, size_t k, const uint8_t premaster[48], enum em_fault f)
{
    for (size_t i = 0; i < k; i++)
        em[i] = (uint8_t)(0x11 + i % 200); /* nonzero padding string */
    em[0] = 0;
    em[1] = 2;
    size_t sep = k - 48 - 1;
    em[sep] = 0;
    memcpy(em + sep + 1, premaster, 48);
    switch (f) {
    case EM_FIRST_BYTE: em[0] = 1; break;      /* then >= n for most moduli: public */
    case EM_BLOCK_TYPE: em[1] = 1; break;      /* signature block type */
    case EM_NO_SEPARATOR: em[sep] = 0x55; break;
    case EM_SHORT: em[sep] = 0x55; em[sep + 1] = 0; break; /* a 47-byte message */
    case EM_LONG: em[sep] = 0x55; em[sep - 1] = 0; break;  /* a 49-byte message */
    case EM_VERSION: em[sep + 2] ^= 0x01; break;           /* minor version byte */
    default: break;
    }
}

static void test_rsa_key_transport(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    uint8_t enc[DTLS_MAX_RSA_ENC], pm[48], got[48], got2[48];
    size_t len;
    CHECK(key != NULL && other != NULL);

    /* Round trips, DTLS 1.2 and DTLS 1.0 client versions. */
    static const uint16_t versions[] = { 0xfefd, 0xfeff };
    for (size_t v = 0; v < 2; v++) {
        len = sizeof enc;
        CHECK(dtls_rsa_premaster_encrypt(key, versions[v], enc, &len, pm) == 0);
        CHECK(len == 256);
        CHECK(pm[0] == 0xfe && pm[1] == (uint8_t)versions[v]);
        CHECK(dtls_rsa_premaster_decrypt(key, enc, len, versions[v], got) == 0);
        CHECK_MEM(got, pm, 48);
        /* A plain PKCS#1 v1.5 decryption agrees: the block is standard. */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
        uint8_t plain[256];
        size_t plain_len = sizeof plain;
        CHECK(ctx && EVP_PKEY_decrypt_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
              EVP_PKEY_decrypt(ctx, plain, &plain_len, enc, len) > 0);
        CHECK(plain_len == 48);
        CHECK_MEM(plain, pm, 48);
        EVP_PKEY_CTX_free(ctx);
    }
    /* Fresh secrets each time. */
    uint8_t pm2[48];
    len = sizeof enc;
    CHECK(dtls_rsa_premaster_encrypt(key, 0xfefd, enc, &len, pm2) == 0);
    CHECK(memcmp(pm, pm2, 48) != 0);

    /* A hand-made good block decrypts; each faulty one gives 48 bytes that
     * are not the secret, and no error, like a wrong key does. */
    uint8_t em[256], real[48];
    memcpy(real, pm2, 48);
    real[0] = 0xfe;
    real[1] = 0xfd;
    for (int f = EM_GOOD; f < EM_N; f++) {
        make_em(em, sizeof em, real, (enum em_fault)f);
        size_t n = rsa_raw(key, em, sizeof em, enc);
        if (f == EM_FIRST_BYTE && n == 0)
            n = 256; /* em >= modulus: not even encryptable; send it as is */
        if (n == 0)
            memcpy(enc, em, 256);
        CHECK(n == 256 || f == EM_FIRST_BYTE);
        memset(got, 0xaa, sizeof got);
        CHECK(dtls_rsa_premaster_decrypt(key, enc, 256, 0xfefd, got) == 0);
        if (f == EM_GOOD) {
            CHECK_MEM(got, real, 48);
        } else {
            CHECK(memcmp(got, real, 48) != 0);
            /* A fresh R each time: two failures do not agree either. */
            CHECK(dtls_rsa_premaster_decrypt(key, enc, 256, 0xfefd, got2) == 0);
            CHECK(memcmp(got, got2, 48) != 0);
        }
    }

    /* The version check is against ClientHello.client_version. */
    len = sizeof enc;
    CHECK(dtls_rsa_premaster_encrypt(key, 0xfefd, enc, &len, pm) == 0);
    CHECK(dtls_rsa_premaster_decrypt(key, enc, len, 0xfeff, got) == 0);
    CHECK(memcmp(got, pm, 48) != 0);
    CHECK(dtls_rsa_premaster_decrypt(key, enc, len, 0xfefc, got) == 0);
    CHECK(memcmp(got, pm, 48) != 0);
    /* Wrong lengths: short, long, empty, NULL. */
    size_t lens[] = { len - 1, len + 1, 1, 0 };
    for (size_t i = 0; i < 4; i++) {
        memset(got, 0, sizeof got);
        CHECK(dtls_rsa_premaster_decrypt(key, enc, lens[i], 0xfefd, got) == 0);
        CHECK(memcmp(got, pm, 48) != 0);
        static const uint8_t zeros[48];
        CHECK(memcmp(got, zeros, 48) != 0);
    }
    CHECK(dtls_rsa_premaster_decrypt(key, NULL, 0, 0xfefd, got) == 0);
    /* A flipped bit anywhere in the ciphertext. */
    int all_differ = 1;
    for (size_t i = 0; i < len; i += 17) {
        enc[i] ^= 0x04;
        if (dtls_rsa_premaster_decrypt(key, enc, len, 0xfefd, got) != 0 || memcmp(got, pm, 48) == 0)
            all_differ = 0;
        enc[i] ^= 0x04;
    }
    CHECK(all_differ);
    /* The wrong key: the same observable result. */
    CHECK(dtls_rsa_premaster_decrypt(other, enc, len, 0xfefd, got) == 0);
    CHECK(memcmp(got, pm, 48) != 0);
    CHECK(dtls_rsa_premaster_decrypt(key, enc, len, 0xfefd, got) == 0);
    CHECK_MEM(got, pm, 48);

    /* Not an RSA key, or no room: refused (configuration, not ciphertext). */
    uint8_t pub[DTLS_MAX_POINT_LEN];
    size_t pub_len;
    EVP_PKEY *ec = dtls_ecdhe_generate(DTLS_GROUP_SECP256R1, pub, &pub_len);
    CHECK(dtls_rsa_premaster_decrypt(ec, enc, len, 0xfefd, got) == -1);
    len = sizeof enc;
    CHECK(dtls_rsa_premaster_encrypt(ec, 0xfefd, enc, &len, pm) == -1);
    len = 255;
    CHECK(dtls_rsa_premaster_encrypt(key, 0xfefd, enc, &len, pm) == -1);
    CHECK(dtls_rsa_premaster_decrypt(NULL, enc, 256, 0xfefd, got) == -1);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

static void test_rsa_cke_parse(void)
{
    uint8_t body[300];
    const uint8_t *enc = NULL;
    size_t enc_len = 0;
    body[0] = 1;
    body[1] = 0;
    memset(body + 2, 0x5a, 256);
    CHECK(dtls_rsa_cke_parse(body, 258, &enc, &enc_len) == 0);
    CHECK(enc == body + 2 && enc_len == 256);
    CHECK(dtls_rsa_cke_parse(body, 257, &enc, &enc_len) == -1); /* vector overruns */
    CHECK(dtls_rsa_cke_parse(body, 259, &enc, &enc_len) == -1); /* trailing byte */
    CHECK(dtls_rsa_cke_parse(body, 1, &enc, &enc_len) == -1);
    CHECK(dtls_rsa_cke_parse(NULL, 0, &enc, &enc_len) == -1);
    body[0] = 0;
    body[1] = 0;
    CHECK(dtls_rsa_cke_parse(body, 2, &enc, &enc_len) == -1); /* empty */
}

int main(void)
{
    test_supported();
    test_agreement();
    test_invalid_points();
    test_rfc7748_vector();
    test_rfc5903_vector();
    test_rsa_key_transport();
    test_rsa_cke_parse();
    return unit_report();
}

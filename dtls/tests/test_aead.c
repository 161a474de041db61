/* test_aead.c — record AEADs: published vectors for the raw primitives
 * (McGrew-Viega GCM, RFC 8439 2.8.2, NIST SP 800-38C C.3), the DTLS nonce
 * and additional data checked against an independent one-shot computation,
 * round trips, and every kind of tampering. */
#include "aead.h"
#include "unit.h"

#include <openssl/evp.h>

/* ---- an independent one-shot AEAD, built from the RFC text --------------- */

/* out = ciphertext || tag. Plain EVP calls on a fresh context per message. */
static int raw_seal(const char *cipher_name, size_t tag_len, const uint8_t *key,
                    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                    const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, cipher_name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ccm = strstr(cipher_name, "CCM") != NULL;
    int n = 0, f = 0, ok = c && ctx &&
        EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL) &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) &&
        (!ccm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, NULL)) &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) &&
        (!ccm || EVP_EncryptUpdate(ctx, NULL, &n, NULL, (int)pt_len)) &&
        EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) &&
        EVP_EncryptUpdate(ctx, out, &n, pt, (int)pt_len) &&
        EVP_EncryptFinal_ex(ctx, out + n, &f) &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, out + pt_len);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

struct vector {
    const char *cipher, *key, *nonce, *aad, *pt, *ct_tag;
    size_t tag_len;
};

static void check_raw_vector(const struct vector *v)
{
    size_t kl, nl, al, pl, cl;
    uint8_t *key = unit_hex(v->key, &kl), *nonce = unit_hex(v->nonce, &nl);
    uint8_t *aad = unit_hex(v->aad, &al), *pt = unit_hex(v->pt, &pl);
    uint8_t *want = unit_hex(v->ct_tag, &cl);
    uint8_t *out = malloc(pl + v->tag_len);
    CHECK(cl == pl + v->tag_len);
    CHECK(raw_seal(v->cipher, v->tag_len, key, nonce, nl, aad, al, pt, pl, out) == 0);
    CHECK_MEM(out, want, cl);
    free(key); free(nonce); free(aad); free(pt); free(want); free(out);
}

static const char *gcm_pt =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";

/* The published vectors, for the primitive this file's record code uses. */
static void test_raw_vectors(void)
{
    static const struct vector vs[] = {
        /* McGrew & Viega, "The GCM mode of operation", test case 4. */
        { "AES-128-GCM", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
          "feedfacedeadbeeffeedfacedeadbeefabaddad2", NULL,
          "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
          "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
          "5bc94fbc3221a5db94fae95ae7121a47", 16 },
        /* ... test case 16 (AES-256). */
        { "AES-256-GCM", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
          "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", NULL,
          "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
          "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
          "76fc6ece0f4e1768cddf8853bb2d551b", 16 },
        /* RFC 8439 2.8.2. */
        { "ChaCha20-Poly1305",
          "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
          "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
          "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
          "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
          "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
          "637265656e20776f756c642062652069742e",
          "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
          "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
          "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
          "3ff4def08e4b7a9de576d26586cec64b6116"
          "1ae10b594f09e26a7e902ecbd0600691", 16 },
        /* NIST SP 800-38C, example C.3: a 12-byte nonce and 8-byte tag, as
         * in CCM_8 (RFC 6655 3). */
        { "AES-128-CCM", "404142434445464748494a4b4c4d4e4f", "101112131415161718191a1b",
          "000102030405060708090a0b0c0d0e0f10111213",
          "202122232425262728292a2b2c2d2e2f3031323334353637",
          "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951", 8 },
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        struct vector v = vs[i];
        if (v.pt == NULL)
            v.pt = gcm_pt;
        check_raw_vector(&v);
    }
}

/* ---- the record API ---------------------------------------------------- */

struct alg_info {
    dtls_aead_alg alg;
    const char *cipher;
    size_t key_len, iv_len, explicit_len, tag_len;
};

static const struct alg_info algs[] = {
    { DTLS_AEAD_AES_128_GCM, "AES-128-GCM", 16, 4, 8, 16 },
    { DTLS_AEAD_AES_256_GCM, "AES-256-GCM", 32, 4, 8, 16 },
    { DTLS_AEAD_CHACHA20_POLY1305, "ChaCha20-Poly1305", 32, 12, 0, 16 },
    { DTLS_AEAD_AES_128_CCM, "AES-128-CCM", 16, 4, 8, 16 },
    { DTLS_AEAD_AES_128_CCM_8, "AES-128-CCM", 16, 4, 8, 8 },
};
#define N_ALGS (sizeof algs / sizeof algs[0])

static const uint8_t test_key[32] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
};
static const uint8_t test_iv[12] = {
    0xca, 0xfe, 0xba, 0xbe, 0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43,
};

static void test_sizes(void)
{
    for (size_t i = 0; i < N_ALGS; i++) {
        dtls_aead a;
        CHECK(dtls_aead_key_len(algs[i].alg) == algs[i].key_len);
        CHECK(dtls_aead_fixed_iv_len(algs[i].alg) == algs[i].iv_len);
        CHECK(dtls_aead_init(&a, algs[i].alg, test_key, test_iv, 1) == 0);
        CHECK(dtls_aead_overhead(&a) == algs[i].explicit_len + algs[i].tag_len);
        CHECK(a.fixed_iv_len == algs[i].iv_len && a.explicit_len == algs[i].explicit_len);
        dtls_aead_cleanup(&a);
        CHECK(a.ctx == NULL);
    }
    CHECK(dtls_aead_key_len(DTLS_AEAD_NONE) == 0);
    CHECK(dtls_aead_fixed_iv_len(DTLS_AEAD_NONE) == 0);
    dtls_aead z;
    CHECK(dtls_aead_init(&z, DTLS_AEAD_NONE, test_key, test_iv, 1) == -1);
    memset(&z, 0, sizeof z);
    dtls_aead_cleanup(&z);
    dtls_aead_cleanup(&z);
    dtls_aead_cleanup(NULL);
}

/* The record's nonce and additional data written out by hand from the RFCs,
 * and the expected fragment from raw_seal. */
static void expected_record(const struct alg_info *ai, uint64_t epoch_seq, uint8_t type,
                            uint16_t version, const uint8_t *pt, size_t pt_len, uint8_t *out,
                            size_t *out_len)
{
    uint8_t nonce[12], aad[13], seq[8];
    for (int i = 0; i < 8; i++)
        seq[i] = (uint8_t)(epoch_seq >> (56 - 8 * i));
    if (ai->alg == DTLS_AEAD_CHACHA20_POLY1305) {
        /* RFC 7905 2: the 64-bit sequence, left-padded to 96 bits, xor IV. */
        uint8_t padded[12] = { 0 };
        memcpy(padded + 4, seq, 8);
        for (int i = 0; i < 12; i++)
            nonce[i] = test_iv[i] ^ padded[i];
    } else {
        /* RFC 5288 3 / RFC 6655 3: salt || explicit nonce. */
        memcpy(nonce, test_iv, 4);
        memcpy(nonce + 4, seq, 8);
    }
    /* RFC 6347 4.1.2.1: epoch || seq || type || version || length. */
    memcpy(aad, seq, 8);
    aad[8] = type;
    aad[9] = (uint8_t)(version >> 8);
    aad[10] = (uint8_t)version;
    aad[11] = (uint8_t)(pt_len >> 8);
    aad[12] = (uint8_t)pt_len;
    memcpy(out, seq, ai->explicit_len);
    CHECK(raw_seal(ai->cipher, ai->tag_len, test_key, nonce, 12, aad, 13, pt, pt_len,
                   out + ai->explicit_len) == 0);
    *out_len = ai->explicit_len + pt_len + ai->tag_len;
}

static void test_against_independent(void)
{
    uint8_t pt[300], got[400], want[400];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 31 + 7);
    const uint64_t seqs[] = { 0, 1, 0x0001000000000005ULL, 0xffff000000000001ULL,
                              0x0002ffffffffffffULL };
    const size_t lens[] = { 0, 1, 15, 16, 17, 60, 300 };
    for (size_t i = 0; i < N_ALGS; i++) {
        dtls_aead a;
        CHECK(dtls_aead_init(&a, algs[i].alg, test_key, test_iv, 1) == 0);
        for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
            for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
                size_t got_len = 0, want_len = 0;
                CHECK(dtls_aead_seal(&a, seqs[s], 23, 0xfefd, pt, lens[l], got, &got_len) == 0);
                expected_record(&algs[i], seqs[s], 23, 0xfefd, pt, lens[l], want, &want_len);
                CHECK(got_len == want_len);
                CHECK_MEM(got, want, want_len);
            }
        }
        dtls_aead_cleanup(&a);
    }
}

/* Seal, then open on a separate receive context; try every single-byte
 * tamper, a changed header field, and short input. */
static void test_round_trip_and_tamper(void)
{
    uint8_t pt[100], rec[200], back[200];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)i;
    const uint64_t es = 0x0001000000000042ULL;
    for (size_t i = 0; i < N_ALGS; i++) {
        dtls_aead tx, rx;
        size_t rec_len = 0, back_len = 0;
        CHECK(dtls_aead_init(&tx, algs[i].alg, test_key, test_iv, 1) == 0);
        CHECK(dtls_aead_init(&rx, algs[i].alg, test_key, test_iv, 0) == 0);
        CHECK(dtls_aead_seal(&tx, es, 23, 0xfefd, pt, sizeof pt, rec, &rec_len) == 0);
        CHECK(rec_len == sizeof pt + dtls_aead_overhead(&tx));
        CHECK(dtls_aead_open(&rx, es, 23, 0xfefd, rec, rec_len, back, &back_len) == 0);
        CHECK(back_len == sizeof pt);
        CHECK_MEM(back, pt, sizeof pt);
        /* No plaintext is left past the end of what open returned (the
         * caller wipes only that much). */
        static const uint8_t zeros[8];
        CHECK_MEM(back + sizeof pt, zeros, tx.explicit_len);

        /* Every byte: explicit nonce, ciphertext, tag. */
        int all_fail = 1;
        for (size_t b = 0; b < rec_len; b++) {
            rec[b] ^= 0x01;
            if (dtls_aead_open(&rx, es, 23, 0xfefd, rec, rec_len, back, &back_len) != -1)
                all_fail = 0;
            rec[b] ^= 0x01;
        }
        CHECK(all_fail);
        /* The context still works after failures. */
        CHECK(dtls_aead_open(&rx, es, 23, 0xfefd, rec, rec_len, back, &back_len) == 0);
        CHECK_MEM(back, pt, sizeof pt);

        /* Header fields in the additional data. */
        CHECK(dtls_aead_open(&rx, es + 1, 23, 0xfefd, rec, rec_len, back, &back_len) == -1);
        CHECK(dtls_aead_open(&rx, es ^ (1ULL << 48), 23, 0xfefd, rec, rec_len, back, &back_len) == -1);
        CHECK(dtls_aead_open(&rx, es, 22, 0xfefd, rec, rec_len, back, &back_len) == -1);
        CHECK(dtls_aead_open(&rx, es, 23, 0xfeff, rec, rec_len, back, &back_len) == -1);
        /* Truncation: to below the overhead, and by one byte. */
        CHECK(dtls_aead_open(&rx, es, 23, 0xfefd, rec, rec_len - 1, back, &back_len) == -1);
        CHECK(dtls_aead_open(&rx, es, 23, 0xfefd, rec, dtls_aead_overhead(&rx) - 1, back,
                             &back_len) == -1);
        CHECK(dtls_aead_open(&rx, es, 23, 0xfefd, rec, 0, back, &back_len) == -1);
        /* A different key does not open it. */
        dtls_aead other;
        uint8_t key2[32];
        memcpy(key2, test_key, 32);
        key2[0] ^= 0x80;
        CHECK(dtls_aead_init(&other, algs[i].alg, key2, test_iv, 0) == 0);
        CHECK(dtls_aead_open(&other, es, 23, 0xfefd, rec, rec_len, back, &back_len) == -1);
        dtls_aead_cleanup(&other);

        /* Empty plaintext: overhead bytes only, and it authenticates. */
        CHECK(dtls_aead_seal(&tx, es + 1, 21, 0xfefd, NULL, 0, rec, &rec_len) == 0);
        CHECK(rec_len == dtls_aead_overhead(&tx));
        CHECK(dtls_aead_open(&rx, es + 1, 21, 0xfefd, rec, rec_len, back, &back_len) == 0);
        CHECK(back_len == 0);
        rec[rec_len - 1] ^= 0x40;
        CHECK(dtls_aead_open(&rx, es + 1, 21, 0xfefd, rec, rec_len, back, &back_len) == -1);

        /* The wrong direction is refused. */
        CHECK(dtls_aead_seal(&rx, es, 23, 0xfefd, pt, sizeof pt, rec, &rec_len) == -1);
        CHECK(dtls_aead_open(&tx, es, 23, 0xfefd, rec, rec_len, back, &back_len) == -1);

        /* Many records through the same contexts. */
        int ok = 1;
        for (uint64_t s = 0; s < 200; s++) {
            size_t l = (size_t)(s % sizeof pt);
            if (dtls_aead_seal(&tx, es + s, 23, 0xfefd, pt, l, rec, &rec_len) != 0 ||
                dtls_aead_open(&rx, es + s, 23, 0xfefd, rec, rec_len, back, &back_len) != 0 ||
                back_len != l || memcmp(back, pt, l) != 0)
                ok = 0;
        }
        CHECK(ok);
        dtls_aead_cleanup(&tx);
        dtls_aead_cleanup(&rx);
    }
}

/* GCM/CCM receivers take the nonce from the record, not from the sequence
 * number (RFC 5288 3 leaves the explicit part to the sender). */
static void test_explicit_nonce_from_record(void)
{
    static const uint8_t pt[20] = "explicit nonce check";
    static const uint8_t explicit_nonce[8] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 9 };
    uint8_t rec[64], back[64], nonce[12];
    uint8_t aad[13] = { 0, 1, 0, 0, 0, 0, 0, 7, 23, 0xfe, 0xfd, 0, sizeof pt };
    size_t back_len;
    dtls_aead rx;

    memcpy(nonce, test_iv, 4);
    memcpy(nonce + 4, explicit_nonce, 8);
    memcpy(rec, explicit_nonce, 8);
    CHECK(raw_seal("AES-128-GCM", 16, test_key, nonce, 12, aad, 13, pt, sizeof pt, rec + 8) == 0);
    CHECK(dtls_aead_init(&rx, DTLS_AEAD_AES_128_GCM, test_key, test_iv, 0) == 0);
    CHECK(dtls_aead_open(&rx, 0x0001000000000007ULL, 23, 0xfefd, rec, 8 + sizeof pt + 16, back,
                         &back_len) == 0);
    CHECK(back_len == sizeof pt);
    CHECK_MEM(back, pt, sizeof pt);
    dtls_aead_cleanup(&rx);
}

/* A parked context re-keys from the kept key: the records sealed after
 * parking are byte for byte those of a context never parked (the GCM
 * counter resyncs), and a parked opener still opens them, in both the
 * record mode and the explicit additional data mode. */
static void test_park(void)
{
    uint8_t pt[64], got[128], want[128], back[128];
    static const uint8_t ad[] = "additional data of a CID record";
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i ^ 0x5a);
    for (size_t i = 0; i < N_ALGS; i++) {
        for (int mode = 0; mode < 2; mode++) {
            dtls_aead ref, tx, rx;
            CHECK(dtls_aead_init(&ref, algs[i].alg, test_key, test_iv, 1) == 0);
            CHECK(dtls_aead_init(&tx, algs[i].alg, test_key, test_iv, 1) == 0);
            CHECK(dtls_aead_init(&rx, algs[i].alg, test_key, test_iv, 0) == 0);
            for (uint64_t seq = 0x0001000000000000ULL; seq < 0x0001000000000006ULL; seq++) {
                if (seq & 1) {
                    dtls_aead_park(&tx);
                    dtls_aead_park(&rx);
                    dtls_aead_park(&rx); /* twice: a no-op */
                    CHECK(!dtls_aead_live(&tx) && !dtls_aead_live(&rx));
                }
                size_t got_len = 0, want_len = 0, back_len = 0;
                if (mode == 0) {
                    CHECK(dtls_aead_seal(&ref, seq, 23, 0xfefd, pt, sizeof pt, want, &want_len) == 0);
                    CHECK(dtls_aead_seal(&tx, seq, 23, 0xfefd, pt, sizeof pt, got, &got_len) == 0);
                    CHECK(dtls_aead_open(&rx, seq, 23, 0xfefd, got, got_len, back, &back_len) == 0);
                } else {
                    CHECK(dtls_aead_seal_ad(&ref, seq, ad, sizeof ad, pt, sizeof pt, want, &want_len) == 0);
                    CHECK(dtls_aead_seal_ad(&tx, seq, ad, sizeof ad, pt, sizeof pt, got, &got_len) == 0);
                    CHECK(dtls_aead_open_ad(&rx, ad, sizeof ad, seq, got, got_len, back, &back_len) == 0);
                }
                CHECK(dtls_aead_live(&tx) && dtls_aead_live(&rx));
                CHECK(got_len == want_len);
                CHECK_MEM(got, want, want_len);
                CHECK(back_len == sizeof pt);
                CHECK_MEM(back, pt, sizeof pt);
            }
            dtls_aead_cleanup(&ref);
            dtls_aead_cleanup(&tx);
            dtls_aead_cleanup(&rx);
        }
    }
    /* Unkeyed: parking does nothing and nothing re-keys. */
    dtls_aead z;
    memset(&z, 0, sizeof z);
    dtls_aead_park(&z);
    size_t n = 0;
    CHECK(dtls_aead_seal(&z, 0, 23, 0xfefd, pt, 1, got, &n) == -1);
    CHECK(!dtls_aead_live(&z));
}

int main(void)
{
    test_raw_vectors();
    test_park();
    test_sizes();
    test_against_independent();
    test_round_trip_and_tamper();
    test_explicit_nonce_from_record();
    return unit_report();
}

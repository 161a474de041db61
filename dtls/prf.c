/* prf.c — the TLS pseudo-random function on libcrypto's hashes.
 * Owns P_hash (RFC 5246 5) and the TLS 1.0/1.1 MD5 xor SHA-1 split
 * (RFC 2246 5). Holds no state beyond the fetched HMAC; never logs secrets.
 */
/* P_SHA256 and P_SHA384 run HMAC (RFC 2104) over libcrypto's low-level
 * SHA-2 contexts, deprecated in OpenSSL 3.0 but still part of libcrypto
 * (cbc.c uses them too): plain structs, so the keyed inner and outer states
 * are copied by assignment. Through EVP_MAC every copy of a digest state
 * is a provider context allocated and freed, about 10 allocations per PRF
 * run, which made one TLS 1.2 PRF run cost 3-8 us against well under 1 us
 * of hashing (three runs per abbreviated handshake). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "prf.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/sha.h>

/* HMAC contexts with their digest already set, one per PRF hash, made
 * once per process: each P_hash dups one and sets only the key, instead of
 * fetching the digest by name on every init (a method-store lookup that
 * cost more than the hashing itself on the resumption path). */
enum { PRF_MD5, PRF_SHA1, PRF_SHA256, PRF_SHA384, PRF_NHASH };
static const char *const prf_digest_names[PRF_NHASH] = { "MD5", "SHA1", "SHA256", "SHA384" };
static EVP_MAC_CTX *hmac_templates[PRF_NHASH];
static CRYPTO_ONCE hmac_once = CRYPTO_ONCE_STATIC_INIT;

static void hmac_fetch(void)
{
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    for (int i = 0; hmac && i < PRF_NHASH; i++) {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)prf_digest_names[i], 0),
            OSSL_PARAM_construct_end(),
        };
        hmac_templates[i] = EVP_MAC_CTX_new(hmac);
        if (hmac_templates[i] && !EVP_MAC_CTX_set_params(hmac_templates[i], params)) {
            EVP_MAC_CTX_free(hmac_templates[i]);
            hmac_templates[i] = NULL;
        }
    }
    EVP_MAC_free(hmac); /* the contexts keep their own references */
}

/* The seed of RFC 5246 5 is label || seed; we keep its parts apart and feed
 * them to HMAC one after the other instead of concatenating. */
struct prf_seed {
    const char *label;
    size_t label_len;
    const uint8_t *a, *b;
    size_t a_len, b_len;
};

static int mac_seed(EVP_MAC_CTX *m, const struct prf_seed *s)
{
    return EVP_MAC_update(m, (const uint8_t *)s->label, s->label_len) &&
           (s->a_len == 0 || EVP_MAC_update(m, s->a, s->a_len)) &&
           (s->b_len == 0 || EVP_MAC_update(m, s->b, s->b_len));
}

/* P_hash(secret, seed) (RFC 5246 5), XORed into out when xor is set (the
 * TLS 1.0 combination), written to out otherwise. */
static int p_hash(int hash, const uint8_t *secret, size_t secret_len,
                  const struct prf_seed *seed, uint8_t *out, size_t out_len, int xor)
{
    static const uint8_t no_key[1];
    uint8_t a[EVP_MAX_MD_SIZE], block[EVP_MAX_MD_SIZE];
    size_t a_len = 0, block_len = 0;
    int ok = 0;
    EVP_MAC_CTX *m = hmac_templates[hash] ? EVP_MAC_CTX_dup(hmac_templates[hash]) : NULL;

    if (m == NULL)
        return -1;
    /* A(1) = HMAC(secret, seed); later inits pass no key and reuse it. */
    if (!EVP_MAC_init(m, secret_len ? secret : no_key, secret_len, NULL) ||
        !mac_seed(m, seed) || !EVP_MAC_final(m, a, &a_len, sizeof a))
        goto done;
    while (out_len > 0) {
        if (!EVP_MAC_init(m, NULL, 0, NULL) || !EVP_MAC_update(m, a, a_len) ||
            !mac_seed(m, seed) || !EVP_MAC_final(m, block, &block_len, sizeof block))
            goto done;
        size_t n = block_len < out_len ? block_len : out_len;
        if (xor) {
            for (size_t i = 0; i < n; i++)
                out[i] ^= block[i];
        } else {
            memcpy(out, block, n);
        }
        out += n;
        out_len -= n;
        /* A(i+1) = HMAC(secret, A(i)) */
        if (out_len > 0 && (!EVP_MAC_init(m, NULL, 0, NULL) || !EVP_MAC_update(m, a, a_len) ||
                            !EVP_MAC_final(m, a, &a_len, sizeof a)))
            goto done;
    }
    ok = 1;
done:
    EVP_MAC_CTX_free(m);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(block, sizeof block);
    return ok ? 0 : -1;
}

/* ---- P_SHA256 / P_SHA384 on the low-level SHA-2 API ---- */

typedef union sha2_state {
    SHA256_CTX s256;
    SHA512_CTX s512; /* SHA-384 runs on SHA-512's state */
} sha2_state;

typedef struct hmac_sha2 {
    int sha384;
    size_t block, md_len;   /* 64/32 or 128/48 */
    sha2_state inner, outer; /* keyed: after the ipad / opad block */
} hmac_sha2;

static void sha2_init(int sha384, sha2_state *st)
{
    if (sha384)
        SHA384_Init(&st->s512);
    else
        SHA256_Init(&st->s256);
}

static void sha2_update(int sha384, sha2_state *st, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (sha384)
        SHA384_Update(&st->s512, p, n);
    else
        SHA256_Update(&st->s256, p, n);
}

static void sha2_final(int sha384, sha2_state *st, uint8_t *out)
{
    if (sha384)
        SHA384_Final(out, &st->s512);
    else
        SHA256_Final(out, &st->s256);
}

/* RFC 2104 2: a key longer than the block is hashed first; the inner and
 * outer states absorb key xor ipad / opad once per PRF run. */
static void hmac_sha2_key(hmac_sha2 *h, int sha384, const uint8_t *key, size_t key_len)
{
    uint8_t pad[128], hashed[SHA384_DIGEST_LENGTH];
    h->sha384 = sha384;
    h->block = sha384 ? 128 : 64;
    h->md_len = sha384 ? SHA384_DIGEST_LENGTH : SHA256_DIGEST_LENGTH;
    if (key_len > h->block) {
        sha2_init(sha384, &h->inner);
        sha2_update(sha384, &h->inner, key, key_len);
        sha2_final(sha384, &h->inner, hashed);
        key = hashed;
        key_len = h->md_len;
    }
    memset(pad, 0x36, h->block);
    for (size_t i = 0; i < key_len; i++)
        pad[i] ^= key[i];
    sha2_init(sha384, &h->inner);
    sha2_update(sha384, &h->inner, pad, h->block);
    memset(pad, 0x5c, h->block);
    for (size_t i = 0; i < key_len; i++)
        pad[i] ^= key[i];
    sha2_init(sha384, &h->outer);
    sha2_update(sha384, &h->outer, pad, h->block);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(hashed, sizeof hashed);
}

/* HMAC over up to four parts (prefix, then the seed's label, a, b). */
static void hmac_sha2_run(const hmac_sha2 *h, const uint8_t *prefix, size_t prefix_len,
                          const struct prf_seed *seed, uint8_t *out)
{
    sha2_state st = h->inner;
    uint8_t inner[SHA384_DIGEST_LENGTH];
    sha2_update(h->sha384, &st, prefix, prefix_len);
    if (seed) {
        sha2_update(h->sha384, &st, seed->label, seed->label_len);
        sha2_update(h->sha384, &st, seed->a, seed->a_len);
        sha2_update(h->sha384, &st, seed->b, seed->b_len);
    }
    sha2_final(h->sha384, &st, inner);
    st = h->outer;
    sha2_update(h->sha384, &st, inner, h->md_len);
    sha2_final(h->sha384, &st, out);
    OPENSSL_cleanse(&st, sizeof st);
    OPENSSL_cleanse(inner, sizeof inner);
}

static int p_hash_sha2(int sha384, const uint8_t *secret, size_t secret_len,
                       const struct prf_seed *seed, uint8_t *out, size_t out_len)
{
    hmac_sha2 h;
    uint8_t a[SHA384_DIGEST_LENGTH], block[SHA384_DIGEST_LENGTH];
    hmac_sha2_key(&h, sha384, secret, secret_len);
    /* A(1) = HMAC(secret, seed) */
    hmac_sha2_run(&h, NULL, 0, seed, a);
    while (out_len > 0) {
        hmac_sha2_run(&h, a, h.md_len, seed, block);
        size_t n = h.md_len < out_len ? h.md_len : out_len;
        memcpy(out, block, n);
        out += n;
        out_len -= n;
        /* A(i+1) = HMAC(secret, A(i)) */
        if (out_len > 0)
            hmac_sha2_run(&h, a, h.md_len, NULL, a);
    }
    OPENSSL_cleanse(&h, sizeof h);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(block, sizeof block);
    return 0;
}

/* RFC 2246 5: S1 and S2 are the two halves of the secret, each of
 * ceil(len/2) bytes, sharing the middle byte when the length is odd;
 * PRF = P_MD5(S1, seed) XOR P_SHA-1(S2, seed). */
static int prf_tls10(const uint8_t *secret, size_t secret_len, const struct prf_seed *seed,
                     uint8_t *out, size_t out_len)
{
    size_t half = (secret_len + 1) / 2;
    const uint8_t *s2 = secret_len ? secret + (secret_len - half) : secret;
    memset(out, 0, out_len);
    if (p_hash(PRF_MD5, secret, half, seed, out, out_len, 1) != 0 ||
        p_hash(PRF_SHA1, s2, half, seed, out, out_len, 1) != 0) {
        OPENSSL_cleanse(out, out_len);
        return -1;
    }
    return 0;
}

int dtls_prf(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
             const char *label, const uint8_t *seed_a, size_t seed_a_len,
             const uint8_t *seed_b, size_t seed_b_len,
             uint8_t *out, size_t out_len)
{
    struct prf_seed seed = {
        label ? label : "", label ? strlen(label) : 0,
        seed_a, seed_b, seed_a ? seed_a_len : 0, seed_b ? seed_b_len : 0,
    };

    if (out == NULL || (secret == NULL && secret_len != 0))
        return -1;
    if (!CRYPTO_THREAD_run_once(&hmac_once, hmac_fetch))
        return -1;
    if (out_len == 0)
        return 0;
    if (md == NULL)
        return prf_tls10(secret, secret_len, &seed, out, out_len);
    int type = EVP_MD_get_type(md);
    if (type != NID_sha256 && type != NID_sha384)
        return -1;
    return p_hash_sha2(type == NID_sha384, secret, secret_len, &seed, out, out_len);
}

enum { VERSION_DTLS_1_0 = 0xFEFF };

const EVP_MD *dtls_prf_md(uint16_t version, int prf_sha384)
{
    if (version == VERSION_DTLS_1_0)
        return NULL;
    return prf_sha384 ? EVP_sha384() : EVP_sha256();
}

const EVP_MD *dtls_transcript_md(uint16_t version, int prf_sha384)
{
    if (version == VERSION_DTLS_1_0)
        return EVP_md5_sha1();
    return dtls_prf_md(version, prf_sha384);
}

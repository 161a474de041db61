/* cbc.c — AES-CBC + HMAC record protection (RFC 5246 6.2.3.2, RFC 7366)
 * on libcrypto's AES and its low-level SHA-1/SHA-2 block functions. Owns
 * the record MAC input, CBC padding, and the constant-time check of
 * MAC-then-encrypt records; it never branches or indexes memory on the
 * padding length or MAC of a record it has not yet accepted.
 *
 * Why constant time: with MAC-then-encrypt the receiver decrypts before it
 * can authenticate, so anything it does differently for good and bad
 * padding (an early exit, or a MAC over a padding-dependent amount of data:
 * "Lucky Thirteen", AlFardan and Paterson 2013) is a decryption oracle
 * (Vaudenay 2002; RFC 5246 6.2.3.2 implementation note). DTLS drops bad
 * records silently (RFC 6347 4.1.2.7), so time is the only channel left.
 *
 * Method, for a decrypted fragment P of n bytes (n public):
 *  1. Padding: the last byte is the padding length p (secret). All of the
 *     last min(n, 256) bytes are visited; a byte at distance i from the end
 *     must equal p when i <= p, which is folded into a mask with branch-free
 *     compares; so is "p + 1 + MAC length <= n". Bad padding is treated as
 *     a zero-length pad (RFC 5246 6.2.3.2), so the MAC is still computed.
 *  2. MAC: HMAC's inner hash over header || plaintext (the header: the
 *     caller's prefix, public, then the secret plaintext length), whose
 *     length L is secret but lies within 256 bytes of a public maximum.
 *     The blocks wholly before the shortest possible message are hashed
 *     normally; every block from there to the last block of the longest
 *     possible message is built byte by byte with masks (message byte, the
 *     0x80 terminator, zeros, or the bit length in the block where it
 *     belongs for L) and run through the hash's compression function
 *     (SHA*_Transform). The chaining value after the block that ends the
 *     real message is kept with a mask. So the number of compression calls
 *     and every memory address touched depend on n (and the prefix length)
 *     only. The outer hash is over fixed-length data.
 *  3. The received MAC sits at a secret offset: it is gathered by visiting
 *     every possible offset (at most 256) and keeping, with a mask, the
 *     bytes of the right one; then compared with an OR of XORs.
 *  4. One branch at the end, on "padding good AND MAC equal": the only
 *     outcome an observer learns anyway (the record is used or dropped).
 * Residual limits: the hash's compression function and AES must themselves
 *  be constant time (libcrypto's are, AES with AES-NI or its constant-time
 *  fallback); the compiler must not turn the masks into branches (an empty
 *  asm barrier on every mask discourages it; it is not a proof); the low-level
 *  SHA API runs outside OpenSSL's providers (no FIPS provider, no engine);
 *  cost grows by up to about 5 hash blocks plus a 256 x MAC-length gather per
 *  record; the plaintext length is revealed once the record is accepted, as
 *  it is by its use. Encrypt-then-MAC (RFC 7366) needs none of this: its MAC
 *  covers the ciphertext and is checked, with CRYPTO_memcmp, before
 *  decryption; padding is checked afterwards with the same masks anyway.
 */
/* The one-block SHA functions exist only in the low-level API, deprecated
 * in OpenSSL 3.0 but still part of libcrypto. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "cbc.h"

#include "buf.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

enum { MAX_PAD = 256 };

/* ---- constant-time masks: all ones for true, zero for false ---------- */

static inline size_t ct_barrier(size_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(v));
#endif
    return v;
}
static inline size_t ct_msb(size_t a) { return ct_barrier(0 - (a >> (sizeof a * 8 - 1))); }
static inline size_t ct_lt(size_t a, size_t b) { return ct_msb(a ^ ((a ^ b) | ((a - b) ^ b))); }
static inline size_t ct_ge(size_t a, size_t b) { return ~ct_lt(a, b); }
static inline size_t ct_is_zero(size_t a) { return ct_msb(~a & (a - 1)); }
static inline size_t ct_eq(size_t a, size_t b) { return ct_is_zero(a ^ b); }

/* ---- algorithms -------------------------------------------------------- */

static const struct {
    dtls_cbc_alg alg;
    const char *cipher;
    uint8_t key_len, mac_len;
} ALGS[] = {
    { DTLS_CBC_AES_128_SHA1, "AES-128-CBC", 16, 20 },
    { DTLS_CBC_AES_256_SHA1, "AES-256-CBC", 32, 20 },
    { DTLS_CBC_AES_128_SHA256, "AES-128-CBC", 16, 32 },
    { DTLS_CBC_AES_256_SHA256, "AES-256-CBC", 32, 32 },
    { DTLS_CBC_AES_256_SHA384, "AES-256-CBC", 32, 48 },
};
#define N_ALGS (sizeof ALGS / sizeof ALGS[0])

static EVP_CIPHER *aes_cbc[2]; /* 128, 256: fetched once per process */
static CRYPTO_ONCE aes_once = CRYPTO_ONCE_STATIC_INIT;

static void aes_fetch(void)
{
    aes_cbc[0] = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    aes_cbc[1] = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}

static int alg_index(dtls_cbc_alg alg)
{
    for (size_t i = 0; i < N_ALGS; i++)
        if (ALGS[i].alg == alg)
            return (int)i;
    return -1;
}

size_t dtls_cbc_key_len(dtls_cbc_alg alg)
{
    int i = alg_index(alg);
    return i < 0 ? 0 : ALGS[i].key_len;
}

size_t dtls_cbc_mac_key_len(dtls_cbc_alg alg)
{
    int i = alg_index(alg);
    return i < 0 ? 0 : ALGS[i].mac_len;
}

/* ---- the hash behind HMAC, by MAC length (20: SHA-1, 32: SHA-256, 48:
 * SHA-384) ------------------------------------------------------------- */

/* The low-level state: copied by value (no allocation) and driven block by
 * block (the constant-time MAC). */
typedef union dtls_cbc_hash {
    SHA_CTX sha1;
    SHA256_CTX sha256;
    SHA512_CTX sha512;
} dtls_cbc_hash;

static void hash_init(size_t mac_len, dtls_cbc_hash *h)
{
    if (mac_len == 20)
        SHA1_Init(&h->sha1);
    else if (mac_len == 32)
        SHA256_Init(&h->sha256);
    else
        SHA384_Init(&h->sha512);
}

static void hash_update(size_t mac_len, dtls_cbc_hash *h, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (mac_len == 20)
        SHA1_Update(&h->sha1, p, n);
    else if (mac_len == 32)
        SHA256_Update(&h->sha256, p, n);
    else
        SHA384_Update(&h->sha512, p, n);
}

static void hash_final(size_t mac_len, dtls_cbc_hash *h, uint8_t *out)
{
    if (mac_len == 20)
        SHA1_Final(out, &h->sha1);
    else if (mac_len == 32)
        SHA256_Final(out, &h->sha256);
    else
        SHA384_Final(out, &h->sha512);
}

/* One compression-function call on a whole block; the length counters are
 * not touched, the caller writes the padding itself. */
static void hash_block(size_t mac_len, dtls_cbc_hash *h, const uint8_t *block)
{
    if (mac_len == 20)
        SHA1_Transform(&h->sha1, block);
    else if (mac_len == 32)
        SHA256_Transform(&h->sha256, block);
    else
        SHA512_Transform(&h->sha512, block);
}

/* cap |= chaining value & mask, word by word. */
static void hash_capture(size_t mac_len, const dtls_cbc_hash *h, uint64_t cap[8], size_t mask)
{
    uint64_t m = 0 - (uint64_t)(mask & 1);
    if (mac_len == 20) {
        const SHA_LONG w[5] = { h->sha1.h0, h->sha1.h1, h->sha1.h2, h->sha1.h3, h->sha1.h4 };
        for (int i = 0; i < 5; i++)
            cap[i] |= w[i] & m;
    } else if (mac_len == 32) {
        for (int i = 0; i < 8; i++)
            cap[i] |= h->sha256.h[i] & m;
    } else {
        for (int i = 0; i < 6; i++)
            cap[i] |= h->sha512.h[i] & m;
    }
}

/* The chaining value after exactly one block (the padded HMAC key), all
 * eight words for SHA-384 too. */
static void hash_save(size_t mac_len, const dtls_cbc_hash *h, uint64_t cv[8])
{
    memset(cv, 0, 8 * sizeof cv[0]);
    if (mac_len == 48) {
        for (int i = 0; i < 8; i++)
            cv[i] = h->sha512.h[i];
    } else {
        hash_capture(mac_len, h, cv, ~(size_t)0);
    }
}

/* A state as it stood after that one block: its chaining value, a bit
 * count of one block, nothing buffered (the counters of sha.h's structs
 * count bits, low word first). Cheaper to keep than the whole state, and
 * exactly what hashing the block again would give. */
static void hash_resume(size_t mac_len, dtls_cbc_hash *h, const uint64_t cv[8], size_t block)
{
    hash_init(mac_len, h);
    if (mac_len == 20) {
        h->sha1.h0 = (SHA_LONG)cv[0];
        h->sha1.h1 = (SHA_LONG)cv[1];
        h->sha1.h2 = (SHA_LONG)cv[2];
        h->sha1.h3 = (SHA_LONG)cv[3];
        h->sha1.h4 = (SHA_LONG)cv[4];
        h->sha1.Nl = (SHA_LONG)(block * 8);
    } else if (mac_len == 32) {
        for (int i = 0; i < 8; i++)
            h->sha256.h[i] = (SHA_LONG)cv[i];
        h->sha256.Nl = (SHA_LONG)(block * 8);
    } else {
        for (int i = 0; i < 8; i++)
            h->sha512.h[i] = cv[i];
        h->sha512.Nl = (SHA_LONG64)(block * 8);
    }
}

/* The digest from captured chaining values: big-endian words, 32-bit for
 * SHA-1 and SHA-256, 64-bit for SHA-384 (its first six). */
static void hash_words_out(size_t mac_len, const uint64_t cap[8], uint8_t *out)
{
    size_t wbytes = mac_len == 48 ? 8 : 4;
    for (size_t i = 0; i < mac_len; i++) {
        size_t w = i / wbytes, shift = 8 * (wbytes - 1 - i % wbytes);
        out[i] = (uint8_t)(cap[w] >> shift);
    }
}

/* ---- keying ------------------------------------------------------------ */

int dtls_cbc_init(dtls_cbc *c, dtls_cbc_alg alg, const uint8_t *enc_key,
                  const uint8_t *mac_key, int encrypt, int etm)
{
    int i = alg_index(alg);

    memset(c, 0, sizeof *c);
    if (i < 0 || enc_key == NULL || mac_key == NULL ||
        !CRYPTO_THREAD_run_once(&aes_once, aes_fetch))
        return -1;
    const EVP_CIPHER *cipher = aes_cbc[ALGS[i].key_len == 32];
    if (cipher == NULL)
        return -1;
    c->alg = alg;
    c->key_len = ALGS[i].key_len;
    c->mac_len = ALGS[i].mac_len;
    c->hash_block = c->mac_len == 48 ? 128 : 64;
    c->encrypt = encrypt ? 1 : 0;
    c->etm = etm ? 1 : 0;

    c->ctx = EVP_CIPHER_CTX_new();
    if (c->ctx == NULL || !EVP_CipherInit_ex2(c->ctx, cipher, enc_key, NULL, c->encrypt, NULL) ||
        !EVP_CIPHER_CTX_set_padding(c->ctx, 0)) /* TLS pads itself, RFC 5246 6.2.3.2 */
        goto fail;

    /* HMAC (RFC 2104 2): the key (MAC length, shorter than a hash block) is
     * zero-padded to a block; both padded-key blocks are hashed once here,
     * and every record starts from copies of the two states. */
    uint8_t ipad[128], opad[128];
    memset(ipad, 0x36, sizeof ipad);
    memset(opad, 0x5c, sizeof opad);
    for (size_t k = 0; k < c->mac_len; k++) {
        ipad[k] ^= mac_key[k];
        opad[k] ^= mac_key[k];
    }
    dtls_cbc_hash h;
    hash_init(c->mac_len, &h);
    hash_update(c->mac_len, &h, ipad, c->hash_block);
    hash_save(c->mac_len, &h, c->inner);
    hash_init(c->mac_len, &h);
    hash_update(c->mac_len, &h, opad, c->hash_block);
    hash_save(c->mac_len, &h, c->outer);
    OPENSSL_cleanse(&h, sizeof h);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    return 0;
fail:
    dtls_cbc_cleanup(c);
    return -1;
}

void dtls_cbc_cleanup(dtls_cbc *c)
{
    if (c == NULL)
        return;
    /* EVP_CIPHER_CTX_free cleanses the key schedule it holds. */
    EVP_CIPHER_CTX_free(c->ctx);
    OPENSSL_cleanse(c, sizeof *c);
}

/* ---- record pieces --------------------------------------------------- */

/* The MAC input's header: the caller's prefix (public) and a 2-byte length
 * (RFC 5246 6.2.3.1; secret while a MAC-then-encrypt record is opened). */
struct mac_hdr {
    uint8_t b[DTLS_CBC_MAX_PREFIX + 2];
    size_t len;
};

static void hdr_make(struct mac_hdr *h, const uint8_t *prefix, size_t prefix_len, size_t len)
{
    if (prefix_len)
        memcpy(h->b, prefix, prefix_len);
    h->b[prefix_len] = (uint8_t)(len >> 8);
    h->b[prefix_len + 1] = (uint8_t)len;
    h->len = prefix_len + 2;
}

/* HMAC over hdr || a || b, all of public length. */
static void mac_public(const dtls_cbc *c, const struct mac_hdr *hdr, const uint8_t *a,
                       size_t a_len, const uint8_t *b, size_t b_len, uint8_t *mac)
{
    uint8_t inner[DTLS_CBC_MAX_MAC];
    dtls_cbc_hash h;
    hash_resume(c->mac_len, &h, c->inner, c->hash_block);
    hash_update(c->mac_len, &h, hdr->b, hdr->len);
    hash_update(c->mac_len, &h, a, a_len);
    hash_update(c->mac_len, &h, b, b_len);
    hash_final(c->mac_len, &h, inner);
    hash_resume(c->mac_len, &h, c->outer, c->hash_block);
    hash_update(c->mac_len, &h, inner, c->mac_len);
    hash_final(c->mac_len, &h, mac);
    OPENSSL_cleanse(&h, sizeof h);
    OPENSSL_cleanse(inner, sizeof inner);
}

/* AES-CBC over whole blocks from iv; in and out may be the same buffer. */
static int cbc_crypt(dtls_cbc *c, const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
    int n = 0;
    return EVP_CipherInit_ex2(c->ctx, NULL, NULL, iv, c->encrypt, NULL) &&
           EVP_CipherUpdate(c->ctx, out, &n, in, (int)len) && (size_t)n == len;
}

/* Padding (RFC 5246 6.2.3.2): padding_length + 1 bytes of value
 * padding_length, minimal here: the smallest that fills the block. */
static size_t pad_total_for(size_t len)
{
    return DTLS_CBC_BLOCK - len % DTLS_CBC_BLOCK;
}

size_t dtls_cbc_sealed_len(const dtls_cbc *c, size_t in_len)
{
    size_t inside = in_len + (c->etm ? 0 : c->mac_len);
    return DTLS_CBC_BLOCK + inside + pad_total_for(inside) + (c->etm ? c->mac_len : 0);
}

int dtls_cbc_seal_ad(dtls_cbc *c, const uint8_t *prefix, size_t prefix_len, const uint8_t *iv_in,
                     const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    struct mac_hdr hdr;
    uint8_t iv[DTLS_CBC_BLOCK];

    if (c->ctx == NULL || !c->encrypt || out == NULL || (in == NULL && in_len) ||
        (prefix == NULL && prefix_len) || prefix_len > DTLS_CBC_MAX_PREFIX || in_len > 0xffff)
        return -1;
    size_t total = dtls_cbc_sealed_len(c, in_len);
    if (total > 0xffff) /* TLSCiphertext.length is a uint16 (RFC 5246 6.2.3) */
        return -1;
    /* RFC 5246 6.2.3.2: "The IV SHOULD be chosen at random, and MUST be
     * unpredictable" (RFC 4346 6.2.3.2 for DTLS 1.0 alike). */
    if (iv_in != NULL)
        memcpy(iv, iv_in, sizeof iv);
    else if (RAND_bytes(iv, sizeof iv) != 1)
        return -1;
    uint8_t *body = out + DTLS_CBC_BLOCK;
    size_t inside = in_len;
    memcpy(out, iv, DTLS_CBC_BLOCK);
    if (in_len)
        memcpy(body, in, in_len);
    if (!c->etm) {
        /* RFC 5246 6.2.3.1: the MAC covers the plaintext's length. */
        hdr_make(&hdr, prefix, prefix_len, in_len);
        mac_public(c, &hdr, in, in_len, NULL, 0, body + in_len);
        inside += c->mac_len;
    }
    size_t pad = pad_total_for(inside);
    memset(body + inside, (int)(pad - 1), pad);
    inside += pad;
    if (!cbc_crypt(c, iv, body, inside, body)) {
        OPENSSL_cleanse(out, total);
        return -1;
    }
    if (c->etm) {
        /* RFC 7366 3: the MAC covers IV and ciphertext, and the length in
         * its header is theirs (the record's length less the MAC). */
        hdr_make(&hdr, prefix, prefix_len, DTLS_CBC_BLOCK + inside);
        mac_public(c, &hdr, out, DTLS_CBC_BLOCK + inside, NULL, 0, body + inside);
    }
    *out_len = total;
    return 0;
}

int dtls_cbc_seal(dtls_cbc *c, uint64_t epoch_seq, uint8_t type, uint16_t version,
                  const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t prefix[DTLS_CBC_RECORD_PREFIX];
    dtls_cbc_record_prefix(prefix, epoch_seq, type, version);
    return dtls_cbc_seal_ad(c, prefix, sizeof prefix, NULL, in, in_len, out, out_len);
}

/* ---- opening ----------------------------------------------------------- */

/* Check the padding of a decrypted fragment p[0..n), n >= 1, with room for
 * mac_len MAC bytes before it. Returns the bytes to strip (padding and its
 * length byte; 1 when the padding is bad, as if it were empty) and sets
 * *good to an all-ones mask when it is well formed. Constant time in the
 * content of p: every one of the last min(n, 256) bytes is read. */
static size_t pad_check(const uint8_t *p, size_t n, size_t mac_len, size_t *good)
{
    size_t pad = p[n - 1];
    size_t ok = ct_ge(n, pad + 1 + mac_len);
    size_t visit = n < MAX_PAD ? n : MAX_PAD;
    for (size_t i = 0; i < visit; i++) {
        size_t in_pad = ct_lt(i, pad + 1);
        ok &= ~in_pad | ct_eq(p[n - 1 - i], pad);
    }
    *good = ok;
    return (ok & (pad + 1)) | (~ok & 1);
}

/* The inner-then-outer HMAC over hdr || p[0..plain_len), where plain_len is
 * secret and lies in [min_plain, max_plain] (public), computed with a fixed
 * sequence of compression calls (the file comment, step 2). hdr already
 * holds plain_len (its length, hdr->len, is public); p has n bytes. */
static void mac_constant_time(const dtls_cbc *c, const struct mac_hdr *hdr, const uint8_t *p,
                              size_t n, size_t plain_len, size_t min_plain, size_t max_plain,
                              uint8_t *mac)
{
    const size_t ml = c->mac_len, bs = c->hash_block, hl = hdr->len;
    const size_t bs_shift = bs == 128 ? 7 : 6;
    const size_t lf = bs == 128 ? 16 : 8; /* the padding's bit-length field */
    const size_t len = hl + plain_len;                   /* secret */
    const size_t first_var = (hl + min_plain) >> bs_shift; /* public */
    const size_t nblocks = (hl + max_plain + 1 + lf + bs - 1) >> bs_shift;
    /* The 0x80 terminator lands in block len / bs; the bit length in the last
     * lf bytes of block (len + lf) / bs, the same block or the next. */
    const size_t block_b = (len + lf) >> bs_shift; /* holds the bit length */
    uint8_t bitlen[16] = { 0 }, inner[DTLS_CBC_MAX_MAC];
    uint64_t cap[8] = { 0 };
    union { uint64_t align; uint8_t b[128]; } block;
    dtls_cbc_hash h;
    hash_resume(ml, &h, c->inner, bs);

    /* Blocks that are message for every possible length: hashed as usual. */
    const size_t pre = first_var << bs_shift;
    hash_update(ml, &h, hdr->b, pre < hl ? pre : hl);
    if (pre > hl)
        hash_update(ml, &h, p, pre - hl);
    /* The inner hash's message is K^ipad (one block) || hdr || plaintext. */
    uint64_t bits = (uint64_t)(bs + len) * 8;
    for (size_t k = 0; k < 8; k++)
        bitlen[lf - 1 - k] = (uint8_t)(bits >> (8 * k));

    for (size_t i = first_var; i < nblocks; i++) {
        size_t is_b = ct_eq(i, block_b);
        for (size_t j = 0; j < bs; j++) {
            size_t pos = (i << bs_shift) + j; /* public */
            uint8_t b = pos < hl ? hdr->b[pos] : pos - hl < n ? p[pos - hl] : 0;
            size_t past = ct_ge(pos, len), at = ct_eq(pos, len);
            b = (uint8_t)((b & ~past) | (0x80 & at));
            if (j >= bs - lf)
                b |= (uint8_t)(bitlen[j - (bs - lf)] & is_b);
            block.b[j] = b;
        }
        hash_block(ml, &h, block.b);
        hash_capture(ml, &h, cap, is_b);
    }
    hash_words_out(ml, cap, inner);
    hash_resume(ml, &h, c->outer, bs);
    hash_update(ml, &h, inner, ml);
    hash_final(ml, &h, mac);
    OPENSSL_cleanse(&h, sizeof h);
    OPENSSL_cleanse(&block, sizeof block);
    OPENSSL_cleanse(bitlen, sizeof bitlen);
    OPENSSL_cleanse(cap, sizeof cap);
    OPENSSL_cleanse(inner, sizeof inner);
}

/* MAC-then-encrypt: p[0..n) is decrypted plaintext || MAC || padding. */
static int open_mte(const dtls_cbc *c, const uint8_t *prefix, size_t prefix_len, uint8_t *p,
                    size_t n, size_t *out_len)
{
    const size_t ml = c->mac_len;
    size_t good;
    struct mac_hdr hdr;
    uint8_t want[DTLS_CBC_MAX_MAC], got[DTLS_CBC_MAX_MAC] = { 0 };

    size_t plain_len = n - pad_check(p, n, ml, &good) - ml; /* secret */
    size_t max_plain = n - 1 - ml;
    size_t min_plain = n > MAX_PAD + ml ? n - MAX_PAD - ml : 0;

    hdr_make(&hdr, prefix, prefix_len, plain_len);
    mac_constant_time(c, &hdr, p, n, plain_len, min_plain, max_plain, want);
    /* The received MAC, from whichever offset is the real one. */
    for (size_t at = min_plain; at <= max_plain; at++) {
        uint8_t m = (uint8_t)ct_eq(at, plain_len);
        for (size_t j = 0; j < ml; j++)
            got[j] |= p[at + j] & m;
    }
    size_t diff = 0;
    for (size_t j = 0; j < ml; j++)
        diff |= (size_t)(want[j] ^ got[j]);
    good &= ct_is_zero(diff);
    OPENSSL_cleanse(want, sizeof want);
    OPENSSL_cleanse(got, sizeof got);
    OPENSSL_cleanse(&hdr, sizeof hdr);
    if (!(good & 1))
        return -1;
    *out_len = plain_len;
    return 0;
}

int dtls_cbc_open_ad(dtls_cbc *c, const uint8_t *prefix, size_t prefix_len, const uint8_t *in,
                     size_t in_len, uint8_t *out, size_t *out_len)
{
    if (c->ctx == NULL || c->encrypt || in == NULL || out == NULL || in_len > 0xffff ||
        (prefix == NULL && prefix_len) || prefix_len > DTLS_CBC_MAX_PREFIX)
        return -1;
    /* IV || ciphertext [|| MAC with Encrypt-then-MAC]: lengths are public. */
    size_t tag_len = c->etm ? c->mac_len : 0;
    dtls_rd r = rd_init(in, in_len);
    const uint8_t *iv = rd_bytes(&r, DTLS_CBC_BLOCK);
    size_t ct_len = rd_left(&r) > tag_len ? rd_left(&r) - tag_len : 0;
    const uint8_t *ct = rd_bytes(&r, ct_len);
    const uint8_t *tag = rd_bytes(&r, tag_len);
    if (!rd_done(&r) || ct_len == 0 || ct_len % DTLS_CBC_BLOCK != 0)
        return -1;
    /* MAC-then-encrypt needs room for the MAC and the padding length byte. */
    if (!c->etm && ct_len < (size_t)c->mac_len + 1)
        return -1;

    if (c->etm) {
        /* RFC 7366 3: authenticate IV and ciphertext before decrypting. */
        struct mac_hdr hdr;
        uint8_t want[DTLS_CBC_MAX_MAC];
        hdr_make(&hdr, prefix, prefix_len, DTLS_CBC_BLOCK + ct_len);
        mac_public(c, &hdr, iv, DTLS_CBC_BLOCK, ct, ct_len, want);
        int differs = CRYPTO_memcmp(want, tag, c->mac_len);
        OPENSSL_cleanse(want, sizeof want);
        if (differs)
            return -1;
    }
    if (!cbc_crypt(c, iv, ct, ct_len, out)) {
        OPENSSL_cleanse(out, ct_len);
        return -1;
    }
    int rc;
    size_t plain_len = 0;
    if (c->etm) {
        /* Past the MAC check: the padding is no longer an oracle, but the
         * masks cost nothing and keep one check for both modes. */
        size_t good, strip = pad_check(out, ct_len, 0, &good);
        rc = (good & 1) ? 0 : -1;
        plain_len = ct_len - strip;
    } else {
        rc = open_mte(c, prefix, prefix_len, out, ct_len, &plain_len);
    }
    if (rc != 0) {
        OPENSSL_cleanse(out, ct_len);
        return -1;
    }
    /* MAC and padding behind the plaintext: nothing secret, but callers wipe
     * only out[0..*out_len), so leave nothing else behind. */
    OPENSSL_cleanse(out + plain_len, ct_len - plain_len);
    *out_len = plain_len;
    return 0;
}

int dtls_cbc_open(dtls_cbc *c, uint64_t epoch_seq, uint8_t type, uint16_t version,
                  const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t prefix[DTLS_CBC_RECORD_PREFIX];
    dtls_cbc_record_prefix(prefix, epoch_seq, type, version);
    return dtls_cbc_open_ad(c, prefix, sizeof prefix, in, in_len, out, out_len);
}

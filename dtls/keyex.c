/* keyex.c — ephemeral ECDH for X25519, P-256 and P-384 (RFC 8422 5.4, 5.10)
 * and RSA key transport (RFC 5246 7.4.7.1) on OpenSSL 3 EVP_PKEY. Owns point
 * encoding/validation, a per-process cache of group templates, and the
 * implicit rejection of bad RSA ciphertexts; the caller owns and frees keys.
 */
#include "keyex.h"

#include "buf.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

struct group_info {
    uint16_t id;
    const char *keytype;   /* "EC" or "X25519" */
    const char *curve;     /* group name for EC, NULL for X25519 */
    size_t point_len;      /* TLS encoding (RFC 8422 5.4, 5.11) */
    size_t secret_len;
};

static const struct group_info groups[] = {
    { DTLS_GROUP_X25519, "X25519", NULL, 32, 32 },
    { DTLS_GROUP_SECP256R1, "EC", "P-256", 65, 32 },
    { DTLS_GROUP_SECP384R1, "EC", "P-384", 97, 48 },
};
#define N_GROUPS (sizeof groups / sizeof groups[0])

/* One template key per group, made once: for EC it carries only the group
 * parameters, so key generation and peer-key import skip the name lookup and
 * group construction; for X25519 it only pins the key manager. */
static EVP_PKEY *templates[N_GROUPS];
static CRYPTO_ONCE templates_once = CRYPTO_ONCE_STATIC_INIT;

static EVP_PKEY *make_template(const struct group_info *g)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, g->keytype, NULL);
    if (pctx == NULL)
        return NULL;
    if (g->curve == NULL) {
        /* X25519 has no parameters: a generated key serves as template. */
        if (EVP_PKEY_keygen_init(pctx) <= 0 || EVP_PKEY_generate(pctx, &pkey) <= 0)
            pkey = NULL;
    } else {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)g->curve, 0),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_PKEY_fromdata_init(pctx) <= 0 ||
            EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_KEY_PARAMETERS, params) <= 0)
            pkey = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

static void templates_make(void)
{
    for (size_t i = 0; i < N_GROUPS; i++)
        templates[i] = make_template(&groups[i]);
}

static const struct group_info *group_find(uint16_t id, EVP_PKEY **tmpl)
{
    for (size_t i = 0; i < N_GROUPS; i++) {
        if (groups[i].id != id)
            continue;
        if (!CRYPTO_THREAD_run_once(&templates_once, templates_make) || templates[i] == NULL)
            return NULL;
        *tmpl = templates[i];
        return &groups[i];
    }
    return NULL;
}

int dtls_group_supported(uint16_t group)
{
    EVP_PKEY *tmpl;
    return group_find(group, &tmpl) != NULL;
}

EVP_PKEY *dtls_ecdhe_generate(uint16_t group, uint8_t *pub, size_t *pub_len)
{
    EVP_PKEY *tmpl, *key = NULL;
    const struct group_info *g = group_find(group, &tmpl);
    if (g == NULL || pub == NULL || pub_len == NULL)
        return NULL;

    /* For EC the context's key acts as the generation template (its group). */
    EVP_PKEY_CTX *pctx = g->curve ? EVP_PKEY_CTX_new_from_pkey(NULL, tmpl, NULL)
                                  : EVP_PKEY_CTX_new_from_name(NULL, g->keytype, NULL);
    if (pctx == NULL)
        return NULL;
    if (EVP_PKEY_keygen_init(pctx) <= 0 || EVP_PKEY_generate(pctx, &key) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(pctx);
    if (key == NULL)
        return NULL;

    /* Uncompressed X9.62 for EC (the provider's default form), raw u for
     * X25519. */
    size_t n = 0;
    if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub,
                                         DTLS_MAX_POINT_LEN, &n) ||
        n != g->point_len) {
        EVP_PKEY_free(key);
        return NULL;
    }
    *pub_len = n;
    return key;
}

/* The peer's public key from its TLS encoding. For the NIST curves the
 * import decodes the point and refuses one that is not on the curve; both
 * curves have cofactor 1, so that is the whole check (RFC 8422 5.11). */
static EVP_PKEY *peer_key(const struct group_info *g, EVP_PKEY *tmpl, const uint8_t *p,
                          size_t len)
{
    if (len != g->point_len)
        return NULL;
    if (g->curve == NULL)
        return EVP_PKEY_new_raw_public_key_ex(NULL, g->keytype, NULL, p, len);
    if (p[0] != 0x04) /* only the uncompressed form (RFC 8422 5.1.2) */
        return NULL;
    EVP_PKEY *peer = EVP_PKEY_new();
    if (peer == NULL || EVP_PKEY_copy_parameters(peer, tmpl) <= 0 ||
        EVP_PKEY_set1_encoded_public_key(peer, p, len) <= 0) {
        EVP_PKEY_free(peer);
        return NULL;
    }
    return peer;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int dtls_ecdhe_derive(uint16_t group, EVP_PKEY *priv, const uint8_t *peer_pub,
                      size_t peer_len, uint8_t *secret, size_t *secret_len)
{
    EVP_PKEY *tmpl;
    const struct group_info *g = group_find(group, &tmpl);
    int ok = 0;

    if (g == NULL || priv == NULL || peer_pub == NULL || secret == NULL || secret_len == NULL)
        return -1;
    EVP_PKEY *peer = peer_key(g, tmpl, peer_pub, peer_len);
    if (peer == NULL) {
        ERR_clear_error();
        return -1;
    }
    EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t n = g->secret_len;
    /* The point was validated on import above; skipping the library's second
     * public-key check (a full scalar multiplication for EC) halves the cost. */
    if (dctx != NULL && EVP_PKEY_derive_init(dctx) > 0 &&
        EVP_PKEY_derive_set_peer_ex(dctx, peer, 0) > 0 &&
        EVP_PKEY_derive(dctx, secret, &n) > 0 && n == g->secret_len &&
        !all_zero(secret, n)) /* RFC 7748 6.1 / RFC 8422 5.11: no all-zero X25519 result */
        ok = 1;
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(peer);
    if (!ok) {
        OPENSSL_cleanse(secret, g->secret_len);
        ERR_clear_error();
        return -1;
    }
    *secret_len = n;
    return 0;
}

/* ---- RSA key transport ------------------------------------------------- */

int dtls_rsa_premaster_decrypt(EVP_PKEY *key, const uint8_t *enc, size_t len,
                               uint16_t client_version, uint8_t out[DTLS_PREMASTER_LEN])
{
    uint8_t r[DTLS_PREMASTER_LEN], dec[DTLS_PREMASTER_LEN];
    size_t n = sizeof dec;
    int pad_mode = RSA_PKCS1_WITH_TLS_PADDING;
    unsigned int version = client_version;

    if (key == NULL || out == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return -1;
    /* RFC 5246 7.4.7.1: generate R before looking at the ciphertext, so
     * that nothing done on failure differs from what is done on success. */
    if (RAND_priv_bytes(r, sizeof r) != 1)
        return -1;
    memset(dec, 0, sizeof dec);
    /* libcrypto's TLS mode (what libssl's server uses): the padding, the
     * separator at 48 bytes from the end and the version bytes are checked
     * with masks, and on any failure the output is libcrypto's own random
     * 48 bytes, with success returned. It refuses outright only on public
     * facts (a ciphertext longer than the modulus, or not below it). Pad
     * mode "pkcs1" with the version parameter is not that: OpenSSL 3.0
     * still fails such a decryption visibly on a bad block (checked on
     * 3.0.19); only RSA_PKCS1_WITH_TLS_PADDING, which has no name string,
     * selects the TLS check. */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &pad_mode),
        OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &version),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && enc != NULL && len > 0 &&
             EVP_PKEY_decrypt_init_ex(ctx, params) > 0 &&
             EVP_PKEY_decrypt(ctx, dec, &n, enc, len) > 0;
    EVP_PKEY_CTX_free(ctx);
    /* Whatever happened, R unless libcrypto produced 48 bytes; selected
     * with a mask, not a branch (n is always 48 in TLS mode; the mask costs
     * nothing and holds if a provider behaved otherwise). */
    size_t good = (size_t)ok & (size_t)(n == DTLS_PREMASTER_LEN);
    uint8_t m = (uint8_t)(0 - good);
    for (size_t i = 0; i < DTLS_PREMASTER_LEN; i++)
        out[i] = (uint8_t)((dec[i] & m) | (r[i] & (uint8_t)~m));
    OPENSSL_cleanse(dec, sizeof dec);
    OPENSSL_cleanse(r, sizeof r);
    /* Nothing about the failure may reach a log or an alert (RFC 5246
     * 7.4.7.1: no alert, continue with the random pre-master secret). */
    ERR_clear_error();
    return 0;
}

int dtls_rsa_premaster_encrypt(EVP_PKEY *peer_key, uint16_t client_version, uint8_t *out_enc,
                               size_t *len, uint8_t premaster_out[DTLS_PREMASTER_LEN])
{
    size_t need = 0;
    int ok = 0;

    if (peer_key == NULL || out_enc == NULL || len == NULL || premaster_out == NULL ||
        EVP_PKEY_get_base_id(peer_key) != EVP_PKEY_RSA)
        return -1;
    /* RFC 5246 7.4.7.1: client_version (the version offered in the
     * ClientHello, for rollback protection) then 46 random bytes. */
    premaster_out[0] = (uint8_t)(client_version >> 8);
    premaster_out[1] = (uint8_t)client_version;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer_key, NULL);
    if (ctx != NULL && RAND_priv_bytes(premaster_out + 2, DTLS_PREMASTER_LEN - 2) == 1 &&
        EVP_PKEY_encrypt_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
        EVP_PKEY_encrypt(ctx, NULL, &need, premaster_out, DTLS_PREMASTER_LEN) > 0 &&
        need <= *len && need <= DTLS_MAX_RSA_ENC &&
        EVP_PKEY_encrypt(ctx, out_enc, &need, premaster_out, DTLS_PREMASTER_LEN) > 0)
        ok = 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(premaster_out, DTLS_PREMASTER_LEN);
        ERR_clear_error();
        return -1;
    }
    *len = need;
    return 0;
}

int dtls_rsa_cke_parse(const uint8_t *body, size_t body_len, const uint8_t **enc, size_t *enc_len)
{
    dtls_rd r = rd_init(body, body_len);
    dtls_rd v = rd_vec(&r, 2);
    if (!rd_ok(&v) || !rd_done(&r) || rd_left(&v) == 0 || rd_left(&v) > DTLS_MAX_RSA_ENC)
        return -1;
    *enc_len = rd_left(&v);
    *enc = rd_ptr(&v);
    return 0;
}

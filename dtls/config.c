/* config.c — the shared, read-mostly configuration: credentials, suites,
 * limits and the cookie secret. Loads from PEM text handed in by the host;
 * never touches files. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/x509_vfy.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

dtls_config *dtls_config_new(void)
{
    dtls_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->verify_peer = true;
    cfg->check_name = true;
    cfg->mtu = 1400;
    cfg->handshake_timeout_ms = 60000;
    cfg->rto_initial_ms = 1000; /* RFC 6347 4.2.4.1 */
    cfg->rto_max_ms = 60000;
    cfg->key_park_ms = DTLS_KEY_PARK_DEFAULT_MS;
    cfg->max_reasm = DTLS_REASSEMBLY_DEFAULT;
    cfg->ems = true;
    cfg->min_version = cfg->max_version = DTLS1_2_VERSION; /* 1.0 only when asked */
    cfg->etm = true;
    cfg->session_timeout_ms = DEFAULT_SESSION_TIMEOUT_MS;
    cfg->tickets = true;
    cfg->cid_len = -1;
    /* docs/renegotiation.md: a hostile peer's handshakes cost no more
     * than one reconnection a minute would */
    cfg->reneg_interval_ms = DTLS_RENEG_INTERVAL_DEFAULT_MS;
    session_cache_init(&cfg->cache, DTLS_SESSION_CACHE_DEFAULT);
    return cfg;
}

void dtls_config_free(dtls_config *cfg)
{
    if (!cfg)
        return;
    dtls_chain_free(&cfg->chain);
    EVP_PKEY_free(cfg->key);
    X509_STORE_free(cfg->ca);
    free(cfg->psk_hint);
    OPENSSL_cleanse(cfg->psk_key, sizeof cfg->psk_key);
    OPENSSL_cleanse(cfg->cookie_secret, sizeof cfg->cookie_secret);
    OPENSSL_cleanse(cfg->cookie_master, sizeof cfg->cookie_master);
    OPENSSL_cleanse(cfg->ticket_keys, sizeof cfg->ticket_keys);
    OPENSSL_cleanse(cfg->ticket_master, sizeof cfg->ticket_master);
    OPENSSL_cleanse(cfg->rand_pool, sizeof cfg->rand_pool);
    session_cache_free(&cfg->cache);
    hs_spares_free(cfg);
    EVP_MAC_CTX_free(cfg->cookie_mac[0]);
    EVP_MAC_CTX_free(cfg->cookie_mac[1]);
    OPENSSL_cleanse(cfg->rbuf, sizeof cfg->rbuf);
    free(cfg);
}

void dtls_config_set_callbacks(dtls_config *cfg, const dtls_callbacks *cb)
{
    cfg->cb = *cb;
}

void dtls_config_set_log_threshold(dtls_config *cfg, const int *level) { cfg->log_threshold = level; }

int dtls_config_set_cert_chain_pem(dtls_config *cfg, const char *pem, size_t len,
                                   char *err, size_t errlen)
{
    dtls_chain chain = { 0 };
    if (dtls_chain_from_pem(&chain, pem, len, err, errlen) != 0) {
        dtls_chain_free(&chain);
        return DTLS_ERR_ARG;
    }
    dtls_chain_free(&cfg->chain);
    cfg->chain = chain;
    cfg->leaf_key_usage = chain.n ? dtls_cert_key_usage(chain.certs[0]) : 0;
    return DTLS_OK;
}

int dtls_config_set_key_pem(dtls_config *cfg, const char *pem, size_t len,
                            char *err, size_t errlen)
{
    EVP_PKEY *key = dtls_key_from_pem(pem, len, err, errlen);
    if (!key)
        return DTLS_ERR_ARG;
    EVP_PKEY_free(cfg->key);
    cfg->key = key;
    return DTLS_OK;
}

int dtls_config_add_ca_pem(dtls_config *cfg, const char *pem, size_t len,
                           char *err, size_t errlen)
{
    if (!cfg->ca && !(cfg->ca = X509_STORE_new())) {
        set_err(err, errlen, "out of memory");
        return DTLS_ERR_INTERNAL;
    }
    if (dtls_store_add_pem(cfg->ca, pem, len, err, errlen) <= 0)
        return DTLS_ERR_ARG;
    /* ca_digest = SHA-256(ca_digest || pem): names the CA set. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned n = 0;
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
              && EVP_DigestUpdate(md, cfg->ca_digest, sizeof cfg->ca_digest) == 1
              && EVP_DigestUpdate(md, pem, len) == 1
              && EVP_DigestFinal_ex(md, cfg->ca_digest, &n) == 1;
    EVP_MD_CTX_free(md);
    return ok ? DTLS_OK : DTLS_ERR_INTERNAL;
}

void config_auth_context(const dtls_config *cfg, uint8_t out[8])
{
    memcpy(out, cfg->ca_digest, 6);
    out[6] = cfg->request_cert;
    out[7] = cfg->require_cert;
}

int dtls_config_add_default_ca(dtls_config *cfg, char *err, size_t errlen)
{
    if (!cfg->ca && !(cfg->ca = X509_STORE_new())) {
        set_err(err, errlen, "out of memory");
        return DTLS_ERR_INTERNAL;
    }
    /* OpenSSL's default file and directory, or SSL_CERT_FILE / SSL_CERT_DIR
     * when set. A missing bundle is no error: the store stays empty and
     * verification fails with unknown_ca, naming the cause. */
    if (!X509_STORE_set_default_paths(cfg->ca)) {
        ERR_clear_error();
        set_err(err, errlen, "cannot read the system trust store");
        return DTLS_ERR_ARG;
    }
    ERR_clear_error();
    return DTLS_OK;
}

void dtls_config_set_verify_peer(dtls_config *cfg, int verify) { cfg->verify_peer = verify != 0; }
void dtls_config_set_check_server_name(dtls_config *cfg, int on) { cfg->check_name = on != 0; }

void dtls_config_set_request_cert(dtls_config *cfg, int request, int require)
{
    cfg->request_cert = request || require;
    cfg->require_cert = require != 0;
}

int dtls_config_set_ciphers(dtls_config *cfg, const char *list, char *err, size_t errlen)
{
    const dtls_suite *suites[MAX_SUITES];
    size_t n = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ":, ");
        if (len) {
            const dtls_suite *s = dtls_suite_by_name(p, len);
            if (!s) {
                if (err && errlen)
                    snprintf(err, errlen, "unknown cipher suite '%.*s'", (int)(len > 64 ? 64 : len), p);
                return DTLS_ERR_ARG;
            }
            bool dup = false;
            for (size_t i = 0; i < n; i++)
                dup |= suites[i] == s;
            if (!dup && n < MAX_SUITES)
                suites[n++] = s;
        }
        p += len;
        if (*p)
            p++;
    }
    if (n == 0) {
        set_err(err, errlen, "no cipher suites given");
        return DTLS_ERR_ARG;
    }
    memcpy(cfg->suites, suites, n * sizeof suites[0]);
    cfg->nsuites = n;
    cfg->ciphers_set = true;
    return DTLS_OK;
}

int dtls_config_set_psk(dtls_config *cfg, const uint8_t *identity, size_t identity_len,
                        const uint8_t *key, size_t key_len)
{
    if (identity_len == 0 || identity_len > MAX_PSK_IDENTITY || key_len == 0 || key_len > MAX_PSK_KEY)
        return DTLS_ERR_ARG;
    memcpy(cfg->psk_identity, identity, identity_len);
    cfg->psk_identity_len = identity_len;
    memcpy(cfg->psk_key, key, key_len);
    cfg->psk_key_len = key_len;
    return DTLS_OK;
}

int dtls_config_set_psk_hint(dtls_config *cfg, const char *hint)
{
    if (hint && strlen(hint) > MAX_PSK_IDENTITY)
        return DTLS_ERR_ARG;
    free(cfg->psk_hint);
    cfg->psk_hint = hint ? strdup(hint) : NULL;
    return hint && !cfg->psk_hint ? DTLS_ERR_INTERNAL : DTLS_OK;
}

int dtls_config_set_mtu(dtls_config *cfg, size_t mtu)
{
    /* Small enough for the smallest IPv6 path, big enough for a fragment of
     * every handshake message with headers. */
    if (mtu < 256 || mtu > MAX_DATAGRAM)
        return DTLS_ERR_ARG;
    cfg->mtu = mtu;
    return DTLS_OK;
}

/* One association's worst case must fit in any server's budget. */
_Static_assert(MAX_REASM_BYTES <= DTLS_REASSEMBLY_MIN, "reassembly budgets");

size_t dtls_config_reassembly_memory(const dtls_config *cfg)
{
    return cfg->reasm_in_use;
}

int dtls_config_set_max_reassembly(dtls_config *cfg, size_t bytes)
{
    if (bytes < DTLS_REASSEMBLY_MIN)
        return DTLS_ERR_ARG;
    cfg->max_reasm = bytes;
    return DTLS_OK;
}

void dtls_config_set_handshake_timeout(dtls_config *cfg, uint64_t ms)
{
    cfg->handshake_timeout_ms = ms ? ms : 60000;
}

int dtls_config_set_retransmit_timeout(dtls_config *cfg, uint32_t initial_ms, uint32_t max_ms)
{
    if (initial_ms < DTLS_RTO_MIN_MS || initial_ms > max_ms || max_ms > DTLS_RTO_MAX_MS)
        return DTLS_ERR_ARG;
    cfg->rto_initial_ms = initial_ms;
    cfg->rto_max_ms = max_ms;
    return DTLS_OK;
}

void dtls_config_set_key_park(dtls_config *cfg, uint32_t ms) { cfg->key_park_ms = ms; }

void dtls_config_set_extended_master_secret(dtls_config *cfg, int on) { cfg->ems = on != 0; }

/* ---- sessions ---- */

int dtls_config_set_session_cache(dtls_config *cfg, size_t entries)
{
    if (entries > 10000000)
        return DTLS_ERR_ARG;
    session_cache_free(&cfg->cache);
    session_cache_init(&cfg->cache, entries);
    return DTLS_OK;
}

int dtls_config_set_session_timeout(dtls_config *cfg, uint64_t ms)
{
    if (ms < 1000 || ms > 7ull * 24 * 3600 * 1000)
        return DTLS_ERR_ARG;
    cfg->session_timeout_ms = ms;
    return DTLS_OK;
}

void dtls_config_set_tickets(dtls_config *cfg, int on) { cfg->tickets = on != 0; }

int dtls_config_set_ticket_keys(dtls_config *cfg, const uint8_t *keys, size_t len)
{
    if (len == 0 || len % TICKET_KEY_LEN || len / TICKET_KEY_LEN > TICKET_KEYS_MAX)
        return DTLS_ERR_ARG;
    OPENSSL_cleanse(cfg->ticket_keys, sizeof cfg->ticket_keys);
    OPENSSL_cleanse(cfg->ticket_master, sizeof cfg->ticket_master);
    cfg->ticket_master_len = 0;
    memcpy(cfg->ticket_keys, keys, len);
    cfg->nticket_keys = len / TICKET_KEY_LEN;
    cfg->ticket_keys_external = true;
    return DTLS_OK;
}

int dtls_config_set_ticket_secret(dtls_config *cfg, const uint8_t *secret, size_t len)
{
    if (secret == NULL || len < DTLS_TICKET_SECRET_MIN || len > DTLS_TICKET_SECRET_MAX)
        return DTLS_ERR_ARG;
    OPENSSL_cleanse(cfg->ticket_keys, sizeof cfg->ticket_keys);
    OPENSSL_cleanse(cfg->ticket_master, sizeof cfg->ticket_master);
    memcpy(cfg->ticket_master, secret, len);
    cfg->ticket_master_len = len;
    cfg->nticket_keys = 0; /* derived at the next seal or open */
    cfg->ticket_keys_external = false;
    return DTLS_OK;
}

void dtls_config_set_clock_offset(dtls_config *cfg, int64_t wall_minus_now_ms)
{
    cfg->clock_offset_ms = wall_minus_now_ms;
}

size_t dtls_config_session_cache_count(const dtls_config *cfg) { return cfg->cache.count; }
size_t dtls_config_session_cache_memory(const dtls_config *cfg) { return session_cache_memory(&cfg->cache); }

/* ---- Connection IDs ---- */

int dtls_config_set_connection_id(dtls_config *cfg, int len)
{
    if (len < -1 || len > DTLS_CID_MAX_LEN)
        return DTLS_ERR_ARG;
    cfg->cid_len = len;
    return DTLS_OK;
}

void dtls_config_set_cid_generator(dtls_config *cfg, dtls_cid_fn fn, void *user)
{
    cfg->cid_gen = fn;
    cfg->cid_gen_user = user;
}

bool config_public_random(dtls_config *cfg, uint8_t *out, size_t len)
{
    if (len > sizeof cfg->rand_pool)
        return RAND_bytes(out, (int)len) == 1;
    if (cfg->rand_left < len) {
        if (RAND_bytes(cfg->rand_pool, sizeof cfg->rand_pool) != 1)
            return false;
        cfg->rand_left = sizeof cfg->rand_pool;
    }
    uint8_t *p = cfg->rand_pool + sizeof cfg->rand_pool - cfg->rand_left;
    memcpy(out, p, len);
    OPENSSL_cleanse(p, len); /* handed out once */
    cfg->rand_left -= len;
    return true;
}

/* The suites config_usable_suites gives, and in *blocked the key usages
 * (DTLS_KU_*) that the ones left out for the certificate's key usage alone
 * would need. */
static size_t usable_suites(const dtls_config *cfg, dtls_role role, const dtls_suite **out,
                            size_t cap, int *blocked)
{
    size_t count = 0, n = 0;
    const dtls_suite *const *all = cfg->ciphers_set ? cfg->suites : dtls_suite_defaults(&count);
    if (cfg->ciphers_set)
        count = cfg->nsuites;
    int key_type = cfg->key ? EVP_PKEY_get_base_id(cfg->key) : EVP_PKEY_NONE;
    bool have_psk = role == DTLS_ROLE_SERVER ? cfg->cb.psk_lookup != NULL : cfg->psk_key_len > 0;
    *blocked = 0;
    for (size_t i = 0; i < count && n < cap; i++) {
        const dtls_suite *s = all[i];
        bool ok;
        int needs = 0; /* the key usage a certificate suite needs */
        /* Only suites some version we speak can carry (AEAD and the
         * SHA-256/384 CBC suites need DTLS 1.2). Legacy ones are here only
         * when named in the ciphers option: they are never defaults. */
        if (!version_suite_ok(cfg->max_version, s) && !version_suite_ok(cfg->min_version, s))
            ok = false;
        else if (dtls_suite_uses_psk(s))
            ok = have_psk;
        else if (role == DTLS_ROLE_CLIENT)
            ok = !cfg->psk_key_len || cfg->ciphers_set; /* a PSK client offers PSK only unless told */
        else if (s->kx == DTLS_KX_ECDHE_ECDSA) {
            ok = key_type == EVP_PKEY_EC && cfg->chain.n;
            needs = DTLS_KU_SIGN;
        } else if (s->kx == DTLS_KX_RSA) { /* decrypts: a plain RSA key, not RSA-PSS */
            ok = key_type == EVP_PKEY_RSA && cfg->chain.n;
            needs = DTLS_KU_ENCIPHER;
        } else {
            ok = (key_type == EVP_PKEY_RSA || key_type == EVP_PKEY_RSA_PSS) && cfg->chain.n;
            needs = DTLS_KU_SIGN;
        }
        /* RFC 5246 7.4.2: a server uses its key only as its certificate's
         * key usage allows. */
        if (ok && needs && role == DTLS_ROLE_SERVER && !(cfg->leaf_key_usage & needs)) {
            *blocked |= needs;
            ok = false;
        }
        if (ok)
            out[n++] = s;
    }
    return n;
}

size_t config_usable_suites(const dtls_config *cfg, dtls_role role,
                            const dtls_suite **out, size_t cap)
{
    int blocked;
    return usable_suites(cfg, role, out, cap, &blocked);
}

/* Whether any signature scheme we speak can use this key. */
static bool key_can_sign(EVP_PKEY *key)
{
    size_t n;
    const uint16_t *schemes = hello_sig_schemes(&n);
    for (size_t i = 0; i < n; i++)
        if (dtls_sig_scheme_fits_key(schemes[i], key))
            return true;
    return false;
}

int dtls_config_check(const dtls_config *cfg, dtls_role role, char *err, size_t errlen)
{
    if ((cfg->key != NULL) != (cfg->chain.n > 0)) {
        set_err(err, errlen, cfg->key ? "key given without cert" : "cert given without key");
        return DTLS_ERR_ARG;
    }
    if (cfg->key && !dtls_key_matches_cert(cfg->key, cfg->chain.certs[0])) {
        set_err(err, errlen, "key does not match the certificate");
        return DTLS_ERR_ARG;
    }
    if (cfg->key && !key_can_sign(cfg->key)) {
        set_err(err, errlen, "key type not supported: use ECDSA P-256 or P-384, or RSA");
        return DTLS_ERR_ARG;
    }
    if (role == DTLS_ROLE_SERVER && cfg->key && (cfg->leaf_key_usage & DTLS_KU_INVALID)) {
        set_err(err, errlen, "the certificate's extensions do not parse");
        return DTLS_ERR_ARG;
    }
    const dtls_suite *usable[MAX_SUITES];
    int blocked;
    if (usable_suites(cfg, role, usable, MAX_SUITES, &blocked) == 0) {
        /* RFC 5246 7.4.2: name what the certificate would have to allow. */
        if (blocked == (DTLS_KU_SIGN | DTLS_KU_ENCIPHER))
            set_err(err, errlen, "no usable cipher suite: the certificate's key usage allows "
                    "neither digitalSignature (ECDHE suites) nor keyEncipherment (RSA key "
                    "transport suites)");
        else if (blocked == DTLS_KU_SIGN)
            set_err(err, errlen, "no usable cipher suite: the certificate's key usage does not "
                    "allow digitalSignature, which the ECDHE suites named need (RFC 5246 7.4.2)");
        else if (blocked == DTLS_KU_ENCIPHER)
            set_err(err, errlen, "no usable cipher suite: the certificate's key usage does not "
                    "allow keyEncipherment, which the RSA key transport suites named need "
                    "(RFC 5246 7.4.2)");
        else
            set_err(err, errlen, role == DTLS_ROLE_SERVER
                    ? "no usable cipher suite: give a certificate and key, or psk"
                    : "no usable cipher suite for the given ciphers and credentials");
        return DTLS_ERR_ARG;
    }
    return DTLS_OK;
}

static EVP_MAC_CTX *cookie_mac_new(const uint8_t key[32])
{
    static EVP_MAC *hmac;
    if (!hmac && !(hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx && EVP_MAC_init(ctx, key, 32, params) == 1)
        return ctx;
    EVP_MAC_CTX_free(ctx);
    return NULL;
}

void dtls_config_rotate_cookie_secret(dtls_config *cfg)
{
    if (cfg->cookie_external)
        return; /* keys follow the shared secret and the wall clock */
    memcpy(cfg->cookie_secret[1], cfg->cookie_secret[0], sizeof cfg->cookie_secret[0]);
    EVP_MAC_CTX_free(cfg->cookie_mac[1]);
    cfg->cookie_mac[1] = cfg->cookie_mac[0];
    cfg->cookie_mac[0] = NULL;
    /* Without fresh randomness no cookie is issued or accepted. */
    cfg->cookie_init = RAND_bytes(cfg->cookie_secret[0], sizeof cfg->cookie_secret[0]) == 1
                       && (cfg->cookie_mac[0] = cookie_mac_new(cfg->cookie_secret[0])) != NULL;
}

int dtls_config_set_cookie_secret(dtls_config *cfg, const uint8_t *secret, size_t len)
{
    if (secret == NULL || len < DTLS_COOKIE_SECRET_MIN || len > DTLS_COOKIE_SECRET_MAX)
        return DTLS_ERR_ARG;
    OPENSSL_cleanse(cfg->cookie_master, sizeof cfg->cookie_master);
    memcpy(cfg->cookie_master, secret, len);
    cfg->cookie_master_len = len;
    cfg->cookie_external = true;
    cfg->cookie_init = false; /* keys are derived at the next dtls_accept */
    EVP_MAC_CTX_free(cfg->cookie_mac[0]);
    EVP_MAC_CTX_free(cfg->cookie_mac[1]);
    cfg->cookie_mac[0] = cfg->cookie_mac[1] = NULL;
    return DTLS_OK;
}

/* RFC 5869 HKDF-SHA256 with no salt and info = label | period (8 bytes,
 * big-endian): every holder of the secret derives the same key for a
 * period, and no period's key tells anything of another's. */
static EVP_KDF *hkdf;
static CRYPTO_ONCE hkdf_once = CRYPTO_ONCE_STATIC_INIT;

static void hkdf_fetch(void) { hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL); }

bool config_period_key(const uint8_t *secret, size_t secret_len, const char *label,
                       uint64_t period, uint8_t *out, size_t out_len)
{
    if (!CRYPTO_THREAD_run_once(&hkdf_once, hkdf_fetch) || !hkdf)
        return false;
    size_t label_len = strlen(label);
    uint8_t info[64];
    if (label_len + 8 > sizeof info)
        return false;
    memcpy(info, label, label_len);
    for (int i = 0; i < 8; i++)
        info[label_len + i] = (uint8_t)(period >> (56 - 8 * i));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, label_len + 8),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(hkdf);
    bool ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}

static EVP_MAC_CTX *cookie_period_mac(const dtls_config *cfg, uint64_t period)
{
    uint8_t key[32];
    EVP_MAC_CTX *ctx = NULL;
    if (config_period_key(cfg->cookie_master, cfg->cookie_master_len, "dtlsrun cookie key", period,
                          key, sizeof key))
        ctx = cookie_mac_new(key);
    OPENSSL_cleanse(key, sizeof key);
    return ctx;
}

void config_cookie_keys_for(dtls_config *cfg, uint64_t now_ms)
{
    uint64_t wall = now_ms + (uint64_t)cfg->clock_offset_ms;
    uint64_t period = wall / DTLS_COOKIE_PERIOD_MS;
    if (cfg->cookie_init && period == cfg->cookie_period)
        return;
    EVP_MAC_CTX_free(cfg->cookie_mac[1]);
    if (cfg->cookie_init && period == cfg->cookie_period + 1) {
        cfg->cookie_mac[1] = cfg->cookie_mac[0]; /* the usual step: one new key */
    } else {
        EVP_MAC_CTX_free(cfg->cookie_mac[0]);
        cfg->cookie_mac[1] = period ? cookie_period_mac(cfg, period - 1) : NULL;
    }
    cfg->cookie_mac[0] = cookie_period_mac(cfg, period);
    cfg->cookie_period = period;
    cfg->cookie_init = cfg->cookie_mac[0] != NULL;
}

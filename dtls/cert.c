/* cert.c — certificates, private keys and handshake signatures on libcrypto.
 * Owns PEM/DER parsing (from memory only, never files), chain verification
 * with X509_STORE, the verify-error-to-alert mapping, and TLS 1.2 signatures
 * (RFC 5246 7.4.1.4.1, RSA-PSS per RFC 8446 4.2.3). Never logs key material.
 */
#include "cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "dtls/dtls.h"

static void set_err(char *err, size_t errlen, const char *fmt, const char *detail)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, detail ? detail : "");
}

/* The most recent libcrypto reason, for messages (never contains key bytes). */
static const char *crypto_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown error";
}

static int contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(s + i, needle, n) == 0)
            return 1;
    return 0;
}

/* ---- chains ------------------------------------------------------------- */

static int chain_append(dtls_chain *chain, X509 *x, const uint8_t *der, size_t len)
{
    size_t n = chain->n + 1;
    X509 **certs = realloc(chain->certs, n * sizeof *certs);
    if (certs == NULL)
        return -1;
    chain->certs = certs;
    uint8_t **ders = realloc(chain->der, n * sizeof *ders);
    if (ders == NULL)
        return -1;
    chain->der = ders;
    size_t *lens = realloc(chain->der_len, n * sizeof *lens);
    if (lens == NULL)
        return -1;
    chain->der_len = lens;
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, der, len);
    chain->certs[chain->n] = x;
    chain->der[chain->n] = copy;
    chain->der_len[chain->n] = len;
    chain->n = n;
    return 0;
}

/* One DER certificate, which must span exactly len bytes. */
static X509 *parse_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    if (der == NULL || len == 0 || len > 0x7fffffff)
        return NULL;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && (size_t)(p - der) != len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int dtls_chain_push_der(dtls_chain *chain, const uint8_t *der, size_t len)
{
    X509 *x = parse_der(der, len);
    if (x == NULL) {
        ERR_clear_error();
        return -1;
    }
    if (chain_append(chain, x, der, len) != 0) {
        X509_free(x);
        return -1;
    }
    return 0;
}

static int is_cert_block(const char *name)
{
    return strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0 ||
           strcmp(name, "TRUSTED CERTIFICATE") == 0;
}

/* Calls fn for the DER of every certificate block in pem, in order; other
 * blocks (keys, parameters) are skipped. Returns the number of certificates,
 * or -1 with a message in err for a malformed block or a failing fn. */
typedef int (*pem_cert_fn)(void *arg, const uint8_t *der, size_t len);

static int each_pem_cert(const char *pem, size_t len, pem_cert_fn fn, void *arg, char *err,
                         size_t errlen)
{
    int count = 0;
    if (pem == NULL || len > 0x7fffffff) {
        set_err(err, errlen, "no PEM text%s", NULL);
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        set_err(err, errlen, "out of memory%s", NULL);
        return -1;
    }
    ERR_set_mark();
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
            unsigned long e = ERR_peek_last_error();
            int clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM &&
                            ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
            if (!clean_end) {
                set_err(err, errlen, "malformed PEM block: %s", crypto_reason());
                count = -1;
            }
            break;
        }
        int rc = 0;
        if (is_cert_block(name)) {
            rc = fn(arg, data, (size_t)dlen);
            if (rc != 0)
                set_err(err, errlen, "malformed certificate in PEM (block %s)",
                        count == 0 ? "1" : count == 1 ? "2" : "3 or later");
            else
                count++;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (rc != 0) {
            count = -1;
            break;
        }
    }
    ERR_pop_to_mark();
    BIO_free(bio);
    return count;
}

static int push_pem_cert(void *arg, const uint8_t *der, size_t len)
{
    return dtls_chain_push_der(arg, der, len);
}

int dtls_chain_from_pem(dtls_chain *chain, const char *pem, size_t len, char *err, size_t errlen)
{
    int n = each_pem_cert(pem, len, push_pem_cert, chain, err, errlen);
    if (n == 0)
        set_err(err, errlen, "no CERTIFICATE block found in PEM text%s", NULL);
    return n > 0 ? 0 : -1;
}

void dtls_chain_free(dtls_chain *chain)
{
    if (chain == NULL)
        return;
    for (size_t i = 0; i < chain->n; i++) {
        X509_free(chain->certs[i]);
        free(chain->der[i]);
    }
    free(chain->certs);
    free(chain->der);
    free(chain->der_len);
    memset(chain, 0, sizeof *chain);
}

/* ---- keys --------------------------------------------------------------- */

/* Never prompt: an encrypted key fails to load, and we say why. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

EVP_PKEY *dtls_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
    if (pem == NULL || len == 0 || len > 0x7fffffff) {
        set_err(err, errlen, "no PEM text%s", NULL);
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        set_err(err, errlen, "out of memory%s", NULL);
        return NULL;
    }
    ERR_set_mark();
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    if (key == NULL) {
        if (contains(pem, len, "ENCRYPTED PRIVATE KEY-----") ||
            contains(pem, len, "Proc-Type: 4,ENCRYPTED"))
            set_err(err, errlen,
                    "private key is encrypted (not supported): give an unencrypted key, "
                    "e.g. from openssl pkey -in key.pem -out plain.pem%s", NULL);
        else if (!contains(pem, len, "PRIVATE KEY-----"))
            set_err(err, errlen, "no PRIVATE KEY block found in PEM text%s", NULL);
        else
            set_err(err, errlen, "cannot parse private key: %s", crypto_reason());
    } else if (!EVP_PKEY_is_a(key, "EC") && !EVP_PKEY_is_a(key, "RSA")) {
        set_err(err, errlen, "unsupported private key type %s (need ECDSA or RSA)",
                EVP_PKEY_get0_type_name(key));
        EVP_PKEY_free(key);
        key = NULL;
    }
    ERR_pop_to_mark();
    BIO_free(bio);
    return key;
}

int dtls_key_matches_cert(EVP_PKEY *key, X509 *cert)
{
    EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
    int r = key != NULL && pub != NULL && EVP_PKEY_eq(key, pub) == 1;
    ERR_clear_error();
    return r;
}

/* ---- trust store and verification --------------------------------------- */

static int add_pem_cert(void *arg, const uint8_t *der, size_t len)
{
    X509 *x = parse_der(der, len);
    if (x == NULL)
        return -1;
    int ok = X509_STORE_add_cert(arg, x);
    X509_free(x);
    return ok ? 0 : -1;
}

int dtls_store_add_pem(X509_STORE *store, const char *pem, size_t len, char *err, size_t errlen)
{
    if (store == NULL) {
        set_err(err, errlen, "no certificate store%s", NULL);
        return -1;
    }
    int n = each_pem_cert(pem, len, add_pem_cert, store, err, errlen);
    if (n == 0) {
        set_err(err, errlen, "no CERTIFICATE block found in CA PEM text%s", NULL);
        return -1;
    }
    return n;
}

/* RFC 5246 7.2.2 alert for an X509_V_ERR_* code. */
static int verify_error_alert(int e)
{
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return DTLS_ALERT_UNKNOWN_CA;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return DTLS_ALERT_CERTIFICATE_EXPIRED;
    case X509_V_ERR_CERT_REVOKED:
        return DTLS_ALERT_CERTIFICATE_REVOKED;
    case X509_V_ERR_INVALID_PURPOSE:
        return DTLS_ALERT_UNSUPPORTED_CERTIFICATE;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return DTLS_ALERT_CERTIFICATE_UNKNOWN;
    case X509_V_ERR_OUT_OF_MEM:
        return DTLS_ALERT_INTERNAL_ERROR;
    default:
        return DTLS_ALERT_BAD_CERTIFICATE;
    }
}

/* An IP literal is checked against iPAddress SANs, anything else as a DNS
 * name (RFC 6125 6.4). */
static int set_expected_name(X509_VERIFY_PARAM *vp, const char *hostname)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(hostname);
    if (ip != NULL) {
        ASN1_OCTET_STRING_free(ip);
        return X509_VERIFY_PARAM_set1_ip_asc(vp, hostname);
    }
    ERR_clear_error();
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(vp, hostname, 0);
}

int dtls_chain_verify(X509_STORE *store, const dtls_chain *chain, const char *hostname,
                      int purpose, char *err, size_t errlen)
{
    int alert = DTLS_ALERT_INTERNAL_ERROR;
    if (chain == NULL || chain->n == 0) {
        set_err(err, errlen, "no certificate%s", NULL);
        return DTLS_ALERT_BAD_CERTIFICATE;
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (store == NULL || ctx == NULL || untrusted == NULL) {
        set_err(err, errlen, "certificate verification unavailable%s", NULL);
        goto done;
    }
    for (size_t i = 1; i < chain->n; i++)
        if (!sk_X509_push(untrusted, chain->certs[i]))
            goto done;
    if (!X509_STORE_CTX_init(ctx, store, chain->certs[0], untrusted))
        goto done;
    if (purpose != DTLS_PURPOSE_ANY
        && !X509_STORE_CTX_set_purpose(ctx, purpose == DTLS_PURPOSE_SERVER ? X509_PURPOSE_SSL_SERVER
                                                                           : X509_PURPOSE_SSL_CLIENT))
        goto done;
    /* NULL: the caller chose not to check a name; "" is no name to check. */
    if (hostname != NULL &&
        (*hostname == '\0' || !set_expected_name(X509_STORE_CTX_get0_param(ctx), hostname))) {
        set_err(err, errlen, "invalid expected host name%s", NULL);
        goto done;
    }
    if (X509_verify_cert(ctx) == 1) {
        alert = 0;
    } else {
        int e = X509_STORE_CTX_get_error(ctx);
        char msg[160];
        snprintf(msg, sizeof msg, "%s (depth %d)", X509_verify_cert_error_string(e),
                 X509_STORE_CTX_get_error_depth(ctx));
        set_err(err, errlen, "certificate verify failed: %s", msg);
        alert = verify_error_alert(e);
    }
done:
    ERR_clear_error();
    sk_X509_free(untrusted); /* the certificates stay owned by chain */
    X509_STORE_CTX_free(ctx);
    return alert;
}

int dtls_cert_key_usage(X509 *cert)
{
    ERR_set_mark(); /* parsing the extensions may queue errors: not ours to keep */
    uint32_t flags = X509_get_extension_flags(cert);
    uint32_t ku = X509_get_key_usage(cert);
    ERR_pop_to_mark();
    if (flags & EXFLAG_INVALID)
        return DTLS_KU_INVALID;
    if (!(flags & EXFLAG_KUSAGE))
        return DTLS_KU_SIGN | DTLS_KU_ENCIPHER;
    return (ku & KU_DIGITAL_SIGNATURE ? DTLS_KU_SIGN : 0)
           | (ku & KU_KEY_ENCIPHERMENT ? DTLS_KU_ENCIPHER : 0);
}

int dtls_cert_key_usage_alert(X509 *cert, int usage, const char **why)
{
    int ku = dtls_cert_key_usage(cert);
    if (ku & DTLS_KU_INVALID) {
        *why = "the certificate's extensions do not parse";
        return DTLS_ALERT_BAD_CERTIFICATE;
    }
    if (ku & usage)
        return 0;
    *why = usage == DTLS_KU_ENCIPHER ? "the certificate's key usage does not allow keyEncipherment"
                                     : "the certificate's key usage does not allow digitalSignature";
    return DTLS_ALERT_UNSUPPORTED_CERTIFICATE;
}

/* ---- signatures --------------------------------------------------------- */

enum sig_kind { SIG_NONE, SIG_ECDSA, SIG_RSA_PKCS1, SIG_RSA_PSS };

struct scheme_info {
    uint16_t scheme;
    enum sig_kind kind;
    const char *md;
    int curve_nid;   /* ECDSA: the one curve the scheme names, or 0 for any */
    int can_sign;
};

static const struct scheme_info schemes[] = {
    { DTLS_SIG_ECDSA_SECP256R1_SHA256, SIG_ECDSA, "SHA256", NID_X9_62_prime256v1, 1 },
    { DTLS_SIG_ECDSA_SECP384R1_SHA384, SIG_ECDSA, "SHA384", NID_secp384r1, 1 },
    { DTLS_SIG_RSA_PSS_RSAE_SHA256, SIG_RSA_PSS, "SHA256", 0, 1 },
    { DTLS_SIG_RSA_PSS_RSAE_SHA384, SIG_RSA_PSS, "SHA384", 0, 1 },
    { DTLS_SIG_RSA_PKCS1_SHA256, SIG_RSA_PKCS1, "SHA256", 0, 1 },
    { DTLS_SIG_RSA_PKCS1_SHA384, SIG_RSA_PKCS1, "SHA384", 0, 1 },
    /* SHA-1: accepted from peers that insist, never produced or offered. */
    { DTLS_SIG_ECDSA_SHA1, SIG_ECDSA, "SHA1", 0, 0 },
    { DTLS_SIG_RSA_PKCS1_SHA1, SIG_RSA_PKCS1, "SHA1", 0, 0 },
};

static const struct scheme_info *scheme_find(uint16_t scheme)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (schemes[i].scheme == scheme)
            return &schemes[i];
    return NULL;
}

static int key_curve_nid(EVP_PKEY *key)
{
    char name[64];
    size_t n = 0;
    if (!EVP_PKEY_get_group_name(key, name, sizeof name, &n))
        return 0;
    int nid = OBJ_sn2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

/* Only P-256 and P-384 ECDSA keys and rsaEncryption RSA keys are usable.
 * In TLS 1.2 an ECDSA SignatureAndHashAlgorithm names the hash only
 * (RFC 5246 7.4.1.4.1): ecdsa_secp256r1_sha256 is "SHA-256 with ECDSA" on
 * any curve, and peers such as OpenSSL sign that way with P-384 keys. The
 * curve binding is TLS 1.3's (RFC 8446 4.2.3); a caller that prefers the
 * matching hash orders its choice itself. */
static int scheme_fits(const struct scheme_info *s, EVP_PKEY *key)
{
    if (s == NULL || key == NULL)
        return 0;
    if (s->kind == SIG_ECDSA) {
        if (!EVP_PKEY_is_a(key, "EC"))
            return 0;
        int nid = key_curve_nid(key);
        if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
            return 0;
        return 1;
    }
    return EVP_PKEY_is_a(key, "RSA");
}

int dtls_sig_scheme_fits_key(uint16_t scheme, EVP_PKEY *key)
{
    int r = scheme_fits(scheme_find(scheme), key);
    ERR_clear_error();
    return r;
}

int dtls_sig_scheme_supported(uint16_t scheme)
{
    const struct scheme_info *s = scheme_find(scheme);
    return s != NULL && s->can_sign;
}

/* A digest-sign/verify context for scheme; PSS uses MGF1 with the same hash
 * and a salt as long as the hash (RFC 8446 4.2.3). */
static EVP_MD_CTX *sig_ctx(const struct scheme_info *s, EVP_PKEY *key, int sign)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = mctx != NULL &&
             (sign ? EVP_DigestSignInit_ex(mctx, &pctx, s->md, NULL, NULL, key, NULL)
                   : EVP_DigestVerifyInit_ex(mctx, &pctx, s->md, NULL, NULL, key, NULL)) == 1;
    if (ok && s->kind == SIG_RSA_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    else if (ok && s->kind == SIG_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    if (!ok) {
        EVP_MD_CTX_free(mctx);
        return NULL;
    }
    return mctx;
}

int dtls_sig_sign(EVP_PKEY *key, uint16_t scheme, const uint8_t *tbs, size_t tbs_len,
                  uint8_t *sig, size_t *sig_len)
{
    const struct scheme_info *s = scheme_find(scheme);
    int rc = -1;
    if (s == NULL || !s->can_sign || !scheme_fits(s, key) || sig == NULL || sig_len == NULL ||
        (tbs == NULL && tbs_len))
        goto out;
    EVP_MD_CTX *mctx = sig_ctx(s, key, 1);
    if (mctx == NULL)
        goto out;
    /* One call only: for these key types a sizing call would already have
     * hashed tbs. EVP_PKEY_get_size bounds every signature the key makes. */
    int need = EVP_PKEY_get_size(key);
    if (need > 0 && (size_t)need <= *sig_len &&
        EVP_DigestSign(mctx, sig, sig_len, tbs, tbs_len) == 1)
        rc = 0;
    EVP_MD_CTX_free(mctx);
out:
    ERR_clear_error();
    return rc;
}

int dtls_sig_verify(EVP_PKEY *pub, uint16_t scheme, const uint8_t *tbs, size_t tbs_len,
                    const uint8_t *sig, size_t sig_len)
{
    const struct scheme_info *s = scheme_find(scheme);
    int rc = -1;
    if (!scheme_fits(s, pub) || sig == NULL || sig_len == 0 || (tbs == NULL && tbs_len))
        goto out;
    EVP_MD_CTX *mctx = sig_ctx(s, pub, 0);
    if (mctx == NULL)
        goto out;
    if (EVP_DigestVerify(mctx, sig, sig_len, tbs, tbs_len) == 1)
        rc = 0;
    EVP_MD_CTX_free(mctx);
out:
    ERR_clear_error();
    return rc;
}

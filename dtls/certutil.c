/* certutil.c — the public "helpers for hosts" of dtls.h: a self-signed
 * ECDSA P-256 certificate for tests and quick starts, SHA-256 fingerprints,
 * and printable subjects. Everything works on memory; nothing touches files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "dtls/dtls.h"

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

/* A positive, non-zero 128-bit random serial (RFC 5280 4.1.2.2 allows up
 * to 20 octets). */
static int set_random_serial(X509 *x)
{
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return 0;
    raw[0] &= 0x7f;
    raw[0] |= 0x01;
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate usable by both roles and trusted by pinning it as its own
 * trust anchor. It says CA:TRUE (with keyCertSign) because GnuTLS refuses a
 * trust anchor that is not a CA; OpenSSL accepts either. Names cover the
 * loopback host in all its spellings. */
static X509 *build_cert(EVP_PKEY *key, const char *cn, unsigned days)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    if (x == NULL)
        return NULL;
    X509_NAME *name = X509_get_subject_name(x);
    int ok = X509_set_version(x, X509_VERSION_3) && set_random_serial(x) &&
             /* Backdated an hour for peers whose clocks lag behind ours. */
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) != NULL &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                        -1, -1, 0) &&
             X509_set_issuer_name(x, name) && X509_set_pubkey(x, key);
    if (ok) {
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        ok = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
             add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") &&
             add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
             add_ext(x, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") &&
             X509_sign(x, key, EVP_sha256()) > 0;
    }
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* The contents of a memory BIO as a NUL-terminated malloc'd string. */
static char *bio_to_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s != NULL) {
        memcpy(s, data, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

int dtls_make_self_signed(const char *common_name, unsigned days,
                          char **cert_pem, char **key_pem, char *err, size_t errlen)
{
    int rc = DTLS_ERR_INTERNAL;
    X509 *x = NULL;
    BIO *cbio = NULL, *kbio = NULL;

    if (cert_pem == NULL || key_pem == NULL || days == 0 || days > 3650000) {
        set_err(err, errlen, "invalid arguments for a self-signed certificate");
        return DTLS_ERR_ARG;
    }
    *cert_pem = *key_pem = NULL;
    if (common_name == NULL || *common_name == '\0')
        common_name = "localhost";
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL || (x = build_cert(key, common_name, days)) == NULL) {
        set_err(err, errlen, "cannot build a self-signed certificate");
        goto done;
    }
    /* The key's PEM goes through a secure-memory BIO, cleared when freed. */
    cbio = BIO_new(BIO_s_mem());
    kbio = BIO_new(BIO_s_secmem());
    if (cbio == NULL || kbio == NULL || !PEM_write_bio_X509(cbio, x) ||
        !PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL)) {
        set_err(err, errlen, "cannot encode the self-signed certificate");
        goto done;
    }
    *cert_pem = bio_to_string(cbio);
    *key_pem = bio_to_string(kbio);
    if (*cert_pem == NULL || *key_pem == NULL) {
        free(*cert_pem);
        if (*key_pem != NULL) {
            OPENSSL_cleanse(*key_pem, strlen(*key_pem));
            free(*key_pem);
        }
        *cert_pem = *key_pem = NULL;
        set_err(err, errlen, "out of memory");
        goto done;
    }
    rc = DTLS_OK;
done:
    ERR_clear_error();
    BIO_free(cbio);
    BIO_free(kbio);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int dtls_cert_fingerprint_sha256(const uint8_t *der, size_t len, char out[96])
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t md[32];
    unsigned int md_len = 0;
    out[0] = '\0';
    if (der == NULL || len == 0 ||
        !EVP_Digest(der, len, md, &md_len, EVP_sha256(), NULL) || md_len != sizeof md)
        return DTLS_ERR_ARG;
    for (unsigned i = 0; i < md_len; i++) {
        out[3 * i] = hex[md[i] >> 4];
        out[3 * i + 1] = hex[md[i] & 15];
        out[3 * i + 2] = i + 1 < md_len ? ':' : '\0';
    }
    return DTLS_OK;
}

int dtls_pem_first_cert_der(const char *pem, size_t len, uint8_t **der, size_t *der_len)
{
    dtls_chain chain = { 0 };
    if (der == NULL || der_len == NULL)
        return DTLS_ERR_ARG;
    *der = NULL;
    *der_len = 0;
    if (dtls_chain_from_pem(&chain, pem, len, NULL, 0) != 0)
        return DTLS_ERR_ARG;
    *der = chain.der[0];
    *der_len = chain.der_len[0];
    chain.der[0] = NULL; /* handed to the caller */
    dtls_chain_free(&chain);
    return DTLS_OK;
}

/* What a BIO printed, as a C string truncated to cap. */
static void bio_print_into(BIO *bio, char *out, size_t cap)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    size_t k = n > 0 ? (size_t)n : 0;
    if (k >= cap)
        k = cap - 1;
    if (k > 0)
        memcpy(out, data, k);
    out[k] = '\0';
    (void)BIO_reset(bio);
}

int dtls_cert_subject(const uint8_t *der, size_t len, char *out, size_t cap)
{
    const unsigned char *p = der;
    int rc = DTLS_ERR_ARG;
    if (out == NULL || cap == 0)
        return DTLS_ERR_ARG;
    out[0] = '\0';
    if (der == NULL || len == 0 || len > 0x7fffffff)
        return DTLS_ERR_ARG;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    BIO *bio = BIO_new(BIO_s_mem());
    if (x != NULL && bio != NULL &&
        X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        bio_print_into(bio, out, cap);
        rc = DTLS_OK;
    }
    ERR_clear_error();
    BIO_free(bio);
    X509_free(x);
    return rc;
}

int dtls_cert_details(const uint8_t *der, size_t len, dtls_cert_info *out)
{
    const unsigned char *p = der;
    memset(out, 0, sizeof *out);
    if (der == NULL || len == 0 || len > 0x7fffffff)
        return DTLS_ERR_ARG;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = DTLS_ERR_ARG;
    if (x == NULL || bio == NULL)
        goto done;
    if (X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253) >= 0)
        bio_print_into(bio, out->issuer, sizeof out->issuer);
    /* node's formats: serial in upper-case hex, dates as OpenSSL prints them
     * ("Dec  1 18:30:00 2026 GMT"), the SAN as X509V3_EXT_print does
     * ("DNS:localhost, IP Address:127.0.0.1"). */
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = serial ? BN_bn2hex(serial) : NULL;
    if (hex)
        snprintf(out->serial, sizeof out->serial, "%s", hex);
    OPENSSL_free(hex);
    BN_free(serial);
    if (ASN1_TIME_print(bio, X509_get0_notBefore(x)))
        bio_print_into(bio, out->valid_from, sizeof out->valid_from);
    if (ASN1_TIME_print(bio, X509_get0_notAfter(x)))
        bio_print_into(bio, out->valid_to, sizeof out->valid_to);
    int at = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
    X509_EXTENSION *ext = at >= 0 ? X509_get_ext(x, at) : NULL;
    if (ext && X509V3_EXT_print(bio, ext, 0, 0) == 1)
        bio_print_into(bio, out->subjectaltname, sizeof out->subjectaltname);
    rc = DTLS_OK;
done:
    ERR_clear_error();
    BIO_free(bio);
    X509_free(x);
    return rc;
}

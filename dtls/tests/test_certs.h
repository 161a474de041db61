/* test_certs.h — self-signed test certificates made in memory: a
 * "localhost" certificate for a key, with a chosen key usage extension or
 * none, and the key's PEM. For engine tests that need a certificate
 * dtls_make_self_signed does not make (RSA keys, restricted key usage). */
#ifndef DTLS_TEST_CERTS_H
#define DTLS_TEST_CERTS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"

static inline void test_cert_add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    CHECK(ext != NULL && X509_add_ext(x, ext, -1));
    X509_EXTENSION_free(ext);
}

/* PEM of a self-signed "localhost" certificate for key, with the key usage
 * extension ku (OpenSSL's config syntax) or none; dup_san adds the
 * subjectAltName extension twice, which RFC 5280 4.2 forbids (libcrypto
 * then marks the extensions invalid). RSA signatures have one length and
 * the dates one format, so two certificates for the same RSA key whose key
 * usage encodes in as many bytes have the same length. */
static inline char *test_cert_pem_ext(EVP_PKEY *key, const char *ku, bool dup_san)
{
    X509 *x = X509_new();
    CHECK(x != NULL);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 5246);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (ku)
        test_cert_add_ext(x, NID_key_usage, ku);
    for (int i = 0; dup_san && i < 2; i++)
        test_cert_add_ext(x, NID_subject_alt_name, "DNS:localhost");
    CHECK(X509_sign(x, key, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *pem = strndup(data, (size_t)n);
    BIO_free(b);
    X509_free(x);
    return pem;
}

static inline char *test_cert_pem(EVP_PKEY *key, const char *ku)
{
    return test_cert_pem_ext(key, ku, false);
}

static inline char *test_key_pem(EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *pem = strndup(data, (size_t)n);
    BIO_free(b);
    return pem;
}

#endif

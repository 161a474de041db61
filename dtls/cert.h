/* cert.h — certificates, private keys and handshake signatures on libcrypto.
 * Loading from PEM text (no file I/O here), chain verification against an
 * X509_STORE with host name checks, and TLS 1.2 digital signatures
 * (RFC 5246 4.7, 7.4.1.4.1; RSA-PSS per RFC 8446 4.2.3 as used in TLS 1.2).
 */
#ifndef DTLS_CERT_H
#define DTLS_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* SignatureScheme code points (hash << 8 | signature in TLS 1.2 terms). */
enum {
    DTLS_SIG_RSA_PKCS1_SHA256 = 0x0401,
    DTLS_SIG_RSA_PKCS1_SHA384 = 0x0501,
    DTLS_SIG_RSA_PKCS1_SHA1 = 0x0201,
    DTLS_SIG_ECDSA_SECP256R1_SHA256 = 0x0403,
    DTLS_SIG_ECDSA_SECP384R1_SHA384 = 0x0503,
    DTLS_SIG_ECDSA_SHA1 = 0x0203,
    DTLS_SIG_RSA_PSS_RSAE_SHA256 = 0x0804,
    DTLS_SIG_RSA_PSS_RSAE_SHA384 = 0x0805,
};

/* A certificate chain, leaf first, with each certificate's DER kept for
 * sending as is. */
typedef struct dtls_chain {
    X509 **certs;
    uint8_t **der;
    size_t *der_len;
    size_t n;
} dtls_chain;

/* Parse every CERTIFICATE block of pem into chain (appending). Returns 0,
 * or -1 with a message in err when there is none or one is malformed. */
int dtls_chain_from_pem(dtls_chain *chain, const char *pem, size_t len, char *err, size_t errlen);
/* Parse DER certificates received in a Certificate message. */
int dtls_chain_push_der(dtls_chain *chain, const uint8_t *der, size_t len);
void dtls_chain_free(dtls_chain *chain);

/* The first private key in pem (PKCS#8, SEC1 or PKCS#1; ECDSA or RSA). */
EVP_PKEY *dtls_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);
/* 1 when key is the private half of cert's public key. */
int dtls_key_matches_cert(EVP_PKEY *key, X509 *cert);
/* Add every certificate in pem to store. Returns the count added, or -1. */
int dtls_store_add_pem(X509_STORE *store, const char *pem, size_t len, char *err, size_t errlen);

/* RFC 5246 7.4.2 (a server's certificate) and 7.4.6 (a client's): the key
 * usage extension, when present, must allow what the suite does with the
 * key: sign (ECDHE_ECDSA, ECDHE_RSA, CertificateVerify: digitalSignature)
 * or decrypt the premaster (RSA key transport: keyEncipherment).
 * dtls_cert_key_usage says, for each usage, whether the certificate allows
 * it (a certificate without the extension allows both), or
 * DTLS_KU_INVALID when its extensions do not parse (libcrypto then knows no
 * key usage, right or wrong). */
enum { DTLS_KU_SIGN = 1, DTLS_KU_ENCIPHER = 2, DTLS_KU_INVALID = 4 };
int dtls_cert_key_usage(X509 *cert);
/* The alert for a peer certificate that does not allow usage (0 if it
 * does), with the reason in *why. */
int dtls_cert_key_usage_alert(X509 *cert, int usage, const char **why);

/* What the verified certificate is for (its extended key usage, as libssl
 * checks it): a server's certificate, a client's, or no check. */
enum { DTLS_PURPOSE_ANY = 0, DTLS_PURPOSE_SERVER, DTLS_PURPOSE_CLIENT };

/* Verify chain (leaf first) against store for purpose; when hostname is
 * non-NULL the leaf must match it (DNS SAN / CN, or IP address). Returns 0,
 * or the TLS alert to send (bad_certificate, unknown_ca,
 * certificate_expired, ...) with a reason in err. */
int dtls_chain_verify(X509_STORE *store, const dtls_chain *chain, const char *hostname,
                      int purpose, char *err, size_t errlen);

/* 1 when scheme can be used with key (type, curve for ECDSA). */
int dtls_sig_scheme_fits_key(uint16_t scheme, EVP_PKEY *key);
/* 1 when we can verify and produce this scheme at all. */
int dtls_sig_scheme_supported(uint16_t scheme);
/* Sign tbs with key under scheme; sig needs room for EVP_PKEY_get_size(key)
 * bytes (sig_len in: capacity, out: length). Returns 0 or -1. */
int dtls_sig_sign(EVP_PKEY *key, uint16_t scheme, const uint8_t *tbs, size_t tbs_len,
                  uint8_t *sig, size_t *sig_len);
/* Returns 0 when sig is a valid signature of tbs by pub under scheme. */
int dtls_sig_verify(EVP_PKEY *pub, uint16_t scheme, const uint8_t *tbs, size_t tbs_len,
                    const uint8_t *sig, size_t sig_len);

#endif

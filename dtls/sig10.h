/* sig10.h — signatures as DTLS 1.0 makes them, without signature_algorithms
 * (DTLS 1.0 is TLS 1.1: RFC 4347 on RFC 4346). Used for ServerKeyExchange
 * (RFC 4346 7.4.3, RFC 4492 5.4) and CertificateVerify (RFC 4346 7.4.8,
 * RFC 4492 5.8) when DTLS 1.0 is agreed; DTLS 1.2 uses cert.h's schemes.
 *  - RSA: PKCS#1 v1.5 block type 1 over the 36 bytes MD5(tbs) || SHA-1(tbs),
 *    with no DigestInfo (RFC 4346 4.7, "digitally-signed" with RSA).
 *  - ECDSA: over SHA-1(tbs) (RFC 4492 5.4: "the hash is SHA-1").
 */
#ifndef DTLS_SIG10_H
#define DTLS_SIG10_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* Sign tbs with key (RSA or EC); sig needs room for EVP_PKEY_get_size(key)
 * bytes (sig_len in: capacity, out: length). Returns 0 or -1. */
int dtls_sig10_sign(EVP_PKEY *key, const uint8_t *tbs, size_t tbs_len, uint8_t *sig,
                    size_t *sig_len);
/* Returns 0 when sig is pub's DTLS 1.0 signature of tbs, else -1. */
int dtls_sig10_verify(EVP_PKEY *pub, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
                      size_t sig_len);

#endif

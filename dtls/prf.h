/* prf.h — the TLS pseudo-random function and what is derived with it.
 * RFC 5246 5 (TLS 1.2 P_hash), RFC 2246 5 (TLS 1.0 MD5/SHA-1 split), and
 * RFC 7627 (extended master secret). Pure functions over libcrypto; no state.
 */
#ifndef DTLS_PRF_H
#define DTLS_PRF_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* out = PRF(secret, label, seed_a || seed_b)[0..out_len). md is the PRF hash
 * (EVP_sha256() or EVP_sha384()) for TLS 1.2, or NULL for the TLS 1.0/1.1
 * PRF (P_MD5 xor P_SHA1). seed_b may be NULL. Returns 0, or -1 on failure. */
int dtls_prf(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
             const char *label, const uint8_t *seed_a, size_t seed_a_len,
             const uint8_t *seed_b, size_t seed_b_len,
             uint8_t *out, size_t out_len);

/* The PRF hash to pass to dtls_prf for a protocol version (wire value)
 * and a suite's prf_sha384: NULL, the MD5/SHA-1 PRF, for DTLS 1.0 (0xFEFF,
 * RFC 4347 on RFC 4346 5, whatever the suite); SHA-384 or SHA-256 for
 * DTLS 1.2 (RFC 5246 5). */
const EVP_MD *dtls_prf_md(uint16_t version, int prf_sha384);
/* The transcript hash that Finished covers: MD5(handshake) || SHA-1(handshake),
 * 36 bytes, for DTLS 1.0 (RFC 4346 7.4.9; libcrypto's "MD5-SHA1" digest is
 * exactly that concatenation); the PRF hash for DTLS 1.2 (RFC 5246 7.4.9).
 * The same hash serves the extended master secret's session_hash
 * (RFC 7627 3). */
const EVP_MD *dtls_transcript_md(uint16_t version, int prf_sha384);

#endif

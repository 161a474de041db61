/* keyex.h — ephemeral elliptic-curve Diffie-Hellman (RFC 8422 5.4, 5.7),
 * and RSA key transport for old peers (RFC 5246 7.4.7.1).
 * Points travel in the TLS encoding: uncompressed X9.62 for the NIST curves,
 * the 32 raw bytes for X25519 (RFC 8422 5.11). Peer points are validated
 * (on the curve; X25519 results of all zeros are refused).
 */
#ifndef DTLS_KEYEX_H
#define DTLS_KEYEX_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* NamedGroup code points (RFC 8422 5.1.1, RFC 7748). */
enum {
    DTLS_GROUP_SECP256R1 = 23,
    DTLS_GROUP_SECP384R1 = 24,
    DTLS_GROUP_X25519 = 29,
};

int dtls_group_supported(uint16_t group);
/* Largest public point encoding of any supported group. */
#define DTLS_MAX_POINT_LEN 97
/* Largest shared secret. */
#define DTLS_MAX_ECDH_SECRET 48

/* A fresh key pair on group; its public point is written to pub (room for
 * DTLS_MAX_POINT_LEN bytes). Returns the private key or NULL. */
EVP_PKEY *dtls_ecdhe_generate(uint16_t group, uint8_t *pub, size_t *pub_len);
/* The shared secret (x coordinate, RFC 8422 5.10) of priv and the peer's
 * encoded point. Returns 0, or -1 for an invalid point or failure. */
int dtls_ecdhe_derive(uint16_t group, EVP_PKEY *priv, const uint8_t *peer_pub,
                      size_t peer_len, uint8_t *secret, size_t *secret_len);

/* ---- RSA key transport (RFC 5246 7.4.7.1; RFC 4346 7.4.7.1 for DTLS 1.0) */

#define DTLS_PREMASTER_LEN 48
/* Largest EncryptedPreMasterSecret we make or take: an 8192-bit modulus. */
#define DTLS_MAX_RSA_ENC 1024

/* Server side: the pre-master secret from the client's encrypted one.
 * Never tells a bad ciphertext from a good one (Bleichenbacher 1998): it
 * draws a random 48-byte R first, decrypts PKCS#1 v1.5 in libcrypto's TLS
 * mode (which checks the padding, the 48-byte length and client_version
 * without branching, and substitutes its own random bytes on failure), and
 * selects R with a mask if libcrypto refuses outright. out always receives
 * 48 bytes and the return is 0 for every ciphertext, good or bad: a wrong
 * ciphertext shows up only later, as a Finished that does not verify.
 * client_version is ClientHello.client_version (0xFEFD DTLS 1.2, 0xFEFF
 * DTLS 1.0). Returns -1 only when key is not an RSA key or randomness fails
 * (nothing about the ciphertext). */
int dtls_rsa_premaster_decrypt(EVP_PKEY *key, const uint8_t *enc, size_t len,
                               uint16_t client_version, uint8_t out[DTLS_PREMASTER_LEN]);
/* Client side: a fresh pre-master secret (client_version || 46 random
 * bytes) into premaster_out, and its PKCS#1 v1.5 encryption to the
 * server's certificate key into out_enc. *len: the room in out_enc on
 * entry, the ciphertext's length on return. Returns 0 or -1. */
int dtls_rsa_premaster_encrypt(EVP_PKEY *peer_key, uint16_t client_version, uint8_t *out_enc,
                               size_t *len, uint8_t premaster_out[DTLS_PREMASTER_LEN]);
/* The EncryptedPreMasterSecret in a ClientKeyExchange body: an opaque
 * vector with a 2-byte length (RFC 5246 7.4.7.1, TLS 1.0 and later, so DTLS
 * too), filling the body exactly. Returns 0 or -1 (decode_error). */
int dtls_rsa_cke_parse(const uint8_t *body, size_t body_len, const uint8_t **enc, size_t *enc_len);

#endif

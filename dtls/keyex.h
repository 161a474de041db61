/* keyex.h — ephemeral elliptic-curve Diffie-Hellman (RFC 8422 5.4, 5.7).
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

#endif

/* suite.h — the cipher-suite table: what each suite id means for key
 * exchange, authentication, record protection and the PRF hash.
 * Pure data; the only behaviour is lookup by id or by name.
 */
#ifndef DTLS_SUITE_H
#define DTLS_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include "aead.h"
#include "cbc.h"

typedef enum {
    DTLS_KX_ECDHE_ECDSA = 1, /* RFC 8422 */
    DTLS_KX_ECDHE_RSA,       /* RFC 8422 */
    DTLS_KX_PSK,             /* RFC 4279 */
    DTLS_KX_ECDHE_PSK,       /* RFC 5489 */
    DTLS_KX_RSA,             /* RSA key transport, RFC 5246 7.4.7.1 (legacy) */
} dtls_kx;

typedef struct dtls_suite {
    uint16_t id;
    const char *name; /* OpenSSL's name, also accepted in the ciphers option */
    dtls_kx kx;
    dtls_aead_alg aead; /* DTLS_AEAD_NONE for a CBC suite */
    int prf_sha384;   /* PRF and Finished hash: SHA-384 when set, else SHA-256
                         (DTLS 1.2; DTLS 1.0 always uses MD5+SHA-1, RFC 4346 5) */
    dtls_cbc_alg cbc; /* AES-CBC + HMAC (RFC 5246 6.2.3.2), DTLS_CBC_NONE for AEAD */
    /* Legacy (CBC-HMAC or RSA key transport): never a default; used only
     * when named in the ciphers option (design notes: legacy is opt-in). */
    uint8_t legacy;
    uint8_t dtls12_only; /* not with DTLS 1.0 (a SHA-256/384 suite of RFC 5246 / RFC 5289) */
} dtls_suite;

/* The suite with this id, or NULL when we do not implement it. */
const dtls_suite *dtls_suite_by_id(uint16_t id);
/* By OpenSSL or IANA name, case-insensitive. */
const dtls_suite *dtls_suite_by_name(const char *name, size_t len);
/* All implemented suites in our default preference order, and the count. */
const dtls_suite *const *dtls_suite_defaults(size_t *count);

static inline int dtls_suite_uses_cert(const dtls_suite *s)
{
    return s->kx == DTLS_KX_ECDHE_ECDSA || s->kx == DTLS_KX_ECDHE_RSA || s->kx == DTLS_KX_RSA;
}
static inline int dtls_suite_uses_psk(const dtls_suite *s)
{
    return s->kx == DTLS_KX_PSK || s->kx == DTLS_KX_ECDHE_PSK;
}
static inline int dtls_suite_uses_ecdhe(const dtls_suite *s)
{
    return s->kx != DTLS_KX_PSK && s->kx != DTLS_KX_RSA;
}

/* The key block's layout (RFC 5246 6.3): client_write_MAC_key,
 * server_write_MAC_key, client_write_key, server_write_key,
 * client_write_IV, server_write_IV. AEAD suites have no MAC keys and a
 * fixed IV (RFC 5288 3, RFC 7905 2); CBC suites have MAC keys and no IV
 * (explicit per record: RFC 4346 6.3 dropped them, RFC 5246 6.3 derives
 * IVs only for implicit nonces). */
typedef struct dtls_key_layout {
    size_t mac_len, key_len, iv_len;
    size_t total; /* 2 * (mac_len + key_len + iv_len) */
} dtls_key_layout;

/* One writer's keys inside a derived key block. */
typedef struct dtls_key_slices {
    const uint8_t *mac_key; /* NULL when mac_len is 0 */
    const uint8_t *key;
    const uint8_t *iv;      /* NULL when iv_len is 0 */
} dtls_key_slices;

/* The largest key block of any suite (SHA-384 MAC keys and AES-256). */
#define DTLS_MAX_KEY_BLOCK (2 * (48 + 32))

dtls_key_layout dtls_suite_key_layout(const dtls_suite *s);
/* The client's (client_writer set) or the server's write keys in block. */
dtls_key_slices dtls_key_block_slices(const dtls_key_layout *l, const uint8_t *block,
                                      int client_writer);

#define DTLS_SCSV_RENEGOTIATION 0x00FF /* RFC 5746 3.3 */
#define DTLS_SCSV_FALLBACK 0x5600      /* RFC 7507 */

#endif

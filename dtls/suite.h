/* suite.h — the cipher-suite table: what each suite id means for key
 * exchange, authentication, record protection and the PRF hash.
 * Pure data; the only behaviour is lookup by id or by name.
 */
#ifndef DTLS_SUITE_H
#define DTLS_SUITE_H

#include <stddef.h>
#include <stdint.h>
#include "aead.h"

typedef enum {
    DTLS_KX_ECDHE_ECDSA = 1, /* RFC 8422 */
    DTLS_KX_ECDHE_RSA,       /* RFC 8422 */
    DTLS_KX_PSK,             /* RFC 4279 */
    DTLS_KX_ECDHE_PSK,       /* RFC 5489 */
} dtls_kx;

typedef struct dtls_suite {
    uint16_t id;
    const char *name; /* OpenSSL's name, also accepted in the ciphers option */
    dtls_kx kx;
    dtls_aead_alg aead;
    int prf_sha384;   /* PRF and Finished hash: SHA-384 when set, else SHA-256 */
} dtls_suite;

/* The suite with this id, or NULL when we do not implement it. */
const dtls_suite *dtls_suite_by_id(uint16_t id);
/* By OpenSSL or IANA name, case-insensitive. */
const dtls_suite *dtls_suite_by_name(const char *name, size_t len);
/* All implemented suites in our default preference order, and the count. */
const dtls_suite *const *dtls_suite_defaults(size_t *count);

static inline int dtls_suite_uses_cert(const dtls_suite *s)
{
    return s->kx == DTLS_KX_ECDHE_ECDSA || s->kx == DTLS_KX_ECDHE_RSA;
}
static inline int dtls_suite_uses_psk(const dtls_suite *s)
{
    return s->kx == DTLS_KX_PSK || s->kx == DTLS_KX_ECDHE_PSK;
}
static inline int dtls_suite_uses_ecdhe(const dtls_suite *s)
{
    return s->kx != DTLS_KX_PSK;
}

#define DTLS_SCSV_RENEGOTIATION 0x00FF /* RFC 5746 3.3 */

#endif

/* suite.c — the table of cipher suites the engine implements, in default
 * preference order (AEAD only: RFC 7525 3.2; CCM_8 last but present for
 * CoAP, RFC 7925 4.3), then the legacy CBC-HMAC and RSA key transport
 * suites for old peers, which are never defaults. */
#include "suite.h"

#include <string.h>
#include <strings.h>

#define AEAD_SUITE(id, name, kx, aead, prf384) \
    { (id), (name), (kx), (aead), (prf384), DTLS_CBC_NONE, 0, 0 }
#define LEGACY_SUITE(id, name, kx, cbc, prf384, dtls12_only) \
    { (id), (name), (kx), DTLS_AEAD_NONE, (prf384), (cbc), 1, (dtls12_only) }

static const dtls_suite SUITES[] = {
    AEAD_SUITE(0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_128_GCM, 0),
    AEAD_SUITE(0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_256_GCM, 1),
    AEAD_SUITE(0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_CHACHA20_POLY1305, 0),
    AEAD_SUITE(0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", DTLS_KX_ECDHE_RSA, DTLS_AEAD_AES_128_GCM, 0),
    AEAD_SUITE(0xC030, "ECDHE-RSA-AES256-GCM-SHA384", DTLS_KX_ECDHE_RSA, DTLS_AEAD_AES_256_GCM, 1),
    AEAD_SUITE(0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305", DTLS_KX_ECDHE_RSA, DTLS_AEAD_CHACHA20_POLY1305, 0),
    AEAD_SUITE(0xC0AC, "ECDHE-ECDSA-AES128-CCM", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_128_CCM, 0),
    AEAD_SUITE(0xC0AE, "ECDHE-ECDSA-AES128-CCM8", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_128_CCM_8, 0),
    AEAD_SUITE(0xCCAC, "ECDHE-PSK-CHACHA20-POLY1305", DTLS_KX_ECDHE_PSK, DTLS_AEAD_CHACHA20_POLY1305, 0),
    AEAD_SUITE(0xD001, "ECDHE-PSK-AES128-GCM-SHA256", DTLS_KX_ECDHE_PSK, DTLS_AEAD_AES_128_GCM, 0),
    AEAD_SUITE(0x00A8, "PSK-AES128-GCM-SHA256", DTLS_KX_PSK, DTLS_AEAD_AES_128_GCM, 0),
    AEAD_SUITE(0x00A9, "PSK-AES256-GCM-SHA384", DTLS_KX_PSK, DTLS_AEAD_AES_256_GCM, 1),
    AEAD_SUITE(0xC0A4, "PSK-AES128-CCM", DTLS_KX_PSK, DTLS_AEAD_AES_128_CCM, 0),
    AEAD_SUITE(0xC0A8, "PSK-AES128-CCM8", DTLS_KX_PSK, DTLS_AEAD_AES_128_CCM_8, 0),
    /* Legacy, after every default (N_DEFAULT below). MAC and key sizes come
     * from the cbc alg (RFC 5246 6.2.3.1, 6.3). SHA-1 suites (RFC 4492,
     * RFC 5246 A.5) also run over DTLS 1.0; the SHA-256/384 ones of
     * RFC 5246 and RFC 5289 need DTLS 1.2; the PSK CBC ones (RFC 5487) may
     * run over DTLS 1.0 with that version's PRF, as OpenSSL allows. In
     * DTLS 1.2 the PRF is SHA-256 unless the suite names SHA-384. */
    LEGACY_SUITE(0xC009, "ECDHE-ECDSA-AES128-SHA", DTLS_KX_ECDHE_ECDSA, DTLS_CBC_AES_128_SHA1, 0, 0),
    LEGACY_SUITE(0xC00A, "ECDHE-ECDSA-AES256-SHA", DTLS_KX_ECDHE_ECDSA, DTLS_CBC_AES_256_SHA1, 0, 0),
    LEGACY_SUITE(0xC013, "ECDHE-RSA-AES128-SHA", DTLS_KX_ECDHE_RSA, DTLS_CBC_AES_128_SHA1, 0, 0),
    LEGACY_SUITE(0xC014, "ECDHE-RSA-AES256-SHA", DTLS_KX_ECDHE_RSA, DTLS_CBC_AES_256_SHA1, 0, 0),
    LEGACY_SUITE(0xC023, "ECDHE-ECDSA-AES128-SHA256", DTLS_KX_ECDHE_ECDSA, DTLS_CBC_AES_128_SHA256, 0, 1),
    LEGACY_SUITE(0xC024, "ECDHE-ECDSA-AES256-SHA384", DTLS_KX_ECDHE_ECDSA, DTLS_CBC_AES_256_SHA384, 1, 1),
    LEGACY_SUITE(0xC027, "ECDHE-RSA-AES128-SHA256", DTLS_KX_ECDHE_RSA, DTLS_CBC_AES_128_SHA256, 0, 1),
    LEGACY_SUITE(0xC028, "ECDHE-RSA-AES256-SHA384", DTLS_KX_ECDHE_RSA, DTLS_CBC_AES_256_SHA384, 1, 1),
    LEGACY_SUITE(0x00AE, "PSK-AES128-CBC-SHA256", DTLS_KX_PSK, DTLS_CBC_AES_128_SHA256, 0, 0),
    LEGACY_SUITE(0x00AF, "PSK-AES256-CBC-SHA384", DTLS_KX_PSK, DTLS_CBC_AES_256_SHA384, 1, 0),
    LEGACY_SUITE(0x002F, "AES128-SHA", DTLS_KX_RSA, DTLS_CBC_AES_128_SHA1, 0, 0),
    LEGACY_SUITE(0x0035, "AES256-SHA", DTLS_KX_RSA, DTLS_CBC_AES_256_SHA1, 0, 0),
    LEGACY_SUITE(0x003C, "AES128-SHA256", DTLS_KX_RSA, DTLS_CBC_AES_128_SHA256, 0, 1),
    LEGACY_SUITE(0x003D, "AES256-SHA256", DTLS_KX_RSA, DTLS_CBC_AES_256_SHA256, 0, 1),
};
#define NSUITES (sizeof SUITES / sizeof SUITES[0])
#define N_DEFAULT 14 /* the AEAD suites, first in the table */

/* IANA names, for users who write those instead of OpenSSL's. */
static const struct { uint16_t id; const char *iana; } IANA_NAMES[] = {
    { 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
    { 0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
    { 0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
    { 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
    { 0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" },
    { 0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xD001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256" },
    { 0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256" },
    { 0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384" },
    { 0xC0A4, "TLS_PSK_WITH_AES_128_CCM" },
    { 0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8" },
    { 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
    { 0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
    { 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
    { 0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
    { 0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
    { 0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
    { 0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
    { 0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
    { 0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256" },
    { 0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384" },
    { 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA" },
    { 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
    { 0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
    { 0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
};

const dtls_suite *dtls_suite_by_id(uint16_t id)
{
    for (size_t i = 0; i < NSUITES; i++)
        if (SUITES[i].id == id)
            return &SUITES[i];
    return NULL;
}

static int name_is(const char *want, const char *name, size_t len)
{
    return strlen(want) == len && strncasecmp(want, name, len) == 0;
}

const dtls_suite *dtls_suite_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < NSUITES; i++)
        if (name_is(SUITES[i].name, name, len))
            return &SUITES[i];
    for (size_t i = 0; i < sizeof IANA_NAMES / sizeof IANA_NAMES[0]; i++)
        if (name_is(IANA_NAMES[i].iana, name, len))
            return dtls_suite_by_id(IANA_NAMES[i].id);
    return NULL;
}

static const dtls_suite *const DEFAULT_ORDER[] = {
    &SUITES[0], &SUITES[1], &SUITES[2], &SUITES[3], &SUITES[4], &SUITES[5], &SUITES[6],
    &SUITES[7], &SUITES[8], &SUITES[9], &SUITES[10], &SUITES[11], &SUITES[12], &SUITES[13],
};
_Static_assert(sizeof DEFAULT_ORDER / sizeof DEFAULT_ORDER[0] == N_DEFAULT,
               "order covers the non-legacy part of the table");

const dtls_suite *const *dtls_suite_defaults(size_t *count)
{
    *count = N_DEFAULT;
    return DEFAULT_ORDER;
}

dtls_key_layout dtls_suite_key_layout(const dtls_suite *s)
{
    dtls_key_layout l = { 0, 0, 0, 0 };
    if (s->cbc != DTLS_CBC_NONE) {
        l.mac_len = dtls_cbc_mac_key_len(s->cbc);
        l.key_len = dtls_cbc_key_len(s->cbc);
    } else {
        l.key_len = dtls_aead_key_len(s->aead);
        l.iv_len = dtls_aead_fixed_iv_len(s->aead);
    }
    l.total = 2 * (l.mac_len + l.key_len + l.iv_len);
    return l;
}

dtls_key_slices dtls_key_block_slices(const dtls_key_layout *l, const uint8_t *block,
                                      int client_writer)
{
    size_t side = client_writer ? 0 : 1;
    dtls_key_slices k;
    k.mac_key = l->mac_len ? block + side * l->mac_len : NULL;
    k.key = block + 2 * l->mac_len + side * l->key_len;
    k.iv = l->iv_len ? block + 2 * (l->mac_len + l->key_len) + side * l->iv_len : NULL;
    return k;
}

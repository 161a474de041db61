/* suite.c — the table of cipher suites the engine implements, in default
 * preference order (AEAD only: RFC 7525 3.2; CCM_8 last but present for
 * CoAP, RFC 7925 4.3). */
#include "suite.h"

#include <string.h>
#include <strings.h>

static const dtls_suite SUITES[] = {
    { 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_128_GCM, 0 },
    { 0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_256_GCM, 1 },
    { 0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_CHACHA20_POLY1305, 0 },
    { 0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", DTLS_KX_ECDHE_RSA, DTLS_AEAD_AES_128_GCM, 0 },
    { 0xC030, "ECDHE-RSA-AES256-GCM-SHA384", DTLS_KX_ECDHE_RSA, DTLS_AEAD_AES_256_GCM, 1 },
    { 0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305", DTLS_KX_ECDHE_RSA, DTLS_AEAD_CHACHA20_POLY1305, 0 },
    { 0xC0AC, "ECDHE-ECDSA-AES128-CCM", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_128_CCM, 0 },
    { 0xC0AE, "ECDHE-ECDSA-AES128-CCM8", DTLS_KX_ECDHE_ECDSA, DTLS_AEAD_AES_128_CCM_8, 0 },
    { 0xCCAC, "ECDHE-PSK-CHACHA20-POLY1305", DTLS_KX_ECDHE_PSK, DTLS_AEAD_CHACHA20_POLY1305, 0 },
    { 0xD001, "ECDHE-PSK-AES128-GCM-SHA256", DTLS_KX_ECDHE_PSK, DTLS_AEAD_AES_128_GCM, 0 },
    { 0x00A8, "PSK-AES128-GCM-SHA256", DTLS_KX_PSK, DTLS_AEAD_AES_128_GCM, 0 },
    { 0x00A9, "PSK-AES256-GCM-SHA384", DTLS_KX_PSK, DTLS_AEAD_AES_256_GCM, 1 },
    { 0xC0A4, "PSK-AES128-CCM", DTLS_KX_PSK, DTLS_AEAD_AES_128_CCM, 0 },
    { 0xC0A8, "PSK-AES128-CCM8", DTLS_KX_PSK, DTLS_AEAD_AES_128_CCM_8, 0 },
};
#define NSUITES (sizeof SUITES / sizeof SUITES[0])

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
_Static_assert(sizeof DEFAULT_ORDER / sizeof DEFAULT_ORDER[0] == NSUITES, "order covers the table");

const dtls_suite *const *dtls_suite_defaults(size_t *count)
{
    *count = NSUITES;
    return DEFAULT_ORDER;
}

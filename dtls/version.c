/* version.c — which DTLS versions we speak and how one is agreed, and the
 * legacy-protocol switches of the config (DTLS 1.0, Encrypt-then-MAC)
 * (RFC 6347 4.1 and RFC 5246 E.1: the server answers with the highest
 * version it supports up to the client's). DTLS 1.2 (0xFEFD) only by
 * default; DTLS 1.0 (0xFEFF, RFC 4347) only when the host enables it.
 * Version numbers count down: 0xFEFD is newer than 0xFEFF. */
#include "internal.h"

int dtls_config_set_versions(dtls_config *cfg, uint16_t min, uint16_t max)
{
    bool known_min = min == DTLS_VERSION_1_0 || min == DTLS_VERSION_1_2;
    bool known_max = max == DTLS_VERSION_1_0 || max == DTLS_VERSION_1_2;
    if (!known_min || !known_max || !version_at_least(max, min))
        return DTLS_ERR_ARG;
    cfg->min_version = min;
    cfg->max_version = max;
    return DTLS_OK;
}

void dtls_config_set_encrypt_then_mac(dtls_config *cfg, int on) { cfg->etm = on != 0; }

bool version_suite_ok(uint16_t version, const dtls_suite *s)
{
    if (version == DTLS1_2_VERSION)
        return true;
    return version == DTLS1_0_VERSION && s->cbc != DTLS_CBC_NONE && !s->dtls12_only;
}

int version_server_choose(const dtls_config *cfg, uint16_t client_version, bool fallback_scsv,
                          uint16_t *out)
{
    /* DTLS versions have the major byte 0xFE (RFC 6347 4.1: the one's
     * complement of TLS's); anything else is not DTLS at all. */
    if ((client_version >> 8) != 0xFE)
        return DTLS_ALERT_PROTOCOL_VERSION;
    /* Newer than anything we know (1.3's hello says 1.2 anyway): our
     * newest. Between 1.2 and 1.0 (0xFEFE was never used): 1.0. */
    uint16_t v = version_at_least(client_version, cfg->max_version) ? cfg->max_version
               : version_at_least(client_version, DTLS1_2_VERSION) ? DTLS1_2_VERSION
               : DTLS1_0_VERSION;
    if (!version_at_least(v, cfg->min_version))
        return DTLS_ALERT_PROTOCOL_VERSION; /* RFC 5246 E.1: older than we accept */
    /* RFC 7507 3: a client retrying with a lower version than its best
     * says so; if we could have done better, someone interfered. */
    if (fallback_scsv && v != cfg->max_version)
        return DTLS_ALERT_INAPPROPRIATE_FALLBACK;
    *out = v;
    return 0;
}

uint16_t version_client_record(const dtls_config *cfg)
{
    /* Before the ServerHello the record version is a guess that must not
     * put off an old server: DTLS 1.0 when we would speak it, as OpenSSL
     * does (RFC 6347 4.1 leaves it open; servers accept any 0xFE version). */
    return cfg->min_version == DTLS1_0_VERSION ? DTLS1_0_VERSION : DTLS1_2_VERSION;
}

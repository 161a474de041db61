/* tls_config.c — builds an engine configuration (dtls_config) from the
 * runtime's rt_tls_options: loads PEM sources, falls back to the embedded
 * default certificate for servers, checks key against certificate.
 * Every message names the option at fault; key text is wiped after use and
 * never appears in a message.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

void rt_tls_options_init(rt_tls_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->reject_unauthorized = 1;
    opt->tickets = 1;
    opt->session_cache_size = -1;
    opt->connection_id = -1;
    opt->renegotiation_interval_ms = -1;
    opt->idle_timeout_ms = RT_IDLE_TIMEOUT_DEFAULT;
}

/* Sized for the machine: one entry (about 200 bytes) per 64 KiB of
 * memory, so the cache can never take more than 0.3 % of it, between 1,000
 * and 100,000 entries (20 MB at most). */
static size_t default_session_cache_size(void)
{
    uint64_t mem = uv_get_total_memory();
    uint64_t n = mem / 65536;
    return n < 1000 ? 1000 : n > 100000 ? 100000 : (size_t)n;
}

/* A protocol version's name as node and OpenSSL write it, or 0. */
static uint16_t version_by_name(const char *name)
{
    if (strcmp(name, "DTLSv1") == 0 || strcmp(name, "DTLSv1.0") == 0)
        return DTLS_VERSION_1_0;
    return strcmp(name, "DTLSv1.2") == 0 ? DTLS_VERSION_1_2 : 0;
}

/* minVersion / maxVersion: DTLS 1.2 only unless DTLS 1.0 is asked for. */
static int set_versions(dtls_config *cfg, const rt_tls_options *opt, char *err, size_t errlen)
{
    uint16_t min = opt->min_version ? version_by_name(opt->min_version) : DTLS_VERSION_1_2;
    uint16_t max = opt->max_version ? version_by_name(opt->max_version) : DTLS_VERSION_1_2;
    if (!min || !max) {
        rt_errf(err, errlen, "%s: must be \"DTLSv1\" or \"DTLSv1.2\"",
                min ? "maxVersion" : "minVersion");
        return -1;
    }
    if (dtls_config_set_versions(cfg, min, max) != DTLS_OK) {
        rt_errf(err, errlen, "maxVersion: older than minVersion");
        return -1;
    }
    return 0;
}

/* Sessions and Connection IDs (RFC 5077, RFC 9146). */
static int set_sessions(dtls_config *cfg, const rt_tls_options *opt, dtls_role role,
                        char *err, size_t errlen)
{
    /* Ticket ages are wall-clock times shared between processes; the
     * engine runs on the loop's monotonic milliseconds. */
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) == 0)
        dtls_config_set_clock_offset(cfg, tv.tv_sec * 1000 + tv.tv_usec / 1000 - (int64_t)uv_hrtime() / 1000000);
    dtls_config_set_tickets(cfg, opt->tickets);
    if (opt->session_timeout_ms && dtls_config_set_session_timeout(cfg, opt->session_timeout_ms) != DTLS_OK) {
        rt_errf(err, errlen, "sessionTimeout: must be between 1 and 604800 seconds");
        return -1;
    }
    if (role == DTLS_ROLE_SERVER) {
        size_t entries = opt->session_cache_size < 0 ? default_session_cache_size()
                                                     : (size_t)opt->session_cache_size;
        if (dtls_config_set_session_cache(cfg, entries) != DTLS_OK) {
            rt_errf(err, errlen, "sessionCacheSize: %ld is out of range (0-10000000)", opt->session_cache_size);
            return -1;
        }
        if (opt->ticket_keys && dtls_config_set_ticket_keys(cfg, opt->ticket_keys, opt->ticket_keys_len) != DTLS_OK) {
            rt_errf(err, errlen, "ticketKeys: must be one or more keys of %d bytes (%zu given), at most 16",
                    DTLS_TICKET_KEY_LEN, opt->ticket_keys_len);
            return -1;
        }
        if (opt->cookie_secret && dtls_config_set_cookie_secret(cfg, opt->cookie_secret, opt->cookie_secret_len) != DTLS_OK) {
            rt_errf(err, errlen, "cookieSecret: must be %u to %u bytes (%zu given)", DTLS_COOKIE_SECRET_MIN,
                    DTLS_COOKIE_SECRET_MAX, opt->cookie_secret_len);
            return -1;
        }
        rt_secrets_apply(cfg, opt->ticket_keys != NULL, opt->cookie_secret != NULL);
    }
    if (dtls_config_set_connection_id(cfg, opt->connection_id) != DTLS_OK) {
        rt_errf(err, errlen, "connectionId: %d is out of range (0-%d)", opt->connection_id, DTLS_CID_MAX_LEN);
        return -1;
    }
    return 0;
}

static void free_secret(char *text, size_t len)
{
    if (text) {
        explicit_bzero(text, len);
        free(text);
    }
}

/* Loads one PEM source and hands it to setter; what names the option. */
static int load_into(dtls_config *cfg, const char *what, const char *source,
                     int (*setter)(dtls_config *, const char *, size_t, char *, size_t),
                     bool secret, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (rt_pem_source_load(what, source, &text, &len, err, errlen) != 0)
        return -1;
    char msg[200] = "";
    int r = setter(cfg, text, len, msg, sizeof msg);
    if (secret)
        free_secret(text, len);
    else
        free(text);
    if (r != DTLS_OK) {
        rt_errf(err, errlen, "%s: %s", what, msg[0] ? msg : dtls_strerror(r));
        return -1;
    }
    return 0;
}

static int set_default_credentials(dtls_config *cfg, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL;
    if (rt_default_credentials(&cert, &key, err, errlen) != 0)
        return -1;
    char msg[200] = "";
    int r = dtls_config_set_cert_chain_pem(cfg, cert, strlen(cert), msg, sizeof msg);
    if (r == DTLS_OK)
        r = dtls_config_set_key_pem(cfg, key, strlen(key), msg, sizeof msg);
    free(cert);
    free_secret(key, strlen(key));
    if (r != DTLS_OK) {
        rt_errf(err, errlen, "cert: the default certificate is unusable (%s); delete it "
                             "from the state directory to make a new one", msg);
        return -1;
    }
    return 0;
}

_Static_assert(RT_CID_MAX_LEN == DTLS_CID_MAX_LEN, "the CID length range the binding checks is the engine's");
_Static_assert(RT_MIN_REASSEMBLY_BYTES == DTLS_REASSEMBLY_MIN, "the reassembly range the binding checks is the engine's");
_Static_assert(RT_RETRANSMIT_RANGE_MIN_MS == DTLS_RTO_MIN_MS && RT_RETRANSMIT_RANGE_MAX_MS == DTLS_RTO_MAX_MS,
               "the option range the binding checks is the engine's");

/* The retransmission timer (RFC 6347 4.2.4.1). Either bound alone moves the
 * other default out of its way: retransmitTimeout = 90000 alone is a flat
 * 90 s, maxRetransmitTimeout = 500 alone a flat 500 ms. */
static int set_retransmit_timeout(dtls_config *cfg, const rt_tls_options *opt, char *err, size_t errlen)
{
    if (!opt->retransmit_ms && !opt->max_retransmit_ms)
        return 0;
    uint32_t initial = opt->retransmit_ms, max = opt->max_retransmit_ms;
    if (!initial)
        initial = max < RT_DEFAULT_RETRANSMIT_MS ? max : RT_DEFAULT_RETRANSMIT_MS;
    if (!max)
        max = initial > RT_DEFAULT_MAX_RETRANSMIT_MS ? initial : RT_DEFAULT_MAX_RETRANSMIT_MS;
    if (initial > max) {
        rt_errf(err, errlen, "retransmitTimeout: %u ms is above maxRetransmitTimeout (%u ms)",
                (unsigned)initial, (unsigned)max);
        return -1;
    }
    if (dtls_config_set_retransmit_timeout(cfg, initial, max) != DTLS_OK) {
        bool max_bad = max < DTLS_RTO_MIN_MS || max > DTLS_RTO_MAX_MS;
        rt_errf(err, errlen, "%s: %u ms is out of range (%u-%u ms)",
                max_bad ? "maxRetransmitTimeout" : "retransmitTimeout", max_bad ? (unsigned)max : (unsigned)initial,
                DTLS_RTO_MIN_MS, DTLS_RTO_MAX_MS);
        return -1;
    }
    return 0;
}

dtls_config *rt_tls_config_build(const rt_tls_options *opt, dtls_role role,
                                 char *err, size_t errlen)
{
    dtls_config *cfg = dtls_config_new();
    char msg[200] = "";
    if (cfg == NULL) {
        rt_errf(err, errlen, "out of memory");
        return NULL;
    }
    dtls_config_set_log_threshold(cfg, rt_log_level_ptr());
    /* The engine offers PSK suites on a server only when a lookup is set. */
    rt_conn_install_callbacks(cfg, role == DTLS_ROLE_SERVER && opt->psk_server);

    if ((opt->cert == NULL) != (opt->key == NULL)) {
        rt_errf(err, errlen, opt->cert ? "key: a cert was given without its key"
                                       : "cert: a key was given without its cert");
        goto fail;
    }
    if (opt->cert) {
        if (load_into(cfg, "cert", opt->cert, dtls_config_set_cert_chain_pem, false, err, errlen) ||
            load_into(cfg, "key", opt->key, dtls_config_set_key_pem, true, err, errlen))
            goto fail;
    } else if (role == DTLS_ROLE_SERVER && !opt->psk_server) {
        if (set_default_credentials(cfg, err, errlen) != 0)
            goto fail;
    }
    if (opt->ca && load_into(cfg, "ca", opt->ca, dtls_config_add_ca_pem, false, err, errlen))
        goto fail;
    /* A client without ca verifies against the system trust store, as
     * node and every browser do. */
    if (!opt->ca && role == DTLS_ROLE_CLIENT && opt->reject_unauthorized &&
        dtls_config_add_default_ca(cfg, msg, sizeof msg) != DTLS_OK) {
        rt_errf(err, errlen, "ca: %s", msg);
        goto fail;
    }

    if (role == DTLS_ROLE_CLIENT) {
        dtls_config_set_verify_peer(cfg, opt->reject_unauthorized ? 1 : 0);
        dtls_config_set_check_server_name(cfg, opt->skip_server_identity_check ? 0 : 1);
    } else {
        dtls_config_set_request_cert(cfg, opt->request_cert ? 1 : 0,
                                     opt->request_cert && opt->reject_unauthorized ? 1 : 0);
    }
    if (opt->ciphers && dtls_config_set_ciphers(cfg, opt->ciphers, msg, sizeof msg) != DTLS_OK) {
        rt_errf(err, errlen, "ciphers: %s", msg[0] ? msg : "no usable cipher suite");
        goto fail;
    }
    if (set_versions(cfg, opt, err, errlen) != 0)
        goto fail;
    if (opt->mtu && dtls_config_set_mtu(cfg, opt->mtu) != DTLS_OK) {
        rt_errf(err, errlen, "mtu: %zu is out of range", opt->mtu);
        goto fail;
    }
    if (opt->handshake_timeout_ms)
        dtls_config_set_handshake_timeout(cfg, opt->handshake_timeout_ms);
    if (opt->max_reassembly_bytes
        && dtls_config_set_max_reassembly(cfg, opt->max_reassembly_bytes) != DTLS_OK) {
        rt_errf(err, errlen, "maxReassemblyBytes: %zu is below %u", opt->max_reassembly_bytes,
                RT_MIN_REASSEMBLY_BYTES);
        goto fail;
    }
    if (set_retransmit_timeout(cfg, opt, err, errlen) != 0)
        goto fail;
    if (set_sessions(cfg, opt, role, err, errlen) != 0)
        goto fail;
    dtls_config_set_renegotiation(cfg, opt->allow_renegotiation,
                                  opt->renegotiation_interval_ms < 0 ? DTLS_RENEG_INTERVAL_DEFAULT_MS
                                                                     : (uint64_t)opt->renegotiation_interval_ms);
    dtls_config_set_allow_legacy_server(cfg, opt->allow_legacy_server);
    if (role == DTLS_ROLE_CLIENT && opt->psk_identity) {
        if (dtls_config_set_psk(cfg, opt->psk_identity, opt->psk_identity_len, opt->psk_key,
                                opt->psk_key_len) != DTLS_OK) {
            rt_errf(err, errlen, "psk: identity or key has a bad length");
            goto fail;
        }
    }
    if (role == DTLS_ROLE_SERVER && opt->psk_hint &&
        dtls_config_set_psk_hint(cfg, opt->psk_hint) != DTLS_OK) {
        rt_errf(err, errlen, "pskHint: too long");
        goto fail;
    }
    msg[0] = '\0';
    if (dtls_config_check(cfg, role, msg, sizeof msg) != DTLS_OK) {
        /* The engine's message names what is wrong (key/cert mismatch...). */
        rt_errf(err, errlen, "%s", msg[0] ? msg : "invalid TLS options");
        goto fail;
    }
    return cfg;
fail:
    dtls_config_free(cfg);
    return NULL;
}

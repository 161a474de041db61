/* server.c — the server's handshake state machine (RFC 5246 7.3, RFC 6347
 * 4.2): one function per expected message, each checking the message
 * against the state before acting. Flights go out through handshake.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "keyex.h"
#include "sig10.h"

/* ---- ClientHello ---- */

/* The client's lists, read in place from its hello (valid while the
 * hello is being handled), so no list is ever cut short. */
typedef struct offer {
    dtls_rd groups;
    bool has_groups;
    dtls_rd sig_schemes;
    bool has_sig_schemes;
    dtls_rd ticket;          /* RFC 5077 3.2: empty asks for one */
    dtls_rd cid;             /* RFC 9146 3: the CID the client wants */
    bool has_cid;
} offer;

/* Whether a list of 16-bit values (read by value: the caller's reader
 * stays where it was) holds v. Suites, groups and schemes alike. */
static bool list16_has(dtls_rd list, uint16_t v)
{
    while (rd_left(&list) >= 2)
        if (rd_u16(&list) == v)
            return true;
    return false;
}

/* RFC 5246 7.4.1.4: each extension at most once; unknown ones ignored. */
static int parse_client_extensions(dtls_conn *c, dtls_rd exts, offer *o)
{
    dtls_hs *hs = c->hs;
    uint32_t seen = 0;
    while (rd_left(&exts) > 0) {
        uint16_t type = rd_u16(&exts);
        dtls_rd data = rd_vec(&exts, 2);
        if (!rd_ok(&exts))
            return DTLS_ALERT_DECODE_ERROR;
        int bit = type == EXT_SERVER_NAME ? 0 : type == EXT_SUPPORTED_GROUPS ? 1
                : type == EXT_EC_POINT_FORMATS ? 2 : type == EXT_SIGNATURE_ALGORITHMS ? 3
                : type == EXT_EXTENDED_MASTER_SECRET ? 4 : type == EXT_RENEGOTIATION_INFO ? 5
                : type == EXT_SESSION_TICKET ? 6 : type == EXT_CONNECTION_ID ? 7
                : type == EXT_ENCRYPT_THEN_MAC ? 8 : -1;
        if (bit < 0)
            continue;
        if (seen & (1u << bit))
            return DTLS_ALERT_DECODE_ERROR;
        seen |= 1u << bit;
        switch (type) {
        case EXT_SUPPORTED_GROUPS: {
            dtls_rd list = rd_vec(&data, 2);
            if (!rd_done(&data) || list.len % 2)
                return DTLS_ALERT_DECODE_ERROR;
            o->has_groups = true;
            o->groups = list;
            break;
        }
        case EXT_EC_POINT_FORMATS: {
            dtls_rd list = rd_vec(&data, 1);
            if (!rd_done(&data) || list.len == 0)
                return DTLS_ALERT_DECODE_ERROR;
            while (rd_left(&list) > 0)
                hs->peer_point_formats_ok |= rd_u8(&list) == 0; /* uncompressed */
            if (!hs->peer_point_formats_ok)
                return DTLS_ALERT_ILLEGAL_PARAMETER; /* RFC 8422 5.1.2 */
            break;
        }
        case EXT_SIGNATURE_ALGORITHMS: {
            dtls_rd list = rd_vec(&data, 2);
            if (!rd_done(&data) || list.len % 2 || list.len == 0)
                return DTLS_ALERT_DECODE_ERROR;
            o->has_sig_schemes = true;
            o->sig_schemes = list;
            break;
        }
        case EXT_EXTENDED_MASTER_SECRET:
            if (data.len != 0)
                return DTLS_ALERT_DECODE_ERROR;
            hs->peer_ems = true;
            break;
        case EXT_ENCRYPT_THEN_MAC: /* RFC 7366 2: empty */
            if (data.len != 0)
                return DTLS_ALERT_DECODE_ERROR;
            hs->peer_etm = true;
            break;
        case EXT_RENEGOTIATION_INFO: {
            /* RFC 5746 3.6, 3.7: empty, or the client's verify_data */
            int alert = reneg_parse_info(c, data);
            if (alert)
                return alert;
            break;
        }
        case EXT_SESSION_TICKET:
            hs->peer_tickets = true;
            o->ticket = data;
            break;
        case EXT_CONNECTION_ID:
            o->has_cid = true;
            o->cid = data;
            break;
        case EXT_SERVER_NAME: {
            /* RFC 6066 3: one host_name (type 0; never two of a type),
             * a valid host name (an IP literal is ignored), kept for the
             * host. */
            dtls_rd list = rd_vec(&data, 2);
            uint8_t name_type = rd_u8(&list);
            dtls_rd name = rd_vec(&list, 2);
            if (!rd_done(&data) || !rd_done(&list) || !rd_ok(&name) || name_type != 0
                || name.len == 0 || name.len > 255)
                return DTLS_ALERT_DECODE_ERROR;
            hostname_kind kind = hello_hostname_kind(name);
            if (kind == HOSTNAME_BAD)
                return DTLS_ALERT_ILLEGAL_PARAMETER;
            /* Not a name at all; libcoap and others send the address they
             * connect to. Interoperate: the host simply gets no name. */
            if (kind == HOSTNAME_IP_LITERAL)
                break;
            free(c->servername);
            if (!(c->servername = malloc(name.len + 1)))
                return DTLS_ALERT_INTERNAL_ERROR;
            memcpy(c->servername, name.p, name.len);
            c->servername[name.len] = '\0';
            break;
        }
        default:
            break;
        }
    }
    return rd_ok(&exts) ? 0 : DTLS_ALERT_DECODE_ERROR;
}

/* The first of our groups the client supports (RFC 8422 5.1.1; absent the
 * extension, any curve we like). */
static uint16_t choose_group(const offer *o)
{
    size_t n;
    const uint16_t *ours = hello_groups(&n);
    for (size_t i = 0; i < n; i++)
        if (!o->has_groups || list16_has(o->groups, ours[i]))
            return ours[i];
    return 0;
}

/* The scheme we sign ServerKeyExchange with: ours in order, offered by the
 * client (RFC 5246 7.4.1.4.1) and fitting our key. */
static uint16_t choose_sig_scheme(dtls_conn *c, const offer *o)
{
    size_t n;
    const uint16_t *ours = hello_sig_schemes(&n);
    for (size_t k = 0; k < 2 * n; k++) {
        /* First the scheme whose hash matches our curve, then any. */
        size_t i = k % n;
        if (k < n && !hello_scheme_is_natural(ours[i], c->cfg->key))
            continue;
        /* Without the extension the client takes SHA-1 (RFC 5246
         * 7.4.1.4.1), which we no longer sign with; SHA-256 is what such
         * clients accept in practice. */
        bool offered = !o->has_sig_schemes
            ? ours[i] == DTLS_SIG_ECDSA_SECP256R1_SHA256 || ours[i] == DTLS_SIG_RSA_PKCS1_SHA256
            : list16_has(o->sig_schemes, ours[i]);
        if (offered && dtls_sig_scheme_fits_key(ours[i], c->cfg->key))
            return ours[i];
    }
    return 0;
}


/* Server preference among the client's offer (the rule). */
static const dtls_suite *choose_suite(dtls_conn *c, const client_hello *ch, const offer *o)
{
    dtls_hs *hs = c->hs;
    const dtls_suite *usable[MAX_SUITES];
    size_t n = config_usable_suites(c->cfg, DTLS_ROLE_SERVER, usable, MAX_SUITES);
    for (size_t i = 0; i < n; i++) {
        const dtls_suite *s = usable[i];
        if (!list16_has(ch->suites, s->id) || !version_suite_ok(c->version, s))
            continue;
        /* A renegotiation keeps the CIDs in use, and those go with AEAD
         * suites only (suite_chosen would turn them off under the running
         * epoch). */
        if (hs->reneg && c->cid_on && s->cbc != DTLS_CBC_NONE)
            continue;
        uint16_t group = dtls_suite_uses_ecdhe(s) ? choose_group(o) : 0;
        if (dtls_suite_uses_ecdhe(s) && !group)
            continue;
        /* RFC 8422 5.1.1: the client's curves bind our ECDSA key too. */
        if (s->kx == DTLS_KX_ECDHE_ECDSA && o->has_groups
            && !list16_has(o->groups, hello_key_group(c->cfg->key)))
            continue;
        /* A scheme for our ServerKeyExchange signature: DTLS 1.2 names one;
         * DTLS 1.0 signs one fixed way (sig10.h); RSA key transport signs
         * nothing. */
        bool signs = dtls_suite_uses_cert(s) && s->kx != DTLS_KX_RSA
                     && c->version == DTLS1_2_VERSION;
        uint16_t scheme = signs ? choose_sig_scheme(c, o) : 0;
        if (signs && !scheme)
            continue;
        hs->group = group;
        hs->sig_scheme = scheme;
        return s;
    }
    return NULL;
}

static int write_server_hello(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    dtls_wr w = flight_msg_begin(c, 128 + SESSION_ID_MAX + MAX_CID_LEN);
    wr_u16(&w, c->version);
    wr_bytes(&w, hs->server_random, 32);
    /* A new session's ID, the resumed one's echoed, or none (RFC 5246
     * 7.4.1.3, RFC 5077 3.4). */
    wr_u8(&w, hs->session_id_len);
    wr_bytes(&w, hs->session_id, hs->session_id_len);
    wr_u16(&w, hs->suite->id);
    wr_u8(&w, 0);
    size_t exts = wr_vec_begin(&w, 2);
    reneg_write_info(c, &w);
    if (hs->peer_ems && c->cfg->ems) {
        wr_u16(&w, EXT_EXTENDED_MASTER_SECRET);
        wr_u16(&w, 0);
    }
    if (hs->peer_etm) { /* RFC 7366 2: agreed, for a CBC suite only */
        wr_u16(&w, EXT_ENCRYPT_THEN_MAC);
        wr_u16(&w, 0);
    }
    if (hs->renew_ticket) { /* RFC 5077 3.2: a NewSessionTicket follows */
        wr_u16(&w, EXT_SESSION_TICKET);
        wr_u16(&w, 0);
    }
    if (c->cid_on)
        cid_write_extension(c, &w);
    if (!hs->resumed && dtls_suite_uses_ecdhe(hs->suite) && hs->peer_point_formats_ok) {
        wr_u16(&w, EXT_EC_POINT_FORMATS);
        wr_u16(&w, 2);
        wr_u8(&w, 1);
        wr_u8(&w, 0);
    }
    wr_vec_end(&w, exts, 2);
    if (w.len == exts + 2)
        w.len = exts; /* no extensions at all: leave the block out */
    return flight_msg_end(c, HT_SERVER_HELLO, &w);
}

static int write_server_key_exchange(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    const dtls_suite *s = hs->suite;
    const char *hint = c->cfg->psk_hint;
    if (s->kx == DTLS_KX_PSK && !hint)
        return DTLS_OK; /* RFC 4279 2: omitted without a hint */
    if (s->kx == DTLS_KX_RSA)
        return DTLS_OK; /* RFC 5246 7.4.3: none with RSA key transport */
    size_t sig_max = c->cfg->key ? (size_t)EVP_PKEY_get_size(c->cfg->key) : 0;
    dtls_wr w = flight_msg_begin(c, 2 + MAX_PSK_IDENTITY + 4 + DTLS_MAX_POINT_LEN + 4 + sig_max);
    if (dtls_suite_uses_psk(s)) {
        size_t m = wr_vec_begin(&w, 2);
        if (hint)
            wr_bytes(&w, hint, strlen(hint));
        wr_vec_end(&w, m, 2);
    }
    if (dtls_suite_uses_ecdhe(s)) {
        size_t params_at = w.len;
        if (kx_write_ecdhe_params(c, &w) != DTLS_OK)
            return DTLS_ERR_INTERNAL;
        if (dtls_suite_uses_cert(s)) {
            /* RFC 8422 5.4: signed over both randoms and the params. */
            size_t params_len = w.len - params_at;
            uint8_t tbs[64 + 4 + DTLS_MAX_POINT_LEN];
            memcpy(tbs, hs->client_random, 32);
            memcpy(tbs + 32, hs->server_random, 32);
            memcpy(tbs + 64, w.p + params_at, params_len);
            /* DTLS 1.0 has no SignatureAndHashAlgorithm (RFC 4492 5.4). */
            bool dtls10 = c->version == DTLS1_0_VERSION;
            if (!dtls10)
                wr_u16(&w, hs->sig_scheme);
            size_t m = wr_vec_begin(&w, 2);
            size_t sig_len = wr_room(&w);
            if (sig_len < sig_max
                || (dtls10 ? dtls_sig10_sign(c->cfg->key, tbs, 64 + params_len, wr_ptr(&w), &sig_len)
                           : dtls_sig_sign(c->cfg->key, hs->sig_scheme, tbs, 64 + params_len,
                                           wr_ptr(&w), &sig_len)) != 0)
                return DTLS_ERR_INTERNAL;
            w.len += sig_len;
            wr_vec_end(&w, m, 2);
        }
    }
    return flight_msg_end(c, HT_SERVER_KEY_EXCHANGE, &w);
}

static int write_certificate_request(dtls_conn *c)
{
    dtls_wr w = flight_msg_begin(c, 64);
    wr_u8(&w, 2);
    wr_u8(&w, 64); /* ecdsa_sign */
    wr_u8(&w, 1);  /* rsa_sign */
    if (c->version == DTLS1_2_VERSION) /* RFC 4346 7.4.4 has no such list */
        hello_write_sig_schemes(&w);
    wr_u16(&w, 0); /* no CA names: any (RFC 5246 7.4.4) */
    return flight_msg_end(c, HT_CERTIFICATE_REQUEST, &w);
}

static int send_server_flight(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    dtls_wr w;
    int rc = flight_reset(c);
    if (rc == DTLS_OK)
        rc = write_server_hello(c);
    if (rc == DTLS_OK && dtls_suite_uses_cert(hs->suite))
        rc = kx_write_certificate(c, false);
    if (rc == DTLS_OK)
        rc = write_server_key_exchange(c);
    hs->cert_requested = c->cfg->request_cert && dtls_suite_uses_cert(hs->suite);
    if (rc == DTLS_OK && hs->cert_requested)
        rc = write_certificate_request(c);
    if (rc == DTLS_OK) {
        w = flight_msg_begin(c, 0);
        rc = flight_msg_end(c, HT_SERVER_HELLO_DONE, &w);
    }
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not build the server flight");
    flight_start_timer(c, now_ms);
    return DTLS_OK;
}

/* Our Finished and the ChangeCipherSpec before it; with a ticket to
 * issue, the NewSessionTicket before both (RFC 5077 3.3). The verify_data
 * covers everything up to here, the ticket included. */
static int write_server_finish(dtls_conn *c, uint64_t now_ms)
{
    uint8_t verify[12];
    int rc = server_write_ticket(c, now_ms);
    if (rc == DTLS_OK)
        rc = flight_add_ccs(c);
    if (rc == DTLS_OK)
        rc = keys_finished(c, false, verify);
    if (rc == DTLS_OK) {
        dtls_wr w = flight_msg_begin(c, 12);
        wr_bytes(&w, verify, 12);
        rc = flight_msg_end(c, HT_FINISHED, &w);
    }
    return rc;
}

/* RFC 5246 7.3, abbreviated: ServerHello, [NewSessionTicket],
 * ChangeCipherSpec, Finished; the client's CCS and Finished end it. */
static int send_resumed_flight(dtls_conn *c, uint64_t now_ms)
{
    int rc = flight_reset(c);
    if (rc == DTLS_OK)
        rc = session_adopt(c);
    if (rc == DTLS_OK)
        rc = write_server_hello(c);
    if (rc == DTLS_OK)
        rc = keys_install(c);
    if (rc == DTLS_OK)
        rc = write_server_finish(c, now_ms);
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not build the resumed flight");
    flight_start_timer(c, now_ms);
    return hs_wait_ccs(c, now_ms, HS_S_WAIT_CCS);
}

/* What the suite decides in our answer: Encrypt-then-MAC only with a CBC
 * suite (RFC 7366 3); Connection IDs only with an AEAD one (we do not
 * implement RFC 9146 5.1's CBC MAC input). */
static void suite_chosen(dtls_conn *c)
{
    bool cbc = c->hs->suite->cbc != DTLS_CBC_NONE;
    c->hs->peer_etm = c->hs->peer_etm && cbc && c->cfg->etm;
    if (cbc)
        c->cid_on = false;
}

static int on_client_hello(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    client_hello ch;
    if (!client_hello_parse(m->body, m->len, &ch))
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ClientHello");
    /* A connection exists only for a verified cookie (RFC 6347 4.2.1);
     * a renegotiation comes over the association itself. */
    if (!hs->reneg && !cookie_check(c->cfg, hs->peer_addr, hs->peer_addr_len, &ch))
        return conn_fail(c, -1, "ClientHello without a valid cookie");
    /* RFC 6347 4.1: the highest version both speak; older than our
     * minimum (DTLS 1.0 unless enabled) is refused, and so is a fallback
     * retry when we could have done better (RFC 7507). */
    /* A renegotiation keeps the session's version, as OpenSSL does: a
     * client_version below it is refused. */
    int valert = hs->reneg ? (version_at_least(ch.version, c->version) && (ch.version >> 8) == 0xFE
                              ? 0 : DTLS_ALERT_PROTOCOL_VERSION)
                           : version_server_choose(c->cfg, ch.version,
                                                   list16_has(ch.suites, DTLS_SCSV_FALLBACK),
                                                   &c->version);
    if (valert)
        return conn_fail(c, valert, (ch.version >> 8) != 0xFE
                         ? "ClientHello version is not a DTLS version"
                         : valert == DTLS_ALERT_INAPPROPRIATE_FALLBACK
                         ? "fallback to an older version than we both speak"
                         : "client offers no DTLS version we have enabled");
    hs->client_version = ch.version;
    bool null_compression = false;
    while (rd_left(&ch.compressions) > 0)
        null_compression |= rd_u8(&ch.compressions) == 0;
    if (!null_compression)
        return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "no null compression offered");
    offer o = { .has_groups = false };
    int alert = parse_client_extensions(c, ch.extensions, &o);
    if (alert)
        return conn_fail(c, alert, "bad ClientHello extensions");
    int rc = reneg_check_hello(c, list16_has(ch.suites, DTLS_SCSV_RENEGOTIATION));
    if (rc != DTLS_OK)
        return rc;
    /* RFC 9146 3: a CID each way when both sides want the extension. */
    if (reneg_stage_cid(c, o.has_cid, o.cid, &alert)) {
        if (alert)
            return conn_fail(c, alert, "a renegotiation may keep Connection IDs, not drop them");
    } else if (o.has_cid && c->cfg->cid_len >= 0) {
        if (!cid_parse_extension(c, o.cid))
            return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed connection_id extension");
        if (cid_make_ours(c) != DTLS_OK)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "no randomness");
        c->cid_on = true;
    }
    memcpy(hs->client_random, ch.random, 32);
    if (!hs->reneg)
        memcpy(c->hello_tag, ch.random, sizeof c->hello_tag);
    if (!config_public_random(c->cfg, hs->server_random, 32))
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "no randomness");
    transcript_add_msg(hs, m);
    /* Our numbering follows the client's (RFC 6347 4.2.2), or our
     * HelloRequest's. */
    if (!hs->reneg_requested)
        hs->next_send_seq = m->seq;
    /* An unknown, expired, tampered or foreign ticket or ID is no error:
     * the handshake is simply a full one (RFC 5077 3.4). */
    /* A renegotiation makes a new session: always a full handshake. */
    if (!hs->reneg && server_find_session(c, now_ms, &ch, o.ticket.p, o.ticket.len)) {
        conn_log(c, DTLS_LOG_FINE, "ClientHello: resuming %s", hs->suite->name);
        suite_chosen(c);
        return send_resumed_flight(c, now_ms);
    }
    hs->suite = choose_suite(c, &ch, &o);
    if (!hs->suite)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE, "no cipher suite in common");
    suite_chosen(c);
    if ((rc = reneg_check_etm(c)) != DTLS_OK)
        return rc;
    if (server_new_session(c) != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "no randomness");
    rc = send_server_flight(c, now_ms);
    if (rc != DTLS_OK)
        return rc;
    hs->state = hs->cert_requested ? HS_S_WAIT_CERTIFICATE : HS_S_WAIT_CLIENT_KEY_EXCHANGE;
    conn_log(c, DTLS_LOG_FINE, "ClientHello: chose %s", hs->suite->name);
    return DTLS_OK;
}

/* ---- the client's flight ---- */

static int on_certificate(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    bool empty;
    int alert = kx_parse_certificate(c, m, &empty);
    if (alert)
        return conn_fail(c, alert, "bad client Certificate");
    if (empty && c->cfg->require_cert)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE, "client sent no certificate");
    if (!empty && c->cfg->ca) {
        char why[160];
        alert = dtls_chain_verify(c->cfg->ca, &hs->peer_chain, NULL, DTLS_PURPOSE_CLIENT,
                                  why, sizeof why);
        if (alert)
            return conn_fail(c, alert, why);
    } else if (!empty && c->cfg->require_cert) {
        return conn_fail(c, DTLS_ALERT_UNKNOWN_CA, "no CA configured to verify client certificates");
    }
    /* RFC 5246 7.4.6: the client signs CertificateVerify with this key. */
    const char *ku_why;
    if (!empty && (alert = dtls_cert_key_usage_alert(hs->peer_chain.certs[0], DTLS_KU_SIGN, &ku_why)))
        return conn_fail(c, alert, ku_why);
    hs->peer_sent_cert = !empty;
    transcript_add_msg(hs, m);
    hs->state = HS_S_WAIT_CLIENT_KEY_EXCHANGE;
    return DTLS_OK;
}

/* RFC 4279 5: ask the host for the identity's key. */
static int psk_for_identity(dtls_conn *c, dtls_rd id, uint8_t *key, size_t *key_len)
{
    if (!c->cfg->cb.psk_lookup)
        return DTLS_ALERT_HANDSHAKE_FAILURE;
    if (id.len == 0 || id.len > MAX_PSK_IDENTITY)
        return DTLS_ALERT_UNKNOWN_PSK_IDENTITY;
    int n = c->cfg->cb.psk_lookup(c->user, id.p, id.len, key, MAX_PSK_KEY);
    if (n == -1 || n == 0)
        return DTLS_ALERT_UNKNOWN_PSK_IDENTITY;
    if (n < 0 || n > MAX_PSK_KEY)
        return DTLS_ALERT_INTERNAL_ERROR;
    *key_len = (size_t)n;
    return kx_keep_psk_identity(c, id.p, id.len) == DTLS_OK ? 0 : DTLS_ALERT_INTERNAL_ERROR;
}

/* After the client's key exchange: keys, then CertificateVerify or CCS. */
static int client_keys_ready(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    transcript_add_msg(c->hs, m);
    if (keys_master_secret(c) != DTLS_OK || keys_install(c) != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "key derivation failed");
    if (c->hs->peer_sent_cert) {
        c->hs->state = HS_S_WAIT_CERTIFICATE_VERIFY;
        return DTLS_OK;
    }
    return hs_wait_ccs(c, now_ms, HS_S_WAIT_CCS);
}

/* RSA key transport (RFC 5246 7.4.7.1): a malformed vector is a decode
 * error, but whatever the ciphertext holds the handshake goes on with the
 * premaster it yields or a random one (implicit rejection, keyex.h): a bad
 * PKCS#1 block, length or version shows only as a Finished that does not
 * verify, exactly like a wrong key. */
static int rsa_client_key_exchange(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    const uint8_t *enc;
    size_t enc_len;
    if (dtls_rsa_cke_parse(m->body, m->len, &enc, &enc_len) != 0)
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ClientKeyExchange");
    if (dtls_rsa_premaster_decrypt(c->cfg->key, enc, enc_len, hs->client_version,
                                   hs->premaster) != 0)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "RSA key transport unavailable");
    hs->premaster_len = DTLS_PREMASTER_LEN;
    return client_keys_ready(c, now_ms, m);
}

static int on_client_key_exchange(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    const dtls_suite *s = hs->suite;
    dtls_rd r = rd_init(m->body, m->len);
    dtls_rd identity = rd_init(NULL, 0);
    if (dtls_suite_uses_psk(s))
        identity = rd_vec(&r, 2);
    if (s->kx == DTLS_KX_RSA)
        return rsa_client_key_exchange(c, now_ms, m);
    dtls_rd point = rd_init(NULL, 0);
    if (dtls_suite_uses_ecdhe(s))
        point = rd_vec(&r, 1);
    if (!rd_done(&r) || !rd_ok(&identity) || !rd_ok(&point))
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ClientKeyExchange");
    uint8_t z[DTLS_MAX_ECDH_SECRET];
    size_t zlen = 0;
    int alert = 0;
    if (dtls_suite_uses_ecdhe(s))
        alert = kx_ecdhe_secret(c, point.p, point.len, z, &zlen);
    if (!alert && dtls_suite_uses_psk(s)) {
        uint8_t psk[MAX_PSK_KEY];
        size_t psk_len = 0;
        alert = psk_for_identity(c, identity, psk, &psk_len);
        if (c->state == DTLS_STATE_CLOSED) { /* the host closed us from its lookup */
            OPENSSL_cleanse(psk, sizeof psk);
            OPENSSL_cleanse(z, sizeof z);
            return DTLS_ERR_CLOSED;
        }
        if (!alert && kx_psk_premaster(hs, s->kx == DTLS_KX_ECDHE_PSK ? z : NULL, zlen,
                                       psk, psk_len) != DTLS_OK)
            alert = DTLS_ALERT_INTERNAL_ERROR;
        OPENSSL_cleanse(psk, sizeof psk);
    } else if (!alert) {
        memcpy(hs->premaster, z, zlen);
        hs->premaster_len = zlen;
    }
    OPENSSL_cleanse(z, sizeof z);
    if (alert)
        return conn_fail(c, alert, alert == DTLS_ALERT_UNKNOWN_PSK_IDENTITY
                         ? "unknown PSK identity" : "key exchange failed");
    return client_keys_ready(c, now_ms, m);
}

static int on_certificate_verify(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    dtls_rd r = rd_init(m->body, m->len);
    bool dtls10 = c->version == DTLS1_0_VERSION; /* no scheme: RFC 4346 7.4.8 */
    uint16_t scheme = dtls10 ? 0 : rd_u16(&r);
    dtls_rd sig = rd_vec(&r, 2);
    if (!rd_done(&r) || !rd_ok(&sig))
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed CertificateVerify");
    if (!dtls10 && !hello_peer_scheme_ok(scheme, hs->peer_key))
        return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "CertificateVerify scheme not offered");
    /* RFC 5246 7.4.8: over every handshake message before this one. */
    if (hs->transcript_len == SIZE_MAX
        || (dtls10 ? dtls_sig10_verify(hs->peer_key, hs->transcript, hs->transcript_len,
                                       sig.p, sig.len)
                   : dtls_sig_verify(hs->peer_key, scheme, hs->transcript, hs->transcript_len,
                                     sig.p, sig.len)) != 0)
        return conn_fail(c, DTLS_ALERT_DECRYPT_ERROR, "CertificateVerify does not verify");
    transcript_add_msg(hs, m);
    return hs_wait_ccs(c, now_ms, HS_S_WAIT_CCS);
}

static int on_finished(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    int rc = keys_check_finished(c, m);
    if (rc != DTLS_OK)
        return rc;
    if (hs->resumed) { /* the client's Finished ends an abbreviated handshake */
        conn_established(c, now_ms);
        return DTLS_OK;
    }
    transcript_add_msg(hs, m);
    server_remember_session(c, now_ms);
    /* Our final flight: [NewSessionTicket], ChangeCipherSpec and Finished
     * (RFC 5246 7.3, RFC 5077 3.1), in a fresh flight sized to what it
     * holds: it outlives the handshake (RFC 6347 4.2.4), and the previous
     * one was a whole certificate chain. */
    flight_free(c);
    rc = flight_reset(c);
    if (rc == DTLS_OK)
        rc = write_server_finish(c, now_ms);
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not send Finished");
    hs->final_flight_ours = true;
    conn_established(c, now_ms);
    return DTLS_OK;
}

/* What the server accepts in each state (RFC 5246 7.3, flight 5 of
 * RFC 6347 4.2.4); ChangeCipherSpec is handled by handshake.c. */
static const hs_expect SERVER_EXPECTS[] = {
    { HS_S_WAIT_CLIENT_HELLO, HT_CLIENT_HELLO, on_client_hello },
    { HS_S_WAIT_CERTIFICATE, HT_CERTIFICATE, on_certificate },
    { HS_S_WAIT_CLIENT_KEY_EXCHANGE, HT_CLIENT_KEY_EXCHANGE, on_client_key_exchange },
    { HS_S_WAIT_CERTIFICATE_VERIFY, HT_CERTIFICATE_VERIFY, on_certificate_verify },
    { HS_S_WAIT_FINISHED, HT_FINISHED, on_finished },
};

int server_handle(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    return hs_dispatch_expected(c, now_ms, m, SERVER_EXPECTS,
                                sizeof SERVER_EXPECTS / sizeof SERVER_EXPECTS[0]);
}

/* client.c — the client's handshake state machine (RFC 5246 7.3, RFC 6347
 * 4.2): ClientHello (again with the cookie after a HelloVerifyRequest),
 * then one function per server message, checked against the state.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "keyex.h"
#include "sig10.h"

/* hs->sig_scheme for a DTLS 1.0 CertificateVerify, which names no scheme
 * (sig10.h): a private-use value that never goes on the wire. */
enum { SIG_DTLS10 = 0xFFFF };

static bool is_ip_literal(const char *name)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
    ASN1_OCTET_STRING_free(ip);
    return ip != NULL;
}

static int write_client_hello(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    const dtls_suite *suites[MAX_SUITES];
    size_t nsuites = config_usable_suites(c->cfg, DTLS_ROLE_CLIENT, suites, MAX_SUITES);
    if (nsuites == 0)
        return DTLS_ERR_STATE;
    dtls_wr w = flight_msg_begin(c, 512 + 2 * MAX_SUITES + 255 + 255 + SESSION_ID_MAX
                                    + MAX_CID_LEN + hs->resume.ticket_len);
    wr_u16(&w, c->cfg->max_version); /* RFC 6347 4.1: the newest we speak */
    wr_bytes(&w, hs->client_random, 32);
    /* The session we offer to resume (RFC 5246 7.4.1.2), if any. */
    wr_u8(&w, hs->resuming ? hs->session_id_len : 0);
    wr_bytes(&w, hs->session_id, hs->resuming ? hs->session_id_len : 0);
    size_t m = wr_vec_begin(&w, 1);
    wr_bytes(&w, hs->cookie, hs->cookie_len);
    wr_vec_end(&w, m, 1);
    m = wr_vec_begin(&w, 2);
    bool ecc = false, cbc = false;
    for (size_t i = 0; i < nsuites; i++) {
        wr_u16(&w, suites[i]->id);
        ecc |= dtls_suite_uses_ecdhe(suites[i]);
        cbc |= suites[i]->cbc != DTLS_CBC_NONE;
    }
    wr_vec_end(&w, m, 2);
    wr_u8(&w, 1);
    wr_u8(&w, 0); /* null compression */
    size_t exts = wr_vec_begin(&w, 2);
    if (hs->servername && !is_ip_literal(hs->servername)) {
        /* RFC 6066 3: one host_name, never an IP literal. */
        size_t len = strlen(hs->servername);
        wr_u16(&w, EXT_SERVER_NAME);
        wr_u16(&w, (uint16_t)(len + 5));
        wr_u16(&w, (uint16_t)(len + 3));
        wr_u8(&w, 0);
        wr_u16(&w, (uint16_t)len);
        wr_bytes(&w, hs->servername, len);
    }
    if (ecc) {
        size_t n;
        const uint16_t *groups = hello_groups(&n);
        wr_u16(&w, EXT_SUPPORTED_GROUPS);
        size_t e = wr_vec_begin(&w, 2);
        size_t l = wr_vec_begin(&w, 2);
        for (size_t i = 0; i < n; i++)
            wr_u16(&w, groups[i]);
        wr_vec_end(&w, l, 2);
        wr_vec_end(&w, e, 2);
        wr_u16(&w, EXT_EC_POINT_FORMATS);
        wr_u16(&w, 2);
        wr_u8(&w, 1);
        wr_u8(&w, 0);
    }
    if (c->cfg->max_version == DTLS1_2_VERSION) {
        /* RFC 5246 7.4.1.4.1: not offered by a client that offers only
         * older versions. */
        wr_u16(&w, EXT_SIGNATURE_ALGORITHMS);
        size_t e = wr_vec_begin(&w, 2);
        hello_write_sig_schemes(&w);
        wr_vec_end(&w, e, 2);
    }
    if (c->cfg->ems) {
        wr_u16(&w, EXT_EXTENDED_MASTER_SECRET);
        wr_u16(&w, 0);
    }
    if (cbc && c->cfg->etm) { /* RFC 7366 2: offered whenever a CBC suite is */
        wr_u16(&w, EXT_ENCRYPT_THEN_MAC);
        wr_u16(&w, 0);
    }
    reneg_write_info(c, &w); /* RFC 5746 3.4, 3.5 */
    if (c->cfg->tickets && c->cfg->ems) {
        /* RFC 5077 3.2: our ticket, or empty to ask for one. */
        size_t tlen = hs->resuming ? hs->resume.ticket_len : 0;
        wr_u16(&w, EXT_SESSION_TICKET);
        wr_u16(&w, (uint16_t)tlen);
        wr_bytes(&w, hs->resume.ticket, tlen);
    }
    if (hs->reneg ? c->cid_on : c->cfg->cid_len >= 0)
        cid_write_extension(c, &w);
    wr_vec_end(&w, exts, 2);
    return flight_msg_end(c, HT_CLIENT_HELLO, &w);
}

static int send_client_hello(dtls_conn *c, uint64_t now_ms)
{
    int rc = flight_reset(c);
    if (rc == DTLS_OK)
        rc = write_client_hello(c);
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not send ClientHello");
    flight_start_timer(c, now_ms);
    return DTLS_OK;
}

int client_start(dtls_conn *c, uint64_t now_ms)
{
    if (!config_public_random(c->cfg, c->hs->client_random, 32))
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "no randomness");
    /* A renegotiation keeps the negotiated record version (RFC 6347 4.1),
     * offers no session and keeps our CID (reneg.c). */
    if (!c->hs->reneg) {
        c->version = version_client_record(c->cfg);
        client_check_offer(c, now_ms);
        if (c->cfg->cid_len >= 0 && cid_make_ours(c) != DTLS_OK)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "no randomness");
    }
    return send_client_hello(c, now_ms);
}

/* RFC 6347 4.2.1: resend the hello with the cookie; neither the first
 * hello nor the HelloVerifyRequest count in the transcript. */
/* Before the server's ChangeCipherSpec: its NewSessionTicket, when it
 * said one would come (RFC 5077 3.3). An early CCS waits for it. */
static int await_server_finish(dtls_conn *c, uint64_t now_ms)
{
    if (c->hs->peer_tickets) {
        c->hs->state = HS_C_WAIT_NEW_SESSION_TICKET;
        return DTLS_OK;
    }
    return hs_wait_ccs(c, now_ms, HS_C_WAIT_CCS);
}

static int on_hello_verify_request(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    dtls_rd r = rd_init(m->body, m->len);
    rd_u16(&r); /* server_version: any DTLS version may appear here */
    dtls_rd cookie = rd_vec(&r, 1);
    if (!rd_done(&r) || !rd_ok(&cookie) || cookie.len == 0)
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed HelloVerifyRequest");
    memcpy(hs->cookie, cookie.p, cookie.len);
    hs->cookie_len = cookie.len;
    hs->transcript_len = 0;
    return send_client_hello(c, now_ms);
}

static int parse_server_extensions(dtls_conn *c, dtls_rd exts)
{
    dtls_hs *hs = c->hs;
    uint32_t seen = 0;
    while (rd_left(&exts) > 0) {
        uint16_t type = rd_u16(&exts);
        dtls_rd data = rd_vec(&exts, 2);
        if (!rd_ok(&exts))
            return DTLS_ALERT_DECODE_ERROR;
        int bit;
        switch (type) {
        case EXT_RENEGOTIATION_INFO: {
            bit = 0; /* RFC 5746 3.4, 3.5 */
            int alert = reneg_parse_info(c, data);
            if (alert)
                return alert;
            break;
        }
        case EXT_EXTENDED_MASTER_SECRET:
            bit = 1;
            if (data.len != 0 || !c->cfg->ems)
                return DTLS_ALERT_UNSUPPORTED_EXTENSION;
            hs->peer_ems = true;
            break;
        case EXT_ENCRYPT_THEN_MAC:
            bit = 6; /* RFC 7366 3: only with a CBC suite, and only if we offered it */
            if (data.len != 0 || hs->suite->cbc == DTLS_CBC_NONE || !c->cfg->etm)
                return DTLS_ALERT_UNSUPPORTED_EXTENSION;
            hs->peer_etm = true;
            break;
        case EXT_EC_POINT_FORMATS: {
            bit = 2;
            /* RFC 8422 5.2: if present it must allow uncompressed points. */
            dtls_rd list = rd_vec(&data, 1);
            bool uncompressed = false;
            while (rd_left(&list) > 0)
                uncompressed |= rd_u8(&list) == 0;
            if (!rd_done(&data) || !rd_ok(&list) || !uncompressed)
                return DTLS_ALERT_ILLEGAL_PARAMETER;
            break;
        }
        case EXT_SERVER_NAME:
            bit = 3; /* empty acknowledgement, RFC 6066 3 */
            if (data.len != 0 || !hs->servername)
                return DTLS_ALERT_UNSUPPORTED_EXTENSION;
            break;
        case EXT_SESSION_TICKET:
            bit = 4; /* RFC 5077 3.2: empty, a NewSessionTicket will come */
            if (data.len != 0 || !c->cfg->tickets || !c->cfg->ems)
                return DTLS_ALERT_UNSUPPORTED_EXTENSION;
            hs->peer_tickets = true;
            break;
        case EXT_CONNECTION_ID:
            bit = 5; /* RFC 9146 3: the CID the server wants on our records */
            if (c->cfg->cid_len < 0 || hs->suite->cbc != DTLS_CBC_NONE) /* CIDs with AEAD only */
                return DTLS_ALERT_UNSUPPORTED_EXTENSION;
            int alert;
            if (reneg_stage_cid(c, true, data, &alert)) {
                if (alert)
                    return alert;
                break;
            }
            if (!cid_parse_extension(c, data))
                return DTLS_ALERT_DECODE_ERROR;
            c->cid_on = true;
            break;
        default:
            /* RFC 5246 7.4.1.4: nothing we did not ask for. */
            return DTLS_ALERT_UNSUPPORTED_EXTENSION;
        }
        if (seen & (1u << bit))
            return DTLS_ALERT_DECODE_ERROR;
        seen |= 1u << bit;
    }
    return rd_ok(&exts) ? 0 : DTLS_ALERT_DECODE_ERROR;
}

/* The server resumes our session: the suite must be the session's, and a
 * session made with the extended master secret only resumes with it
 * (RFC 7627 5.3: the client aborts otherwise). Keys come from the
 * session's master secret and the new randoms. */
static int resume_accepted(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    if (hs->suite->id != hs->resume.suite_id)
        return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "resumed with another suite");
    if (!hs->peer_ems)
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE, "resumed without extended master secret");
    if (hs->resume.version != c->version)
        return conn_fail(c, DTLS_ALERT_PROTOCOL_VERSION, "resumed with another version");
    if (session_adopt(c) != DTLS_OK || keys_install(c) != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "key derivation failed");
    return await_server_finish(c, now_ms);
}

static int on_server_hello(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    dtls_rd r = rd_init(m->body, m->len);
    uint16_t version = rd_u16(&r);
    rd_copy(&r, hs->server_random, 32);
    dtls_rd sid = rd_vec(&r, 1);
    uint16_t suite_id = rd_u16(&r);
    uint8_t compression = rd_u8(&r);
    dtls_rd exts = rd_left(&r) ? rd_vec(&r, 2) : rd_init(NULL, 0);
    if (!rd_done(&r) || !rd_ok(&sid) || sid.len > 32 || !rd_ok(&exts))
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ServerHello");
    /* RFC 6347 4.1: one we speak, no newer than we offered. A server
     * answering 1.0 to a client that did not enable it is refused here. */
    if (!version_at_least(version, c->cfg->min_version)
        || !version_at_least(c->cfg->max_version, version)
        || (version != DTLS1_2_VERSION && version != DTLS1_0_VERSION))
        return conn_fail(c, DTLS_ALERT_PROTOCOL_VERSION, "server chose a version we do not speak");
    if (hs->reneg && version != c->version)
        return conn_fail(c, DTLS_ALERT_PROTOCOL_VERSION, "the renegotiation changes the version");
    c->version = version;
    const dtls_suite *offered[MAX_SUITES];
    size_t n = config_usable_suites(c->cfg, DTLS_ROLE_CLIENT, offered, MAX_SUITES);
    hs->suite = NULL;
    for (size_t i = 0; i < n; i++)
        if (offered[i]->id == suite_id && version_suite_ok(version, offered[i]))
            hs->suite = offered[i];
    if (!hs->suite || compression != 0)
        return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "server chose what we did not offer");
    int alert = parse_server_extensions(c, exts);
    if (alert)
        return conn_fail(c, alert, "bad ServerHello extensions");
    int rc = reneg_check_hello(c, false);
    if (rc == DTLS_OK)
        rc = reneg_check_etm(c);
    if (rc != DTLS_OK)
        return rc;
    reneg_server_random_check(c);
    transcript_add_msg(hs, m);
    /* RFC 5246 7.4.1.3: our session ID echoed means "resumed". */
    if (hs->resuming && sid.len == hs->session_id_len
        && memcmp(sid.p, hs->session_id, sid.len) == 0)
        return resume_accepted(c, now_ms);
    hs->resuming = false;
    memcpy(hs->session_id, sid.p, sid.len);
    hs->session_id_len = (uint8_t)sid.len;
    hs->state = dtls_suite_uses_cert(hs->suite) ? HS_C_WAIT_CERTIFICATE : HS_C_WAIT_SERVER_KEY_EXCHANGE;
    return DTLS_OK;
}

static int on_certificate(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    bool empty;
    int alert = kx_parse_certificate(c, m, &empty);
    if (!alert && empty)
        alert = DTLS_ALERT_DECODE_ERROR; /* RFC 5246 7.4.2: the server must send one */
    if (alert)
        return conn_fail(c, alert, "bad server Certificate");
    /* A ServerKeyExchange signed over the last handshake's randoms shows
     * only that key's holder signed once, for that handshake: no proof for
     * a new identity (reneg_server_random_check). */
    if (hs->reneg_old_randoms
        && (!c->peer_cert_der || hs->peer_chain.der_len[0] != c->peer_cert_der_len
            || memcmp(hs->peer_chain.der[0], c->peer_cert_der, c->peer_cert_der_len) != 0))
        return conn_fail(c, DTLS_ALERT_HANDSHAKE_FAILURE,
                         "the server answers from its last handshake's randoms with another certificate");
    int key_type = EVP_PKEY_get_base_id(hs->peer_key);
    /* RSA key transport encrypts to a plain RSA key (not RSA-PSS). */
    if ((hs->suite->kx == DTLS_KX_ECDHE_ECDSA) != (key_type == EVP_PKEY_EC)
        || (hs->suite->kx == DTLS_KX_RSA && key_type != EVP_PKEY_RSA))
        return conn_fail(c, DTLS_ALERT_UNSUPPORTED_CERTIFICATE, "certificate key does not fit the suite");
    if (c->cfg->verify_peer) {
        char why[160];
        if (!c->cfg->ca)
            return conn_fail(c, DTLS_ALERT_UNKNOWN_CA, "no CA to verify the server (set ca, or rejectUnauthorized = false)");
        /* A chain that verifies proves nothing about whom we reach unless
         * its name is ours (RFC 6125 6): no name, no check. */
        if (c->cfg->check_name && !hs->servername)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "no server name to check the certificate against "
                             "(set servername, or checkServerIdentity = false)");
        alert = dtls_chain_verify(c->cfg->ca, &hs->peer_chain, c->cfg->check_name ? hs->servername : NULL,
                                  DTLS_PURPOSE_SERVER, why, sizeof why);
        if (alert)
            return conn_fail(c, alert, why);
    }
    /* RFC 5246 7.4.2: RSA key transport encrypts to the key, the others
     * verify its signature; the key usage must allow that, verified or not. */
    const char *ku_why;
    alert = dtls_cert_key_usage_alert(hs->peer_chain.certs[0],
                                      hs->suite->kx == DTLS_KX_RSA ? DTLS_KU_ENCIPHER : DTLS_KU_SIGN,
                                      &ku_why);
    if (alert)
        return conn_fail(c, alert, ku_why);
    transcript_add_msg(hs, m);
    /* RSA key transport: no ServerKeyExchange (RFC 5246 7.4.3). */
    hs->state = hs->suite->kx == DTLS_KX_RSA ? HS_C_WAIT_CERT_REQUEST_OR_DONE
                                              : HS_C_WAIT_SERVER_KEY_EXCHANGE;
    return DTLS_OK;
}

static int on_server_key_exchange(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    const dtls_suite *s = hs->suite;
    dtls_rd r = rd_init(m->body, m->len);
    if (dtls_suite_uses_psk(s)) {
        dtls_rd hint = rd_vec(&r, 2);
        if (!rd_ok(&hint) || hint.len > MAX_PSK_IDENTITY)
            return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "bad PSK identity hint");
        memcpy(hs->psk_hint, hint.p, hint.len);
        hs->psk_hint_len = hint.len;
    }
    if (dtls_suite_uses_ecdhe(s)) {
        const uint8_t *params = rd_ptr(&r);
        uint8_t curve_type = rd_u8(&r);
        hs->group = rd_u16(&r);
        dtls_rd point = rd_vec(&r, 1);
        size_t params_len = (size_t)(rd_ptr(&r) - params);
        if (!rd_ok(&r) || !rd_ok(&point))
            return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ServerKeyExchange");
        size_t ngroups;
        const uint16_t *groups = hello_groups(&ngroups);
        if (curve_type != 3 || !hello_list_has(groups, ngroups, hs->group))
            return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "server chose a group we did not offer");
        if (dtls_suite_uses_cert(s)) {
            bool dtls10 = c->version == DTLS1_0_VERSION; /* no scheme: RFC 4492 5.4 */
            uint16_t scheme = dtls10 ? 0 : rd_u16(&r);
            dtls_rd sig = rd_vec(&r, 2);
            if (!rd_done(&r) || !rd_ok(&sig))
                return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ServerKeyExchange");
            if (!dtls10 && !hello_peer_scheme_ok(scheme, hs->peer_key))
                return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "signature scheme we did not offer");
            uint8_t tbs[64 + 4 + 255];
            if (params_len > sizeof tbs - 64)
                return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "ServerKeyExchange too long");
            memcpy(tbs, hs->client_random, 32);
            memcpy(tbs + 32, hs->server_random, 32);
            memcpy(tbs + 64, params, params_len);
            if ((dtls10 ? dtls_sig10_verify(hs->peer_key, tbs, 64 + params_len, sig.p, sig.len)
                        : dtls_sig_verify(hs->peer_key, scheme, tbs, 64 + params_len,
                                          sig.p, sig.len)) != 0)
                return conn_fail(c, DTLS_ALERT_DECRYPT_ERROR, "ServerKeyExchange signature does not verify");
        }
        /* Our key now; the shared secret once we know we go on. */
        EVP_PKEY_free(hs->ecdhe);
        hs->ecdhe = dtls_ecdhe_generate(hs->group, hs->ecdhe_pub, &hs->ecdhe_pub_len);
        if (!hs->ecdhe)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "key generation failed");
        uint8_t z[DTLS_MAX_ECDH_SECRET];
        size_t zlen = 0;
        int alert = kx_ecdhe_secret(c, point.p, point.len, z, &zlen);
        if (alert)
            return conn_fail(c, alert, "bad server ECDH point");
        if (s->kx == DTLS_KX_ECDHE_PSK) {
            kx_psk_premaster(hs, z, zlen, c->cfg->psk_key, c->cfg->psk_key_len);
        } else {
            memcpy(hs->premaster, z, zlen);
            hs->premaster_len = zlen;
        }
        OPENSSL_cleanse(z, sizeof z);
    }
    if (!rd_done(&r))
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed ServerKeyExchange");
    transcript_add_msg(hs, m);
    hs->state = dtls_suite_uses_cert(s) ? HS_C_WAIT_CERT_REQUEST_OR_DONE : HS_C_WAIT_SERVER_HELLO_DONE;
    return DTLS_OK;
}

static int on_certificate_request(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_rd r = rd_init(m->body, m->len);
    dtls_rd types = rd_vec(&r, 1);
    bool dtls10 = c->version == DTLS1_0_VERSION; /* no scheme list: RFC 4346 7.4.4 */
    dtls_rd schemes = dtls10 ? rd_init(NULL, 0) : rd_vec(&r, 2);
    dtls_rd cas = rd_vec(&r, 2);
    if (!rd_done(&r) || !rd_ok(&types) || !rd_ok(&schemes) || !rd_ok(&cas) || types.len == 0)
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed CertificateRequest");
    dtls_hs *hs = c->hs;
    hs->cert_requested = true;
    /* Our key must be of a type the server asked for (RFC 5246 7.4.4:
     * rsa_sign 1, ecdsa_sign 64), and our certificate must let it sign
     * (7.4.6); else we answer with no certificate. */
    int key_type = c->cfg->key ? EVP_PKEY_get_base_id(c->cfg->key) : EVP_PKEY_NONE;
    bool type_ok = false;
    while (rd_left(&types) > 0) {
        uint8_t t = rd_u8(&types);
        type_ok |= (t == 64 && key_type == EVP_PKEY_EC) || (t == 1 && key_type == EVP_PKEY_RSA);
    }
    if (!(c->cfg->leaf_key_usage & DTLS_KU_SIGN))
        type_ok = false;
    /* The scheme for our CertificateVerify: ours in order, theirs. */
    hs->sig_scheme = dtls10 && type_ok ? SIG_DTLS10 : 0;
    size_t n;
    const uint16_t *ours = hello_sig_schemes(&n);
    for (size_t k = 0; type_ok && !dtls10 && k < 2 * n && !hs->sig_scheme; k++) {
        size_t i = k % n; /* first the hash that matches our curve */
        if (k < n && !hello_scheme_is_natural(ours[i], c->cfg->key))
            continue;
        dtls_rd list = schemes;
        while (rd_left(&list) > 0)
            if (rd_u16(&list) == ours[i] && dtls_sig_scheme_fits_key(ours[i], c->cfg->key))
                hs->sig_scheme = ours[i];
    }
    transcript_add_msg(hs, m);
    hs->state = HS_C_WAIT_SERVER_HELLO_DONE;
    return DTLS_OK;
}

/* RSA key transport (RFC 5246 7.4.7.1): a fresh premaster with the
 * version we offered, encrypted to the server's certificate key. */
static int write_rsa_premaster(dtls_conn *c, dtls_wr *w)
{
    dtls_hs *hs = c->hs;
    if (EVP_PKEY_get_base_id(hs->peer_key) != EVP_PKEY_RSA)
        return DTLS_ERR_INTERNAL;
    size_t mk = wr_vec_begin(w, 2);
    size_t len = wr_room(w);
    if (dtls_rsa_premaster_encrypt(hs->peer_key, c->cfg->max_version, wr_ptr(w), &len,
                                   hs->premaster) != 0)
        return DTLS_ERR_INTERNAL;
    w->len += len;
    wr_vec_end(w, mk, 2);
    hs->premaster_len = DTLS_PREMASTER_LEN;
    return wr_ok(w) ? DTLS_OK : DTLS_ERR_INTERNAL;
}

/* Our second flight: [Certificate] ClientKeyExchange [CertificateVerify]
 * ChangeCipherSpec Finished (RFC 5246 7.3). */
static int send_client_flight(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    const dtls_suite *s = hs->suite;
    int rc = flight_reset(c);
    bool send_cert = hs->cert_requested && c->cfg->chain.n && hs->sig_scheme;
    if (rc == DTLS_OK && hs->cert_requested)
        rc = kx_write_certificate(c, !send_cert);
    dtls_wr w = flight_msg_begin(c, 2 + MAX_PSK_IDENTITY + 1 + DTLS_MAX_POINT_LEN + 2 + DTLS_MAX_RSA_ENC);
    if (s->kx == DTLS_KX_RSA && rc == DTLS_OK)
        rc = write_rsa_premaster(c, &w);
    if (dtls_suite_uses_psk(s)) {
        size_t mk = wr_vec_begin(&w, 2);
        wr_bytes(&w, c->cfg->psk_identity, c->cfg->psk_identity_len);
        wr_vec_end(&w, mk, 2);
    }
    if (dtls_suite_uses_ecdhe(s)) {
        wr_u8(&w, (uint8_t)hs->ecdhe_pub_len);
        wr_bytes(&w, hs->ecdhe_pub, hs->ecdhe_pub_len);
    }
    if (rc == DTLS_OK)
        rc = flight_msg_end(c, HT_CLIENT_KEY_EXCHANGE, &w);
    if (rc == DTLS_OK && s->kx == DTLS_KX_PSK)
        rc = kx_psk_premaster(hs, NULL, 0, c->cfg->psk_key, c->cfg->psk_key_len);
    if (rc == DTLS_OK && dtls_suite_uses_psk(s))
        rc = kx_keep_psk_identity(c, c->cfg->psk_identity, c->cfg->psk_identity_len);
    if (rc == DTLS_OK)
        rc = keys_master_secret(c);
    if (rc == DTLS_OK)
        rc = keys_install(c);
    if (rc == DTLS_OK && send_cert) {
        size_t sig_max = (size_t)EVP_PKEY_get_size(c->cfg->key);
        if (hs->transcript_len == SIZE_MAX)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "transcript lost");
        w = flight_msg_begin(c, 4 + sig_max);
        bool dtls10 = hs->sig_scheme == SIG_DTLS10;
        if (!dtls10)
            wr_u16(&w, hs->sig_scheme);
        size_t mk = wr_vec_begin(&w, 2);
        size_t sig_len = wr_room(&w);
        if ((dtls10 ? dtls_sig10_sign(c->cfg->key, hs->transcript, hs->transcript_len,
                                      wr_ptr(&w), &sig_len)
                    : dtls_sig_sign(c->cfg->key, hs->sig_scheme, hs->transcript,
                                    hs->transcript_len, wr_ptr(&w), &sig_len)) != 0)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "signing CertificateVerify failed");
        w.len += sig_len;
        wr_vec_end(&w, mk, 2);
        rc = flight_msg_end(c, HT_CERTIFICATE_VERIFY, &w);
    }
    if (rc == DTLS_OK)
        rc = flight_add_ccs(c);
    if (rc == DTLS_OK)
        rc = keys_finished(c, true, hs->verify_data_client);
    if (rc == DTLS_OK) {
        w = flight_msg_begin(c, 12);
        wr_bytes(&w, hs->verify_data_client, 12);
        rc = flight_msg_end(c, HT_FINISHED, &w);
    }
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not build the client flight");
    flight_start_timer(c, now_ms);
    return await_server_finish(c, now_ms);
}

static int on_server_hello_done(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    if (m->len != 0)
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "ServerHelloDone not empty");
    transcript_add_msg(hs, m);
    return send_client_flight(c, now_ms);
}

/* RFC 5077 3.3: lifetime hint and ticket, kept for the session; an empty
 * ticket means none this time. */
static int on_new_session_ticket(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    dtls_hs *hs = c->hs;
    dtls_rd r = rd_init(m->body, m->len);
    uint32_t lifetime = (uint32_t)rd_uint(&r, 4);
    dtls_rd ticket = rd_vec(&r, 2);
    if (!rd_done(&r) || !rd_ok(&ticket))
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "malformed NewSessionTicket");
    free(hs->new_ticket);
    hs->new_ticket = NULL;
    hs->new_ticket_len = 0;
    if (ticket.len && ticket.len <= SESSION_TICKET_MAX && (hs->new_ticket = malloc(ticket.len))) {
        memcpy(hs->new_ticket, ticket.p, ticket.len);
        hs->new_ticket_len = ticket.len;
        hs->new_ticket_lifetime = lifetime;
    }
    transcript_add_msg(hs, m);
    return hs_wait_ccs(c, now_ms, HS_C_WAIT_CCS);
}

/* Abbreviated handshake: after the server's Finished, ours, behind our
 * ChangeCipherSpec; this last flight is ours to keep (RFC 6347 4.2.4). */
static int send_client_finish(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    int rc = flight_reset(c);
    if (rc == DTLS_OK)
        rc = flight_add_ccs(c);
    if (rc == DTLS_OK)
        rc = keys_finished(c, true, hs->verify_data_client);
    if (rc == DTLS_OK) {
        dtls_wr w = flight_msg_begin(c, 12);
        wr_bytes(&w, hs->verify_data_client, 12);
        rc = flight_msg_end(c, HT_FINISHED, &w);
    }
    if (rc == DTLS_OK)
        rc = flight_send(c, now_ms, false);
    if (rc != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "could not send Finished");
    hs->final_flight_ours = true;
    return DTLS_OK;
}

static int on_finished(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    int rc = keys_check_finished(c, m);
    if (rc == DTLS_OK && c->hs->resumed) {
        transcript_add_msg(c->hs, m);
        rc = send_client_finish(c, now_ms);
    }
    if (rc == DTLS_OK)
        conn_established(c, now_ms);
    return rc;
}

/* Plain PSK without a hint: ServerHelloDone comes straight after
 * ServerHello (RFC 4279 2). */
static int on_server_hello_done_without_key_exchange(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    if (c->hs->suite->kx != DTLS_KX_PSK)
        return conn_fail(c, DTLS_ALERT_UNEXPECTED_MESSAGE, "ServerKeyExchange missing");
    return on_server_hello_done(c, now_ms, m);
}

/* What the client accepts in each state (RFC 5246 7.3, RFC 6347 4.2.1,
 * flights 2, 4 and 6 of RFC 6347 4.2.4). */
static const hs_expect CLIENT_EXPECTS[] = {
    { HS_C_WAIT_SERVER_HELLO, HT_HELLO_VERIFY_REQUEST, on_hello_verify_request },
    { HS_C_WAIT_SERVER_HELLO, HT_SERVER_HELLO, on_server_hello },
    { HS_C_WAIT_CERTIFICATE, HT_CERTIFICATE, on_certificate },
    { HS_C_WAIT_SERVER_KEY_EXCHANGE, HT_SERVER_KEY_EXCHANGE, on_server_key_exchange },
    { HS_C_WAIT_SERVER_KEY_EXCHANGE, HT_SERVER_HELLO_DONE, on_server_hello_done_without_key_exchange },
    { HS_C_WAIT_CERT_REQUEST_OR_DONE, HT_CERTIFICATE_REQUEST, on_certificate_request },
    { HS_C_WAIT_CERT_REQUEST_OR_DONE, HT_SERVER_HELLO_DONE, on_server_hello_done },
    { HS_C_WAIT_SERVER_HELLO_DONE, HT_SERVER_HELLO_DONE, on_server_hello_done },
    { HS_C_WAIT_NEW_SESSION_TICKET, HT_NEW_SESSION_TICKET, on_new_session_ticket },
    { HS_C_WAIT_FINISHED, HT_FINISHED, on_finished },
};

int client_handle(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    return hs_dispatch_expected(c, now_ms, m, CLIENT_EXPECTS,
                                sizeof CLIENT_EXPECTS / sizeof CLIENT_EXPECTS[0]);
}

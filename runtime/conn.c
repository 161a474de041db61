/* conn.c — one DTLS association: the engine's connection plus its peer
 * address, deadline and host callbacks. Owns the engine callbacks (send,
 * events, PSK lookup, log) and the rule that a connection is never freed
 * inside an engine call: finished connections go to the loop's graveyard
 * and are freed from deferred work.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

static bool host_ok(const rt_conn *c)
{
    return !c->detached && !(c->server && c->server->detached);
}

static void engine_send(void *user, const uint8_t *dgram, size_t len)
{
    rt_conn *c = user;
    if (c->ep == NULL)
        return;
    /* Only the first datagram of an rt_conn_send carries its completion. */
    rt_send_capture *cap = c->capture;
    c->capture = NULL;
    rt_endpoint_send(c->ep, (const struct sockaddr *)&c->peer.sa, dgram, len, cap);
}

static void report_error(rt_conn *c, int err, const char *msg)
{
    if (c->error_reported)
        return;
    c->error_reported = true;
    if (host_ok(c) && c->handlers->conn_error)
        c->handlers->conn_error(c->host, c, err, msg);
}

static void finish(rt_conn *c)
{
    if (c->finished)
        return;
    c->finished = true;
    rt_heap_remove(&c->loop->heap, c);
    if (c->server)
        rt_server_conn_finished(c->server, c);
    else
        rt_client_conn_finished(c);
    RT_CONN_LOG(RT_LOG_INFO, c, "closed (%s)", rt_conn_close_reason(c));
    if (host_ok(c) && c->handlers->conn_closed)
        c->handlers->conn_closed(c->host, c);
    rt_list_push(&c->loop->graveyard, &c->link);
    rt_loop_schedule_graveyard(c->loop);
}

static void on_established(rt_conn *c)
{
    c->established = true;
    if (c->server)
        rt_server_conn_established(c->server, c);
    c->handshaking = false;
    if (c->finished)
        return;
    /* The engine logs "handshake done <suite>" at INFO; add the details. */
    RT_CONN_LOG(RT_LOG_FINE, c, "association established %s%s%s",
           rt_conn_cipher(c) ? rt_conn_cipher(c) : "?",
           rt_conn_psk_identity(c, NULL) ? " psk" : "",
           rt_conn_peer_cert_der(c, NULL) ? " peer-cert" : "");
    if (host_ok(c) && c->handlers->conn_secure)
        c->handlers->conn_secure(c->host, c);
}

static void on_alert(rt_conn *c, const dtls_event *ev)
{
    const char *name = dtls_alert_name(ev->alert_desc);
    const char *dir = ev->alert_sent ? "sent" : "received";
    if (ev->alert_desc == DTLS_ALERT_CLOSE_NOTIFY) {
        RT_CONN_LOG(RT_LOG_FINE, c, "close_notify %s", dir);
        return;
    }
    if (ev->alert_level != 2) {
        /* RFC 5246 7.2: warnings do not end the session; log them. */
        RT_CONN_LOG(RT_LOG_FINE, c, "warning alert %s %s", name, dir);
        return;
    }
    if (c->close_why == RT_CLOSE_NONE) {
        c->close_alert = (uint8_t)ev->alert_desc;
        rt_conn_set_close_why(c, RT_CLOSE_ALERT);
    }
    char msg[96];
    snprintf(msg, sizeof msg, "%s alert %s", name, dir);
    RT_CONN_LOG(RT_LOG_INFO, c, "%s%s", c->established ? "" : "handshake failed: ", msg);
    report_error(c, DTLS_ERR_FROM_ALERT(ev->alert_desc), msg);
}

static void on_closed(rt_conn *c, int error)
{
    /* A clean end we did not start (rt_conn_close sets its own reason
     * first) is the peer's close_notify. */
    rt_conn_set_close_why(c, error == DTLS_OK ? RT_CLOSE_NOTIFY
                             : error == DTLS_ERR_TIMEOUT ? RT_CLOSE_TIMEOUT : RT_CLOSE_ERROR);
    if (error != DTLS_OK && !c->error_reported) {
        const char *msg = dtls_strerror(error);
        RT_CONN_LOG(RT_LOG_INFO, c, "%s%s", c->established ? "" : "handshake failed: ", msg);
        report_error(c, error, msg);
    }
    finish(c);
}

static void on_renegotiated(rt_conn *c, int error)
{
    const char *msg = error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_NO_RENEGOTIATION)
        ? "the peer refused to renegotiate (no_renegotiation)"
        : error == DTLS_ERR_TIMEOUT ? "the peer did not answer the renegotiation" : dtls_strerror(error);
    if (error == DTLS_OK)
        RT_CONN_LOG(RT_LOG_FINE, c, "renegotiated %s", rt_conn_cipher(c) ? rt_conn_cipher(c) : "?");
    else
        RT_CONN_LOG(RT_LOG_INFO, c, "renegotiation failed: %s", msg);
    if (host_ok(c) && c->handlers->conn_renegotiated)
        c->handlers->conn_renegotiated(c->host, c, error, error == DTLS_OK ? NULL : msg);
}

static void engine_event(void *user, const dtls_event *ev)
{
    rt_conn *c = user;
    if (c->finished)
        return;
    switch (ev->type) {
    case DTLS_EV_HANDSHAKE_DONE:
        on_established(c);
        break;
    case DTLS_EV_APP_DATA:
        RT_CONN_LOG(RT_LOG_FINEST, c, "received %zu bytes", ev->len);
        if (host_ok(c) && c->handlers->conn_message)
            c->handlers->conn_message(c->host, c, ev->data, ev->len);
        break;
    case DTLS_EV_ALERT:
        on_alert(c, ev);
        break;
    case DTLS_EV_CLOSED:
        on_closed(c, ev->error);
        break;
    case DTLS_EV_SESSION:
        if (host_ok(c) && c->handlers->conn_session)
            c->handlers->conn_session(c->host, c);
        break;
    case DTLS_EV_RENEGOTIATED:
        on_renegotiated(c, ev->error);
        break;
    case DTLS_EV_PEER_MOVED:
        if (c->server && c->moving_to)
            rt_server_conn_moved(c->server, c, c->moving_to);
        break;
    }
}

static int engine_psk_lookup(void *user, const uint8_t *identity, size_t identity_len,
                             uint8_t *key, size_t key_cap)
{
    rt_conn *c = user;
    if (c == NULL || c->finished || !host_ok(c) || c->handlers->psk_lookup == NULL)
        return -2;
    return c->handlers->psk_lookup(c->host, c, identity, identity_len, key, key_cap);
}

static void engine_log(void *user, int level, const char *msg)
{
    rt_conn *c = user;
    if (c)
        RT_CONN_LOG(level, c, "%s", msg);
    else
        rt_log(level, NULL, "%s", msg);
}

/* A handshake's master secret exists: SSLKEYLOGFILE and the host. */
static void engine_keylog(void *user, const char *line)
{
    rt_conn *c = user;
    rt_keylog_file_append(line);
    if (c && !c->finished && host_ok(c) && c->handlers->keylog)
        c->handlers->keylog(c->host, c, line);
}

void rt_conn_install_callbacks(dtls_config *config, bool with_psk)
{
    dtls_callbacks cb = { .send = engine_send, .event = engine_event,
                          .psk_lookup = with_psk ? engine_psk_lookup : NULL, .log = engine_log,
                          .keylog = engine_keylog };
    dtls_config_set_callbacks(config, &cb);
}

rt_conn *rt_conn_create(rt_loop *loop, rt_server *server, rt_endpoint *ep,
                        dtls_config *config, dtls_role role, const rt_addr *peer,
                        const rt_handlers *handlers, void *host, uint64_t idle_timeout)
{
    rt_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->loop = loop;
    c->server = server;
    c->ep = ep;
    c->config = config;
    c->handlers = handlers;
    c->host = host;
    c->peer = *peer;
    c->heap_index = RT_HEAP_NONE;
    c->deadline = UINT64_MAX;
    c->handshaking = true;
    c->idle_timeout = idle_timeout;
    c->last_activity = rt_loop_now(loop);
    rt_link_init(&c->link);
    c->engine = dtls_conn_new(config, role, peer->key, peer->key_len, c);
    if (c->engine == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

/* After every engine call: end a connection the engine ended, else follow
 * its deadline (RFC 6347 4.2.4 retransmission timers live in the engine). */
static void after_engine_call(rt_conn *c, int rc, uint64_t min_deadline)
{
    if (c->finished)
        return;
    if (rc < 0 && dtls_conn_state(c->engine) == DTLS_STATE_CLOSED) {
        on_closed(c, rc);
        return;
    }
    uint64_t d = dtls_conn_deadline(c->engine);
    if (c->established && c->idle_timeout) {
        uint64_t idle = c->last_activity + c->idle_timeout;
        if (idle < d)
            d = idle;
    }
    if (d != UINT64_MAX && d < min_deadline)
        d = min_deadline;
    if (rt_heap_set(&c->loop->heap, c, d) != 0) {
        RT_CONN_LOG(RT_LOG_SEVERE, c, "out of memory for timers: closing");
        rt_conn_close(c);
        return;
    }
    rt_loop_arm_deadlines(c->loop);
}

/* One datagram into the engine. moved_from: it reached us by our CID from
 * another address than the peer's (RFC 9146), and the engine decides
 * whether it earns the move (DTLS_EV_PEER_MOVED) before anything in it is
 * answered. */
static void feed(rt_conn *c, const rt_addr *moved_from, const uint8_t *dgram, size_t len)
{
    if (c->finished)
        return;
    /* Only a record that authenticated shows the peer is there: anyone can
     * send a datagram from its address, and garbage must not keep an idle
     * association alive. */
    uint64_t now = rt_loop_now(c->loop);
    uint64_t authenticated = dtls_conn_stats(c->engine)->records_authenticated;
    c->moving_to = moved_from;
    int rc = moved_from ? dtls_conn_recv_moved(c->engine, now, dgram, len)
                        : dtls_conn_recv(c->engine, now, dgram, len);
    c->moving_to = NULL;
    if (dtls_conn_stats(c->engine)->records_authenticated != authenticated)
        c->last_activity = now;
    after_engine_call(c, rc, 0);
}

void rt_conn_feed(rt_conn *c, const uint8_t *dgram, size_t len)
{
    feed(c, NULL, dgram, len);
}

void rt_conn_feed_from(rt_conn *c, const rt_addr *from, const uint8_t *dgram, size_t len)
{
    bool same = from->key_len == c->peer.key_len && memcmp(from->key, c->peer.key, from->key_len) == 0;
    feed(c, same ? NULL : from, dgram, len);
}

void rt_conn_tick(rt_conn *c, uint64_t now)
{
    if (c->finished)
        return;
    if (c->established && c->idle_timeout && now >= c->last_activity + c->idle_timeout) {
        /* The peer may be gone without a close_notify (UDP has no FIN). */
        RT_CONN_LOG(RT_LOG_FINE, c, "idle for %llu ms: closing",
               (unsigned long long)(now - c->last_activity));
        rt_conn_set_close_why(c, RT_CLOSE_IDLE);
        rt_conn_close(c);
        return;
    }
    if (dtls_conn_deadline(c->engine) <= now)
        dtls_conn_tick(c->engine, now);
    /* A deadline left in the past is retried a millisecond later, never in
     * a tight loop. */
    after_engine_call(c, DTLS_OK, now + 1);
}

int rt_conn_start_handshake(rt_conn *c)
{
    if (c->finished)
        return DTLS_ERR_CLOSED;
    int rc = dtls_conn_start(c->engine, rt_loop_now(c->loop));
    after_engine_call(c, rc, 0);
    return rc;
}

int rt_conn_send(rt_conn *c, const uint8_t *data, size_t len, rt_send_done done,
                 void *a, intptr_t b)
{
    if (c->finished)
        return DTLS_ERR_CLOSED;
    rt_send_capture cap = { done, a, b, false, 0 };
    c->capture = &cap;
    int rc = dtls_conn_send(c->engine, rt_loop_now(c->loop), data, len);
    c->capture = NULL;
    after_engine_call(c, rc, 0);
    if (rc < 0)
        return rc;
    if (done && !cap.attached)
        rt_loop_defer(c->loop, done, a, b, cap.status);
    return 0;
}

int rt_conn_renegotiate(rt_conn *c, const char **why)
{
    int rc = c->finished ? DTLS_ERR_CLOSED : dtls_conn_renegotiate(c->engine, rt_loop_now(c->loop));
    if (!c->finished)
        after_engine_call(c, rc, 0);
    *why = rc == DTLS_ERR_STATE ? "cannot renegotiate now: a handshake is under way, or the peer "
                                  "has no secure renegotiation (RFC 5746)"
                                : rc < 0 ? dtls_strerror(rc) : NULL;
    return rc;
}

size_t rt_conn_max_send(const rt_conn *c)
{
    return c->finished ? 0 : dtls_conn_max_send(c->engine);
}

void rt_conn_close(rt_conn *c)
{
    if (c->finished)
        return;
    rt_conn_set_close_why(c, c->loop->shutting_down || (c->server && c->server->closing)
                                 ? RT_CLOSE_SHUTDOWN : RT_CLOSE_LOCAL);
    /* RFC 5246 7.2.1: close_notify before closing the write side. */
    dtls_conn_close(c->engine, rt_loop_now(c->loop));
    if (!c->finished)
        finish(c);
}

void rt_conn_abandon(rt_conn *c, const char *why)
{
    if (c->finished)
        return;
    RT_CONN_LOG(RT_LOG_FINE, c, "association abandoned: %s", why);
    rt_conn_set_close_why(c, RT_CLOSE_REPLACED);
    finish(c);
}

void rt_conn_fail(rt_conn *c, int why, int err, const char *msg)
{
    if (c->finished)
        return;
    rt_conn_set_close_why(c, why);
    RT_CONN_LOG(RT_LOG_INFO, c, "%s%s", c->established ? "" : "handshake failed: ", msg);
    report_error(c, err, msg);
    finish(c);
}

void rt_conn_free_finished(rt_conn *c)
{
    dtls_conn_free(c->engine);
    if (c->server == NULL)
        dtls_config_free(c->config); /* a client's config is its own */
    free(c);
}

void rt_conn_detach(rt_conn *c) { c->detached = true; }
void *rt_conn_user(const rt_conn *c) { return c->user; }
void rt_conn_set_user(rt_conn *c, void *user) { c->user = user; }
int rt_conn_is_client(const rt_conn *c) { return c->server == NULL; }
int rt_conn_established(const rt_conn *c) { return c->established && !c->finished; }
void rt_conn_peer(const rt_conn *c, rt_sockname *out)
{
    rt_addr_name((const struct sockaddr *)&c->peer.sa, out);
}
/* Formatted on demand rather than kept per connection: memory per idle
 * session is one of our targets. Valid until the next call. */
const char *rt_conn_peer_text(const rt_conn *c)
{
    static char text[64];
    rt_sockname name;
    rt_addr_name((const struct sockaddr *)&c->peer.sa, &name);
    rt_addr_text(&name, text, sizeof text);
    return text;
}

int rt_conn_local(const rt_conn *c, rt_sockname *out)
{
    if (c->ep == NULL || c->ep->closing)
        return UV_EBADF;
    return rt_endpoint_sockname(c->ep, out);
}

const char *rt_conn_cipher(const rt_conn *c) { return dtls_conn_cipher_name(c->engine); }
const char *rt_conn_protocol(const rt_conn *c) { return dtls_conn_version_name(c->engine); }
int rt_conn_encrypt_then_mac(const rt_conn *c) { return dtls_conn_encrypt_then_mac(c->engine); }

const char *rt_conn_servername(const rt_conn *c) { return dtls_conn_servername(c->engine); }

const uint8_t *rt_conn_psk_identity(const rt_conn *c, size_t *len)
{
    size_t n = 0;
    const uint8_t *p = dtls_conn_psk_identity(c->engine, &n);
    if (len)
        *len = n;
    return p;
}

int rt_conn_get_session(const rt_conn *c, uint8_t **blob, size_t *len)
{
    return dtls_conn_get_session(c->engine, blob, len) == DTLS_OK ? 0 : -1;
}

int rt_conn_session_reused(const rt_conn *c) { return dtls_conn_session_reused(c->engine); }
int rt_conn_cid_in_use(const rt_conn *c) { return dtls_conn_cid_in_use(c->engine); }

const uint8_t *rt_conn_peer_cert_der(const rt_conn *c, size_t *len)
{
    size_t n = 0;
    const uint8_t *p = dtls_conn_peer_cert_der(c->engine, &n);
    if (len)
        *len = n;
    return p;
}

const char *rt_conn_close_reason(const rt_conn *c)
{
    static char text[48];
    switch (c->close_why) {
    case RT_CLOSE_NOTIFY: return "close_notify";
    case RT_CLOSE_IDLE: return "idle";
    case RT_CLOSE_LOCAL: return "local";
    case RT_CLOSE_SHUTDOWN: return "shutdown";
    case RT_CLOSE_TIMEOUT: return "timeout";
    case RT_CLOSE_REPLACED: return "replaced";
    case RT_CLOSE_UNREACHABLE: return "unreachable";
    case RT_CLOSE_ALERT:
        snprintf(text, sizeof text, "alert: %s", dtls_alert_name(c->close_alert));
        return text;
    case RT_CLOSE_ERROR: return "error";
    default: return c->finished ? "local" : NULL;
    }
}

int rt_conn_authorized(const rt_conn *c, const char **why)
{
    const char *reason = NULL;
    if (!c->established)
        reason = "the handshake has not completed";
    else if (rt_conn_psk_identity(c, NULL))
        reason = NULL; /* the peer proved it holds the identity's key */
    else if (rt_conn_peer_cert_der(c, NULL) == NULL)
        reason = "the peer sent no certificate";
    else if (c->verify == RT_VERIFY_DISABLED)
        reason = "the certificate was not verified (rejectUnauthorized = false)";
    else if (c->verify == RT_VERIFY_NO_CA)
        reason = "no ca to verify the certificate against";
    if (why)
        *why = reason;
    return reason == NULL;
}

/* client.c — dtls.connect's side: a connection with its own UDP socket on an
 * ephemeral port, talking to one server address. Owns that socket and the
 * client's engine config (freed with the connection). Datagrams from any
 * other address are dropped; never blocks on name lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

static void on_client_datagram(rt_endpoint *ep, const rt_addr *from, const uint8_t *data, size_t len)
{
    rt_conn *c = ep->owner;
    if (c == NULL || c->finished)
        return;
    if (from->key_len != c->peer.key_len || memcmp(from->key, c->peer.key, from->key_len) != 0) {
        RT_CONN_LOG(RT_LOG_FINEST, c, "dropped a datagram from another address");
        return;
    }
    rt_conn_feed(c, data, len);
}

/* Linux reports an ICMP error about a connected socket's peer on the next
 * receive: port unreachable is ECONNREFUSED. Nothing listens there, so
 * waiting out the handshake timeout would only hide it. */
static void on_client_endpoint_error(rt_endpoint *ep, int status)
{
    rt_conn *c = ep->owner;
    if (c == NULL || c->finished || (status != UV_ECONNREFUSED && status != UV_EHOSTUNREACH &&
                                     status != UV_ENETUNREACH))
        return;
    char msg[128];
    snprintf(msg, sizeof msg, "%s: nothing answers at %s (ICMP %s)", uv_strerror(status),
             rt_conn_peer_text(c), status == UV_ECONNREFUSED ? "port unreachable"
                                                              : "host or network unreachable");
    rt_conn_fail(c, RT_CLOSE_UNREACHABLE, status, msg);
}

static void on_client_endpoint_closed(rt_endpoint *ep)
{
    rt_endpoint_free_closed(ep);
}

rt_conn *rt_client_connect(rt_loop *loop, int family, const char *address, int port,
                           const rt_tls_options *opt, const rt_handlers *handlers,
                           void *host, char *err, size_t errlen)
{
    if (loop->shutting_down) {
        rt_errf(err, errlen, "the loop is shutting down");
        return NULL;
    }
    if (family != 4 && family != 6) {
        rt_errf(err, errlen, "type: must be \"udp4\" or \"udp6\"");
        return NULL;
    }
    if (port <= 0 || port > 65535) {
        rt_errf(err, errlen, "port: %d is out of range (1-65535)", port);
        return NULL;
    }
    rt_addr peer, local;
    if (address == NULL || rt_addr_parse(&peer, family, address, port) != 0) {
        rt_errf(err, errlen, "address: '%s' is not an IPv%d address", address ? address : "",
                family);
        return NULL;
    }
    if (opt->local_port < 0 || opt->local_port > 65535 ||
        rt_addr_parse(&local, family, opt->local_address, opt->local_port) != 0) {
        rt_errf(err, errlen, "localAddress: '%s' port %d is not a usable IPv%d address",
                opt->local_address ? opt->local_address : "", opt->local_port, family);
        return NULL;
    }
    dtls_config *config = rt_tls_config_build(opt, DTLS_ROLE_CLIENT, err, errlen);
    if (config == NULL)
        return NULL;
    rt_endpoint *ep = rt_endpoint_new(loop, family, false, NULL, on_client_datagram,
                                      on_client_endpoint_closed);
    if (ep == NULL) {
        dtls_config_free(config);
        rt_errf(err, errlen, "cannot create a UDP socket");
        return NULL;
    }
    int r = rt_endpoint_bind(ep, (const struct sockaddr *)&local.sa);
    if (r == 0)
        r = rt_endpoint_connect(ep, (const struct sockaddr *)&peer.sa, on_client_endpoint_error);
    if (r == 0)
        r = rt_endpoint_start(ep);
    rt_conn *c = NULL;
    if (r == 0)
        c = rt_conn_create(loop, NULL, ep, config, DTLS_ROLE_CLIENT, &peer, handlers, host,
                           opt->idle_timeout_ms == RT_IDLE_TIMEOUT_DEFAULT ? 0 : opt->idle_timeout_ms);
    if (c == NULL) {
        rt_errf(err, errlen, "%s: %s", r ? "localPort" : "connect",
                r ? uv_strerror(r) : "out of memory");
        rt_endpoint_close(ep);
        dtls_config_free(config);
        return NULL;
    }
    /* The name checked against the certificate (and sent as server_name,
     * RFC 6066 3, which the engine omits for IP literals). */
    const char *name = opt->servername ? opt->servername : address;
    if (dtls_conn_set_servername(c->engine, name) != DTLS_OK) {
        if (*name == '\0')
            rt_errf(err, errlen, "servername: must not be empty (RFC 6066 3); to accept any "
                    "name the certificate chain vouches for, set checkServerIdentity = false");
        else
            rt_errf(err, errlen, "servername: '%s' is not usable", name);
        rt_conn_free_finished(c);
        rt_endpoint_close(ep);
        return NULL;
    }
    /* A session from an earlier connection's getSession (RFC 5077, RFC
     * 5246 7.4.1.2); one that no longer fits our options is not offered. */
    if (opt->session && dtls_conn_set_session(c->engine, opt->session, opt->session_len) != DTLS_OK) {
        rt_errf(err, errlen, "session: not a session from getSession()");
        rt_conn_free_finished(c);
        rt_endpoint_close(ep);
        return NULL;
    }
    c->verify = opt->reject_unauthorized ? RT_VERIFY_CHECKED : RT_VERIFY_DISABLED;
    ep->owner = c;
    rt_list_push(&loop->clients, &c->link);
    return c;
}

void rt_client_conn_finished(rt_conn *c)
{
    rt_link_remove(&c->link);
    if (c->ep) {
        c->ep->owner = NULL;
        rt_endpoint_close(c->ep);
        c->ep = NULL;
    }
}

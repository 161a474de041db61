/* server.c — a DTLS server on one UDP endpoint: the stateless front door
 * (dtls_accept cookies), the peer table, connection caps, and RFC 6347
 * 4.2.8 replacement of an association by a new one from the same address.
 * Allocates nothing for a peer before its cookie verifies; never frees a
 * connection itself (conn.c defers that).
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

static void on_server_datagram(rt_endpoint *ep, const rt_addr *from, const uint8_t *data, size_t len);
static void on_server_endpoint_closed(rt_endpoint *ep);

/* ---- Connection IDs (RFC 9146) ---- */

static const uint8_t *conn_cid(const rt_conn *c, size_t *len)
{
    return dtls_conn_cid(c->engine, len);
}

/* Our CIDs: random, and never one a live association already has, so the
 * CID table routes every record to exactly one association. Short CIDs can
 * run out: then -1, and that association asks for an empty CID and is
 * routed by address. */
static int server_make_cid(void *user, uint8_t *cid, size_t len)
{
    rt_server *s = user;
    for (int tries = 0; tries < 16; tries++) {
        if (uv_random(NULL, NULL, cid, len, 0, NULL) != 0)
            return -1;
        /* With workers the first byte names this one (0-based): the
         * master's reuseport program steers the record here whatever
         * address it comes from (workers.c). */
        if (rt_worker_count() > 1 && len > 0)
            cid[0] = (uint8_t)(rt_worker_index() - 1);
        if (rt_peer_table_find(&s->cids, cid, len) == NULL)
            return 0;
    }
    return -1;
}

/* File a new association under its CID once the engine has chosen it. */
static void note_cid(rt_server *s, rt_conn *c)
{
    size_t len = 0;
    if (c->in_cid_table || c->finished || conn_cid(c, &len) == NULL)
        return;
    if (rt_peer_table_find(&s->cids, conn_cid(c, &len), len) == NULL
        && rt_peer_table_put(&s->cids, c) == 0)
        c->in_cid_table = true;
}

static void feed(rt_server *s, rt_conn *c, const uint8_t *data, size_t len)
{
    rt_conn_feed(c, data, len);
    note_cid(s, c);
}

rt_server *rt_server_new(rt_loop *loop, int family, const rt_tls_options *opt,
                         const rt_handlers *handlers, void *host, char *err, size_t errlen)
{
    if (loop->shutting_down) {
        rt_errf(err, errlen, "the loop is shutting down");
        return NULL;
    }
    if (family != 4 && family != 6) {
        rt_errf(err, errlen, "type: must be \"udp4\" or \"udp6\"");
        return NULL;
    }
    rt_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        rt_errf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->family = family;
    s->handlers = *handlers;
    s->host = host;
    s->max_conns = opt->max_connections ? opt->max_connections : RT_DEFAULT_MAX_CONNECTIONS;
    s->max_handshakes = opt->max_handshakes ? opt->max_handshakes : RT_DEFAULT_MAX_HANDSHAKES;
    s->idle_timeout = opt->idle_timeout_ms == RT_IDLE_TIMEOUT_DEFAULT ? RT_DEFAULT_SERVER_IDLE_TIMEOUT_MS
                                                                      : opt->idle_timeout_ms;
    s->verify = opt->ca ? RT_VERIFY_CHECKED : RT_VERIFY_NO_CA;
    s->own_ticket_keys = opt->ticket_keys != NULL;
    s->own_cookie_secret = opt->cookie_secret != NULL;
    if (s->max_handshakes > s->max_conns)
        s->max_handshakes = s->max_conns;
    size_t per_address = opt->max_handshakes_per_address ? opt->max_handshakes_per_address
                                                         : RT_DEFAULT_MAX_HANDSHAKES_PER_ADDRESS;
    rt_list_init(&s->conns);
    rt_link_init(&s->link);
    s->config = rt_tls_config_build(opt, DTLS_ROLE_SERVER, err, errlen);
    if (s->config == NULL) {
        free(s);
        return NULL;
    }
    dtls_config_set_cid_generator(s->config, server_make_cid, s);
    if (rt_peer_table_init(&s->table) != 0 || rt_peer_table_init_keyed(&s->cids, conn_cid) != 0 ||
        rt_addr_budget_init(&s->per_address, (unsigned)(per_address < s->max_handshakes
                                                        ? per_address : s->max_handshakes),
                            s->max_handshakes) != 0 ||
        (s->ep = rt_endpoint_new(loop, family, true, s, on_server_datagram,
                                 on_server_endpoint_closed)) == NULL) {
        rt_peer_table_free(&s->table);
        rt_peer_table_free(&s->cids);
        rt_addr_budget_free(&s->per_address);
        dtls_config_free(s->config);
        free(s);
        rt_errf(err, errlen, "cannot create a UDP socket");
        return NULL;
    }
    s->ep->dual_stack = family == 6 && opt->dual_stack;
    rt_list_push(&loop->servers, &s->link);
    return s;
}

int rt_server_bind(rt_server *s, const char *address, int port, char *err, size_t errlen)
{
    if (s->closing) {
        rt_errf(err, errlen, "server is closed");
        return UV_EINVAL;
    }
    if (s->bound) {
        rt_errf(err, errlen, "server is already bound");
        return UV_EINVAL;
    }
    if (port < 0 || port > 65535) {
        rt_errf(err, errlen, "port: %d is out of range (0-65535)", port);
        return UV_EINVAL;
    }
    rt_addr local;
    int r = rt_addr_parse(&local, s->family, address, port);
    if (r != 0) {
        rt_errf(err, errlen, "address: '%s' is not an IPv%d address", address ? address : "",
                s->family);
        return r;
    }
    r = rt_endpoint_bind(s->ep, (const struct sockaddr *)&local.sa);
    if (r == 0)
        r = rt_endpoint_start(s->ep);
    if (r != 0) {
        rt_sockname name;
        char text[64];
        rt_addr_name((const struct sockaddr *)&local.sa, &name);
        rt_addr_text(&name, text, sizeof text);
        rt_errf(err, errlen, "bind %s: %s", text, uv_strerror(r));
        return r;
    }
    s->bound = true;
    rt_sockname name;
    if (rt_endpoint_sockname(s->ep, &name) == 0) {
        char text[64];
        rt_addr_text(&name, text, sizeof text);
        rt_log(RT_LOG_INFO, NULL, "listening on %s", text);
        rt_log(RT_LOG_FINE, NULL, "%s: reading with %s", text,
               uv_udp_using_recvmmsg(&s->ep->udp) ? "recvmmsg batches" : "recvmsg");
    }
    return 0;
}

int rt_server_bound(const rt_server *s) { return s->bound && !s->closing; }
size_t rt_server_connection_count(const rt_server *s) { return s->conn_count; }

int rt_server_sockname(const rt_server *s, rt_sockname *out)
{
    if (!s->bound || s->closing || s->ep == NULL)
        return UV_EBADF;
    return rt_endpoint_sockname(s->ep, out);
}

/* Cookie exchange for a peer with no association, or a new ClientHello from
 * a peer whose association is established or handshaking (RFC 6347 4.2.8). */
static void front_door(rt_server *s, const rt_addr *from, const uint8_t *data, size_t len,
                       rt_conn *existing)
{
    size_t reply_len = 0;
    dtls_accept_t verdict = dtls_accept(s->config, rt_loop_now(s->loop), from->key, from->key_len,
                                        data, len, s->reply, sizeof s->reply, &reply_len);
    if (verdict == DTLS_ACCEPT_DROP)
        return;
    if (verdict == DTLS_ACCEPT_REPLY) {
        /* RFC 6347 4.2.1: HelloVerifyRequest, no state kept. */
        if (reply_len > 0 && reply_len <= sizeof s->reply) {
            rt_endpoint_send(s->ep, (const struct sockaddr *)&from->sa, s->reply, reply_len, NULL);
            s->hello_verify_sent++;
        }
        return;
    }
    if (existing && existing->successor) {
        if (dtls_conn_is_own_hello(existing->successor->engine, data, len)) {
            feed(s, existing->successor, data, len); /* its ClientHello again */
            return;
        }
        rt_conn_abandon(existing->successor, "the peer restarted its handshake");
    }
    /* A verified hello with a new random where a handshake is still under
     * way: the peer restarted (RFC 6347 4.2.8). The old handshake can never
     * finish; waiting for its timeout would only lock the peer out. */
    if (existing && !existing->established) {
        rt_conn_abandon(existing, "the peer restarted its handshake");
        existing = NULL;
    }
    if (s->conn_count >= s->max_conns || s->handshake_count >= s->max_handshakes) {
        if (s->dropped_over_cap++ % 1000 == 0)
            rt_log(RT_LOG_WARN, NULL, "connection limit reached (%zu connections, %zu handshakes):"
                   " dropping new peers", s->conn_count, s->handshake_count);
        return;
    }
    /* One address (or IPv6 /64) gets only its share of the handshake slots,
     * so a flood from many of its ports leaves room for everyone else. */
    if (rt_addr_budget_take(&s->per_address, from) != 0) {
        if (s->dropped_over_cap++ % 1000 == 0)
            rt_log(RT_LOG_WARN, NULL, "handshakes per address limit reached (%u): dropping new"
                   " peers from that address", s->per_address.limit);
        return;
    }
    rt_conn *c = rt_conn_create(s->loop, s, s->ep, s->config, DTLS_ROLE_SERVER, from,
                                &s->handlers, s->host, s->idle_timeout);
    if (c == NULL) {
        rt_addr_budget_release(&s->per_address, from);
        return;
    }
    c->verify = s->verify;
    if (existing) {
        existing->successor = c;
        c->predecessor = existing;
    } else {
        if (rt_peer_table_put(&s->table, c) != 0) {
            rt_addr_budget_release(&s->per_address, from);
            rt_conn_free_finished(c);
            return;
        }
        c->in_table = true;
    }
    rt_list_push(&s->conns, &c->link);
    s->conn_count++;
    s->handshake_count++;
    RT_CONN_LOG(RT_LOG_FINE, c, "cookie verified: new association%s",
           existing ? " beside the established one" : "");
    feed(s, c, data, len);
}

static uint64_t dropped_total(const rt_conn *c)
{
    const dtls_stats *st = dtls_conn_stats(c->engine);
    return st ? st->dropped_auth + st->dropped_epoch + st->dropped_malformed : 0;
}

static void on_server_datagram(rt_endpoint *ep, const rt_addr *from, const uint8_t *data, size_t len)
{
    rt_server *s = ep->owner;
    if (s == NULL || s->closing)
        return;
    /* The engine says what the datagram is; we never read its bytes. */
    dtls_dgram_info info;
    dtls_classify(s->config, data, len, &info);
    if (info.cid_len) {
        /* RFC 9146: the CID names the association wherever the datagram
         * came from; an unknown one is dropped (nothing to start). */
        rt_conn *owner = rt_peer_table_find(&s->cids, info.cid, info.cid_len);
        if (owner == NULL) {
            s->dropped_unknown_cid++;
            return;
        }
        rt_conn_feed_from(owner, from, data, len);
        return;
    }
    rt_conn *c = rt_peer_table_find(&s->table, from->key, from->key_len);
    if (c == NULL) {
        front_door(s, from, data, len, NULL);
        return;
    }
    /* A new hello on a live or handshaking association (RFC 6347 4.2.8) —
     * but a copy of the hello that began it belongs to it: it answers with
     * its last flight, and no phantom association is started. */
    if (info.client_hello && !dtls_conn_is_own_hello(c->engine, data, len)) {
        front_door(s, from, data, len, c);
        return;
    }
    rt_conn *succ = c->successor;
    if (succ == NULL) {
        feed(s, c, data, len);
        return;
    }
    /* Two associations share the address until the new one finishes. Its
     * epoch-0 handshake records are its own; a protected record belongs to
     * whichever association's keys authenticate it: try the established
     * one first, and hand the datagram on only if it dropped it. */
    if (!info.client_hello && info.epoch == 0) {
        feed(s, succ, data, len);
        return;
    }
    uint64_t before = dropped_total(c);
    rt_conn_feed(c, data, len);
    if (!c->finished && dropped_total(c) == before)
        return;
    if (!succ->finished)
        feed(s, succ, data, len);
}

void rt_server_conn_moved(rt_server *s, rt_conn *c, const rt_addr *to)
{
    rt_sockname old;
    rt_conn_peer(c, &old);
    /* The address table follows: the old entry goes (if it is ours), the
     * new one points here — unless another association lives at the new
     * address: it keeps it, and this one is found by its CID alone. */
    if (c->in_table)
        rt_peer_table_remove(&s->table, c);
    c->in_table = false;
    rt_conn *there = rt_peer_table_find(&s->table, to->key, to->key_len);
    c->peer = *to;
    if (there == NULL)
        c->in_table = rt_peer_table_put(&s->table, c) == 0;
    if (rt_log_enabled(RT_LOG_INFO)) {
        char text[64];
        rt_addr_text(&old, text, sizeof text);
        RT_CONN_LOG(RT_LOG_INFO, c, "peer moved from %s (connection ID)", text);
    }
    if (!c->detached && !s->detached && s->handlers.conn_moved)
        s->handlers.conn_moved(s->host, c, &old);
}

/* A handshake ended (done or failed): its slots are free again. */
static void handshake_over(rt_server *s, rt_conn *c)
{
    if (!c->handshaking)
        return;
    c->handshaking = false;
    if (s->handshake_count > 0)
        s->handshake_count--;
    rt_addr_budget_release(&s->per_address, &c->peer);
}

void rt_server_conn_established(rt_server *s, rt_conn *c)
{
    s->totals.handshakes_done++;
    handshake_over(s, c);
    rt_conn *old = c->predecessor;
    if (old == NULL)
        return;
    /* RFC 6347 4.2.8: after a verified Finished the previous association is
     * abandoned and the new one takes its place. */
    old->successor = NULL;
    c->predecessor = NULL;
    if (rt_peer_table_put(&s->table, c) == 0) {
        c->in_table = true;
        old->in_table = false;
    }
    rt_conn_abandon(old, "replaced by a new association from the same address");
}

void rt_server_conn_finished(rt_server *s, rt_conn *c)
{
    rt_server_account_finished(s, c);
    handshake_over(s, c);
    if (s->conn_count > 0)
        s->conn_count--;
    rt_link_remove(&c->link);
    if (c->in_cid_table) {
        rt_peer_table_remove(&s->cids, c);
        c->in_cid_table = false;
    }
    if (c->predecessor) {
        c->predecessor->successor = NULL;
        c->predecessor = NULL;
    }
    if (c->in_table) {
        rt_conn *succ = c->successor;
        c->in_table = false;
        if (succ) {
            /* The old association ended first: the new one inherits the slot. */
            succ->predecessor = NULL;
            c->successor = NULL;
            if (rt_peer_table_put(&s->table, succ) == 0)
                succ->in_table = true;
            else
                rt_peer_table_remove(&s->table, c);
        } else {
            rt_peer_table_remove(&s->table, c);
        }
    }
}

void rt_server_close(rt_server *s)
{
    if (s->closing)
        return;
    s->closing = true;
    rt_link_remove(&s->link);
    /* close_notify to every association; each close unlinks it. */
    while (!rt_list_empty(&s->conns))
        rt_conn_close(RT_CONTAINER(s->conns.next, rt_conn, link));
    rt_endpoint_close(s->ep);
}

static void on_server_endpoint_closed(rt_endpoint *ep)
{
    rt_server *s = ep->owner;
    rt_endpoint_free_closed(ep);
    s->ep = NULL;
    /* Engine connections refer to the config: free them before it. */
    rt_loop_sweep_graveyard(s->loop);
    if (!s->detached && s->handlers.server_closed)
        s->handlers.server_closed(s->host);
    rt_peer_table_free(&s->table);
    rt_peer_table_free(&s->cids);
    rt_addr_budget_free(&s->per_address);
    dtls_config_free(s->config);
    rt_server_free_retired(s);
    free(s);
}

void rt_server_detach(rt_server *s) { s->detached = true; }

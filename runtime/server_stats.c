/* server_stats.c — a server's counters: handshakes done and failed (by
 * alert), records dropped (by reason, from the engine's per-connection
 * counters), sessions live, datagrams and bytes. Finished connections are
 * added to the server's totals; live ones are summed when asked. Reads
 * only; never changes a connection.
 */
#include <string.h>

#include "rt_internal.h"

static void add_engine_drops(struct rt_server_totals *t, const rt_conn *c)
{
    const dtls_stats *st = dtls_conn_stats(c->engine);
    if (st == NULL)
        return;
    t->dropped_malformed += st->dropped_malformed;
    t->dropped_auth += st->dropped_auth;
    t->dropped_replay += st->dropped_replay;
    t->dropped_epoch += st->dropped_epoch;
    t->dropped_unexpected += st->dropped_unexpected;
}

void rt_server_account_finished(rt_server *s, const rt_conn *c)
{
    add_engine_drops(&s->totals, c);
    if (c->established)
        return;
    /* A handshake that ended without a session. Closes we made ourselves
     * (shutdown, a replaced association) are not its failures. */
    switch (c->close_why) {
    case RT_CLOSE_ALERT: s->totals.failed_by_alert[c->close_alert]++; break;
    case RT_CLOSE_TIMEOUT: s->totals.failed_timeout++; break;
    case RT_CLOSE_ERROR: case RT_CLOSE_UNREACHABLE: case RT_CLOSE_NOTIFY:
        s->totals.failed_other++;
        break;
    default: break;
    }
}

void rt_server_stats_get(const rt_server *s, rt_server_stats *out)
{
    memset(out, 0, sizeof *out);
    struct rt_server_totals t = s->totals;
    for (const rt_link *l = s->conns.next; l != &s->conns; l = l->next) {
        const rt_conn *c = RT_CONTAINER(l, rt_conn, link);
        add_engine_drops(&t, c);
        if (c->established)
            out->sessions++;
        else
            out->handshaking++;
    }
    /* the current configuration's handshakes and those still running on
     * one that setSecureContext replaced */
    if (s->config)
        out->reassembly_bytes = dtls_config_reassembly_memory(s->config);
    for (size_t i = 0; i < s->nretired; i++)
        out->reassembly_bytes += dtls_config_reassembly_memory(s->retired[i]);
    out->handshakes_done = t.handshakes_done;
    out->hello_verify_requests = s->hello_verify_sent;
    memcpy(out->failed_by_alert, t.failed_by_alert, sizeof out->failed_by_alert);
    out->failed_timeout = t.failed_timeout;
    out->failed_other = t.failed_other;
    out->dropped_malformed = t.dropped_malformed;
    out->dropped_auth = t.dropped_auth;
    out->dropped_replay = t.dropped_replay;
    out->dropped_epoch = t.dropped_epoch;
    out->dropped_unexpected = t.dropped_unexpected;
    out->dropped_over_capacity = s->dropped_over_cap;
    if (s->ep) {
        out->datagrams_in = s->ep->datagrams_in;
        out->datagrams_out = s->ep->datagrams_out;
        out->bytes_in = s->ep->bytes_in;
        out->bytes_out = s->ep->bytes_out;
    }
}

void rt_loop_each_server(rt_loop *loop, void (*fn)(void *arg, rt_server *server), void *arg)
{
    for (rt_link *l = loop->servers.next, *next; l != &loop->servers; l = next) {
        next = l->next;
        fn(arg, RT_CONTAINER(l, rt_server, link));
    }
}

/* pair.h — a client and a server engine wired back to back in memory, with
 * a simulated clock and a lossy "network" (seeded drop, duplicate and
 * reorder), so handshakes can be driven byte for byte with no sockets.
 * The server side goes through dtls_accept exactly as a host would.
 */
#ifndef DTLS_TEST_PAIR_H
#define DTLS_TEST_PAIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtls/dtls.h"

#define PAIR_MAX_QUEUE 256

typedef struct pair_dgram {
    uint8_t *bytes;
    size_t len;
} pair_dgram;

typedef struct pair_queue {
    pair_dgram d[PAIR_MAX_QUEUE];
    size_t n;
} pair_queue;

typedef struct pair_side {
    struct pair *pair;
    dtls_conn *conn;
    pair_queue inbox;      /* datagrams on their way to this side */
    bool established, closed;
    int close_error;
    int alerts_received[8];
    size_t nalerts;
    uint8_t app[65536];    /* application data received, concatenated */
    size_t app_len;
    size_t app_records;
    size_t sessions;       /* DTLS_EV_SESSION events */
    size_t moves;          /* DTLS_EV_PEER_MOVED events */
    size_t renegotiations; /* DTLS_EV_RENEGOTIATED events... */
    int reneg_error;       /* ...and the last one's error */
} pair_side;

typedef struct pair {
    dtls_config *ccfg, *scfg;
    pair_side client, server;
    uint64_t now;
    /* network impairment, per mille, from a seeded generator */
    unsigned drop, dup, reorder;
    uint64_t rng;
    /* what the server sees before a connection exists */
    size_t hvr_sent;
    /* optional tap: called on every datagram before it is queued */
    void (*tap)(struct pair *p, bool to_server, uint8_t *bytes, size_t *len);
    uint8_t peer_addr[8];
} pair;

static inline unsigned pair_rand(pair *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return (unsigned)(p->rng % 1000);
}

static inline void pair_queue_push(pair_queue *q, const uint8_t *b, size_t len)
{
    if (q->n == PAIR_MAX_QUEUE)
        return;
    q->d[q->n].bytes = malloc(len ? len : 1);
    memcpy(q->d[q->n].bytes, b, len);
    q->d[q->n].len = len;
    q->n++;
}

static inline void pair_transmit(pair *p, bool to_server, const uint8_t *b, size_t len)
{
    pair_queue *q = to_server ? &p->server.inbox : &p->client.inbox;
    uint8_t copy[16384];
    if (len > sizeof copy)
        return;
    memcpy(copy, b, len);
    if (p->tap)
        p->tap(p, to_server, copy, &len);
    if (len == 0 || pair_rand(p) < p->drop)
        return;
    pair_queue_push(q, copy, len);
    if (pair_rand(p) < p->dup)
        pair_queue_push(q, copy, len);
    if (q->n >= 2 && pair_rand(p) < p->reorder) {
        pair_dgram t = q->d[q->n - 1];
        q->d[q->n - 1] = q->d[q->n - 2];
        q->d[q->n - 2] = t;
    }
}

static void pair_send_cb(void *user, const uint8_t *d, size_t len)
{
    pair_side *s = user;
    pair_transmit(s->pair, s == &s->pair->client, d, len);
}

static void pair_event_cb(void *user, const dtls_event *ev)
{
    pair_side *s = user;
    switch (ev->type) {
    case DTLS_EV_HANDSHAKE_DONE:
        s->established = true;
        break;
    case DTLS_EV_APP_DATA:
        if (s->app_len + ev->len <= sizeof s->app) {
            memcpy(s->app + s->app_len, ev->data, ev->len);
            s->app_len += ev->len;
        }
        s->app_records++;
        break;
    case DTLS_EV_ALERT:
        if (!ev->alert_sent && s->nalerts < 8)
            s->alerts_received[s->nalerts++] = ev->alert_desc;
        break;
    case DTLS_EV_CLOSED:
        s->closed = true;
        s->close_error = ev->error;
        break;
    case DTLS_EV_PEER_MOVED:
        s->moves++;
        break;
    case DTLS_EV_SESSION:
        s->sessions++;
        break;
    case DTLS_EV_RENEGOTIATED:
        s->renegotiations++;
        s->reneg_error = ev->error;
        break;
    }
}

/* Server PSK table for tests: identity "client1" -> 16 bytes 0x01..0x10. */
static int pair_psk_lookup(void *user, const uint8_t *id, size_t id_len, uint8_t *key, size_t cap)
{
    (void)user;
    if (id_len == 7 && memcmp(id, "client1", 7) == 0 && cap >= 16) {
        for (int i = 0; i < 16; i++)
            key[i] = (uint8_t)(i + 1);
        return 16;
    }
    return -1;
}

static inline void pair_init(pair *p, dtls_config *ccfg, dtls_config *scfg, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    p->ccfg = ccfg;
    p->scfg = scfg;
    p->client.pair = p->server.pair = p;
    /* splitmix64 of the seed: small seeds would start xorshift badly */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    p->rng = (z ^ (z >> 31)) | 1;
    p->now = 1000000;
    memcpy(p->peer_addr, "\x7f\0\0\1\x12\x34", 6);
    dtls_callbacks cb = { .send = pair_send_cb, .event = pair_event_cb,
                          .psk_lookup = pair_psk_lookup };
    dtls_config_set_callbacks(ccfg, &cb);
    dtls_config_set_callbacks(scfg, &cb);
    p->client.conn = dtls_conn_new(ccfg, DTLS_ROLE_CLIENT, NULL, 0, &p->client);
}

/* Deliver one datagram to the server as a host would: through the
 * stateless front door until a connection exists. */
static inline void pair_server_input(pair *p, const uint8_t *b, size_t len)
{
    if (!p->server.conn) {
        uint8_t reply[256];
        size_t rlen = 0;
        dtls_accept_t a = dtls_accept(p->scfg, p->now, p->peer_addr, 6, b, len, reply, sizeof reply, &rlen);
        if (a == DTLS_ACCEPT_REPLY) {
            p->hvr_sent++;
            pair_transmit(p, false, reply, rlen);
            return;
        }
        if (a != DTLS_ACCEPT_NEW)
            return;
        p->server.conn = dtls_conn_new(p->scfg, DTLS_ROLE_SERVER, p->peer_addr, 6, &p->server);
    }
    dtls_conn_recv(p->server.conn, p->now, b, len);
}

/* Deliver everything queued (one datagram at a time, alternating), then
 * advance the clock to the next deadline. Stops when cond holds or after
 * the simulated time limit. */
static inline bool pair_run(pair *p, bool (*cond)(pair *), uint64_t limit_ms)
{
    uint64_t end = p->now + limit_ms;
    while (p->now <= end) {
        if (cond(p))
            return true;
        bool moved = false;
        for (int side = 0; side < 2; side++) {
            pair_side *s = side ? &p->server : &p->client;
            if (!s->inbox.n)
                continue;
            pair_dgram d = s->inbox.d[0];
            memmove(s->inbox.d, s->inbox.d + 1, (s->inbox.n - 1) * sizeof d);
            s->inbox.n--;
            if (side)
                pair_server_input(p, d.bytes, d.len);
            else if (p->client.conn)
                dtls_conn_recv(p->client.conn, p->now, d.bytes, d.len);
            free(d.bytes);
            moved = true;
        }
        if (moved)
            continue;
        uint64_t next = UINT64_MAX;
        if (p->client.conn && dtls_conn_deadline(p->client.conn) < next)
            next = dtls_conn_deadline(p->client.conn);
        if (p->server.conn && dtls_conn_deadline(p->server.conn) < next)
            next = dtls_conn_deadline(p->server.conn);
        if (next == UINT64_MAX || next > end)
            break;
        if (next > p->now)
            p->now = next;
        if (p->client.conn)
            dtls_conn_tick(p->client.conn, p->now);
        if (p->server.conn)
            dtls_conn_tick(p->server.conn, p->now);
    }
    return cond(p);
}

static inline bool pair_both_established(pair *p)
{
    return p->client.established && p->server.established;
}

/* Never true: run until the network is quiet or the time is up. */
static inline bool pair_never(pair *p)
{
    (void)p;
    return false;
}

static inline bool pair_any_closed(pair *p)
{
    return p->client.closed || p->server.closed;
}

static inline void pair_free(pair *p)
{
    for (int side = 0; side < 2; side++) {
        pair_side *s = side ? &p->server : &p->client;
        for (size_t i = 0; i < s->inbox.n; i++)
            free(s->inbox.d[i].bytes);
        dtls_conn_free(s->conn);
    }
}

#endif

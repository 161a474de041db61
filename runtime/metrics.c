/* metrics.c — dtlsrun --metrics ADDR:PORT: a small HTTP endpoint that
 * answers GET /metrics with every live server's counters in Prometheus'
 * text format (version 0.0.4). Owns its TCP listener and the clients it is
 * answering; never keeps the loop alive on its own, reads at most 8 KiB of
 * a request, and serves at most RT_METRICS_CLIENTS at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#define RT_METRICS_CLIENTS 16
#define RT_METRICS_REQUEST_MAX 8192

typedef struct metrics_client {
    uv_tcp_t tcp;
    rt_link link;
    struct rt_metrics *m;
    uv_write_t write;
    char *response;
    size_t n;
    bool answered;
    char request[RT_METRICS_REQUEST_MAX];
} metrics_client;

struct rt_metrics {
    uv_tcp_t listener;
    rt_loop *loop;
    rt_list clients;
    size_t nclients;
    bool closing;
};

/* ---- the text ----------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t n, cap;
    bool failed;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)k;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->failed = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

typedef struct snapshot {
    char name[64];
    rt_server_stats st;
} snapshot;

typedef struct snapshots {
    snapshot *v;
    size_t n, cap;
} snapshots;

static void take(void *arg, rt_server *s)
{
    snapshots *all = arg;
    if (all->n == all->cap) {
        size_t cap = all->cap ? all->cap * 2 : 4;
        snapshot *v = realloc(all->v, cap * sizeof *v);
        if (v == NULL)
            return;
        all->v = v;
        all->cap = cap;
    }
    snapshot *one = &all->v[all->n++];
    rt_sockname name;
    if (rt_server_sockname(s, &name) == 0)
        rt_addr_text(&name, one->name, sizeof one->name);
    else
        snprintf(one->name, sizeof one->name, "unbound");
    rt_server_stats_get(s, &one->st);
}

/* One family: HELP and TYPE, then one sample per server. */
#define FAMILY(t, all, metric, type, help, field)                                          \
    do {                                                                                   \
        add(t, "# HELP dtlsrun_%s %s\n# TYPE dtlsrun_%s %s\n", metric, help, metric, type); \
        for (size_t i_ = 0; i_ < (all)->n; i_++)                                           \
            add(t, "dtlsrun_%s{server=\"%s\"} %llu\n", metric, (all)->v[i_].name,          \
                (unsigned long long)(all)->v[i_].st.field);                                \
    } while (0)

static char *render(rt_loop *loop, size_t *len)
{
    snapshots all = { 0 };
    rt_loop_each_server(loop, take, &all);
    text t = { malloc(4096), 0, 4096, false };
    if (t.p == NULL) {
        free(all.v);
        return NULL;
    }
    FAMILY(&t, &all, "sessions", "gauge", "Established DTLS sessions.", sessions);
    FAMILY(&t, &all, "handshakes_in_progress", "gauge", "Handshakes under way.", handshaking);
    FAMILY(&t, &all, "handshakes_total", "counter", "Handshakes completed.", handshakes_done);
    FAMILY(&t, &all, "reassembly_bytes", "gauge",
           "Memory held for fragmented handshake messages (maxReassemblyBytes).", reassembly_bytes);
    add(&t, "# HELP dtlsrun_handshake_failures_total Handshakes that ended without a session, "
            "by the alert that ended them, timeout or other.\n"
            "# TYPE dtlsrun_handshake_failures_total counter\n");
    for (size_t i = 0; i < all.n; i++) {
        const rt_server_stats *st = &all.v[i].st;
        for (int a = 0; a < 256; a++)
            if (st->failed_by_alert[a])
                add(&t, "dtlsrun_handshake_failures_total{server=\"%s\",reason=\"%s\"} %llu\n",
                    all.v[i].name, rt_alert_name(a), (unsigned long long)st->failed_by_alert[a]);
        add(&t, "dtlsrun_handshake_failures_total{server=\"%s\",reason=\"timeout\"} %llu\n",
            all.v[i].name, (unsigned long long)st->failed_timeout);
        add(&t, "dtlsrun_handshake_failures_total{server=\"%s\",reason=\"other\"} %llu\n",
            all.v[i].name, (unsigned long long)st->failed_other);
    }
    add(&t, "# HELP dtlsrun_records_dropped_total Records dropped silently (RFC 6347 4.1.2.7), "
            "and new peers dropped over capacity, by reason.\n"
            "# TYPE dtlsrun_records_dropped_total counter\n");
    for (size_t i = 0; i < all.n; i++) {
        const rt_server_stats *st = &all.v[i].st;
        const struct { const char *reason; uint64_t v; } drops[] = {
            { "malformed", st->dropped_malformed }, { "auth", st->dropped_auth },
            { "replay", st->dropped_replay },       { "epoch", st->dropped_epoch },
            { "unexpected", st->dropped_unexpected }, { "over_capacity", st->dropped_over_capacity },
        };
        for (size_t k = 0; k < sizeof drops / sizeof drops[0]; k++)
            add(&t, "dtlsrun_records_dropped_total{server=\"%s\",reason=\"%s\"} %llu\n",
                all.v[i].name, drops[k].reason, (unsigned long long)drops[k].v);
    }
    FAMILY(&t, &all, "hello_verify_requests_total", "counter",
           "HelloVerifyRequests sent (RFC 6347 4.2.1 cookie exchanges).", hello_verify_requests);
    FAMILY(&t, &all, "datagrams_received_total", "counter", "UDP datagrams received.", datagrams_in);
    FAMILY(&t, &all, "datagrams_sent_total", "counter", "UDP datagrams sent.", datagrams_out);
    FAMILY(&t, &all, "received_bytes_total", "counter", "UDP payload bytes received.", bytes_in);
    FAMILY(&t, &all, "sent_bytes_total", "counter", "UDP payload bytes sent.", bytes_out);
    free(all.v);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    *len = t.n;
    return t.p;
}

/* ---- HTTP ----------------------------------------------------------------- */

static void on_client_closed(uv_handle_t *h)
{
    metrics_client *c = h->data;
    rt_link_remove(&c->link);
    c->m->nclients--;
    free(c->response);
    free(c);
}

static void client_close(metrics_client *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    client_close(w->data);
}

static void answer(metrics_client *c, int code, const char *reason, const char *body, size_t body_len)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", code, reason, body_len);
    c->answered = true;
    c->response = malloc((size_t)h + body_len);
    if (c->response == NULL) {
        client_close(c);
        return;
    }
    memcpy(c->response, head, (size_t)h);
    memcpy(c->response + h, body, body_len);
    uv_buf_t buf = uv_buf_init(c->response, (unsigned)((size_t)h + body_len));
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0)
        client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    metrics_client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->request + c->n, (unsigned)(sizeof c->request - 1 - c->n));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    metrics_client *c = s->data;
    (void)buf;
    if (c->answered)
        return;
    if (nread < 0) {
        client_close(c);
        return;
    }
    c->n += (size_t)nread;
    c->request[c->n] = '\0';
    if (strstr(c->request, "\r\n\r\n") == NULL && strstr(c->request, "\n\n") == NULL) {
        if (c->n + 1 >= sizeof c->request)
            answer(c, 431, "Request Header Fields Too Large", "", 0);
        return;
    }
    uv_read_stop(s);
    if (strncmp(c->request, "GET ", 4) != 0) {
        answer(c, 405, "Method Not Allowed", "GET only\n", 9);
        return;
    }
    const char *path = c->request + 4;
    if (strncmp(path, "/metrics", 8) != 0 || (path[8] != ' ' && path[8] != '?')) {
        answer(c, 404, "Not Found", "try /metrics\n", 13);
        return;
    }
    size_t len = 0;
    char *body = render(c->m->loop, &len);
    if (body == NULL) {
        answer(c, 500, "Internal Server Error", "out of memory\n", 14);
        return;
    }
    answer(c, 200, "OK", body, len);
    free(body);
}

static void on_connection(uv_stream_t *listener, int status)
{
    rt_metrics *m = listener->data;
    if (status != 0 || m->closing)
        return;
    metrics_client *c = calloc(1, sizeof *c);
    if (c == NULL || uv_tcp_init(&m->loop->uv, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->m = m;
    c->tcp.data = c;
    rt_link_init(&c->link);
    rt_list_push(&m->clients, &c->link);
    m->nclients++;
    uv_unref((uv_handle_t *)&c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 || m->nclients > RT_METRICS_CLIENTS ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        client_close(c);
}

int rt_metrics_start(rt_loop *loop, const char *address, int port, char *err, size_t errlen)
{
    if (loop->metrics) {
        rt_errf(err, errlen, "metrics: already serving");
        return -1;
    }
    rt_addr a;
    int family = address && strchr(address, ':') ? 6 : 4;
    if (rt_addr_parse(&a, family, address, port) != 0) {
        rt_errf(err, errlen, "metrics: '%s' port %d is not an address", address ? address : "", port);
        return -1;
    }
    rt_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) {
        rt_errf(err, errlen, "metrics: out of memory");
        return -1;
    }
    m->loop = loop;
    rt_list_init(&m->clients);
    uv_tcp_init(&loop->uv, &m->listener);
    m->listener.data = m;
    int r = uv_tcp_bind(&m->listener, (const struct sockaddr *)&a.sa, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&m->listener, 16, on_connection);
    loop->metrics = m; /* from here rt_metrics_close frees it */
    if (r != 0) {
        rt_errf(err, errlen, "metrics: %s port %d: %s", address, port, uv_strerror(r));
        rt_metrics_close(loop);
        return -1;
    }
    uv_unref((uv_handle_t *)&m->listener); /* never keeps the loop alive */
    rt_sockname name;
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    if (uv_tcp_getsockname(&m->listener, (struct sockaddr *)&ss, &len) == 0) {
        char textaddr[64];
        rt_addr_name((const struct sockaddr *)&ss, &name);
        rt_addr_text(&name, textaddr, sizeof textaddr);
        rt_log(RT_LOG_INFO, NULL, "metrics on http://%s/metrics", textaddr);
    }
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

void rt_metrics_close(rt_loop *loop)
{
    rt_metrics *m = loop->metrics;
    if (m == NULL || m->closing)
        return;
    m->closing = true;
    loop->metrics = NULL;
    for (rt_link *l = m->clients.next; l != &m->clients; l = l->next)
        client_close(RT_CONTAINER(l, metrics_client, link));
    uv_close((uv_handle_t *)&m->listener, on_listener_closed);
}

/* loadgen.c — the benchmark load generator. One process, one thread,
 * non-blocking: one connected UDP socket per session, all driven by one
 * epoll loop, with dtlsrun's own sans-IO client engine (dtls_conn in the
 * client role) doing the DTLS. Measures handshakes, echo round trips and
 * the memory a server holds per idle session; reads the server's CPU time
 * and RSS from /proc when given its pid. Never talks to anything but
 * loopback. See usage() for the modes; results are one "RESULT k=v ..." line.
 */
#include "loopback.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dtls/dtls.h"

#define MAX_WINDOW 64
#define MAX_MSG 1200
#define MAX_SAMPLES (4u << 20)
#define RECV_BURST 64 /* datagrams read from one socket per wake-up */
#define LOCAL_PORT_LO 33000
#define LOCAL_PORT_HI 60000

enum { MODE_HANDSHAKE, MODE_ECHO, MODE_HOLD, MODE_KEYGEN };
enum { S_FREE = 0, S_HANDSHAKING, S_ESTABLISHED, S_CLOSED };

typedef struct echo_slot {
    uint32_t seq;
    bool used;
    uint64_t sent_ns;
} echo_slot;

typedef struct session {
    struct loadgen *g;
    int fd;
    dtls_conn *conn;
    int state;
    int close_error;
    uint32_t id;
    uint64_t start_ns;
    bool offered;           /* --resume: this handshake offers the session */
    /* echo */
    uint32_t next_seq;
    unsigned outstanding;
    echo_slot *slots;
} session;

enum { RESUME_TICKET = 1, RESUME_ID = 2 };

typedef struct samples {
    uint64_t *v;
    size_t n, cap;
} samples;

typedef struct loadgen {
    /* options */
    int mode;
    const char *host;
    int port;
    const char *cipher;
    const char *psk_identity;
    uint8_t psk_key[64];
    size_t psk_key_len;
    const char *ca_file;
    unsigned inflight, nsessions, window, size, hold, baseline;
    double warmup_s, duration_s, max_s, loss_timeout_s;
    long server_pid;
    bool server_tree;       /* --server-tree: the pid's children count too */
    bool plain;
    const char *label;
    const char *group_name; /* keygen mode */
    int resume;             /* 0, RESUME_TICKET or RESUME_ID */
    int cid;                /* --cid: the CID length to ask for, -1 none */
    bool no_etm;            /* --no-etm: MAC-then-encrypt with CBC suites */

    /* state */
    struct sockaddr_storage server;
    socklen_t server_len;
    int epfd;
    dtls_config *cfg;
    session *sessions;
    size_t nslots;
    uint32_t next_id;
    uint32_t port_cursor;
    uint64_t t0_ns;

    bool measuring, sending;
    samples lat;
    uint64_t ok_total, ok_measured;
    uint64_t handshakes_done, handshakes_measured, handshake_failures;
    uint64_t mismatches, lost, send_errors, refused;
    uint16_t group; /* the ECDHE group the server picked, sniffed from ServerKeyExchange */
    const char *suite_seen;
    uint8_t *session_blob;  /* --resume: the session every handshake offers */
    size_t session_len;
    uint64_t resumed_measured;

    uint8_t rbuf[65536];
    uint8_t sbuf[MAX_MSG];
    uint8_t vbuf[MAX_MSG];
} loadgen;

/* ---- time, /proc -------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
    return now_ns() / 1000000u;
}

static double secs_since(uint64_t t_ns)
{
    return (double)(now_ns() - t_ns) / 1e9;
}

/* /proc/PID/stat from field 3 on (after the command name, which may hold
 * spaces and ')'), in buf; NULL when it cannot be read. */
static const char *proc_stat_fields(long pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p ? p + 1 : NULL;
}

/* utime + stime of a process in microseconds (/proc/PID/stat fields 14, 15),
 * or -1 when it cannot be read; *sys_us gets stime alone. */
static double proc_cpu_us(long pid, double *sys_us)
{
    *sys_us = -1;
    char buf[1024];
    const char *p = pid > 0 ? proc_stat_fields(pid, buf, sizeof buf) : NULL;
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    /* fields 3..13 skipped, then utime (14) and stime (15) */
    if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    long tck = sysconf(_SC_CLK_TCK);
    double us_per_tick = 1e6 / (double)(tck > 0 ? tck : 100);
    *sys_us = (double)stime * us_per_tick;
    return (double)(utime + stime) * us_per_tick;
}

/* The parent pid of a process (/proc/PID/stat field 4), or -1. */
static long proc_ppid(long pid)
{
    char buf[1024];
    const char *p = proc_stat_fields(pid, buf, sizeof buf);
    long ppid = -1;
    if (!p || sscanf(p, " %*c %ld", &ppid) != 1)
        return -1;
    return ppid;
}

/* The server's CPU: its own, and with --server-tree that of its live
 * children too (dtlsrun --workers: the master and its workers). */
static double server_cpu_us(const loadgen *g, double *sys_us)
{
    double total = proc_cpu_us(g->server_pid, sys_us);
    if (!g->server_tree || total < 0)
        return total;
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || proc_ppid(atol(e->d_name)) != g->server_pid)
            continue;
        double sys = 0, cpu = proc_cpu_us(atol(e->d_name), &sys);
        if (cpu >= 0) {
            total += cpu;
            *sys_us += sys;
        }
    }
    closedir(d);
    return total;
}

/* VmRSS of a process in KiB, or -1. */
static long proc_rss_kib(long pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* ---- latency samples ------------------------------------------------------ */

static void sample_add(samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        if (s->cap >= MAX_SAMPLES)
            return;
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint64_t *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentile p (0..100) in microseconds, nearest rank. */
static double sample_pct_us(samples *s, double p)
{
    if (s->n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return (double)s->v[rank - 1] / 1e3;
}

/* ---- echo payloads ---------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Message (id, seq): 4 bytes id, 4 bytes seq, then bytes from a xorshift
 * stream seeded by both, so every byte of every reply can be checked. */
static void echo_fill(uint8_t *p, size_t len, uint32_t id, uint32_t seq)
{
    put32(p, id);
    put32(p + 4, seq);
    uint64_t x = ((uint64_t)id << 32 | seq) ^ 0x9E3779B97F4A7C15ull;
    for (size_t i = 8; i < len; i++) {
        if ((i & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        p[i] = (uint8_t)(x >> ((i & 7) * 8));
    }
}

static void echo_send_one(loadgen *g, session *s)
{
    echo_slot *slot = NULL;
    for (unsigned i = 0; i < g->window; i++)
        if (!s->slots[i].used) {
            slot = &s->slots[i];
            break;
        }
    if (!slot)
        return;
    uint32_t seq = s->next_seq++;
    echo_fill(g->sbuf, g->size, s->id, seq);
    slot->seq = seq;
    slot->used = true;
    slot->sent_ns = now_ns();
    s->outstanding++;
    int rc;
    if (g->plain)
        rc = send(s->fd, g->sbuf, g->size, MSG_DONTWAIT) == (ssize_t)g->size ? 0 : -1;
    else
        rc = dtls_conn_send(s->conn, slot->sent_ns / 1000000u, g->sbuf, g->size);
    if (rc != 0)
        g->send_errors++; /* the slot stays; the loss timer retires it */
}

static void echo_reply(loadgen *g, session *s, const uint8_t *p, size_t len)
{
    uint64_t t = now_ns();
    if (len != g->size || len < 8 || get32(p) != s->id) {
        if (g->mismatches++ < 5)
            fprintf(stderr, "loadgen: session %u: reply of %zu bytes does not match (want %u)\n",
                    s->id, len, g->size);
        return;
    }
    uint32_t seq = get32(p + 4);
    echo_slot *slot = NULL;
    for (unsigned i = 0; i < g->window; i++)
        if (s->slots[i].used && s->slots[i].seq == seq) {
            slot = &s->slots[i];
            break;
        }
    if (!slot) {
        if (g->mismatches++ < 5)
            fprintf(stderr, "loadgen: session %u: reply for seq %u that is not outstanding\n",
                    s->id, seq);
        return;
    }
    echo_fill(g->vbuf, len, s->id, seq);
    slot->used = false;
    s->outstanding--;
    if (memcmp(g->vbuf, p, len) != 0) {
        if (g->mismatches++ < 5)
            fprintf(stderr, "loadgen: session %u seq %u: payload differs\n", s->id, seq);
    } else {
        g->ok_total++;
        if (g->measuring) {
            g->ok_measured++;
            sample_add(&g->lat, t - slot->sent_ns);
        }
    }
    if (g->sending)
        echo_send_one(g, s);
}

/* Messages unanswered for loss_timeout are counted lost and replaced. */
static void echo_expire(loadgen *g)
{
    uint64_t t = now_ns(), limit = (uint64_t)(g->loss_timeout_s * 1e9);
    for (size_t i = 0; i < g->nslots; i++) {
        session *s = &g->sessions[i];
        if (s->state != S_ESTABLISHED || !s->slots)
            continue;
        for (unsigned k = 0; k < g->window; k++)
            if (s->slots[k].used && t - s->slots[k].sent_ns > limit) {
                s->slots[k].used = false;
                s->outstanding--;
                g->lost++;
                if (g->sending)
                    echo_send_one(g, s);
            }
    }
}

/* ---- engine callbacks ---------------------------------------------------------- */

static void on_send(void *user, const uint8_t *dgram, size_t len)
{
    session *s = user;
    if (s->fd < 0)
        return;
    if (send(s->fd, dgram, len, MSG_DONTWAIT) != (ssize_t)len)
        s->g->send_errors++; /* UDP: the engine retransmits handshake flights */
}

static void on_event(void *user, const dtls_event *ev)
{
    session *s = user;
    loadgen *g = s->g;
    switch (ev->type) {
    case DTLS_EV_HANDSHAKE_DONE:
        s->state = S_ESTABLISHED;
        g->handshakes_done++;
        if (!g->suite_seen && s->conn)
            g->suite_seen = dtls_conn_cipher_name(s->conn);
        if (g->measuring && g->mode == MODE_HANDSHAKE) {
            g->handshakes_measured++;
            if (s->conn && dtls_conn_session_reused(s->conn))
                g->resumed_measured++;
            sample_add(&g->lat, now_ns() - s->start_ns);
        }
        break;
    case DTLS_EV_APP_DATA:
        if (s->slots)
            echo_reply(g, s, ev->data, ev->len);
        break;
    case DTLS_EV_ALERT:
        if (ev->alert_level == 2 && g->handshake_failures < 5)
            fprintf(stderr, "loadgen: session %u: fatal alert %s %s\n", s->id,
                    dtls_alert_name(ev->alert_desc), ev->alert_sent ? "sent" : "received");
        break;
    case DTLS_EV_PEER_MOVED:
    case DTLS_EV_RENEGOTIATED:
        break;
    case DTLS_EV_SESSION:
        /* --resume: the first session the server gives is offered by
         * every later handshake (the server may renew it; any one works). */
        if (g->resume && !g->session_blob && s->conn)
            dtls_conn_get_session(s->conn, &g->session_blob, &g->session_len);
        break;
    case DTLS_EV_CLOSED:
        if (s->state == S_HANDSHAKING && g->handshake_failures < 5)
            fprintf(stderr, "loadgen: session %u: handshake failed: %s\n", s->id,
                    dtls_strerror(ev->error));
        if (s->state == S_HANDSHAKING)
            g->handshake_failures++;
        s->state = S_CLOSED;
        s->close_error = ev->error;
        break;
    }
}

/* Which ECDHE group the server chose, read from a plaintext
 * ServerKeyExchange (RFC 8422 5.4: curve_type 3, then the NamedGroup). */
static void sniff_group(loadgen *g, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= 13) {
        uint8_t type = p[off];
        unsigned epoch = (unsigned)p[off + 3] << 8 | p[off + 4];
        size_t rlen = (size_t)p[off + 11] << 8 | p[off + 12];
        const uint8_t *r = p + off + 13;
        if (rlen > len - off - 13)
            return;
        if (type == 22 && epoch == 0 && rlen >= 12 + 3 && r[0] == 12 /* server_key_exchange */
            && r[6] == 0 && r[7] == 0 && r[8] == 0 && r[12] == 3)
            g->group = (uint16_t)(r[13] << 8 | r[14]);
        off += 13 + rlen;
    }
}

static const char *group_name(uint16_t group)
{
    switch (group) {
    case 0: return "none";
    case 23: return "P-256";
    case 24: return "P-384";
    case 29: return "X25519";
    default: return "other";
    }
}

/* ---- sessions ------------------------------------------------------------------ */

static session *session_slot(loadgen *g)
{
    for (size_t i = 0; i < g->nslots; i++)
        if (g->sessions[i].state == S_FREE && g->sessions[i].fd < 0)
            return &g->sessions[i];
    return NULL;
}

/* Local ports go round a wide range instead of the kernel's random pick,
 * so a port comes back only long after its last session: a late datagram
 * for an old session (a close_notify answer, say) never lands on a new
 * session's handshake, and the server never sees a live address reused.
 * The range lies in the kernel's ephemeral range (32768-60999): ports below
 * it are where tests pick ports for their servers (spec/interop/lib.sh). */
static int bind_next_port(loadgen *g, int fd)
{
    struct sockaddr_storage local = g->server;
    for (int tries = 0; tries < 512; tries++) {
        uint16_t port = (uint16_t)(LOCAL_PORT_LO + g->port_cursor++ % (LOCAL_PORT_HI - LOCAL_PORT_LO));
        if (local.ss_family == AF_INET)
            ((struct sockaddr_in *)&local)->sin_port = htons(port);
        else
            ((struct sockaddr_in6 *)&local)->sin6_port = htons(port);
        if (bind(fd, (struct sockaddr *)&local, g->server_len) == 0)
            return 0;
        if (errno != EADDRINUSE && errno != EACCES)
            break;
    }
    fprintf(stderr, "loadgen: no free local port: %s\n", strerror(errno));
    return -1;
}

static int session_open(loadgen *g, session *s)
{
    s->g = g;
    s->id = g->next_id++;
    s->close_error = 0;
    s->next_seq = 0;
    s->outstanding = 0;
    s->fd = socket(g->server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
        return -1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
    if (bind_next_port(g, s->fd) != 0 || connect(s->fd, (struct sockaddr *)&g->server, g->server_len) != 0
        || epoll_ctl(g->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        fprintf(stderr, "loadgen: connect/epoll: %s\n", strerror(errno));
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    s->start_ns = now_ns();
    if (g->plain) {
        s->state = S_ESTABLISHED;
        return 0;
    }
    s->conn = dtls_conn_new(g->cfg, DTLS_ROLE_CLIENT, NULL, 0, s);
    if (!s->conn) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    if (g->ca_file)
        dtls_conn_set_servername(s->conn, "localhost");
    s->offered = g->session_blob != NULL;
    if (s->offered)
        dtls_conn_set_session(s->conn, g->session_blob, g->session_len);
    s->state = S_HANDSHAKING;
    if (dtls_conn_start(s->conn, s->start_ns / 1000000u) != DTLS_OK && s->state == S_HANDSHAKING)
        s->state = S_CLOSED;
    return 0;
}

/* notify: send close_notify first (an established session). */
static void session_close(loadgen *g, session *s, bool notify)
{
    if (s->conn) {
        if (notify && s->state == S_ESTABLISHED)
            dtls_conn_close(s->conn, now_ms());
        dtls_conn_free(s->conn);
        s->conn = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->state = S_FREE;
}

static void session_readable(loadgen *g, session *s)
{
    for (int i = 0; i < RECV_BURST && s->fd >= 0; i++) {
        ssize_t n = recv(s->fd, g->rbuf, sizeof g->rbuf, 0);
        if (n < 0) {
            if (errno == ECONNREFUSED)
                g->refused++;
            return;
        }
        if (g->plain) {
            if (s->slots)
                echo_reply(g, s, g->rbuf, (size_t)n);
            continue;
        }
        if (s->state == S_HANDSHAKING && g->group == 0)
            sniff_group(g, g->rbuf, (size_t)n);
        if (s->conn && dtls_conn_recv(s->conn, now_ms(), g->rbuf, (size_t)n) != DTLS_OK)
            return;
    }
}

/* Retransmissions and handshake timeouts of the sessions still handshaking. */
static void tick_handshakes(loadgen *g)
{
    uint64_t t = now_ms();
    for (size_t i = 0; i < g->nslots; i++) {
        session *s = &g->sessions[i];
        if (s->state == S_HANDSHAKING && s->conn && dtls_conn_deadline(s->conn) <= t)
            dtls_conn_tick(s->conn, t);
    }
}

/* One round of the event loop: wait at most wait_ms, read what arrived. */
static void poll_once(loadgen *g, int wait_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(g->epfd, evs, 256, wait_ms);
    for (int i = 0; i < n; i++) {
        session *s = evs[i].data.ptr;
        if (s->fd >= 0)
            session_readable(g, s);
    }
}

static bool out_of_time(loadgen *g)
{
    return secs_since(g->t0_ns) > g->max_s;
}

/* Opens sessions until `target` are established (kept, keep == true) or
 * have been counted (handshake mode recycles them). Returns how many are
 * established. At most g->inflight handshakes run at once. */
static size_t establish(loadgen *g, size_t target, uint64_t deadline_ns)
{
    size_t established = 0, handshaking = 0;
    for (size_t i = 0; i < g->nslots; i++)
        if (g->sessions[i].state == S_ESTABLISHED)
            established++;
    size_t goal = established + target;
    uint64_t last_tick = 0;
    while (established < goal && now_ns() < deadline_ns && !out_of_time(g)) {
        while (handshaking < g->inflight && established + handshaking < goal) {
            session *s = session_slot(g);
            if (!s || session_open(g, s) != 0)
                break;
            handshaking++;
        }
        if (handshaking == 0)
            break;
        poll_once(g, 10);
        if (now_ms() != last_tick) {
            tick_handshakes(g);
            last_tick = now_ms();
        }
        handshaking = 0;
        established = 0;
        for (size_t i = 0; i < g->nslots; i++) {
            session *s = &g->sessions[i];
            if (s->state == S_CLOSED)
                session_close(g, s, false);
            else if (s->state == S_HANDSHAKING)
                handshaking++;
            else if (s->state == S_ESTABLISHED)
                established++;
        }
    }
    return established;
}

static void close_all(loadgen *g, bool notify)
{
    for (size_t i = 0; i < g->nslots; i++) {
        session *s = &g->sessions[i];
        if (s->state != S_FREE || s->fd >= 0)
            session_close(g, s, notify);
        free(s->slots);
        s->slots = NULL;
    }
}

/* ---- modes ---------------------------------------------------------------------- */

static void print_common(loadgen *g)
{
    printf(" label=%s suite=%s group=%s", g->label ? g->label : "-",
           g->plain ? "plain-udp" : g->suite_seen ? g->suite_seen : "none", group_name(g->group));
}

/* The measured interval: a warm-up, then duration_s of operations, with the
 * server's CPU time (utime + stime, and stime alone) read at both ends. */
typedef struct window {
    uint64_t measure_at, end_at, t_measure, t_end;
    double cpu0, cpu1, sys0, sys1;
} window;

static window window_start(const loadgen *g)
{
    window w = { 0 };
    w.measure_at = now_ns() + (uint64_t)(g->warmup_s * 1e9);
    w.cpu0 = w.cpu1 = w.sys0 = w.sys1 = -1;
    return w;
}

/* --resume: every handshake still in flight offers the session. Those
 * begun before the first session came are full handshakes, and belong to
 * the warm-up however long it takes (a loaded machine can take longer
 * than --warmup to finish the first one). */
static bool resume_ready(const loadgen *g)
{
    if (!g->resume)
        return true;
    if (!g->session_blob)
        return false;
    for (size_t i = 0; i < g->nslots; i++)
        if (g->sessions[i].state == S_HANDSHAKING && !g->sessions[i].offered)
            return false;
    return true;
}

/* Call once per loop turn: opens and closes the interval (g->measuring
 * says whether operations count). True when it has ended. */
static bool window_step(loadgen *g, window *w)
{
    uint64_t t = now_ns();
    if (!g->measuring && w->t_measure == 0 && t >= w->measure_at && resume_ready(g)) {
        g->measuring = true;
        w->t_measure = t;
        w->end_at = t + (uint64_t)(g->duration_s * 1e9);
        w->cpu0 = server_cpu_us(g, &w->sys0);
    }
    if (g->measuring && t >= w->end_at) {
        g->measuring = false;
        w->t_end = t;
        w->cpu1 = server_cpu_us(g, &w->sys1);
        return true;
    }
    return false;
}

static double window_secs(const window *w) { return (double)(w->t_end - w->t_measure) / 1e9; }
static double window_cpu_us(const window *w) { return w->cpu0 >= 0 && w->cpu1 >= 0 ? w->cpu1 - w->cpu0 : -1; }
static double per_op(double a0, double a1, uint64_t ops) { return a0 >= 0 && a1 >= 0 && ops ? (a1 - a0) / (double)ops : -1; }

static int run_handshakes(loadgen *g)
{
    g->nslots = g->inflight;
    window w = window_start(g);
    size_t handshaking = 0;
    uint64_t last_tick = 0;
    while (!out_of_time(g) && !window_step(g, &w)) {
        while (handshaking < g->inflight) {
            session *s = session_slot(g);
            if (!s || session_open(g, s) != 0)
                break;
            handshaking++;
        }
        poll_once(g, 10);
        if (now_ms() != last_tick) {
            tick_handshakes(g);
            last_tick = now_ms();
        }
        handshaking = 0;
        for (size_t i = 0; i < g->nslots; i++) {
            session *s = &g->sessions[i];
            if (s->state == S_ESTABLISHED)
                session_close(g, s, true); /* close_notify: the server frees its session */
            else if (s->state == S_CLOSED)
                session_close(g, s, false);
            else if (s->state == S_HANDSHAKING)
                handshaking++;
        }
    }
    close_all(g, false);
    if (w.t_end == 0) {
        fprintf(stderr, "loadgen: ran out of time before the measurement ended\n");
        return 1;
    }
    double secs = window_secs(&w);
    qsort(g->lat.v, g->lat.n, sizeof *g->lat.v, cmp_u64);
    printf("RESULT mode=handshake");
    print_common(g);
    printf(" ops=%" PRIu64 " secs=%.3f rate=%.1f p50_us=%.0f p99_us=%.0f server_cpu_us=%.0f"
           " server_cpu_us_per_op=%.1f server_sys_us_per_op=%.1f failures=%" PRIu64 " send_errors=%" PRIu64
           " resumed=%" PRIu64 "\n",
           g->handshakes_measured, secs, (double)g->handshakes_measured / secs,
           sample_pct_us(&g->lat, 50), sample_pct_us(&g->lat, 99),
           window_cpu_us(&w), per_op(w.cpu0, w.cpu1, g->handshakes_measured),
           per_op(w.sys0, w.sys1, g->handshakes_measured),
           g->handshake_failures, g->send_errors, g->resumed_measured);
    fflush(stdout);
    if (g->handshakes_measured == 0) {
        fprintf(stderr, "loadgen: no handshake completed in the measured interval\n");
        return 1;
    }
    if (g->resume && g->resumed_measured != g->handshakes_measured) {
        fprintf(stderr, "loadgen: --resume: only %" PRIu64 " of %" PRIu64 " handshakes were resumed\n",
                g->resumed_measured, g->handshakes_measured);
        return 1;
    }
    return 0;
}

static int run_echo(loadgen *g)
{
    g->nslots = g->nsessions;
    size_t up = establish(g, g->nsessions, now_ns() + (uint64_t)30e9);
    if (up < g->nsessions) {
        fprintf(stderr, "loadgen: only %zu of %u echo sessions established\n", up, g->nsessions);
        close_all(g, true);
        return 1;
    }
    for (size_t i = 0; i < g->nslots; i++) {
        g->sessions[i].slots = calloc(g->window, sizeof(echo_slot));
        if (!g->sessions[i].slots) {
            close_all(g, true);
            return 1;
        }
    }
    /* Fill the windows one message per session per round, so the first
     * burst does not overflow the server's socket buffer. */
    g->sending = true;
    for (unsigned k = 0; k < g->window; k++) {
        for (size_t i = 0; i < g->nslots; i++)
            if (g->sessions[i].outstanding == k)
                echo_send_one(g, &g->sessions[i]);
        poll_once(g, 1);
    }
    window w = window_start(g);
    uint64_t last_expire = now_ns();
    while (!out_of_time(g) && !window_step(g, &w)) {
        poll_once(g, 10);
        if (now_ns() - last_expire > 100000000u) {
            echo_expire(g);
            last_expire = now_ns();
        }
    }
    /* Drain: every message still in flight must come back and verify. */
    g->sending = false;
    uint64_t drain_end = now_ns() + (uint64_t)(g->loss_timeout_s * 1e9) + 100000000u;
    for (;;) {
        size_t left = 0;
        for (size_t i = 0; i < g->nslots; i++)
            left += g->sessions[i].outstanding;
        if (left == 0 || now_ns() > drain_end)
            break;
        poll_once(g, 10);
    }
    echo_expire(g);
    size_t alive = 0;
    for (size_t i = 0; i < g->nslots; i++)
        alive += g->sessions[i].state == S_ESTABLISHED;
    close_all(g, true);
    if (w.t_end == 0) {
        fprintf(stderr, "loadgen: ran out of time before the measurement ended\n");
        return 1;
    }
    double secs = window_secs(&w);
    qsort(g->lat.v, g->lat.n, sizeof *g->lat.v, cmp_u64);
    printf("RESULT mode=echo");
    print_common(g);
    printf(" size=%u sessions=%u window=%u ops=%" PRIu64 " secs=%.3f rate=%.1f p50_us=%.0f p99_us=%.0f"
           " server_cpu_us=%.0f server_cpu_us_per_op=%.2f server_sys_us_per_op=%.2f verified=%" PRIu64 " mismatches=%" PRIu64
           " lost=%" PRIu64 " send_errors=%" PRIu64 " sessions_alive=%zu\n",
           g->size, g->nsessions, g->window, g->ok_measured, secs, (double)g->ok_measured / secs,
           sample_pct_us(&g->lat, 50), sample_pct_us(&g->lat, 99),
           window_cpu_us(&w), per_op(w.cpu0, w.cpu1, g->ok_measured), per_op(w.sys0, w.sys1, g->ok_measured),
           g->ok_total, g->mismatches, g->lost, g->send_errors, alive);
    fflush(stdout);
    if (g->mismatches || g->ok_measured == 0 || alive < g->nsessions) {
        fprintf(stderr, "loadgen: echo failed: %" PRIu64 " mismatches, %" PRIu64 " verified, %zu of %u sessions alive\n",
                g->mismatches, g->ok_measured, alive, g->nsessions);
        return 1;
    }
    return 0;
}

/* Lets the server settle (frees, timers), then reads its RSS. */
static long settle_rss(loadgen *g, double secs)
{
    uint64_t until = now_ns() + (uint64_t)(secs * 1e9);
    while (now_ns() < until)
        poll_once(g, 10);
    return proc_rss_kib(g->server_pid);
}

static int run_hold(loadgen *g)
{
    g->nslots = g->baseline + g->hold;
    size_t base = establish(g, g->baseline, now_ns() + (uint64_t)60e9);
    long rss0 = settle_rss(g, 0.3), self0 = proc_rss_kib((long)getpid());
    uint64_t t = now_ns();
    size_t up = establish(g, g->hold, now_ns() + (uint64_t)(g->max_s * 1e9));
    double secs = secs_since(t);
    long rss1 = settle_rss(g, 0.5), self1 = proc_rss_kib((long)getpid());
    /* Idle for longer: a dtlsrun server parks an idle session's cipher
     * contexts after 1 s (DTLS_KEY_PARK_DEFAULT_MS); read RSS again once
     * every session has been idle that long. */
    long rss2 = settle_rss(g, 1.5);
    size_t held = up > base ? up - base : 0;
    size_t client_bytes = 0;
    for (size_t i = 0; i < g->nslots; i++)
        if (g->sessions[i].state == S_ESTABLISHED && g->sessions[i].conn)
            client_bytes += dtls_conn_memory(g->sessions[i].conn);
    printf("RESULT mode=hold");
    print_common(g);
    printf(" sessions=%zu baseline=%zu secs=%.3f rss0_kib=%ld rss1_kib=%ld rss2_kib=%ld bytes_per_session=%.0f"
           " bytes_per_idle_session=%.0f"
           " client_engine_bytes_per_session=%.0f client_rss_bytes_per_session=%.0f failures=%" PRIu64 "\n",
           held, base, secs, rss0, rss1, rss2,
           rss0 >= 0 && rss1 >= 0 && held ? (double)(rss1 - rss0) * 1024.0 / (double)held : -1,
           rss0 >= 0 && rss2 >= 0 && held ? (double)(rss2 - rss0) * 1024.0 / (double)held : -1,
           up ? (double)client_bytes / (double)up : 0,
           held ? (double)(self1 - self0) * 1024.0 / (double)held : 0, g->handshake_failures);
    fflush(stdout);
    close_all(g, true);
    if (held < g->hold) {
        fprintf(stderr, "loadgen: only %zu of %u sessions established\n", held, g->hold);
        return 1;
    }
    return 0;
}

/* Microseconds per ECDHE key generation in libcrypto, for the crypto ceiling
 * (openssl speed measures derive and sign, not key generation). */
static int run_keygen(loadgen *g)
{
    const char *name = g->group_name ? g->group_name : "P-256";
    EVP_PKEY_CTX *pctx = strcmp(name, "X25519") == 0
        ? EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL)
        : EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!pctx || EVP_PKEY_keygen_init(pctx) <= 0
        || (strcmp(name, "X25519") != 0 && EVP_PKEY_CTX_set_group_name(pctx, name) <= 0)) {
        fprintf(stderr, "loadgen: cannot set up key generation for %s\n", name);
        EVP_PKEY_CTX_free(pctx);
        return 1;
    }
    uint64_t start = now_ns(), n = 0;
    double secs = g->duration_s > 0 ? g->duration_s : 1;
    while (secs_since(start) < secs) {
        for (int i = 0; i < 64; i++, n++) {
            EVP_PKEY *k = NULL;
            if (EVP_PKEY_keygen(pctx, &k) <= 0) {
                EVP_PKEY_CTX_free(pctx);
                return 1;
            }
            EVP_PKEY_free(k);
        }
    }
    double el = secs_since(start);
    EVP_PKEY_CTX_free(pctx);
    printf("RESULT mode=keygen group=%s ops=%" PRIu64 " secs=%.3f us_per_op=%.2f\n", name, n, el,
           el * 1e6 / (double)n);
    return 0;
}

/* ---- set-up ---------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: loadgen --mode MODE --port PORT [options]\n"
        "A DTLS 1.2 load generator on dtlsrun's client engine (one process, epoll,\n"
        "one connected UDP socket per session). Loopback only.\n"
        "modes:\n"
        "  handshake  full handshakes (cookie exchange included), --inflight at once;\n"
        "             each is closed with close_notify once established\n"
        "  echo       --sessions sessions, --window messages in flight each, of --size\n"
        "             bytes; every reply verified byte for byte\n"
        "  hold       establish --baseline sessions, read the server's RSS, establish\n"
        "             --hold more, read it again 0.5 s and 2 s later: RSS growth per\n"
        "             session, just established and idle\n"
        "  keygen     time ECDHE key generation (--group P-256|X25519), no server\n"
        "options:\n"
        "  --host ADDR          127.0.0.1 (default) or ::1\n"
        "  --cipher NAME        suite to offer (default ECDHE-ECDSA-AES128-GCM-SHA256)\n"
        "  --psk-identity ID --psk-key HEX   PSK credentials (PSK suites)\n"
        "  --ca FILE            verify the server's chain and name (localhost)\n"
        "  --inflight N         concurrent handshakes (32)\n"
        "  --sessions N         echo sessions (64)    --window N  per session (4)\n"
        "  --size N             echo message bytes, 8..%d (100)\n"
        "  --hold N             idle sessions to hold (10000) --baseline N (100)\n"
        "  --warmup S --duration S   seconds before and of the measurement (1, 5)\n"
        "  --loss-timeout S     an echo unanswered this long is lost (0.5)\n"
        "  --max-seconds S      hard limit on the whole run (120)\n"
        "  --server-pid PID     read the server's CPU time and RSS from /proc\n"
        "  --server-tree        add the CPU time of the server's children (workers)\n"
        "  --plain              echo over plain UDP, no DTLS (the ceiling)\n"
        "  --resume ticket|id   handshake mode: every handshake after the first\n"
        "                       resumes its session, by ticket or by session ID\n"
        "  --cid N              ask the server for N-byte Connection IDs (RFC 9146)\n"
        "  --no-etm             CBC suites: do not offer Encrypt-then-MAC (RFC 7366)\n"
        "  --label TEXT         copied into the RESULT line\n",
        MAX_MSG);
}


static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

static int parse_args(loadgen *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "mode", required_argument, NULL, 'm' }, { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' }, { "cipher", required_argument, NULL, 'c' },
        { "psk-identity", required_argument, NULL, 'i' }, { "psk-key", required_argument, NULL, 'k' },
        { "ca", required_argument, NULL, 'a' }, { "inflight", required_argument, NULL, 'f' },
        { "sessions", required_argument, NULL, 's' }, { "window", required_argument, NULL, 'w' },
        { "size", required_argument, NULL, 'z' }, { "hold", required_argument, NULL, 'o' },
        { "baseline", required_argument, NULL, 'b' }, { "warmup", required_argument, NULL, 'W' },
        { "duration", required_argument, NULL, 'd' }, { "loss-timeout", required_argument, NULL, 'l' },
        { "max-seconds", required_argument, NULL, 'M' }, { "server-pid", required_argument, NULL, 'P' },
        { "server-tree", no_argument, NULL, 'T' },
        { "plain", no_argument, NULL, 'u' }, { "label", required_argument, NULL, 'L' },
        { "group", required_argument, NULL, 'g' }, { "help", no_argument, NULL, 'h' },
        { "resume", required_argument, NULL, 'R' }, { "cid", required_argument, NULL, 'C' },
        { "no-etm", no_argument, NULL, 'E' }, { NULL, 0, NULL, 0 },
    };
    g->mode = -1;
    g->cid = -1;
    g->host = "127.0.0.1";
    g->cipher = "ECDHE-ECDSA-AES128-GCM-SHA256";
    g->inflight = 32;
    g->nsessions = 64;
    g->window = 4;
    g->size = 100;
    g->hold = 10000;
    g->baseline = 100;
    g->warmup_s = 1;
    g->duration_s = 5;
    g->loss_timeout_s = 0.5;
    g->max_s = 120;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            g->mode = strcmp(optarg, "handshake") == 0 ? MODE_HANDSHAKE
                    : strcmp(optarg, "echo") == 0      ? MODE_ECHO
                    : strcmp(optarg, "hold") == 0      ? MODE_HOLD
                    : strcmp(optarg, "keygen") == 0    ? MODE_KEYGEN : -1;
            if (g->mode < 0) {
                fprintf(stderr, "loadgen: unknown mode '%s'\n", optarg);
                return -1;
            }
            break;
        case 'H': g->host = optarg; break;
        case 'p': g->port = atoi(optarg); break;
        case 'c': g->cipher = optarg; break;
        case 'i': g->psk_identity = optarg; break;
        case 'k':
            if (parse_hex(optarg, g->psk_key, sizeof g->psk_key, &g->psk_key_len) != 0) {
                fprintf(stderr, "loadgen: --psk-key wants an even number of hex digits\n");
                return -1;
            }
            break;
        case 'a': g->ca_file = optarg; break;
        case 'f': g->inflight = (unsigned)atoi(optarg); break;
        case 's': g->nsessions = (unsigned)atoi(optarg); break;
        case 'w': g->window = (unsigned)atoi(optarg); break;
        case 'z': g->size = (unsigned)atoi(optarg); break;
        case 'o': g->hold = (unsigned)atoi(optarg); break;
        case 'b': g->baseline = (unsigned)atoi(optarg); break;
        case 'W': g->warmup_s = atof(optarg); break;
        case 'd': g->duration_s = atof(optarg); break;
        case 'l': g->loss_timeout_s = atof(optarg); break;
        case 'M': g->max_s = atof(optarg); break;
        case 'P': g->server_pid = atol(optarg); break;
        case 'T': g->server_tree = true; break;
        case 'u': g->plain = true; break;
        case 'L': g->label = optarg; break;
        case 'g': g->group_name = optarg; break;
        case 'R':
            g->resume = strcmp(optarg, "ticket") == 0 ? RESUME_TICKET : strcmp(optarg, "id") == 0 ? RESUME_ID : -1;
            if (g->resume < 0) {
                fprintf(stderr, "loadgen: --resume ticket|id\n");
                return -1;
            }
            break;
        case 'C': g->cid = atoi(optarg); break;
        case 'E': g->no_etm = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (g->mode < 0) {
        usage(stderr);
        return -1;
    }
    if (g->mode == MODE_KEYGEN)
        return 0;
    if (g->port <= 0 || g->port > 65535 || g->inflight < 1 || g->inflight > 4096
        || g->nsessions < 1 || g->nsessions > 4096 || g->window < 1 || g->window > MAX_WINDOW
        || g->size < 8 || g->size > MAX_MSG || g->hold > 100000 || g->baseline > 10000
        || g->warmup_s < 0 || g->duration_s <= 0 || g->max_s <= 0 || g->loss_timeout_s <= 0) {
        fprintf(stderr, "loadgen: an option is out of range (see --help)\n");
        return -1;
    }
    if (g->plain && g->mode != MODE_ECHO) {
        fprintf(stderr, "loadgen: --plain is for echo only\n");
        return -1;
    }
    /* Loopback only: this tool must never load anything else. */
    struct sockaddr_in *s4 = (struct sockaddr_in *)&g->server;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g->server;
    memset(&g->server, 0, sizeof g->server);
    if (inet_pton(AF_INET, g->host, &s4->sin_addr) == 1) {
        if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "loadgen: %s is not a loopback address\n", g->host);
            return -1;
        }
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)g->port);
        g->server_len = sizeof *s4;
    } else if (inet_pton(AF_INET6, g->host, &s6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) {
            fprintf(stderr, "loadgen: %s is not a loopback address\n", g->host);
            return -1;
        }
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)g->port);
        g->server_len = sizeof *s6;
    } else {
        fprintf(stderr, "loadgen: --host wants a numeric loopback address\n");
        return -1;
    }
    return 0;
}

static int make_config(loadgen *g)
{
    char err[256] = "";
    g->cfg = dtls_config_new();
    if (!g->cfg)
        return -1;
    dtls_callbacks cb = { .send = on_send, .event = on_event };
    dtls_config_set_callbacks(g->cfg, &cb);
    if (dtls_config_set_ciphers(g->cfg, g->cipher, err, sizeof err) != DTLS_OK) {
        fprintf(stderr, "loadgen: --cipher: %s\n", err);
        return -1;
    }
    dtls_config_set_handshake_timeout(g->cfg, 10000);
    dtls_config_set_encrypt_then_mac(g->cfg, !g->no_etm);
    if (g->resume == RESUME_ID)
        dtls_config_set_tickets(g->cfg, 0); /* the server must use its session-ID cache */
    if (dtls_config_set_connection_id(g->cfg, g->cid) != DTLS_OK) {
        fprintf(stderr, "loadgen: --cid: 0..%d\n", DTLS_CID_MAX_LEN);
        return -1;
    }
    if (g->psk_identity) {
        if (g->psk_key_len == 0
            || dtls_config_set_psk(g->cfg, (const uint8_t *)g->psk_identity, strlen(g->psk_identity),
                                   g->psk_key, g->psk_key_len) != DTLS_OK) {
            fprintf(stderr, "loadgen: --psk-identity needs --psk-key\n");
            return -1;
        }
    }
    if (g->ca_file) {
        size_t len;
        char *pem = read_file(g->ca_file, &len);
        int rc = pem ? dtls_config_add_ca_pem(g->cfg, pem, len, err, sizeof err) : DTLS_ERR_ARG;
        free(pem);
        if (rc != DTLS_OK) {
            fprintf(stderr, "loadgen: --ca %s: %s\n", g->ca_file, pem ? err : strerror(errno));
            return -1;
        }
        dtls_config_set_verify_peer(g->cfg, 1);
    } else {
        dtls_config_set_verify_peer(g->cfg, 0);
    }
    return 0;
}

/* One socket per session: lift the descriptor limit to the hard limit. */
static void raise_nofile(loadgen *g)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    size_t need = g->nslots + 16;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        fprintf(stderr, "loadgen: warning: RLIMIT_NOFILE %llu < %zu sockets needed\n",
                (unsigned long long)rl.rlim_cur, need);
}

int main(int argc, char **argv)
{
    static loadgen g; /* large receive buffers: not on the stack */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(&g, argc, argv) != 0)
        return 2;
    if (g.mode == MODE_KEYGEN)
        return run_keygen(&g);
    if (!g.plain && make_config(&g) != 0) {
        dtls_config_free(g.cfg);
        return 2;
    }
    g.nslots = g.mode == MODE_HANDSHAKE ? g.inflight
             : g.mode == MODE_ECHO      ? g.nsessions
                                        : (size_t)g.baseline + g.hold;
    raise_nofile(&g);
    g.sessions = calloc(g.nslots, sizeof *g.sessions);
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!g.sessions || g.epfd < 0) {
        fprintf(stderr, "loadgen: out of memory or epoll: %s\n", strerror(errno));
        return 2;
    }
    for (size_t i = 0; i < g.nslots; i++) {
        g.sessions[i].fd = -1;
        g.sessions[i].g = &g;
    }
    g.t0_ns = now_ns();
    g.port_cursor = (uint32_t)getpid() * 7919u;
    int rc = g.mode == MODE_HANDSHAKE ? run_handshakes(&g)
           : g.mode == MODE_ECHO      ? run_echo(&g)
                                      : run_hold(&g);
    if (g.refused)
        fprintf(stderr, "loadgen: %" PRIu64 " datagrams refused (is the server up?)\n", g.refused);
    close_all(&g, false);
    free(g.sessions);
    if (g.session_blob)
        OPENSSL_cleanse(g.session_blob, g.session_len);
    free(g.session_blob);
    free(g.lat.v);
    close(g.epfd);
    dtls_config_free(g.cfg);
    return rc;
}

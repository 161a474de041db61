/* rt_internal.h — the runtime's private structures, shared by its files.
 * Owns the layout of loop, endpoint, server and connection objects; nothing
 * outside runtime/ may include it, and it must never pull in Lua.
 */
#ifndef DTLSRUN_RT_INTERNAL_H
#define DTLSRUN_RT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <uv.h>

#include "dtls/dtls.h"
#include "runtime.h"
#include "deadline_heap.h"
#include "peer_table.h"
#include "addr_budget.h"
#include "rt_list.h"

/* ---- addresses ---- */

/* A peer's transport address: the sockaddr for sending, plus a compact,
 * canonical key (family, port, address bytes) for hashing and for the
 * engine's cookie (RFC 6347 4.2.1 binds the cookie to the address). */
typedef struct rt_addr {
    union {
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa; /* not sockaddr_storage: 28 bytes instead of 128, per connection */
    uint8_t key[RT_PEER_KEY_MAX];
    uint8_t key_len;
} rt_addr;

int rt_addr_from_sockaddr(rt_addr *out, const struct sockaddr *sa);
int rt_addr_parse(rt_addr *out, int family, const char *address, int port);
void rt_addr_name(const struct sockaddr *sa, rt_sockname *out);
void rt_addr_text(const rt_sockname *name, char *out, size_t cap);

/* ---- the loop ---- */

typedef struct rt_deferred {
    struct rt_deferred *next;
    rt_deferred_fn fn;
    void *a;
    intptr_t b;
    int status;
} rt_deferred;

struct rt_loop {
    uv_loop_t uv;
    uv_timer_t deadline_timer; /* one timer for every engine deadline */
    uint64_t armed_deadline;   /* UINT64_MAX when disarmed */
    rt_deadline_heap heap;
    uv_idle_t defer_idle;      /* runs deferred work; active only when queued */
    rt_deferred *defer_head, *defer_tail, *defer_pool;
    size_t defer_pool_size;
    uv_check_t flush_check;    /* after each poll phase: send gathered batches */
    rt_list flush_pending;     /* endpoints whose send batch holds datagrams */
    rt_list graveyard;         /* finished connections, freed from defer_idle */
    rt_list servers;
    rt_list clients;           /* client connections */
    rt_list timers;
    uv_signal_t sigint, sigterm;
    uv_signal_t user_signals[3]; /* SIGHUP, SIGUSR1, SIGUSR2 */
    bool signals_on;
    int signals_seen;
    bool running;
    bool shutting_down;
    bool freeing;
    struct rt_metrics *metrics; /* dtlsrun --metrics, or NULL */
};

void rt_loop_arm_deadlines(rt_loop *loop);
/* Sends every gathered batch (the loop's check phase calls it). */
void rt_endpoint_flush_pending(rt_loop *loop);
void rt_loop_schedule_graveyard(rt_loop *loop);
/* Frees every finished connection now (only outside engine calls). */
void rt_loop_sweep_graveyard(rt_loop *loop);
void rt_timers_shutdown(rt_loop *loop);
/* rt_loop_free: timers the host never freed are closed and freed here. */
void rt_timers_free_all(rt_loop *loop);

/* ---- UDP endpoints ---- */

typedef struct rt_endpoint rt_endpoint;
typedef struct rt_send_batch rt_send_batch;
typedef void (*rt_datagram_fn)(rt_endpoint *ep, const rt_addr *from,
                               const uint8_t *data, size_t len);
typedef void (*rt_endpoint_closed_fn)(rt_endpoint *ep);
/* A receive error on the socket (a connected one reports ICMP errors so:
 * UV_ECONNREFUSED for port unreachable). */
typedef void (*rt_endpoint_error_fn)(rt_endpoint *ep, int status);

struct rt_endpoint {
    uv_udp_t udp;
    rt_loop *loop;
    void *owner;
    rt_datagram_fn on_datagram;
    rt_endpoint_closed_fn on_closed;
    uint8_t *rxbuf;    /* preallocated once; libuv hands it back per read */
    size_t rxcap;
    bool started;
    bool shared;         /* a worker's socket of the master's reuseport group */
    struct sockaddr_storage bound; /* ...and where it is bound */
    bool closing;
    bool close_pending;  /* closing, waiting for queued sends to leave */
    bool gathering;      /* inside a recvmmsg batch: replies go to batch */
    rt_send_batch *batch; /* servers: replies leave together by sendmmsg */
    rt_link flush_link;  /* in loop->flush_pending while batch holds data */
    uint64_t dropped_sends;
    uint64_t datagrams_in, datagrams_out, bytes_in, bytes_out;
    bool connected;      /* uv_udp_connect'ed: sends name no address */
    bool dual_stack;     /* an IPv6 socket that takes IPv4 peers too */
    rt_endpoint_error_fn on_error; /* may be NULL */
};

/* A pending completion for the datagram an engine call is about to send. */
typedef struct rt_send_capture {
    rt_send_done done;
    void *a;
    intptr_t b;
    bool attached; /* handed to a queued uv_udp_send */
    int status;    /* result of an immediate send */
} rt_send_capture;

/* big: many datagrams per read (recvmmsg), for servers. */
rt_endpoint *rt_endpoint_new(rt_loop *loop, int family, bool big, void *owner,
                             rt_datagram_fn on_datagram, rt_endpoint_closed_fn on_closed);
int rt_endpoint_bind(rt_endpoint *ep, const struct sockaddr *sa);
int rt_endpoint_start(rt_endpoint *ep);
/* Only this peer's datagrams arrive, and ICMP errors about it reach
 * on_error (a client's socket). */
int rt_endpoint_connect(rt_endpoint *ep, const struct sockaddr *peer, rt_endpoint_error_fn on_error);
/* Inside a recvmmsg batch a datagram nobody waits for (capture NULL or
 * without done) is copied into the batch, which leaves by one sendmmsg in
 * the loop's check phase (rt_endpoint_flush_pending); otherwise: try now,
 * copy and queue on EAGAIN. Datagrams leave in the order they were sent.
 * capture may be NULL. */
void rt_endpoint_send(rt_endpoint *ep, const struct sockaddr *to, const uint8_t *data,
                      size_t len, rt_send_capture *capture);
int rt_endpoint_sockname(const rt_endpoint *ep, rt_sockname *out);
/* Stops reading and closes; on_closed runs from the loop later. For an
 * endpoint never started the handle is still closed the same way. */
void rt_endpoint_close(rt_endpoint *ep);
void rt_endpoint_free_closed(rt_endpoint *ep);

/* ---- connections ---- */

struct rt_conn {
    rt_link link;              /* in its server's / the loop's live list, or the graveyard */
    rt_loop *loop;
    rt_server *server;         /* NULL for a client */
    rt_endpoint *ep;
    dtls_conn *engine;
    dtls_config *config;       /* a client owns its config; a server's is shared */
    const rt_handlers *handlers;
    void *host;
    void *user;
    rt_addr peer;
    size_t heap_index;         /* RT_HEAP_NONE when not waiting on a deadline */
    uint64_t deadline;         /* min(engine deadline, idle deadline) */
    uint64_t idle_timeout;     /* ms, 0 = none */
    uint64_t last_activity;    /* loop time of the last authenticated record in */
    /* RFC 6347 4.2.8: a new association from the same address waits here
     * until its handshake completes; only then does it replace this one. */
    rt_conn *successor;
    rt_conn *predecessor;
    rt_send_capture *capture;  /* set during rt_conn_send */
    const rt_addr *moving_to;  /* during rt_conn_feed_from: where it came from */
    bool in_table;
    bool in_cid_table;
    bool handshaking;          /* server: holds a handshake slot (and its address's) */
    bool established;
    bool error_reported;
    bool finished;             /* conn_closed was called; waiting to be freed */
    bool detached;
    uint8_t close_why;         /* RT_CLOSE_*: the first cause seen wins */
    uint8_t close_alert;       /* RT_CLOSE_ALERT: the alert's description */
    uint8_t verify;            /* RT_VERIFY_*: what a certificate peer went through */
};

/* How a connection's peer certificate is checked (rt_conn_authorized):
 * verified against CAs (the handshake fails otherwise), not at all
 * (rejectUnauthorized = false), or no CA to check against (a server
 * without ca). */
enum { RT_VERIFY_CHECKED = 0, RT_VERIFY_DISABLED, RT_VERIFY_NO_CA };

/* Why an association ended (rt_conn_close_reason spells them). */
enum { RT_CLOSE_NONE = 0, RT_CLOSE_NOTIFY, RT_CLOSE_IDLE, RT_CLOSE_LOCAL, RT_CLOSE_SHUTDOWN,
       RT_CLOSE_ALERT, RT_CLOSE_TIMEOUT, RT_CLOSE_REPLACED, RT_CLOSE_UNREACHABLE,
       RT_CLOSE_ERROR };
static inline void rt_conn_set_close_why(rt_conn *c, int why)
{
    if (c->close_why == RT_CLOSE_NONE)
        c->close_why = (uint8_t)why;
}

/* A log line about a connection; the peer's address is formatted only
 * when the level is on. */
#define RT_CONN_LOG(level, c, ...) \
    do { \
        if (rt_log_enabled(level)) \
            rt_log((level), rt_conn_peer_text(c), __VA_ARGS__); \
    } while (0)

/* Creates a connection and its engine state (not yet in any table). */
rt_conn *rt_conn_create(rt_loop *loop, rt_server *server, rt_endpoint *ep,
                        dtls_config *config, dtls_role role, const rt_addr *peer,
                        const rt_handlers *handlers, void *host, uint64_t idle_timeout);
/* Engine entry points: each re-arms the deadline afterwards. */
void rt_conn_feed(rt_conn *conn, const uint8_t *dgram, size_t len);
/* The same for a datagram routed by CID, which may come from a new address. */
void rt_conn_feed_from(rt_conn *conn, const rt_addr *from, const uint8_t *dgram, size_t len);
void rt_conn_tick(rt_conn *conn, uint64_t now);
/* Ends the connection without close_notify (abandoned association). */
void rt_conn_abandon(rt_conn *conn, const char *why);
/* Ends the connection without close_notify, reporting err/msg to the host
 * (conn_error, then conn_closed) with close reason why (RT_CLOSE_*). */
void rt_conn_fail(rt_conn *conn, int why, int err, const char *msg);
void rt_conn_free_finished(rt_conn *conn);
/* Shared engine callbacks for every config the runtime makes. */
void rt_conn_install_callbacks(dtls_config *config, bool with_psk);

/* ---- servers ---- */

struct rt_server {
    rt_link link;              /* in loop->servers until closed */
    rt_loop *loop;
    rt_endpoint *ep;
    dtls_config *config;
    rt_handlers handlers;
    void *host;
    int family;
    uint64_t idle_timeout;
    uint8_t verify;            /* RT_VERIFY_* for its connections */
    bool own_ticket_keys;      /* its options set them: SIGHUP leaves them */
    bool own_cookie_secret;
    dtls_config **retired;     /* replaced by rt_server_set_tls; freed last */
    size_t nretired;
    rt_peer_table table;       /* address -> current association */
    rt_peer_table cids;        /* our Connection ID -> association (RFC 9146) */
    rt_list conns;             /* every live connection, successors included */
    size_t conn_count, handshake_count;
    size_t max_conns, max_handshakes;
    rt_addr_budget per_address; /* handshakes in progress per address */
    uint64_t dropped_over_cap;
    uint64_t hello_verify_sent; /* HelloVerifyRequests (RFC 6347 4.2.1) */
    uint64_t dropped_unknown_cid;
    /* Totals of finished connections (server_stats.c); live ones are
     * summed when asked. Kept apart from the endpoint, which is freed first. */
    struct rt_server_totals {
        uint64_t handshakes_done;
        uint64_t failed_by_alert[256];
        uint64_t failed_timeout, failed_other;
        uint64_t dropped_malformed, dropped_auth, dropped_replay, dropped_epoch,
                 dropped_unexpected;
    } totals;
    bool bound, closing, detached;
    uint8_t reply[512];        /* HelloVerifyRequest; never larger than the hello */
};


void rt_server_conn_established(rt_server *server, rt_conn *conn);
/* server_context.c: frees the configurations setSecureContext replaced. */
void rt_server_free_retired(rt_server *server);
/* server_stats.c: a connection of the server ends (before it is unlinked). */
void rt_server_account_finished(rt_server *server, const rt_conn *conn);
void rt_server_conn_finished(rt_server *server, rt_conn *conn);
/* RFC 9146 6: conn's peer is now at to (called from inside the engine). */
void rt_server_conn_moved(rt_server *server, rt_conn *conn, const rt_addr *to);
void rt_client_conn_finished(rt_conn *conn);

/* ---- key log (keylog.c) ---- */

/* Appends one NSS key-log line to $SSLKEYLOGFILE, when it is set. */
void rt_keylog_file_append(const char *line);

/* ---- configuration ---- */

/* secrets.c: the process-wide defaults into cfg, but for what the server's
 * own options set. */
void rt_secrets_apply(dtls_config *cfg, bool own_ticket_keys, bool own_cookie_secret);
/* server_context.c: the defaults again, after rt_secret_files_reload */
void rt_server_refresh_secrets(rt_server *s);
dtls_config *rt_tls_config_build(const rt_tls_options *opt, dtls_role role,
                                 char *err, size_t errlen);

/* err buffer helper */
/* Worker: this worker's socket of the group the master keeps for sa
 * (workers.c), or a negative errno. */
int rt_worker_socket(const struct sockaddr *sa);
/* Worker: its server on the group bound at sa (the address and port it got)
 * is closed; a later bind of the same address takes the socket back. */
void rt_worker_release(const struct sockaddr *sa);

void rt_errf(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif

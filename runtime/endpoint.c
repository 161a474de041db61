/* endpoint.c — one UDP socket: receive into a buffer allocated once, send
 * with uv_udp_try_send and fall back to a copied uv_udp_send on EAGAIN.
 * A server endpoint reads with recvmmsg and gathers the replies made while
 * it handles what it read into a send batch, which leaves by one sendmmsg
 * once the loop's poll phase is over (libuv has no batched send). Owns the uv_udp_t and its buffers; knows
 * nothing of DTLS. Never allocates per received datagram, and never lets the
 * send queue grow without bound (UDP may drop; so do we, counted).
 */
#define _GNU_SOURCE /* sendmmsg */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_internal.h"

/* libuv hands recvmmsg chunks of this size (UV__UDP_DGRAM_MAXSIZE). */
#define RT_UV_DGRAM_CHUNK (64u * 1024u)
/* A server reads up to this many datagrams per recvmmsg call. */
#define RT_SERVER_BATCH 20u
/* Socket buffer a server asks for, each direction. */
#define RT_SERVER_SOCKET_BUFFER (4 * 1024 * 1024)
/* Bytes queued for sending past which new datagrams are dropped. */
#define RT_SEND_QUEUE_MAX (4u * 1024u * 1024u)

/* Replies gathered during the reads of one loop wake-up (libuv reads up to
 * 32 datagrams then; a flight of a few datagrams out for each at most). A
 * datagram that does not fit flushes the batch first; one larger than the
 * whole buffer is sent on its own. */
#define RT_SEND_BATCH_MAX 64u
#define RT_SEND_BATCH_BYTES (64u * 1024u)

struct rt_send_batch {
    size_t n, used;
    struct mmsghdr msgs[RT_SEND_BATCH_MAX];
    struct iovec iov[RT_SEND_BATCH_MAX];
    struct sockaddr_storage to[RT_SEND_BATCH_MAX];
    uint8_t bytes[RT_SEND_BATCH_BYTES];
};

typedef struct rt_queued_send {
    uv_udp_send_t req;
    rt_send_capture completion; /* done == NULL: nobody waits */
    rt_loop *loop;
    uint8_t data[];
} rt_queued_send;

static void batch_flush(rt_endpoint *ep);

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    rt_endpoint *ep = handle->data;
    (void)suggested;
    /* The same buffer every time: libuv delivers every datagram of a read
     * (each recvmmsg chunk, then UV_UDP_MMSG_FREE) before asking again. */
    *buf = uv_buf_init((char *)ep->rxbuf, (unsigned)ep->rxcap);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    rt_endpoint *ep = udp->data;
    (void)buf;
    if (flags & UV_UDP_MMSG_FREE) {
        /* End of a recvmmsg batch: the buffer is ours again. libuv may read
         * again right away; the replies leave in the check phase
         * (rt_endpoint_flush_pending), or sooner if the batch fills. */
        ep->gathering = false;
        return;
    }
    if (flags & UV_UDP_MMSG_CHUNK)
        ep->gathering = ep->batch != NULL;
    if (ep->closing)
        return; /* libuv may still deliver the rest of a batch after close */
    if (nread < 0) {
        rt_log(RT_LOG_FINE, NULL, "udp receive error: %s", uv_strerror((int)nread));
        if (ep->on_error)
            ep->on_error(ep, (int)nread);
        return;
    }
    if (nread == 0 || addr == NULL)
        return; /* nothing read, or an empty datagram */
    if (flags & UV_UDP_PARTIAL)
        return; /* truncated: not a DTLS datagram we could use */
    rt_addr from;
    if (rt_addr_from_sockaddr(&from, addr) != 0)
        return;
    ep->datagrams_in++;
    ep->bytes_in += (uint64_t)nread;
    ep->on_datagram(ep, &from, (const uint8_t *)buf->base, (size_t)nread);
}

rt_endpoint *rt_endpoint_new(rt_loop *loop, int family, bool big, void *owner,
                             rt_datagram_fn on_datagram, rt_endpoint_closed_fn on_closed)
{
    rt_endpoint *ep = calloc(1, sizeof *ep);
    if (ep == NULL)
        return NULL;
    ep->loop = loop;
    ep->owner = owner;
    ep->on_datagram = on_datagram;
    ep->on_closed = on_closed;
    rt_link_init(&ep->flush_link);
    ep->rxcap = big ? RT_SERVER_BATCH * RT_UV_DGRAM_CHUNK : RT_UV_DGRAM_CHUNK;
    ep->rxbuf = malloc(ep->rxcap);
    if (big)
        ep->batch = calloc(1, sizeof *ep->batch); /* without it, sends go one by one */
    unsigned flags = family == 6 ? AF_INET6 : AF_INET;
    /* With workers a server's socket comes from the master at bind. */
    if (big && rt_worker_count() > 1)
        flags = AF_UNSPEC;
    /* recvmmsg only pays off when the buffer holds several chunks. */
    if (big)
        flags |= UV_UDP_RECVMMSG;
    if (ep->rxbuf == NULL || uv_udp_init_ex(&loop->uv, &ep->udp, flags) != 0) {
        free(ep->batch);
        free(ep->rxbuf);
        free(ep);
        return NULL;
    }
    ep->udp.data = ep;
    return ep;
}

int rt_endpoint_bind(rt_endpoint *ep, const struct sockaddr *sa)
{
    /* IPv6 sockets stay IPv6-only unless asked (ipv6Only = false). */
    unsigned flags = sa->sa_family == AF_INET6 && !ep->dual_stack ? UV_UDP_IPV6ONLY : 0;
    if (ep->batch != NULL && rt_worker_count() > 1) {
        /* One socket of the master's SO_REUSEPORT group, in worker order
         * (libuv 1.44 has no UV_UDP_REUSEPORT; the master sets it). */
        int fd = rt_worker_socket(sa);
        if (fd < 0)
            return uv_translate_sys_error(-fd);
        int r = uv_udp_open(&ep->udp, fd);
        if (r != 0)
            close(fd);
        socklen_t len = sizeof ep->bound;
        ep->shared = r == 0 && getsockname(fd, (struct sockaddr *)&ep->bound, &len) == 0;
        return r;
    }
    return uv_udp_bind(&ep->udp, sa, flags);
}

int rt_endpoint_start(rt_endpoint *ep)
{
    if (ep->rxcap > RT_UV_DGRAM_CHUNK) {
        /* A server takes bursts (many handshakes at once): ask the kernel for
         * room (capped by net.core.rmem_max/wmem_max); the defaults drop
         * datagrams after ~200 KiB. Failure only means the default stays. */
        int size = RT_SERVER_SOCKET_BUFFER;
        uv_recv_buffer_size((uv_handle_t *)&ep->udp, &size);
        size = RT_SERVER_SOCKET_BUFFER;
        uv_send_buffer_size((uv_handle_t *)&ep->udp, &size);
    }
    int r = uv_udp_recv_start(&ep->udp, on_alloc, on_recv);
    if (r == 0)
        ep->started = true;
    return r;
}

static void on_udp_closed(uv_handle_t *handle);

static void on_queued_send_done(uv_udp_send_t *req, int status)
{
    rt_queued_send *q = RT_CONTAINER(req, rt_queued_send, req);
    rt_endpoint *ep = req->handle->data;
    if (q->completion.done)
        q->completion.done(q->completion.a, q->completion.b, status);
    free(q);
    /* A close waits for queued datagrams (close_notify among them). */
    if (ep->close_pending && uv_udp_get_send_queue_count(&ep->udp) == 0 &&
        !uv_is_closing((uv_handle_t *)&ep->udp)) {
        ep->close_pending = false;
        uv_close((uv_handle_t *)&ep->udp, on_udp_closed);
    }
}

static socklen_t sockaddr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int rt_endpoint_connect(rt_endpoint *ep, const struct sockaddr *peer, rt_endpoint_error_fn on_error)
{
    int r = uv_udp_connect(&ep->udp, peer);
    if (r == 0) {
        ep->connected = true;
        ep->on_error = on_error;
    }
    return r;
}

/* Try now; copy and queue on EAGAIN. */
static void send_now(rt_endpoint *ep, const struct sockaddr *to, const uint8_t *data,
                     size_t len, rt_send_capture *capture)
{
    if (ep->connected)
        to = NULL; /* libuv refuses an address on a connected socket */
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    int r = uv_udp_try_send(&ep->udp, &buf, 1, to);
    if (r >= 0) {
        if (capture)
            capture->status = 0;
        return;
    }
    if (r != UV_EAGAIN) {
        /* e.g. ECONNREFUSED from an earlier ICMP error: datagrams are lossy,
         * the engine's retransmission copes; report it to a waiting sender. */
        rt_log(RT_LOG_FINER, NULL, "udp send: %s", uv_strerror(r));
        if (capture)
            capture->status = r;
        return;
    }
    /* The bytes are only valid during the engine's callback: copy them. */
    if (uv_udp_get_send_queue_size(&ep->udp) + len > RT_SEND_QUEUE_MAX) {
        ep->dropped_sends++;
        if (capture)
            capture->status = UV_ENOBUFS;
        return;
    }
    rt_queued_send *q = malloc(sizeof *q + len);
    if (q == NULL) {
        if (capture)
            capture->status = UV_ENOMEM;
        return;
    }
    memset(&q->completion, 0, sizeof q->completion);
    q->loop = ep->loop;
    memcpy(q->data, data, len);
    buf = uv_buf_init((char *)q->data, (unsigned)len);
    r = uv_udp_send(&q->req, &ep->udp, &buf, 1, to, on_queued_send_done);
    if (r != 0) {
        free(q);
        if (capture)
            capture->status = r;
        return;
    }
    if (capture && capture->done) {
        /* The sender's completion now waits for libuv's callback. */
        q->completion = *capture;
        capture->attached = true;
    }
    if (capture)
        capture->status = 0;
}

static void batch_flush(rt_endpoint *ep)
{
    rt_send_batch *b = ep->batch;
    if (b == NULL || b->n == 0)
        return;
    uv_os_fd_t fd;
    size_t i = 0;
    if (uv_fileno((const uv_handle_t *)&ep->udp, &fd) != 0)
        i = b->n; /* cannot happen for a live handle; drop, as UDP may */
    while (i < b->n) {
        int r = sendmmsg(fd, b->msgs + i, (unsigned)(b->n - i), 0);
        if (r > 0) {
            i += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* The socket buffer is full: the rest waits in libuv's queue. */
            for (; i < b->n; i++)
                send_now(ep, (const struct sockaddr *)&b->to[i], b->iov[i].iov_base,
                         b->iov[i].iov_len, NULL);
        } else {
            /* The first datagram failed (e.g. a pending ICMP error): drop
             * it, as UDP may, and go on with the others. */
            rt_log(RT_LOG_FINER, NULL, "udp send: %s", strerror(r < 0 ? errno : EIO));
            i++;
        }
    }
    b->n = b->used = 0;
    rt_link_remove(&ep->flush_link);
}

void rt_endpoint_flush_pending(rt_loop *loop)
{
    while (!rt_list_empty(&loop->flush_pending))
        batch_flush(RT_CONTAINER(loop->flush_pending.next, rt_endpoint, flush_link));
}

/* Copies one datagram into the batch; false if it cannot go there. */
static bool batch_add(rt_endpoint *ep, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    rt_send_batch *b = ep->batch;
    if (len > sizeof b->bytes)
        return false;
    if (b->n == RT_SEND_BATCH_MAX || b->used + len > sizeof b->bytes) {
        batch_flush(ep);
        /* EAGAIN moved the rest to libuv's queue: this one must follow it
         * there, or a later sendmmsg could overtake it. */
        if (uv_udp_get_send_queue_count(&ep->udp) > 0)
            return false;
    }
    size_t i = b->n++;
    memcpy(b->bytes + b->used, data, len);
    memcpy(&b->to[i], to, sockaddr_len(to));
    b->iov[i] = (struct iovec){ .iov_base = b->bytes + b->used, .iov_len = len };
    b->msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &b->to[i],
                                                .msg_namelen = sockaddr_len(to),
                                                .msg_iov = &b->iov[i],
                                                .msg_iovlen = 1 } };
    b->used += len;
    if (!rt_link_linked(&ep->flush_link))
        rt_list_push(&ep->loop->flush_pending, &ep->flush_link);
    return true;
}

void rt_endpoint_send(rt_endpoint *ep, const struct sockaddr *to, const uint8_t *data,
                      size_t len, rt_send_capture *capture)
{
    if (ep->closing) {
        if (capture)
            capture->status = UV_ECANCELED;
        return;
    }
    ep->datagrams_out++; /* handed to the socket layer (UDP may still drop) */
    ep->bytes_out += len;
    /* Nobody waits for this datagram's completion, and libuv's queue is
     * empty (else it must wait its turn there): gather it. */
    bool waited_for = capture && capture->done;
    if (ep->gathering && !waited_for && uv_udp_get_send_queue_count(&ep->udp) == 0 &&
        batch_add(ep, to, data, len)) {
        if (capture)
            capture->status = 0;
        return;
    }
    batch_flush(ep); /* what was gathered leaves first */
    send_now(ep, to, data, len, capture);
}

int rt_endpoint_sockname(const rt_endpoint *ep, rt_sockname *out)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    int r = uv_udp_getsockname(&ep->udp, (struct sockaddr *)&ss, &len);
    if (r != 0)
        return r;
    rt_addr_name((const struct sockaddr *)&ss, out);
    return 0;
}

static void on_udp_closed(uv_handle_t *handle)
{
    rt_endpoint *ep = handle->data;
    if (ep->shared) {
        rt_worker_release((const struct sockaddr *)&ep->bound);
    }
    ep->on_closed(ep);
}

void rt_endpoint_close(rt_endpoint *ep)
{
    if (ep->closing)
        return;
    /* Replies gathered so far (close_notify among them) leave first. */
    ep->gathering = false;
    batch_flush(ep);
    ep->closing = true;
    /* recv_stop clears libuv's recv_cb, which ends a recvmmsg batch early. */
    uv_udp_recv_stop(&ep->udp);
    /* uv_close would cancel queued sends: the close_notify alerts just
     * queued (RFC 5246 7.2.1) must leave first. UDP sends complete or fail
     * promptly, so the wait is short. */
    if (uv_udp_get_send_queue_count(&ep->udp) > 0 && !ep->loop->freeing) {
        ep->close_pending = true;
        return;
    }
    uv_close((uv_handle_t *)&ep->udp, on_udp_closed);
}

void rt_endpoint_free_closed(rt_endpoint *ep)
{
    rt_link_remove(&ep->flush_link); /* emptied at close; never left linked */
    free(ep->batch);
    free(ep->rxbuf);
    free(ep);
}

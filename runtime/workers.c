/* workers.c — dtlsrun --workers N: a master process that forks N workers
 * and supervises them, and the worker's side of sharing server sockets.
 * The master owns every server socket: on a worker's first bind of an
 * address it makes N sockets for it, in worker order, with SO_REUSEPORT,
 * and attaches a classic BPF program that steers tls12_cid records by the
 * CID's first byte (the worker that made the CID, see server.c); each
 * worker gets its own socket by SCM_RIGHTS. Because the master keeps them,
 * a worker that dies leaves its socket in the reuseport group at its index,
 * and its restart takes the same one back. Never touches Lua, the engine's
 * state, or a libuv loop (the master runs none: it polls a signalfd and the
 * workers' control sockets).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "rt_internal.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

#define RT_MAX_GROUPS 64
/* A worker that dies sooner than this after its start is restarted only
 * after this long, so a crash loop cannot spin the machine. */
#define RT_RESTART_BACKOFF_MS 1000

static int worker_index = 1;      /* 1..N; 1 without workers; 0 in the master */
static int worker_count = 1;
static int control_fd = -1;       /* worker: its end of the control socket */
static unsigned port0_binds;      /* worker: how many port-0 binds so far */

int rt_worker_index(void) { return worker_index ? worker_index : 1; }
int rt_worker_count(void) { return worker_count; }
int rt_worker_is_master(void) { return worker_index == 0; }

/* ---- the control protocol (SOCK_SEQPACKET: one message each) ---- */

typedef struct bind_request {
    char type;                    /* 'B' bind, 'U' unbind (closed), 'R' ready */
    int family;                   /* AF_INET or AF_INET6 */
    int port;
    unsigned ordinal;             /* port 0: the worker's nth such bind */
    struct sockaddr_storage addr;
} bind_request;

typedef struct bind_reply {
    int err;                      /* 0 (an fd follows) or a negative errno */
} bind_reply;

void rt_worker_ready(void)
{
    if (control_fd < 0)
        return;
    bind_request r = { .type = 'R' };
    (void)!send(control_fd, &r, sizeof r, MSG_NOSIGNAL);
}

static int sockaddr_port(const struct sockaddr *sa)
{
    return ntohs(sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
                                           : ((const struct sockaddr_in *)sa)->sin_port);
}

void rt_worker_release(const struct sockaddr *sa)
{
    if (control_fd < 0)
        return;
    bind_request req = { .type = 'U', .family = sa->sa_family, .port = sockaddr_port(sa) };
    memcpy(&req.addr, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    (void)!send(control_fd, &req, sizeof req, MSG_NOSIGNAL);
}

int rt_worker_socket(const struct sockaddr *sa)
{
    bind_request req = { .type = 'B', .family = sa->sa_family };
    size_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&req.addr, sa, salen);
    req.port = sockaddr_port(sa);
    if (req.port == 0)
        req.ordinal = port0_binds++;
    if (send(control_fd, &req, sizeof req, MSG_NOSIGNAL) != (ssize_t)sizeof req)
        return -errno;
    bind_reply rep;
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &rep, sizeof rep };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                          .msg_controllen = sizeof cbuf };
    ssize_t n;
    do
        n = recvmsg(control_fd, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof rep)
        return n < 0 ? -errno : -EPROTO;
    if (rep.err != 0)
        return rep.err;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS)
        return -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* ---- the master ---- */

typedef struct worker {
    pid_t pid;                    /* 0: not running */
    int ctl;                      /* the master's end of its control socket */
    bool ready;
    uint64_t started_ms;
    uint64_t restart_at_ms;       /* 0: none pending */
} worker;

typedef struct socket_group {
    int family;
    struct sockaddr_storage addr; /* as first requested (port maybe 0) */
    int req_port;
    int bound_port;               /* what port 0 became */
    unsigned ordinal;
    int *fds;                     /* one per worker, in reuseport order */
    bool *given;                  /* handed to the worker running now */
} socket_group;

static worker *workers;
static socket_group groups[RT_MAX_GROUPS];
static size_t ngroups;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* cBPF for the reuseport group: a tls12_cid record (content type 25,
 * RFC 9146) goes to the socket whose index is the first CID byte (at
 * offset 11, after type, version, epoch and sequence number) mod N; any
 * other datagram gets an out-of-range index, which makes the kernel fall
 * back to its 4-tuple hash. The program sees the UDP payload at 0. */
static int attach_cid_steering(int fd, unsigned n)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 25, 0, 3),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 11),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
        BPF_STMT(BPF_RET | BPF_A, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
    };
    struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

static int open_shared_socket(int family, struct sockaddr_storage *addr)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)addr, len) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    /* A port-0 bind got its port now: the other workers' sockets join it. */
    getsockname(fd, (struct sockaddr *)addr, &len);
    return fd;
}

static int make_group(socket_group *g, int n)
{
    g->fds = calloc((size_t)n, sizeof *g->fds);
    g->given = calloc((size_t)n, sizeof *g->given);
    if (g->fds == NULL || g->given == NULL)
        return -ENOMEM;
    struct sockaddr_storage addr = g->addr;
    for (int i = 0; i < n; i++) {
        int fd = open_shared_socket(g->family, &addr);
        if (fd < 0) {
            while (i-- > 0)
                close(g->fds[i]);
            return fd;
        }
        g->fds[i] = fd;
    }
    g->bound_port = sockaddr_port((struct sockaddr *)&addr);
    /* DTLSRUN_CID_STEERING=0 leaves the kernel's hash alone (diagnostics,
     * and the test that shows what steering is for). */
    const char *steer = getenv("DTLSRUN_CID_STEERING");
    if (steer && strcmp(steer, "0") == 0)
        return 0;
    if (n > 1 && attach_cid_steering(g->fds[0], (unsigned)n) != 0)
        rt_log(RT_LOG_WARN, NULL, "cannot attach the reuseport CID program (%s): a peer that moves "
               "may reach another worker and lose its session", strerror(errno));
    return 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

static void send_reply(int ctl, int err, int fd)
{
    bind_reply rep = { .err = err };
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &rep, sizeof rep };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (err == 0) {
        memset(cbuf, 0, sizeof cbuf);
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    (void)!sendmsg(ctl, &msg, MSG_NOSIGNAL);
}

static void serve_bind(int n, int i, const bind_request *req)
{
    socket_group *g = NULL;
    for (size_t k = 0; k < ngroups && g == NULL; k++)
        if (groups[k].family == req->family && same_addr(&groups[k].addr, &req->addr) &&
            (req->port ? req->port == groups[k].bound_port  /* however it was first asked for */
                       : groups[k].req_port == 0 && groups[k].ordinal == req->ordinal))
            g = &groups[k];
    if (g == NULL) {
        if (ngroups == RT_MAX_GROUPS || (req->family != AF_INET && req->family != AF_INET6)) {
            send_reply(workers[i].ctl, -EMFILE, -1);
            return;
        }
        g = &groups[ngroups];
        memset(g, 0, sizeof *g);
        g->family = req->family;
        g->addr = req->addr;
        g->req_port = req->port;
        g->ordinal = req->ordinal;
        int r = make_group(g, n);
        if (r != 0) {
            free(g->fds);
            free(g->given);
            send_reply(workers[i].ctl, r, -1);
            return;
        }
        ngroups++;
    }
    if (g->given[i]) {
        send_reply(workers[i].ctl, -EADDRINUSE, -1);
        return;
    }
    g->given[i] = true;
    send_reply(workers[i].ctl, 0, g->fds[i]);
}

/* Fork worker i (0-based). Returns 0 in the child, 1 in the master, -1. */
static int spawn(int n, int i, sigset_t *old_mask)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pid_t master = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        /* The worker: its own process group (a terminal's ^C reaches the
         * master, which forwards it once), gone when the master is. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != master)
            _exit(1);
        close(sv[0]);
        for (int k = 0; k < n; k++)
            if (workers[k].ctl >= 0)
                close(workers[k].ctl);
        for (size_t k = 0; k < ngroups; k++)
            for (int w = 0; w < n; w++)
                close(groups[k].fds[w]);
        signal(SIGCHLD, SIG_DFL);
        /* Signals the master passes on must not end a worker whose loop
         * does not handle them yet (the loop's watchers replace this). */
        signal(SIGHUP, SIG_IGN);
        signal(SIGUSR1, SIG_IGN);
        signal(SIGUSR2, SIG_IGN);
        sigprocmask(SIG_SETMASK, old_mask, NULL);
        control_fd = sv[1];
        worker_index = i + 1;
        return 0;
    }
    close(sv[1]);
    workers[i].pid = pid;
    workers[i].ctl = sv[0];
    workers[i].ready = false;
    workers[i].started_ms = mono_ms();
    workers[i].restart_at_ms = 0;
    for (size_t k = 0; k < ngroups; k++)
        groups[k].given[i] = false;
    return 1;
}

static void describe_status(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

static void signal_all(int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (workers[i].pid > 0)
            kill(workers[i].pid, sig);
}

static int live_workers(int n)
{
    int live = 0;
    for (int i = 0; i < n; i++)
        live += workers[i].pid > 0;
    return live;
}

int rt_workers_run(int n, int *is_worker)
{
    *is_worker = 0;
    worker_count = n;
    worker_index = 0;
    workers = calloc((size_t)n, sizeof *workers);
    if (workers == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        workers[i].ctl = -1;
    sigset_t mask, old_mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, &old_mask);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        rt_log(RT_LOG_SEVERE, NULL, "signalfd: %s", strerror(errno));
        return 1;
    }
    bool starting = true, stopping = false, failed = false;
    int next_start = 0; /* workers start one by one, each once the one before is ready */
    int r = spawn(n, next_start, &old_mask);
    if (r == 0)
        goto in_worker;
    if (r < 0) {
        rt_log(RT_LOG_SEVERE, NULL, "fork: %s", strerror(errno));
        return 1;
    }
    for (;;) {
        if (stopping && live_workers(n) == 0)
            break;
        if (!starting && !stopping && live_workers(n) == 0) {
            bool pending = false;
            for (int i = 0; i < n; i++)
                pending |= workers[i].restart_at_ms != 0;
            if (!pending)
                break; /* every worker finished its work (exit 0) */
        }
        struct pollfd pfd[1 + 256];
        int map[1 + 256];
        int np = 0;
        pfd[np] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        map[np++] = -1;
        for (int i = 0; i < n && np < 257; i++)
            if (workers[i].pid > 0 && workers[i].ctl >= 0) {
                pfd[np] = (struct pollfd){ .fd = workers[i].ctl, .events = POLLIN };
                map[np++] = i;
            }
        int timeout = -1;
        uint64_t now = mono_ms();
        for (int i = 0; i < n; i++)
            if (workers[i].restart_at_ms) {
                int64_t d = (int64_t)(workers[i].restart_at_ms - now);
                d = d < 0 ? 0 : d;
                if (timeout < 0 || d < timeout)
                    timeout = (int)d;
            }
        if (poll(pfd, (nfds_t)np, timeout) < 0 && errno != EINTR)
            break;
        for (int k = 1; k < np; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP)))
                continue;
            int i = map[k];
            bind_request req;
            ssize_t got = recv(workers[i].ctl, &req, sizeof req, 0);
            if (got != (ssize_t)sizeof req) {
                /* The worker is gone (or broke the protocol): SIGCHLD follows. */
                close(workers[i].ctl);
                workers[i].ctl = -1;
                continue;
            }
            if (req.type == 'B') {
                serve_bind(n, i, &req);
            } else if (req.type == 'U') {
                /* The worker closed that server: the same bind again may
                 * take the socket back (it stays in the group meanwhile). */
                for (size_t g = 0; g < ngroups; g++)
                    if (groups[g].family == req.family && groups[g].bound_port == req.port &&
                        same_addr(&groups[g].addr, &req.addr))
                        groups[g].given[i] = false;
            } else if (req.type == 'R' && !workers[i].ready) {
                workers[i].ready = true;
                /* The worker being started in order, or one restarted
                 * (possibly while later ones are still starting). */
                if (starting && !stopping && i == next_start) {
                    if (++next_start < n) {
                        r = spawn(n, next_start, &old_mask);
                        if (r == 0)
                            goto in_worker;
                        if (r < 0) {
                            rt_log(RT_LOG_SEVERE, NULL, "fork: %s", strerror(errno));
                            failed = stopping = true;
                            signal_all(n, SIGTERM);
                        }
                    } else {
                        starting = false;
                        rt_log(RT_LOG_INFO, NULL, "%d workers started", n);
                    }
                } else if (!stopping) {
                    rt_log(RT_LOG_INFO, NULL, "worker %d restarted (pid %d)", i + 1, (int)workers[i].pid);
                }
            }
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    int status;
                    pid_t pid;
                    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                        int i = 0;
                        while (i < n && workers[i].pid != pid)
                            i++;
                        if (i == n)
                            continue;
                        bool was_ready = workers[i].ready;
                        workers[i].pid = 0;
                        if (workers[i].ctl >= 0) {
                            close(workers[i].ctl);
                            workers[i].ctl = -1;
                        }
                        char what[96];
                        describe_status(status, what, sizeof what);
                        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                        if (stopping) {
                            failed |= !clean;
                            if (!clean)
                                rt_log(RT_LOG_WARN, NULL, "worker %d (pid %d) %s", i + 1, (int)pid, what);
                            continue;
                        }
                        if (starting && !was_ready && i == next_start) {
                            /* The script failed at start: it said why on
                             * stderr, once; every worker would fail alike. */
                            rt_log(RT_LOG_SEVERE, NULL, "worker %d %s while starting: stopping", i + 1, what);
                            failed = stopping = true;
                            signal_all(n, SIGTERM);
                            continue;
                        }
                        if (clean && was_ready) {
                            rt_log(RT_LOG_INFO, NULL, "worker %d (pid %d) finished", i + 1, (int)pid);
                            continue;
                        }
                        uint64_t t = mono_ms();
                        bool quick = t - workers[i].started_ms < RT_RESTART_BACKOFF_MS;
                        rt_log(RT_LOG_WARN, NULL, "worker %d (pid %d) %s: restarting it%s", i + 1, (int)pid,
                               what, quick ? " in 1 s" : "");
                        workers[i].restart_at_ms = quick ? t + RT_RESTART_BACKOFF_MS : t;
                        if (workers[i].restart_at_ms == 0)
                            workers[i].restart_at_ms = 1;
                    }
                } else if (si.ssi_signo == SIGHUP || si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
                    /* For the workers: key files again (SIGHUP), and the
                     * script's dtls.onSignal handlers. */
                    int sig = (int)si.ssi_signo;
                    rt_log(RT_LOG_INFO, NULL, "%s: passed to every worker",
                           sig == SIGHUP ? "SIGHUP" : sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
                    signal_all(n, sig);
                } else if (!stopping) {
                    rt_log(RT_LOG_INFO, NULL, "%s: stopping every worker",
                           si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                    stopping = true;
                    for (int i = 0; i < n; i++)
                        workers[i].restart_at_ms = 0;
                    signal_all(n, SIGTERM);
                } else {
                    /* A second signal: the workers stop at once too. */
                    signal_all(n, SIGTERM);
                }
            }
        }
        if (!stopping) {
            uint64_t t = mono_ms();
            for (int i = 0; i < n; i++) {
                if (!workers[i].restart_at_ms || workers[i].restart_at_ms > t || workers[i].pid > 0)
                    continue;
                r = spawn(n, i, &old_mask);
                if (r == 0)
                    goto in_worker;
                if (r < 0) {
                    rt_log(RT_LOG_SEVERE, NULL, "fork: %s: trying again in 1 s", strerror(errno));
                    workers[i].restart_at_ms = t + RT_RESTART_BACKOFF_MS;
                }
            }
        }
    }
    close(sfd);
    return failed ? 1 : 0;
in_worker:
    close(sfd);
    *is_worker = 1;
    return 0;
}

/* ref_openssl_server.c — the reference the benchmarks compare dtlsrun with:
 * a DTLS 1.2 echo server on OpenSSL's libssl, single-threaded and as lean
 * as we can make it. One UDP socket read with recvmmsg and written with
 * sendmmsg; per-peer SSL objects on a small datagram-preserving BIO (one
 * datagram in, each BIO write is one datagram out); stateless cookies
 * through DTLSv1_listen with an HMAC cookie; PSK and certificate suites.
 * Bench and test code only: libssl never goes into the product.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "loopback.h"
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define BATCH 64          /* datagrams per recvmmsg / sendmmsg */
#define DGRAM_MAX 2048    /* larger datagrams are sent on their own */
#define COOKIE_BYTES 16
#define HANDSHAKE_LIMIT_MS 30000

typedef struct peer {
    struct peer *chain;            /* hash bucket */
    struct peer *hs_prev, *hs_next; /* handshaking peers, for timers */
    SSL *ssl;
    struct sockaddr_storage addr;
    socklen_t alen;
    uint32_t hash;
    bool established, in_table;
    uint64_t born_ms;
    const uint8_t *in; /* the datagram being fed to the SSL, read once */
    size_t in_len;
} peer;

static struct server {
    int fd;
    SSL_CTX *ctx;
    BIO_METHOD *meth;
    EVP_MAC_CTX *cookie_mac;
    uint32_t hash_seed;
    peer **buckets;
    size_t nbuckets, npeers, max_peers;
    peer *hs_head;
    peer *listener; /* not in the table: its SSL runs DTLSv1_listen */
    BIO_ADDR *listen_addr;
    long mtu;
    const char *psk_identity;
    uint8_t psk_key[64];
    size_t psk_key_len;
    /* output queue, flushed with sendmmsg */
    unsigned nout;
    uint8_t out[BATCH][DGRAM_MAX];
    struct iovec out_iov[BATCH];
    struct mmsghdr out_msg[BATCH];
    struct sockaddr_storage out_addr[BATCH];
    /* counters */
    unsigned long long hvr, handshakes, hs_failed, echoed, closed, dropped_full;
    uint8_t app[16384 + 256];
} S;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- output queue ------------------------------------------------------- */

static void out_flush(void)
{
    unsigned done = 0;
    while (done < S.nout) {
        int n = sendmmsg(S.fd, S.out_msg + done, S.nout - done, MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            S.dropped_full += S.nout - done; /* UDP: a full socket drops */
            break;
        }
        done += (unsigned)n;
    }
    S.nout = 0;
}

static void out_push(const struct sockaddr_storage *addr, socklen_t alen, const void *data, size_t len)
{
    if (len > DGRAM_MAX) {
        sendto(S.fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)addr, alen);
        return;
    }
    if (S.nout == BATCH)
        out_flush();
    unsigned i = S.nout++;
    memcpy(S.out[i], data, len);
    memcpy(&S.out_addr[i], addr, alen);
    S.out_iov[i].iov_base = S.out[i];
    S.out_iov[i].iov_len = len;
    memset(&S.out_msg[i], 0, sizeof S.out_msg[i]);
    S.out_msg[i].msg_hdr.msg_name = &S.out_addr[i];
    S.out_msg[i].msg_hdr.msg_namelen = alen;
    S.out_msg[i].msg_hdr.msg_iov = &S.out_iov[i];
    S.out_msg[i].msg_hdr.msg_iovlen = 1;
}

/* ---- the datagram BIO: reads hand over the current datagram once, writes
 * queue one datagram each ------------------------------------------------- */

static int dbio_write(BIO *b, const char *data, int len)
{
    peer *p = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len > 0)
        out_push(&p->addr, p->alen, data, (size_t)len);
    return len;
}

static int dbio_read(BIO *b, char *out, int outl)
{
    peer *p = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!p->in || outl <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = p->in_len < (size_t)outl ? p->in_len : (size_t)outl;
    memcpy(out, p->in, n);
    p->in = NULL;
    return (int)n;
}

static long dbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    peer *p = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_DGRAM_GET_PEER:
        if (ptr && p) {
            memcpy(ptr, &p->addr, p->alen);
            return p->alen;
        }
        return 0;
    case BIO_CTRL_DGRAM_SET_PEER:
    case BIO_CTRL_DGRAM_SET_CONNECTED:
        return 1;
    case BIO_CTRL_DGRAM_SET_MTU:
        return num;
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return S.mtu;
    default:
        return 0; /* no MTU query, overhead 0 (the link MTU is the datagram size), no timeouts */
    }
}

static int dbio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ---- peers ------------------------------------------------------------- */

static size_t addr_key(const struct sockaddr_storage *a, uint8_t out[18])
{
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
        memcpy(out, &s6->sin6_port, 2);
        memcpy(out + 2, &s6->sin6_addr, 16);
        return 18;
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
    memcpy(out, &s4->sin_port, 2);
    memcpy(out + 2, &s4->sin_addr, 4);
    return 6;
}

static uint32_t addr_hash(const struct sockaddr_storage *a)
{
    uint8_t k[18];
    size_t n = addr_key(a, k);
    uint32_t h = 2166136261u ^ S.hash_seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 16777619u;
    return h ^ (h >> 15);
}

static bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    uint8_t ka[18], kb[18];
    size_t na = addr_key(a, ka), nb = addr_key(b, kb);
    return a->ss_family == b->ss_family && na == nb && memcmp(ka, kb, na) == 0;
}

static peer *table_find(const struct sockaddr_storage *a, uint32_t h)
{
    for (peer *p = S.buckets[h & (S.nbuckets - 1)]; p; p = p->chain)
        if (p->hash == h && addr_equal(&p->addr, a))
            return p;
    return NULL;
}

static void table_grow(void)
{
    size_t n = S.nbuckets * 2;
    peer **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t i = 0; i < S.nbuckets; i++)
        for (peer *p = S.buckets[i], *next; p; p = next) {
            next = p->chain;
            p->chain = nb[p->hash & (n - 1)];
            nb[p->hash & (n - 1)] = p;
        }
    free(S.buckets);
    S.buckets = nb;
    S.nbuckets = n;
}

static void table_insert(peer *p)
{
    if (S.npeers >= S.nbuckets)
        table_grow();
    peer **b = &S.buckets[p->hash & (S.nbuckets - 1)];
    p->chain = *b;
    *b = p;
    p->in_table = true;
    S.npeers++;
}

static void table_remove(peer *p)
{
    if (!p->in_table)
        return;
    for (peer **pp = &S.buckets[p->hash & (S.nbuckets - 1)]; *pp; pp = &(*pp)->chain)
        if (*pp == p) {
            *pp = p->chain;
            break;
        }
    p->in_table = false;
    S.npeers--;
}

static void hs_add(peer *p)
{
    p->hs_prev = NULL;
    p->hs_next = S.hs_head;
    if (S.hs_head)
        S.hs_head->hs_prev = p;
    S.hs_head = p;
}

static void hs_remove(peer *p)
{
    if (p->hs_prev)
        p->hs_prev->hs_next = p->hs_next;
    else if (S.hs_head == p)
        S.hs_head = p->hs_next;
    if (p->hs_next)
        p->hs_next->hs_prev = p->hs_prev;
    p->hs_prev = p->hs_next = NULL;
}

static void peer_free(peer *p)
{
    table_remove(p);
    if (!p->established)
        hs_remove(p);
    SSL_free(p->ssl);
    free(p);
}

static peer *listener_new(void)
{
    peer *p = calloc(1, sizeof *p);
    BIO *b = BIO_new(S.meth);
    if (!p || !b || !(p->ssl = SSL_new(S.ctx))) {
        BIO_free(b);
        free(p);
        return NULL;
    }
    BIO_set_data(b, p);
    SSL_set_bio(p->ssl, b, b); /* the same BIO both ways: one reference */
    DTLS_set_link_mtu(p->ssl, S.mtu);
    SSL_set_accept_state(p->ssl);
    return p;
}

/* ---- cookies: HMAC-SHA256(secret, peer address), truncated --------------- */

static int cookie_compute(SSL *ssl, uint8_t out[COOKIE_BYTES])
{
    peer *p = BIO_get_data(SSL_get_rbio(ssl));
    uint8_t key[18], mac[EVP_MAX_MD_SIZE];
    size_t n = addr_key(&p->addr, key), maclen = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(S.cookie_mac);
    int ok = c && EVP_MAC_update(c, key, n) && EVP_MAC_final(c, mac, &maclen, sizeof mac)
          && maclen >= COOKIE_BYTES;
    EVP_MAC_CTX_free(c);
    if (ok)
        memcpy(out, mac, COOKIE_BYTES);
    return ok;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    if (!cookie_compute(ssl, cookie))
        return 0;
    *len = COOKIE_BYTES;
    S.hvr++;
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    uint8_t want[COOKIE_BYTES];
    return len == COOKIE_BYTES && cookie_compute(ssl, want) && CRYPTO_memcmp(want, cookie, len) == 0;
}

static unsigned int psk_lookup(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
    (void)ssl;
    if (!S.psk_identity || !identity || strcmp(identity, S.psk_identity) != 0 || S.psk_key_len > max)
        return 0;
    memcpy(psk, S.psk_key, S.psk_key_len);
    return (unsigned int)S.psk_key_len;
}

/* ---- the protocol --------------------------------------------------------- */

static void peer_echo(peer *p)
{
    for (int i = 0; i < 64; i++) {
        int n = SSL_read(p->ssl, S.app, sizeof S.app);
        if (n > 0) {
            SSL_write(p->ssl, S.app, n);
            S.echoed++;
            continue;
        }
        int e = SSL_get_error(p->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            return;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: answer it, forget the peer */
            SSL_shutdown(p->ssl);
            S.closed++;
        }
        ERR_clear_error();
        peer_free(p);
        return;
    }
}

static void peer_handshake(peer *p)
{
    int r = SSL_do_handshake(p->ssl);
    if (r == 1) {
        p->established = true;
        hs_remove(p);
        S.handshakes++;
        peer_echo(p); /* application data may follow in the same datagram */
        return;
    }
    if (SSL_get_error(p->ssl, r) == SSL_ERROR_WANT_READ)
        return;
    ERR_clear_error();
    S.hs_failed++;
    peer_free(p);
}

static void on_datagram(const struct sockaddr_storage *addr, socklen_t alen, const uint8_t *d, size_t len)
{
    uint32_t h = addr_hash(addr);
    peer *p = table_find(addr, h);
    /* A new ClientHello from the address of a live session is a client that
     * restarted (RFC 6347 4.2.8): it goes through the cookie exchange, and
     * replaces the old session once its cookie verifies. */
    bool restart = p && p->established && len > 25 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1;
    if (p && !restart) {
        p->in = d;
        p->in_len = len;
        if (p->established)
            peer_echo(p);
        else
            peer_handshake(p);
        return;
    }
    /* Unknown peer: the stateless front door. DTLSv1_listen answers a hello
     * without a valid cookie with a HelloVerifyRequest and keeps nothing. */
    peer *l = S.listener;
    if (!l || (!p && S.npeers >= S.max_peers))
        return;
    memcpy(&l->addr, addr, alen);
    l->alen = alen;
    l->hash = h;
    l->in = d;
    l->in_len = len;
    int r = DTLSv1_listen(l->ssl, S.listen_addr);
    l->in = NULL;
    if (r <= 0) {
        ERR_clear_error();
        return;
    }
    /* Cookie verified: the listener's SSL becomes this peer's. */
    if (p)
        peer_free(p);
    S.listener = listener_new();
    l->born_ms = now_ms();
    DTLS_set_link_mtu(l->ssl, S.mtu);
    table_insert(l);
    hs_add(l);
    peer_handshake(l);
}

static void handle_timers(void)
{
    uint64_t t = now_ms();
    for (peer *p = S.hs_head, *next; p; p = next) {
        next = p->hs_next;
        if (t - p->born_ms > HANDSHAKE_LIMIT_MS || DTLSv1_handle_timeout(p->ssl) < 0) {
            ERR_clear_error();
            S.hs_failed++;
            peer_free(p);
        }
    }
}

/* ---- set-up ---------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: ref_openssl_server [options]\n"
        "A single-threaded DTLS 1.2 echo server on OpenSSL libssl (benchmark reference).\n"
        "  --host ADDR        loopback address to bind (127.0.0.1; or ::1)\n"
        "  --port N           UDP port (0: any; the port is printed)\n"
        "  --cert FILE --key FILE   certificate chain and key (PEM)\n"
        "  --psk-identity ID --psk-key HEX   accept this PSK\n"
        "  --ciphers LIST     OpenSSL cipher list (default: ECDHE-ECDSA and PSK suites)\n"
        "  --groups LIST      ECDHE groups, e.g. P-256 or X25519:P-256 (default OpenSSL's)\n"
        "  --mtu N            largest datagram (1400)\n"
        "  --max-peers N      sessions held at most (200000)\n"
        "  --resume ticket|id allow resumption by stateless ticket or session-ID cache\n"
        "SIGINT/SIGTERM: print counters on stderr, free everything, exit 0.\n");
}



static int setup_ctx(const char *cert, const char *key, const char *ciphers, const char *groups)
{
    S.ctx = SSL_CTX_new(DTLS_server_method());
    if (!S.ctx)
        return -1;
    SSL_CTX_set_min_proto_version(S.ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(S.ctx, DTLS1_2_VERSION);
    SSL_CTX_set_options(S.ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_COOKIE_EXCHANGE | SSL_OP_NO_TICKET
                                   | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(S.ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_cookie_generate_cb(S.ctx, cookie_generate);
    SSL_CTX_set_cookie_verify_cb(S.ctx, cookie_verify);
    if (cert && (SSL_CTX_use_certificate_chain_file(S.ctx, cert) != 1
                 || SSL_CTX_use_PrivateKey_file(S.ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1
                 || SSL_CTX_check_private_key(S.ctx) != 1)) {
        fprintf(stderr, "ref_openssl_server: cannot load %s / %s\n", cert, key ? key : cert);
        return -1;
    }
    if (S.psk_identity)
        SSL_CTX_set_psk_server_callback(S.ctx, psk_lookup);
    if (SSL_CTX_set_cipher_list(S.ctx, ciphers) != 1) {
        fprintf(stderr, "ref_openssl_server: bad --ciphers %s\n", ciphers);
        return -1;
    }
    if (groups && SSL_CTX_set1_groups_list(S.ctx, groups) != 1) {
        fprintf(stderr, "ref_openssl_server: bad --groups %s\n", groups);
        return -1;
    }
    /* The cookie key: a fresh secret per run, keyed once, copied per use. */
    uint8_t secret[32];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    S.cookie_mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    if (!S.cookie_mac || RAND_bytes(secret, sizeof secret) != 1
        || !EVP_MAC_init(S.cookie_mac, secret, sizeof secret, params))
        return -1;
    OPENSSL_cleanse(secret, sizeof secret);
    RAND_bytes((unsigned char *)&S.hash_seed, sizeof S.hash_seed);

    S.meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "bench datagram");
    if (!S.meth)
        return -1;
    BIO_meth_set_write(S.meth, dbio_write);
    BIO_meth_set_read(S.meth, dbio_read);
    BIO_meth_set_ctrl(S.meth, dbio_ctrl);
    BIO_meth_set_create(S.meth, dbio_create);
    return 0;
}

static void serve(void)
{
    static uint8_t bufs[BATCH][DGRAM_MAX + 1];
    static struct sockaddr_storage addrs[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    uint64_t last_timers = now_ms();
    while (!stop_flag) {
        struct pollfd pfd = { .fd = S.fd, .events = POLLIN };
        int timeout = S.hs_head ? 50 : 1000;
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR)
            break;
        /* Read until the socket is empty (bounded per round). */
        for (int round = 0; round < 64 && !stop_flag; round++) {
            for (int i = 0; i < BATCH; i++) {
                iov[i].iov_base = bufs[i];
                iov[i].iov_len = sizeof bufs[i];
                memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
                msgs[i].msg_hdr.msg_name = &addrs[i];
                msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int n = recvmmsg(S.fd, msgs, BATCH, MSG_DONTWAIT, NULL);
            if (n <= 0)
                break;
            for (int i = 0; i < n; i++)
                if (!(msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
                    on_datagram(&addrs[i], msgs[i].msg_hdr.msg_namelen, bufs[i], msgs[i].msg_len);
            out_flush();
            if (n < BATCH)
                break;
        }
        uint64_t t = now_ms();
        if (S.hs_head && t - last_timers >= 50) {
            handle_timers();
            out_flush();
            last_timers = t;
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
        { "cert", required_argument, NULL, 'c' }, { "key", required_argument, NULL, 'k' },
        { "psk-identity", required_argument, NULL, 'i' }, { "psk-key", required_argument, NULL, 'K' },
        { "ciphers", required_argument, NULL, 'C' }, { "groups", required_argument, NULL, 'g' },
        { "mtu", required_argument, NULL, 'm' }, { "max-peers", required_argument, NULL, 'x' },
        { "resume", required_argument, NULL, 'R' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
    };
    const char *host = "127.0.0.1", *cert = NULL, *key = NULL, *groups = NULL;
    const char *ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-CCM8:"
                          "PSK-AES128-CCM8:PSK-AES128-GCM-SHA256";
    const char *resume = NULL;
    int port = 4433, c;
    S.mtu = 1400;
    S.max_peers = 200000;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'i': S.psk_identity = optarg; break;
        case 'K':
            if (parse_hex(optarg, S.psk_key, sizeof S.psk_key, &S.psk_key_len) != 0) {
                fprintf(stderr, "ref_openssl_server: --psk-key wants hex digits\n");
                return 2;
            }
            break;
        case 'C': ciphers = optarg; break;
        case 'g': groups = optarg; break;
        case 'm': S.mtu = atol(optarg); break;
        case 'x': S.max_peers = (size_t)atol(optarg); break;
        case 'R': resume = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (port < 0 || port > 65535 || S.mtu < 256 || S.mtu > 65535 || S.max_peers < 1
        || (S.psk_identity && S.psk_key_len == 0) || (!cert && !S.psk_identity)) {
        usage(stderr);
        return 2;
    }
    if (resume && strcmp(resume, "ticket") != 0 && strcmp(resume, "id") != 0) {
        usage(stderr);
        return 2;
    }
    if (setup_ctx(cert, key, ciphers, groups) != 0) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    /* Resumption as libssl does it by default: stateless tickets, or its
     * internal session-ID cache (the same work dtlsrun's --resume rows do). */
    if (resume && strcmp(resume, "ticket") == 0) {
        SSL_CTX_clear_options(S.ctx, SSL_OP_NO_TICKET);
    } else if (resume) {
        SSL_CTX_set_session_cache_mode(S.ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_session_id_context(S.ctx, (const unsigned char *)"bench", 5);
    }
    S.nbuckets = 1024;
    S.buckets = calloc(S.nbuckets, sizeof *S.buckets);
    S.listen_addr = BIO_ADDR_new();
    S.listener = listener_new();
    if (!S.buckets || !S.listen_addr || !S.listener)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    S.fd = bench_bind_loopback("ref_openssl_server", host, port);
    if (S.fd < 0)
        return 1;

    serve();

    fprintf(stderr, "ref_openssl_server: %llu handshakes, %llu failed, %llu HelloVerifyRequests, "
                    "%llu messages echoed, %llu closed by the peer, %zu sessions left, %llu datagrams dropped\n",
            S.handshakes, S.hs_failed, S.hvr, S.echoed, S.closed, S.npeers, S.dropped_full);
    for (size_t i = 0; i < S.nbuckets; i++)
        for (peer *p = S.buckets[i], *next; p; p = next) {
            next = p->chain;
            p->in_table = false;
            if (!p->established)
                hs_remove(p);
            SSL_free(p->ssl);
            free(p);
        }
    free(S.buckets);
    if (S.listener) {
        SSL_free(S.listener->ssl);
        free(S.listener);
    }
    BIO_ADDR_free(S.listen_addr);
    EVP_MAC_CTX_free(S.cookie_mac);
    SSL_CTX_free(S.ctx);
    BIO_meth_free(S.meth);
    close(S.fd);
    return 0;
}

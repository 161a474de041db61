/* loopback.h — what the benchmark tools share: the servers' socket (UDP,
 * non-blocking, bound to a loopback address only — these tools never listen
 * elsewhere — with the same 4 MiB buffers as dtlsrun's server endpoints,
 * runtime/endpoint.c; prints "listening on HOST:PORT" for scripts/bench),
 * and hex parsing for PSK keys. */
#ifndef BENCH_LOOPBACK_H
#define BENCH_LOOPBACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BENCH_SOCKET_BUFFER (4 * 1024 * 1024)

/* A bound socket, or -1 with a message naming prog on stderr. */
static inline int bench_bind_loopback(const char *prog, const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1 && (ntohl(s4->sin_addr.s_addr) >> 24) == 127) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        len = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof *s6;
    } else {
        fprintf(stderr, "%s: the address must be loopback\n", prog);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int bufsize = BENCH_SOCKET_BUFFER;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0
        || getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        fprintf(stderr, "%s: bind %s:%d: %s\n", prog, host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    printf("listening on %s:%d\n", host, ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port));
    fflush(stdout);
    return fd;
}

/* Hex text to bytes (PSK keys on the command line): 0, or -1 when it is not
 * an even number of hex digits or does not fit in cap. */
static inline int parse_hex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    *len = n / 2;
    return 0;
}

#endif

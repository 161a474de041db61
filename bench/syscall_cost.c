/* syscall_cost.c — what the kernel charges per call on this machine, the
 * floor under every per-operation figure in docs/benchmarks.md. Prints the
 * process CPU time per call of:
 *   getppid               the cheapest system call there is;
 *   recvmmsg, empty       a read that finds nothing (EAGAIN), what a server
 *                         pays each time it looks at an empty socket;
 *   epoll_wait, ready     a poll that returns at once (one readable socket);
 *   datagram, loopback    sendto + recvfrom of one 100-byte datagram to
 *                         itself over 127.0.0.1 (delivery included).
 * No server, no crypto; not run by scripts/bench (a one-off reading).
 *   build-bench/bin/syscall_cost [ITERATIONS]
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int bound_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    socklen_t len = sizeof *addr;
    *addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
        perror("syscall_cost: socket");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n <= 0) {
        fprintf(stderr, "usage: syscall_cost [ITERATIONS]\n");
        return 2;
    }
    struct sockaddr_in self;
    int fd = bound_socket(&self);
    unsigned char buf[2048] = { 0 };
    struct iovec iov = { buf, sizeof buf };
    struct mmsghdr msgs[8] = { 0 };
    for (int i = 0; i < 8; i++)
        msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1 };

    double t = cpu_ns();
    for (long i = 0; i < n; i++)
        (void)getppid();
    printf("getppid              %6.0f ns/call\n", (cpu_ns() - t) / (double)n);

    t = cpu_ns();
    for (long i = 0; i < n; i++)
        (void)recvmmsg(fd, msgs, 8, MSG_DONTWAIT, NULL);
    printf("recvmmsg, empty      %6.0f ns/call\n", (cpu_ns() - t) / (double)n);

    /* One datagram waits in the socket, so the poll is always ready. */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN }, out;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0 ||
        sendto(fd, buf, 100, 0, (struct sockaddr *)&self, sizeof self) != 100) {
        perror("syscall_cost: epoll");
        return 1;
    }
    t = cpu_ns();
    for (long i = 0; i < n; i++)
        (void)epoll_wait(ep, &out, 1, 0);
    printf("epoll_wait, ready    %6.0f ns/call\n", (cpu_ns() - t) / (double)n);
    (void)recv(fd, buf, sizeof buf, 0);

    long sent = 0;
    t = cpu_ns();
    for (long i = 0; i < n; i++) {
        if (sendto(fd, buf, 100, 0, (struct sockaddr *)&self, sizeof self) == 100 &&
            recv(fd, buf, sizeof buf, 0) == 100)
            sent++;
    }
    if (sent == 0) {
        fprintf(stderr, "syscall_cost: no datagram came back\n");
        return 1;
    }
    printf("datagram, loopback   %6.0f ns per sendto + recv (%ld of %ld)\n",
           (cpu_ns() - t) / (double)sent, sent, n);
    close(ep);
    close(fd);
    return 0;
}

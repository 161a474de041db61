/* udp_echo.c — plain UDP echo on one loopback socket, no crypto: the
 * ceiling for the echo benchmark. recvmmsg in, sendmmsg back to each
 * sender, single-threaded. SIGINT/SIGTERM end it with exit 0.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "loopback.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define DGRAM_MAX 65536

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}


int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "usage: udp_echo PORT [LOOPBACK-ADDRESS]\n"
                "Echoes every UDP datagram back to its sender (0: any port, printed).\n");
        return argc < 2 ? 2 : 0;
    }
    int fd = bench_bind_loopback("udp_echo", argc > 2 ? argv[2] : "127.0.0.1", atoi(argv[1]));
    if (fd < 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static char bufs[BATCH][DGRAM_MAX];
    static struct sockaddr_storage addrs[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    unsigned long long echoed = 0;
    while (!stop_flag) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 1000) <= 0)
            continue;
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i];
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        for (int i = 0; i < n; i++)
            iov[i].iov_len = msgs[i].msg_len; /* send back exactly what came */
        int done = 0;
        while (done < n) {
            int m = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
            if (m <= 0)
                break;
            done += m;
        }
        echoed += (unsigned long long)n;
    }
    fprintf(stderr, "udp_echo: %llu datagrams echoed\n", echoed);
    close(fd);
    return 0;
}

/* udp_relay: a lossy UDP relay for tests. It forwards datagrams between
 * clients on --listen and one server at --to, dropping, reordering and
 * duplicating them with seeded probabilities, so that handshakes can be
 * exercised under loss reproducibly. Loopback addresses only: it must never
 * send anywhere but 127.0.0.0/8 or ::1.
 *
 * Each client address gets its own upstream socket (connected to --to), so
 * the server sees one peer per client and replies find their way back.
 * Reordering holds one datagram per direction per client and releases it right
 * after the next datagram in that direction, or after HOLD_MS.
 *
 * --rebind-every N plays a NAT that rebinds: before every Nth application
 * datagram from a client (first byte 23, or 25 for an RFC 9146 CID record),
 * its upstream socket is replaced by a new one, so the server sees the same
 * session arrive from a new source port; the old port is closed.
 *
 * --switch-to ADDR:PORT --switch-after N plays a load balancer that changes
 * its mind: a client's first N datagrams go to --to, every later one to
 * the second server, from the same source address (the upstream socket is
 * connected anew, as a balancer that keeps client addresses would send).
 * With N = 1 a DTLS client's ClientHello reaches one node and its
 * ClientHello with the HelloVerifyRequest cookie reaches the other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 256
#define MAX_DGRAM 65536
#define HOLD_MS 20

enum { UP = 0, DOWN = 1 }; /* UP: client -> server, DOWN: server -> client */

struct counters {
  uint64_t received, forwarded, dropped, duplicated, reordered;
};

struct held {
  bool present;
  uint64_t release_at_ms;
  size_t len;
  uint8_t data[MAX_DGRAM];
};

struct client {
  bool used;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int upstream_fd;
  uint64_t last_seen_ms;
  unsigned app_datagrams;
  unsigned datagrams;
  struct held held[2];
};

struct options {
  struct sockaddr_storage listen_addr, to_addr, switch_addr;
  socklen_t listen_len, to_len, switch_len;
  unsigned switch_after;
  double drop, reorder, duplicate;
  uint64_t seed;
  bool seed_given;
  unsigned max_seconds;
  unsigned rebind_every;
};
static uint64_t rebinds, switches;

static volatile sig_atomic_t stop_requested;
static struct counters counters[2];
static struct client clients[MAX_CLIENTS];
static int listen_fd = -1;
static struct options opt;
static uint64_t rng_state;

static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* splitmix64: small, seedable, good enough for test impairments. */
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static bool chance(double p) {
  if (p <= 0.0)
    return false;
  return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0) < p;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: udp_relay --listen ADDR:PORT --to ADDR:PORT [--drop P] [--reorder P]\n"
          "                 [--duplicate P] [--seed N] [--max-seconds S] [--rebind-every N]\n"
          "                 [--switch-to ADDR:PORT --switch-after N]\n"
          "  ADDR is 127.x.y.z or [::1]; P is a probability in [0, 1].\n"
          "  Prints 'udp_relay: listening on ADDR:PORT' when ready, counters on exit.\n");
}

static bool is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    return memcmp(&in6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) == 0;
  }
  return false;
}

/* Parses "127.0.0.1:4433", "[::1]:4433" or "::1:4433" (last colon splits). */
static bool parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len) {
  char host[128];
  const char *colon = strrchr(text, ':');
  if (!colon || colon == text || strlen(colon + 1) == 0)
    return false;
  size_t host_len = (size_t)(colon - text);
  if (host_len >= sizeof host)
    return false;
  memcpy(host, text, host_len);
  host[host_len] = '\0';
  if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
    memmove(host, host + 1, host_len - 2);
    host[host_len - 2] = '\0';
  }
  char *end;
  errno = 0;
  unsigned long port = strtoul(colon + 1, &end, 10);
  if (errno || *end || port > 65535)
    return false;

  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *len = sizeof *in;
    return true;
  }
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *len = sizeof *in6;
    return true;
  }
  return false;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t out_len) {
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    snprintf(out, out_len, "%s:%u", host, port);
  } else {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    snprintf(out, out_len, "[%s]:%u", host, port);
  }
}

static bool parse_probability(const char *text, double *p) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || *end || !(v >= 0.0 && v <= 1.0))
    return false;
  *p = v;
  return true;
}

static void parse_args(int argc, char **argv) {
  bool have_listen = false, have_to = false, have_switch = false;
  opt.max_seconds = 120;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "udp_relay: %s needs a value\n", a);
      usage(stderr);
      exit(2);
    }
    const char *v = argv[++i];
    bool ok = true;
    if (strcmp(a, "--listen") == 0) {
      ok = have_listen = parse_addr(v, &opt.listen_addr, &opt.listen_len);
    } else if (strcmp(a, "--to") == 0) {
      ok = have_to = parse_addr(v, &opt.to_addr, &opt.to_len);
    } else if (strcmp(a, "--drop") == 0) {
      ok = parse_probability(v, &opt.drop);
    } else if (strcmp(a, "--reorder") == 0) {
      ok = parse_probability(v, &opt.reorder);
    } else if (strcmp(a, "--duplicate") == 0) {
      ok = parse_probability(v, &opt.duplicate);
    } else if (strcmp(a, "--seed") == 0) {
      char *end;
      errno = 0;
      opt.seed = strtoull(v, &end, 0);
      ok = !errno && !*end;
      opt.seed_given = true;
    } else if (strcmp(a, "--switch-to") == 0) {
      ok = have_switch = parse_addr(v, &opt.switch_addr, &opt.switch_len);
    } else if (strcmp(a, "--switch-after") == 0) {
      char *end;
      errno = 0;
      unsigned long n = strtoul(v, &end, 10);
      ok = !errno && !*end && n > 0 && n < 1000000;
      opt.switch_after = (unsigned)n;
    } else if (strcmp(a, "--rebind-every") == 0) {
      opt.rebind_every = (unsigned)strtoul(v, NULL, 10);
    } else if (strcmp(a, "--max-seconds") == 0) {
      char *end;
      errno = 0;
      unsigned long s = strtoul(v, &end, 10);
      ok = !errno && !*end && s > 0 && s <= 86400;
      opt.max_seconds = (unsigned)s;
    } else {
      fprintf(stderr, "udp_relay: unknown option %s\n", a);
      usage(stderr);
      exit(2);
    }
    if (!ok) {
      fprintf(stderr, "udp_relay: bad value for %s: %s\n", a, v);
      exit(2);
    }
  }
  if (!have_listen || !have_to) {
    fprintf(stderr, "udp_relay: --listen and --to are required\n");
    usage(stderr);
    exit(2);
  }
  if (have_switch != (opt.switch_after > 0)) {
    fprintf(stderr, "udp_relay: --switch-to and --switch-after go together\n");
    exit(2);
  }
  if (!is_loopback(&opt.listen_addr) || !is_loopback(&opt.to_addr)
      || (have_switch && !is_loopback(&opt.switch_addr))) {
    fprintf(stderr, "udp_relay: refusing non-loopback address (only 127.0.0.0/8 and ::1)\n");
    exit(2);
  }
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr_storage *b,
                      socklen_t blen) {
  return alen == blen && memcmp(a, b, alen) == 0;
}

static void client_release(struct client *c) {
  if (c->upstream_fd >= 0)
    close(c->upstream_fd);
  memset(c, 0, sizeof *c);
  c->upstream_fd = -1;
}

/* Finds the client by address, or makes one (evicting the least recently seen
 * when the table is full). */
static struct client *client_for(const struct sockaddr_storage *addr, socklen_t len, uint64_t now) {
  struct client *free_slot = NULL, *oldest = NULL;
  for (size_t i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = &clients[i];
    if (!c->used) {
      if (!free_slot)
        free_slot = c;
      continue;
    }
    if (same_addr(&c->addr, c->addr_len, addr, len)) {
      c->last_seen_ms = now;
      return c;
    }
    if (!oldest || c->last_seen_ms < oldest->last_seen_ms)
      oldest = c;
  }
  struct client *c = free_slot ? free_slot : oldest;
  if (c->used)
    client_release(c);

  int fd = socket(opt.to_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("udp_relay: socket");
    return NULL;
  }
  if (connect(fd, (const struct sockaddr *)&opt.to_addr, opt.to_len) < 0) {
    perror("udp_relay: connect upstream");
    close(fd);
    return NULL;
  }
  c->used = true;
  c->addr = *addr;
  c->addr_len = len;
  c->upstream_fd = fd;
  c->last_seen_ms = now;
  return c;
}

/* A new upstream socket (a new source port) for the client, as after a NAT
 * rebinding; false keeps the old one. */
static bool rebind(struct client *c) {
  int fd = socket(opt.to_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  if (connect(fd, (const struct sockaddr *)&opt.to_addr, opt.to_len) < 0) {
    close(fd);
    return false;
  }
  close(c->upstream_fd);
  c->upstream_fd = fd;
  return true;
}

static void transmit(struct client *c, int dir, const uint8_t *data, size_t len) {
  ssize_t n;
  if (dir == UP)
    n = send(c->upstream_fd, data, len, 0);
  else
    n = sendto(listen_fd, data, len, 0, (const struct sockaddr *)&c->addr, c->addr_len);
  /* A refused or full socket is just more loss; the protocol under test copes. */
  if (n >= 0)
    counters[dir].forwarded++;
}

static void release_held(struct client *c, int dir) {
  struct held *h = &c->held[dir];
  if (h->present) {
    h->present = false;
    transmit(c, dir, h->data, h->len);
  }
}

/* Applies the impairments to one datagram travelling in direction dir. */
static void relay(struct client *c, int dir, const uint8_t *data, size_t len, uint64_t now) {
  counters[dir].received++;
  if (chance(opt.drop)) {
    counters[dir].dropped++;
    return;
  }
  struct held *h = &c->held[dir];
  if (!h->present && chance(opt.reorder)) {
    counters[dir].reordered++;
    h->present = true;
    h->len = len;
    h->release_at_ms = now + HOLD_MS;
    memcpy(h->data, data, len);
    return;
  }
  transmit(c, dir, data, len);
  if (chance(opt.duplicate)) {
    counters[dir].duplicated++;
    transmit(c, dir, data, len);
  }
  release_held(c, dir); /* the held datagram now arrives after this one */
}

static void print_counters(void) {
  static const char *names[2] = {"client->server", "server->client"};
  if (opt.rebind_every)
    fprintf(stderr, "udp_relay: rebinds=%" PRIu64 "\n", rebinds);
  if (opt.switch_after)
    fprintf(stderr, "udp_relay: switches=%" PRIu64 "\n", switches);
  for (int d = 0; d < 2; d++)
    fprintf(stderr,
            "udp_relay: %s received=%" PRIu64 " forwarded=%" PRIu64 " dropped=%" PRIu64
            " duplicated=%" PRIu64 " reordered=%" PRIu64 "\n",
            names[d], counters[d].received, counters[d].forwarded, counters[d].dropped,
            counters[d].duplicated, counters[d].reordered);
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  rng_state = opt.seed_given ? opt.seed : ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  for (size_t i = 0; i < MAX_CLIENTS; i++)
    clients[i].upstream_fd = -1;

  listen_fd = socket(opt.listen_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0 || bind(listen_fd, (const struct sockaddr *)&opt.listen_addr, opt.listen_len) < 0) {
    perror("udp_relay: bind");
    return 1;
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  getsockname(listen_fd, (struct sockaddr *)&bound, &bound_len);
  char bound_text[80], to_text[80];
  format_addr(&bound, bound_text, sizeof bound_text);
  format_addr(&opt.to_addr, to_text, sizeof to_text);
  printf("udp_relay: listening on %s, relaying to %s (drop %.3f reorder %.3f duplicate %.3f seed %" PRIu64
         ")\n",
         bound_text, to_text, opt.drop, opt.reorder, opt.duplicate, rng_state);
  fflush(stdout);

  static uint8_t buf[MAX_DGRAM];
  static struct pollfd fds[1 + MAX_CLIENTS];
  static struct client *fd_owner[1 + MAX_CLIENTS];
  const uint64_t deadline = now_ms() + (uint64_t)opt.max_seconds * 1000u;
  int status = 0;

  while (!stop_requested) {
    uint64_t now = now_ms();
    if (now >= deadline) {
      fprintf(stderr, "udp_relay: --max-seconds reached\n");
      break;
    }
    /* Release held datagrams whose time is up, and find the next wake-up. */
    uint64_t wake = deadline;
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
      for (int d = 0; d < 2; d++) {
        struct held *h = &clients[i].held[d];
        if (!clients[i].used || !h->present)
          continue;
        if (h->release_at_ms <= now)
          release_held(&clients[i], d);
        else if (h->release_at_ms < wake)
          wake = h->release_at_ms;
      }
    }

    nfds_t nfds = 0;
    fds[nfds] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    fd_owner[nfds++] = NULL;
    for (size_t i = 0; i < MAX_CLIENTS; i++) {
      if (!clients[i].used)
        continue;
      fds[nfds] = (struct pollfd){.fd = clients[i].upstream_fd, .events = POLLIN};
      fd_owner[nfds++] = &clients[i];
    }

    int rc = poll(fds, nfds, (int)(wake - now));
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      perror("udp_relay: poll");
      status = 1;
      break;
    }
    now = now_ms();
    for (nfds_t i = 0; i < nfds; i++) {
      if (!(fds[i].revents & (POLLIN | POLLERR)))
        continue;
      /* Drain what is queued, so one busy socket cannot starve the rest. */
      for (int burst = 0; burst < 64; burst++) {
        if (fd_owner[i] == NULL) {
          struct sockaddr_storage from;
          socklen_t from_len = sizeof from;
          ssize_t n = recvfrom(listen_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
          if (n < 0)
            break;
          if (!is_loopback(&from))
            continue; /* never answer anyone off this machine */
          struct client *c = client_for(&from, from_len, now);
          /* The poll list may still name the old fd this round; reads go
           * through c->upstream_fd, so they find the new one. */
          if (c && opt.rebind_every && n > 0 && (buf[0] == 23 || buf[0] == 25)
              && ++c->app_datagrams % opt.rebind_every == 0 && rebind(c))
            rebinds++;
          if (c && opt.switch_after && c->datagrams++ == opt.switch_after
              && connect(c->upstream_fd, (const struct sockaddr *)&opt.switch_addr, opt.switch_len) == 0)
            switches++;
          if (c)
            relay(c, UP, buf, (size_t)n, now);
        } else {
          struct client *c = fd_owner[i];
          if (!c->used)
            break; /* evicted while handling the listen socket */
          ssize_t n = recv(c->upstream_fd, buf, sizeof buf, 0);
          if (n < 0)
            break; /* EAGAIN, or ECONNREFUSED while the server is not up yet */
          relay(c, DOWN, buf, (size_t)n, now);
        }
      }
    }
  }

  print_counters();
  return status;
}

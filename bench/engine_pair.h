/* engine_pair.h — what bench/engine_mem.c and bench/engine_cost.c share:
 * client and server engines wired back to back through small datagram
 * queues, the benchmark PSK, and reading a PEM file. Header-only.
 */
#ifndef DTLSRUN_BENCH_ENGINE_PAIR_H
#define DTLSRUN_BENCH_ENGINE_PAIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtls/dtls.h"

#define QCAP 8
#define DGRAM_MAX 2048

typedef struct queue {
    uint8_t d[QCAP][DGRAM_MAX];
    size_t len[QCAP];
    int n;
} queue;

static queue to_server, to_client;
static const uint8_t PSK_KEY[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static inline void queue_push(queue *q, const uint8_t *dgram, size_t len)
{
    if (!q || q->n == QCAP || len > DGRAM_MAX)
        return;
    memcpy(q->d[q->n], dgram, len);
    q->len[q->n++] = len;
}

static inline void on_event(void *user, const dtls_event *ev)
{
    (void)user;
    (void)ev;
}

/* The server's PSK table: identity "bench", key PSK_KEY. */
static inline int on_psk(void *user, const uint8_t *id, size_t id_len, uint8_t *key, size_t cap)
{
    (void)user;
    if (id_len != 5 || memcmp(id, "bench", 5) != 0 || cap < sizeof PSK_KEY)
        return -1;
    memcpy(key, PSK_KEY, sizeof PSK_KEY);
    return (int)sizeof PSK_KEY;
}

/* A whole (small) file, NUL-terminated, or NULL. */
static inline char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    if (buf && fread(buf, 1, (1 << 16) - 1, f) == 0) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

#endif

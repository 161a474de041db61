/* engine_pair.h — what bench/engine_mem.c and bench/engine_cost.c share:
 * client and server engines wired back to back through small datagram
 * queues, the benchmark PSK, and reading a PEM file. Header-only.
 */
#ifndef DTLSRUN_BENCH_ENGINE_PAIR_H
#define DTLSRUN_BENCH_ENGINE_PAIR_H

#include <stdbool.h>
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
/* Each tool's own: where a datagram an engine sent goes. */
static void on_send(void *user, const uint8_t *dgram, size_t len);
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

/* A server config with the certificate and key, a client config that does
 * not verify it, both offering only suite, the client with the PSK when
 * psk is set. 0, or -1 with err. */
static inline int pair_configs(dtls_config *s, dtls_config *c, const char *cert, const char *key,
                               const char *suite, bool psk, char *err, size_t errlen)
{
    static const dtls_callbacks cb = { .send = on_send, .event = on_event, .psk_lookup = on_psk };
    if (!cert || !key || !s || !c)
        return -1;
    dtls_config_set_callbacks(s, &cb);
    dtls_config_set_callbacks(c, &cb);
    dtls_config_set_verify_peer(c, 0);
    return dtls_config_set_cert_chain_pem(s, cert, strlen(cert), err, errlen)
        || dtls_config_set_key_pem(s, key, strlen(key), err, errlen)
        || dtls_config_set_ciphers(s, suite, err, errlen)
        || dtls_config_set_ciphers(c, suite, err, errlen)
        || (psk && dtls_config_set_psk(c, (const uint8_t *)"bench", 5, PSK_KEY, sizeof PSK_KEY))
        ? -1 : 0;
}

#endif

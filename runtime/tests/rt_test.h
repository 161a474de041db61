/* rt_test.h — shared by the runtime tests: a CHECK macro that counts
 * failures and keeps going, and one PSK (identity -> 16 bytes of 0x42) for
 * servers and clients on 127.0.0.1. */
#ifndef DTLSRUN_RT_TEST_H
#define DTLSRUN_RT_TEST_H

#include <stdio.h>
#include <string.h>

#include "runtime.h"

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static const uint8_t rt_test_key[16] = { 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                         0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42 };

static inline int rt_test_psk_lookup(void *host, rt_conn *conn, const uint8_t *id, size_t id_len,
                                     uint8_t *key, size_t cap)
{
    (void)host, (void)conn, (void)id, (void)id_len;
    if (cap < sizeof rt_test_key)
        return -2;
    memcpy(key, rt_test_key, sizeof rt_test_key);
    return (int)sizeof rt_test_key;
}

/* PSK-AES128-CCM8 options: a server (lookup above) or a client (identity). */
static inline void rt_test_psk_options(rt_tls_options *o, const char *client_identity)
{
    rt_tls_options_init(o);
    o->ciphers = "PSK-AES128-CCM8";
    if (client_identity == NULL) {
        o->psk_server = 1;
        return;
    }
    o->psk_identity = (const uint8_t *)client_identity;
    o->psk_identity_len = strlen(client_identity);
    o->psk_key = rt_test_key;
    o->psk_key_len = sizeof rt_test_key;
}

/* A server on 127.0.0.1 with an ephemeral port (*port), or NULL. */
static inline rt_server *rt_test_server(rt_loop *loop, const rt_tls_options *o,
                                        const rt_handlers *h, int *port)
{
    char err[256];
    rt_sockname name;
    rt_server *s = rt_server_new(loop, 4, o, h, NULL, err, sizeof err);
    if (s == NULL || rt_server_bind(s, "127.0.0.1", 0, err, sizeof err) != 0
        || rt_server_sockname(s, &name) != 0) {
        fprintf(stderr, "server: %s\n", err);
        return NULL;
    }
    *port = name.port;
    return s;
}

#endif

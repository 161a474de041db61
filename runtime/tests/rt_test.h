/* rt_test.h — shared by the runtime tests: a CHECK macro that counts
 * failures and keeps going, and one PSK (identity -> 16 bytes of 0x42) for
 * servers and clients on 127.0.0.1. */
#ifndef DTLSRUN_RT_TEST_H
#define DTLSRUN_RT_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* One handshake from `from` that stops once its cookie verified: a client
 * engine's hellos handed to the server's datagram handler in-process (the
 * HelloVerifyRequest is made here with the server's config, so nothing
 * has to reach `from`). Needs rt_internal.h. true when it got that far. */
static uint8_t rt_test_sent[2048];
static size_t rt_test_sent_len;
static void rt_test_capture(void *user, const uint8_t *d, size_t len)
{
    (void)user;
    if (len <= sizeof rt_test_sent) {
        memcpy(rt_test_sent, d, len);
        rt_test_sent_len = len;
    }
}

static inline bool rt_test_stalled_handshake(rt_loop *loop, rt_server *server, const rt_addr *from)
{
    dtls_config *cfg = dtls_config_new();
    dtls_callbacks cb = { .send = rt_test_capture };
    dtls_config_set_callbacks(cfg, &cb);
    dtls_config_set_ciphers(cfg, "PSK-AES128-CCM8", NULL, 0);
    dtls_config_set_psk(cfg, (const uint8_t *)"stalled", 7, rt_test_key, sizeof rt_test_key);
    dtls_conn *c = dtls_conn_new(cfg, DTLS_ROLE_CLIENT, NULL, 0, NULL);
    rt_test_sent_len = 0;
    dtls_conn_start(c, rt_loop_now(loop));
    uint8_t hvr[256];
    size_t hvr_len = 0;
    bool ok = dtls_accept(server->config, rt_loop_now(loop), from->key, from->key_len, rt_test_sent,
                          rt_test_sent_len, hvr, sizeof hvr, &hvr_len) == DTLS_ACCEPT_REPLY;
    dtls_conn_recv(c, rt_loop_now(loop), hvr, hvr_len); /* sends the hello with its cookie */
    if (ok)
        server->ep->on_datagram(server->ep, from, rt_test_sent, rt_test_sent_len);
    dtls_conn_free(c);
    dtls_config_free(cfg);
    return ok;
}

/* A server on 127.0.0.1 with an ephemeral port (*port); exits the test
 * when it cannot be made. */
static inline rt_server *rt_test_server(rt_loop *loop, const rt_tls_options *o,
                                        const rt_handlers *h, int *port)
{
    char err[256];
    rt_sockname name;
    rt_server *s = rt_server_new(loop, 4, o, h, NULL, err, sizeof err);
    if (s == NULL || rt_server_bind(s, "127.0.0.1", 0, err, sizeof err) != 0
        || rt_server_sockname(s, &name) != 0) {
        fprintf(stderr, "server: %s\n", err);
        exit(1);
    }
    *port = name.port;
    return s;
}

/* A real PSK client ("legit") from 127.0.0.1 to server's port: true when
 * its handshake completes within 3 s. Runs the loop; closes the server. */
static rt_server *rt_test_legit_server;
static rt_timer *rt_test_legit_deadline;
static bool rt_test_legit_secure;

static inline void rt_test_legit_secured(void *host, rt_conn *conn)
{
    (void)host;
    rt_test_legit_secure = true;
    rt_conn_close(conn);
    rt_server_close(rt_test_legit_server);
    rt_timer_stop(rt_test_legit_deadline);
}

static inline void rt_test_legit_give_up(void *arg)
{
    (void)arg;
    rt_server_close(rt_test_legit_server);
}

static inline bool rt_test_legit_client_connects(rt_loop *loop, rt_server *server, int port)
{
    char err[256];
    rt_tls_options co;
    rt_test_psk_options(&co, "legit");
    rt_handlers ch = { .conn_secure = rt_test_legit_secured };
    rt_test_legit_server = server;
    rt_test_legit_secure = false;
    rt_conn *legit = rt_client_connect(loop, 4, "127.0.0.1", port, &co, &ch, NULL, err, sizeof err);
    if (legit == NULL) {
        fprintf(stderr, "client: %s\n", err);
        rt_server_close(server);
        return false;
    }
    rt_test_legit_deadline = rt_timer_new(loop, rt_test_legit_give_up, NULL);
    rt_timer_start(rt_test_legit_deadline, 3000, 0);
    if (rt_conn_start_handshake(legit) == 0)
        rt_loop_run(loop);
    rt_timer_free(rt_test_legit_deadline);
    return rt_test_legit_secure;
}

#endif

/* make_corpus.c — seeds for the fuzz targets: the datagrams of real
 * handshakes (several suites, a client certificate, a small MTU, Connection
 * IDs, an abbreviated handshake resuming a ticket), recorded in the
 * targets' input format: DIR/server and DIR/client get whole handshakes
 * (u16-length-prefixed datagrams), DIR/accept every ClientHello datagram
 * (after fuzz_accept's config byte). Usage: make_corpus DIR */
#include <stdio.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "../tests/pair.h"

static uint8_t to_server[65536], to_client[65536];
static size_t to_server_len, to_client_len;
static const char *base;
static const char *current;
static unsigned hellos;

static void save(const char *sub, const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", base, sub);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", base, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(b, 1, n, f);
    fclose(f);
}

static void record(pair *p, bool server_bound, uint8_t *b, size_t *len)
{
    (void)p;
    uint8_t *out = server_bound ? to_server : to_client;
    size_t *n = server_bound ? &to_server_len : &to_client_len;
    if (server_bound && dtls_is_client_hello(b, *len) && *len < 4096) {
        /* fuzz_accept: a config byte (its CID length: 8 is index 4), then the datagram */
        uint8_t seed[4097];
        char name[300];
        seed[0] = strcmp(current, "cid") == 0 ? 4 : 0;
        memcpy(seed + 1, b, *len);
        snprintf(name, sizeof name, "%s-%u", current, hellos++);
        save("accept", name, seed, *len + 1);
    }
    if (*n + 2 + *len > sizeof to_server)
        return;
    out[(*n)++] = (uint8_t)(*len >> 8);
    out[(*n)++] = (uint8_t)*len;
    memcpy(out + *n, b, *len);
    *n += *len;
}

/* One recorded handshake between c and s, and a little data; the client's
 * session (a blob, malloc'ed) when blob is not NULL. */
static void run(const char *name, dtls_config *c, dtls_config *s, uint64_t seed,
                const uint8_t *resume, size_t resume_len, uint8_t **blob, size_t *blob_len)
{
    pair p;
    pair_init(&p, c, s, seed);
    p.tap = record;
    current = name;
    to_server_len = to_client_len = 0;
    if (resume)
        dtls_conn_set_session(p.client.conn, resume, resume_len);
    dtls_conn_start(p.client.conn, p.now);
    pair_run(&p, pair_both_established, 5000);
    if (p.client.established)
        dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"data", 4);
    pair_run(&p, pair_never, 100);
    if (blob && dtls_conn_get_session(p.client.conn, blob, blob_len) != DTLS_OK)
        *blob = NULL;
    save("server", name, to_server, to_server_len);
    save("client", name, to_client, to_client_len);
    pair_free(&p);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    base = argv[1];
    mkdir(base, 0777);
    fuzz_identity();
    const char *kinds[] = { "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
                            "PSK-AES128-CCM8", "ECDHE-PSK-CHACHA20-POLY1305", "small-mtu",
                            "cid", "resume" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char err[128];
        const char *kind = kinds[i];
        dtls_config *s = dtls_config_new(), *c = dtls_config_new();
        dtls_config_set_cert_chain_pem(s, fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_key_pem(s, fuzz_key, strlen(fuzz_key), err, sizeof err);
        dtls_config_set_verify_peer(c, 0);
        if (strstr(kind, "PSK")) {
            uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
            dtls_config_set_psk(c, (const uint8_t *)"client1", 7, key, sizeof key);
        }
        if (strcmp(kind, "small-mtu") == 0) {
            dtls_config_set_mtu(s, 256);
            dtls_config_set_mtu(c, 256);
        } else if (strcmp(kind, "cid") == 0) {
            dtls_config_set_connection_id(s, 8);
            dtls_config_set_connection_id(c, 4);
            dtls_config_set_cid_generator(s, fuzz_cid_gen, NULL);
            dtls_config_set_cid_generator(c, fuzz_cid_gen, NULL);
        } else if (strcmp(kind, "resume") != 0) {
            dtls_config_set_ciphers(s, kind, err, sizeof err);
            dtls_config_set_ciphers(c, kind, err, sizeof err);
        }
        if (strcmp(kind, "resume") == 0) {
            /* a full handshake (not saved under this name), then the abbreviated one */
            uint8_t *blob = NULL;
            size_t blob_len = 0;
            run("resume-full", c, s, i + 1, NULL, 0, &blob, &blob_len);
            if (blob) {
                run(kind, c, s, i + 1, blob, blob_len, NULL, NULL);
                free(blob);
            }
        } else {
            run(kind, c, s, i + 1, NULL, 0, NULL, NULL);
        }
        dtls_config_free(s);
        dtls_config_free(c);
    }
    return 0;
}

/* make_corpus.c — seeds for the fuzz targets: the datagrams of real
 * handshakes (several suites, a client certificate, a small MTU), recorded
 * in the targets' input format. Usage: make_corpus SERVER_DIR CLIENT_DIR */
#include <stdio.h>

#include "fuzz_common.h"
#include "../tests/pair.h"

static uint8_t to_server[65536], to_client[65536];
static size_t to_server_len, to_client_len;

static void record(pair *p, bool server_bound, uint8_t *b, size_t *len)
{
    (void)p;
    uint8_t *out = server_bound ? to_server : to_client;
    size_t *n = server_bound ? &to_server_len : &to_client_len;
    if (*n + 2 + *len > sizeof to_server)
        return;
    out[(*n)++] = (uint8_t)(*len >> 8);
    out[(*n)++] = (uint8_t)*len;
    memcpy(out + *n, b, *len);
    *n += *len;
}

static void save(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(b, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    fuzz_identity();
    const char *suites[] = { "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
                             "PSK-AES128-CCM8", "ECDHE-PSK-CHACHA20-POLY1305", "small-mtu" };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        char err[128];
        dtls_config *s = dtls_config_new(), *c = dtls_config_new();
        dtls_config_set_cert_chain_pem(s, fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_key_pem(s, fuzz_key, strlen(fuzz_key), err, sizeof err);
        dtls_config_set_verify_peer(c, 0);
        if (strstr(suites[i], "PSK")) {
            uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
            dtls_config_set_psk(c, (const uint8_t *)"client1", 7, key, sizeof key);
        }
        if (strcmp(suites[i], "small-mtu") == 0) {
            dtls_config_set_mtu(s, 256);
            dtls_config_set_mtu(c, 256);
        } else {
            dtls_config_set_ciphers(s, suites[i], err, sizeof err);
            dtls_config_set_ciphers(c, suites[i], err, sizeof err);
        }
        pair p;
        pair_init(&p, c, s, i + 1);
        p.tap = record;
        to_server_len = to_client_len = 0;
        dtls_conn_start(p.client.conn, p.now);
        pair_run(&p, pair_both_established, 5000);
        if (p.client.established)
            dtls_conn_send(p.client.conn, p.now, (const uint8_t *)"data", 4);
        pair_run(&p, pair_never, 100);
        save(argv[1], suites[i], to_server, to_server_len);
        save(argv[2], suites[i], to_client, to_client_len);
        pair_free(&p);
        dtls_config_free(s);
        dtls_config_free(c);
    }
    return 0;
}

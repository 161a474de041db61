/* fuzz_client.c — a client that has sent its ClientHello, fed the
 * fuzzer's datagrams as the "server": exercises HelloVerifyRequest,
 * ServerHello, Certificate, ServerKeyExchange, CertificateRequest and
 * ServerHelloDone parsing and the client state machine. Mutated by
 * fuzz_mutator.h (records and handshake fragments, coherently). */
#include "fuzz_common.h"
#include "fuzz_mutator.h"

static dtls_config *cfg;
static dtls_conn *conn;
static uint64_t now = 1000;

static void feed(const uint8_t *d, size_t len)
{
    dtls_conn_recv(conn, now, d, len);
    now += 10;
    dtls_conn_tick(conn, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfg) {
        char err[128];
        fuzz_identity();
        cfg = dtls_config_new();
        dtls_config_add_ca_pem(cfg, fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_verify_peer(cfg, 0);
        uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        dtls_config_set_psk(cfg, (const uint8_t *)"fuzz", 4, key, sizeof key);
        dtls_config_set_ciphers(cfg, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
                                "PSK-AES128-CCM8:ECDHE-PSK-CHACHA20-POLY1305", err, sizeof err);
        dtls_callbacks cb = { .send = fuzz_no_send, .event = fuzz_no_event };
        dtls_config_set_callbacks(cfg, &cb);
    }
    conn = dtls_conn_new(cfg, DTLS_ROLE_CLIENT, NULL, 0, NULL);
    dtls_conn_start(conn, now);
    fuzz_datagrams(data, size, feed);
    dtls_conn_free(conn);
    return 0;
}

/* fuzz_server.c — a server connection whose cookie exchange was done by a
 * real client, then fed the fuzzer's datagrams: exercises the record layer,
 * reassembly and every server-side message parser past the front door.
 * Also feeds each datagram to dtls_accept, the stateless parser. Mutated
 * by fuzz_mutator.h (records and handshake fragments, coherently). */
#include "fuzz_pair.h"
#include "fuzz_mutator.h"

static pair P;
static dtls_config *ccfg, *scfg;
static uint8_t first_hello[2048];
static size_t first_hello_len;

static void grab_hello(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (to_server && *len <= sizeof first_hello && !first_hello_len) {
        memcpy(first_hello, b, *len);
        first_hello_len = *len;
    }
}

static void feed(const uint8_t *d, size_t len)
{
    uint8_t reply[256];
    size_t rlen;
    dtls_accept(scfg, P.now, P.peer_addr, 6, d, len, reply, sizeof reply, &rlen);
    if (P.server.conn)
        dtls_conn_recv(P.server.conn, P.now, d, len);
    P.now += 10;
    if (P.server.conn)
        dtls_conn_tick(P.server.conn, P.now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    fuzz_identity();
    if (!scfg) {
        scfg = dtls_config_new();
        dtls_config_set_cert_chain_pem(scfg, fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_key_pem(scfg, fuzz_key, strlen(fuzz_key), err, sizeof err);
        dtls_config_add_ca_pem(scfg, fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_request_cert(scfg, 1, 0);
        ccfg = dtls_config_new();
        dtls_config_set_verify_peer(ccfg, 0);
    }
    pair_init(&P, ccfg, scfg, 1);
    P.tap = grab_hello;
    dtls_conn_start(P.client.conn, P.now);
    /* Through the cookie exchange, so the server connection exists. */
    pair_run(&P, fuzz_server_exists, 3000);
    P.tap = NULL;
    fuzz_pair_drain(&P);
    fuzz_datagrams(data, size, feed);
    pair_free(&P);
    return 0;
}

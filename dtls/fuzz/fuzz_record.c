/* fuzz_record.c — the record layer with live keys: a PSK pair driven to an
 * established association (optionally with RFC 9146 Connection IDs both
 * ways or one way), then a program of operations read from the input:
 *   raw datagrams to either end (unauthenticated: header parsing, CID
 *   parsing, epoch and replay checks, AEAD failure paths);
 *   records sealed with the real keys of the other end (record_write), of a
 *   type, sequence number and plaintext the input chooses — so what comes
 *   after authentication is reached: alerts, application data,
 *   post-handshake handshake messages (renegotiation attempts, HelloRequest,
 *   resent Finished), the replay window, unknown inner content types;
 *   application data, renegotiations (allowed both ways, no interval:
 *   dtls/reneg.c's epochs, held and late records, the indication checks),
 *   clock advances and delivery of what the engines sent.
 * The suites include two CBC-HMAC ones (issue 10), one with Encrypt-then-MAC
 * and one MAC-then-encrypt, whose sealed records reach the padding and MAC
 * checks with the right keys (a server that chose CBC drops the CID).
 * Byte 0 picks the variant (suite x CID set-up); then ops, see below. */
#include "fuzz_pair.h"
#include "internal.h"

#define NSUITES 5
#define NCID 3
static const char *const suites[NSUITES] = { "PSK-AES128-CCM8", "PSK-AES128-GCM-SHA256",
                                             "ECDHE-PSK-CHACHA20-POLY1305",
                                             "PSK-AES128-CBC-SHA256",  /* Encrypt-then-MAC */
                                             "PSK-AES256-CBC-SHA384" }; /* MAC-then-encrypt */
/* (server's CID length, client's); -1: extension off */
static const int cids[NCID][2] = { { -1, -1 }, { 8, 3 }, { 4, 0 } };
static dtls_config *scfg[NSUITES * NCID], *ccfg[NSUITES * NCID];
static pair P;

static void configure(size_t v)
{
    char err[128];
    const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    scfg[v] = dtls_config_new();
    ccfg[v] = dtls_config_new();
    dtls_config_set_psk(ccfg[v], (const uint8_t *)"client1", 7, key, sizeof key);
    dtls_config_set_verify_peer(ccfg[v], 0);
    dtls_config_set_ciphers(scfg[v], suites[v % NSUITES], err, sizeof err);
    dtls_config_set_ciphers(ccfg[v], suites[v % NSUITES], err, sizeof err);
    dtls_config_set_encrypt_then_mac(ccfg[v], v % NSUITES != 4);
    const int *cid = cids[v / NSUITES];
    dtls_config_set_connection_id(scfg[v], cid[0]);
    dtls_config_set_connection_id(ccfg[v], cid[1]);
    dtls_config_set_cid_generator(scfg[v], fuzz_cid_gen, NULL);
    dtls_config_set_cid_generator(ccfg[v], fuzz_cid_gen, NULL);
    /* No session kept across inputs: each run starts from the same state
     * (and libFuzzer's leak check stays off the hot path). */
    dtls_config_set_session_cache(scfg[v], 0);
    dtls_config_set_tickets(scfg[v], 0);
    dtls_config_set_renegotiation(scfg[v], 1, 0);
    dtls_config_set_renegotiation(ccfg[v], 1, 0);
}

static void deliver(pair_side *to, const uint8_t *d, size_t len, bool moved)
{
    if (moved)
        dtls_conn_recv_moved(to->conn, P.now, d, len);
    else
        dtls_conn_recv(to->conn, P.now, d, len);
}

/* Up to four records sealed by `from` into one datagram for `to`. Each:
 * type, sequence-number move, epoch flag, length, plaintext. */
static void sealed(fuzz_in *in, pair_side *from, pair_side *to, bool moved)
{
    static uint8_t dgram[MAX_DATAGRAM];
    dtls_wr w = wr_init(dgram, sizeof dgram);
    unsigned n = 1 + in_u8(in) % 4;
    dtls_conn *c = from->conn;
    for (unsigned i = 0; i < n && in->n; i++) {
        uint8_t type = in_u8(in);
        uint8_t move = in_u8(in);
        uint16_t d = in_u16(in);
        uint16_t epoch = c->write_epoch;
        uint64_t *seq = &c->write_seq[epoch & 1];
        switch (move & 3) {
        case 1: *seq = *seq > d ? *seq - d : 0; break;          /* a replay, or old */
        case 2: *seq += d; break;                               /* far ahead */
        case 3: *seq = MAX_RECORD_SEQ - (d & 3); break;         /* at the end */
        }
        size_t len;
        const uint8_t *pt = in_bytes(in, in_u16(in) % 2048, &len);
        uint8_t copy[2048];
        memcpy(copy, pt, len);
        /* the current epoch, or (move bit 2) plaintext in epoch 0 */
        if (!record_write(c, &w, (move & 4) ? 0 : epoch, type, copy, len))
            w.err = false;
    }
    if (w.len)
        deliver(to, dgram, w.len, moved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = { data, size };
    size_t v = in_u8(&in) % (NSUITES * NCID);
    if (!scfg[v])
        configure(v);
    if (!fuzz_pair_established(&P, ccfg[v], scfg[v]))
        abort(); /* the harness itself is broken */
    while (in.n) {
        uint8_t op = in_u8(&in);
        bool to_server = !(op & 1), moved = op & 0x80;
        pair_side *to = to_server ? &P.server : &P.client;
        pair_side *from = to_server ? &P.client : &P.server;
        switch ((op >> 1) % 5) {
        case 0: { /* a raw datagram */
            size_t len;
            const uint8_t *d = in_bytes(&in, in_u16(&in), &len);
            deliver(to, d, len, moved);
            break;
        }
        case 1: /* records sealed with the peer's real keys */
            if (from->conn->state == DTLS_STATE_ESTABLISHED)
                sealed(&in, from, to, moved);
            break;
        case 2: { /* application data through the API, or a renegotiation */
            if (op & 0x40) {
                dtls_conn_renegotiate(from->conn, P.now);
                break;
            }
            size_t len;
            const uint8_t *d = in_bytes(&in, in_u8(&in), &len);
            dtls_conn_send(from->conn, P.now, d, len);
            break;
        }
        case 3: /* time passes */
            P.now += (uint64_t)in_u16(&in) << 6;
            dtls_conn_tick(P.client.conn, P.now);
            dtls_conn_tick(P.server.conn, P.now);
            break;
        case 4: /* what the engines sent reaches the other end */
            pair_run(&P, pair_never, 0);
            break;
        }
    }
    pair_free(&P);
    return 0;
}

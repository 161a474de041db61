/* fuzz_reasm.c — handshake reassembly under hostile fragment sequences: a
 * server connection just past its cookie exchange (waiting for the client's
 * second flight) is fed datagrams of epoch-0 handshake fragments whose
 * fields the input chooses (type, message length, message_seq around the
 * expected one, offset, fragment length, bytes or a fill pattern, a
 * fragment_length field that may lie). After every datagram the
 * per-association bounds are checked: reassembly within MAX_REASM_BYTES
 * (messages not yet due within MAX_FUTURE_REASM_BYTES of it, and the
 * config's count equal to the association's), early records within
 * MAX_EARLY_BYTES, and the whole association (as dtls_conn_memory counts
 * it) within the ~150 KB docs/security.md states — a violation aborts,
 * which the fuzzer reports as a crash.
 * Byte 0 picks the server: certificates with a CertificateRequest, or PSK. */
#include "fuzz_pair.h"
#include "internal.h"

#ifndef MEMORY_CAP /* -DMEMORY_CAP=20000 shows the check firing on the seeds */
#define MEMORY_CAP (160 * 1024)
#endif

static dtls_config *scfg[2], *ccfg[2];
static pair P;

static void configure(void)
{
    char err[128];
    const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    fuzz_identity();
    for (int v = 0; v < 2; v++) {
        scfg[v] = dtls_config_new();
        ccfg[v] = dtls_config_new();
        dtls_config_set_verify_peer(ccfg[v], 0);
        dtls_config_set_cert_chain_pem(scfg[v], fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_key_pem(scfg[v], fuzz_key, strlen(fuzz_key), err, sizeof err);
    }
    dtls_config_add_ca_pem(scfg[0], fuzz_cert, strlen(fuzz_cert), err, sizeof err);
    dtls_config_set_request_cert(scfg[0], 1, 0);
    dtls_config_set_ciphers(scfg[0], "ECDHE-ECDSA-AES128-GCM-SHA256", err, sizeof err);
    dtls_config_set_ciphers(ccfg[0], "ECDHE-ECDSA-AES128-GCM-SHA256", err, sizeof err);
    dtls_config_set_psk(ccfg[1], (const uint8_t *)"client1", 7, key, sizeof key);
    dtls_config_set_ciphers(scfg[1], "PSK-AES128-CCM8", err, sizeof err);
    dtls_config_set_ciphers(ccfg[1], "PSK-AES128-CCM8", err, sizeof err);
}

/* Nothing the server sends is kept: only what it holds counts. */
static void discard(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    (void)to_server;
    (void)b;
    *len = 0;
}

static void check_bounds(const dtls_conn *c)
{
    if (c->hs && c->hs->reasm_bytes > MAX_REASM_BYTES)
        abort();
    /* the only handshake of its config: the server's count is this one's */
    if (c->cfg->reasm_in_use != (c->hs ? c->hs->reasm_bytes : 0))
        abort();
    if (c->hs && reasm_future_bytes(c) > MAX_FUTURE_REASM_BYTES)
        abort();
    if (c->hs && c->hs->early_bytes > MAX_EARLY_BYTES)
        abort();
    if (dtls_conn_memory(c) > MEMORY_CAP)
        abort();
}

/* One fragment, as a record appended to w:
 *   type u8, seq u8 (message_seq = expected - 2 + seq % 16), flags u8,
 *   length u16 (flag 1: u24), offset u16 (flag 1: u24), fragment length
 *   u16 % 1400, then (flag 2) a fill byte, else the bytes themselves;
 *   flag 4: the fragment_length field says another u16 than what follows;
 *   flag 8: the record is in epoch 1 (held back or dropped). */
static void fragment(fuzz_in *in, dtls_wr *w, uint64_t *rseq, uint16_t next_seq, uint8_t *flags_out)
{
    static uint8_t body[1400];
    uint8_t type = in_u8(in);
    uint16_t mseq = (uint16_t)(next_seq - 2 + in_u8(in) % 16);
    uint8_t flags = in_u8(in);
    uint32_t len = (flags & 1) ? (uint32_t)in_u16(in) << 8 | in_u8(in) : in_u16(in);
    uint32_t off = (flags & 1) ? (uint32_t)in_u16(in) << 8 | in_u8(in) : in_u16(in);
    size_t flen = in_u16(in) % sizeof body;
    if (flags & 2) {
        memset(body, in_u8(in), flen);
    } else {
        size_t got;
        const uint8_t *p = in_bytes(in, flen, &got);
        memcpy(body, p, got);
        memset(body + got, 0, flen - got);
    }
    uint32_t claimed = (flags & 4) ? in_u16(in) : (uint32_t)flen;
    if (wr_room(w) < RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + flen) {
        w->err = true;
        return;
    }
    wr_u8(w, CT_HANDSHAKE);
    wr_u16(w, DTLS1_2_VERSION);
    wr_u16(w, (flags & 8) ? 1 : 0);
    wr_u48(w, (*rseq)++);
    wr_u16(w, (uint16_t)(HANDSHAKE_HEADER_LEN + flen));
    wr_u8(w, type);
    wr_u24(w, len & 0xFFFFFF);
    wr_u16(w, mseq);
    wr_u24(w, off & 0xFFFFFF);
    wr_u24(w, claimed);
    wr_bytes(w, body, flen);
    *flags_out = flags;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = { data, size };
    if (!scfg[0])
        configure();
    int v = in_u8(&in) & 1;
    if (!fuzz_pair_past_cookie(&P, ccfg[v], scfg[v]))
        abort(); /* the harness itself is broken */
    P.tap = discard;
    dtls_conn *c = P.server.conn;
    static uint8_t dgram[MAX_DATAGRAM];
    uint64_t rseq = 100;
    while (in.n) {
        dtls_wr w = wr_init(dgram, sizeof dgram);
        /* fragments until the input says "send" (flag 0x80) or room runs out */
        uint8_t flags = 0;
        while (in.n && !(flags & 0x80) && !w.err)
            fragment(&in, &w, &rseq, c->next_recv_seq, &flags);
        if (w.len)
            dtls_conn_recv(c, P.now, dgram, w.len);
        check_bounds(c);
        if (flags & 0x40) {
            P.now += 1100; /* a retransmission, maybe the timeout */
            dtls_conn_tick(c, P.now);
        }
    }
    pair_free(&P);
    return 0;
}

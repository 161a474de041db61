/* fuzz_accept.c — the server's front door on raw datagrams: dtls_classify
 * (record header, tls12_cid records, the CID) and dtls_is_client_hello
 * under every CID length a config may use, then dtls_accept (ClientHello
 * parsing, cookie check, HelloVerifyRequest). When dtls_accept answers with
 * a HelloVerifyRequest, its cookie is spliced into the datagram's
 * ClientHello and the result fed to dtls_accept again and, once accepted,
 * to a new server connection — so every ClientHello extension parser
 * (server_name, CID, session ticket, session ID lookup) is reached with
 * inputs a real cookie lets through.
 * Byte 0 picks the config's CID length: none, 0, 1, 4, 8 or 20. */
#include "fuzz_common.h"
#include "internal.h"

#define NCFG 6
static const int cid_lens[NCFG] = { -1, 0, 1, 4, 8, 20 };
static dtls_config *cfgs[NCFG];
static const uint8_t peer[6] = { 192, 0, 2, 1, 0x12, 0x34 };
static uint64_t now = 1000000;

static void setup(void)
{
    char err[128];
    fuzz_identity();
    for (int i = 0; i < NCFG; i++) {
        dtls_config *c = cfgs[i] = dtls_config_new();
        dtls_config_set_cert_chain_pem(c, fuzz_cert, strlen(fuzz_cert), err, sizeof err);
        dtls_config_set_key_pem(c, fuzz_key, strlen(fuzz_key), err, sizeof err);
        dtls_config_set_connection_id(c, cid_lens[i]);
        dtls_config_set_cid_generator(c, fuzz_cid_gen, NULL);
        dtls_callbacks cb = { .send = fuzz_no_send, .event = fuzz_no_event };
        dtls_config_set_callbacks(c, &cb);
    }
}

/* dgram with the cookie of the HelloVerifyRequest hvr in its first record's
 * ClientHello (every length field adjusted); 0 when it does not fit. */
static size_t splice_cookie(const uint8_t *dgram, size_t len, const uint8_t *hvr, size_t hvr_len,
                            uint8_t *out, size_t cap)
{
    size_t hdr = RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN;
    size_t at = hdr + 2 + 32; /* session_id's length byte */
    if (len < at + 1 || hvr_len < hdr + 3)
        return 0;
    at += 1 + dgram[at];      /* cookie's length byte */
    if (len < at + 1)
        return 0;
    size_t old = dgram[at];
    if (len < at + 1 + old)
        return 0;
    size_t clen = hvr[hdr + 2];
    const uint8_t *cookie = hvr + hdr + 3;
    if (hvr_len < hdr + 3 + clen || len - old + clen > cap)
        return 0;
    size_t n = 0;
    memcpy(out, dgram, at);
    out[at] = (uint8_t)clen;
    memcpy(out + at + 1, cookie, clen);
    memcpy(out + at + 1 + clen, dgram + at + 1 + old, len - at - 1 - old);
    n = len - old + clen;
    long delta = (long)clen - (long)old;
    /* record length (2 bytes at 11), message length (3 at 14), fragment length (3 at 22) */
    size_t rl = (size_t)((long)(out[11] << 8 | out[12]) + delta) & 0xFFFF;
    out[11] = (uint8_t)(rl >> 8);
    out[12] = (uint8_t)rl;
    for (size_t f = 14; f <= 22; f += 8) {
        size_t v = (size_t)((long)((size_t)out[f] << 16 | (size_t)out[f + 1] << 8 | out[f + 2]) + delta)
                   & 0xFFFFFF;
        out[f] = (uint8_t)(v >> 16);
        out[f + 1] = (uint8_t)(v >> 8);
        out[f + 2] = (uint8_t)v;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfgs[0])
        setup();
    if (size < 1)
        return 0;
    dtls_config *cfg = cfgs[data[0] % NCFG];
    data++;
    size--;
    dtls_dgram_info info;
    dtls_classify(cfg, data, size, &info);
    if (info.cid && (info.cid < data || info.cid + info.cid_len > data + size))
        abort();
    (void)dtls_is_client_hello(data, size);

    uint8_t reply[256];
    size_t rlen;
    now += 1000;
    dtls_accept_t a = dtls_accept(cfg, now, peer, sizeof peer, data, size, reply, sizeof reply, &rlen);
    if (a == DTLS_ACCEPT_REPLY && rlen > size)
        abort(); /* an amplifier */
    static uint8_t again[MAX_DATAGRAM + 256];
    size_t alen = 0;
    const uint8_t *hello = data;
    if (a == DTLS_ACCEPT_REPLY && (alen = splice_cookie(data, size, reply, rlen, again, sizeof again))) {
        a = dtls_accept(cfg, now, peer, sizeof peer, again, alen, reply, sizeof reply, &rlen);
        hello = again;
        size = alen;
    }
    if (a == DTLS_ACCEPT_NEW) {
        dtls_conn *c = dtls_conn_new(cfg, DTLS_ROLE_SERVER, peer, sizeof peer, NULL);
        dtls_conn_recv(c, now, hello, size);
        dtls_conn_free(c);
    }
    return 0;
}

/* cid.c — Connection IDs (RFC 9146): choosing ours, the connection_id
 * extension both ways, and the stateless classification of datagrams that
 * lets the host route by CID (then by address) without reading DTLS bytes.
 * The record format itself lives in record.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

/* Ours: the CID the peer will put on records to us. The host's generator
 * (routing, worker index) or random bytes. */
int cid_make_ours(dtls_conn *c)
{
    size_t len = (size_t)c->cfg->cid_len;
    c->cid_rx_len = (uint8_t)len;
    if (len == 0)
        return DTLS_OK;
    if (c->cfg->cid_gen) {
        if (c->cfg->cid_gen(c->cfg->cid_gen_user, c->cid_rx, len) != 0)
            c->cid_rx_len = 0; /* no unique CID to be had: plain records to us */
        return DTLS_OK;
    }
    return RAND_bytes(c->cid_rx, (int)len) == 1 ? DTLS_OK : DTLS_ERR_INTERNAL;
}

/* RFC 9146 3: extension_data is the CID the sender wants to receive. */
void cid_write_extension(const dtls_conn *c, dtls_wr *w)
{
    wr_u16(w, EXT_CONNECTION_ID);
    size_t e = wr_vec_begin(w, 2);
    size_t v = wr_vec_begin(w, 1);
    wr_bytes(w, c->cid_rx, c->cid_rx_len);
    wr_vec_end(w, v, 1);
    wr_vec_end(w, e, 2);
}

bool cid_parse_extension(dtls_conn *c, dtls_rd data)
{
    dtls_rd cid = rd_vec(&data, 1);
    /* A CID so long that a record of ours could not carry data within the
     * MTU is refused (RFC 9146 allows 255 bytes; 13 + CID + type + AEAD
     * overhead + 64 bytes of data must fit). */
    if (!rd_done(&data) || !rd_ok(&cid) || 13 + cid.len + 1 + 24 + 64 > c->cfg->mtu)
        return false;
    free(c->cid_tx);
    c->cid_tx = NULL;
    c->cid_tx_len = 0;
    if (cid.len == 0)
        return true;
    if (!(c->cid_tx = malloc(cid.len)))
        return false;
    memcpy(c->cid_tx, cid.p, cid.len);
    c->cid_tx_len = (uint8_t)cid.len;
    return true;
}

void dtls_classify(const dtls_config *cfg, const uint8_t *dgram, size_t len,
                   dtls_dgram_info *out)
{
    memset(out, 0, sizeof *out);
    out->epoch = -1;
    dtls_rd r = rd_init(dgram, len);
    record rec;
    if (!record_parse(&r, &rec, cfg->cid_len > 0 ? cfg->cid_len : 0))
        return;
    out->epoch = rec.epoch;
    out->client_hello = record_is_client_hello(&rec);
    if (rec.type == CT_TLS12_CID) {
        out->cid = rec.cid;
        out->cid_len = rec.cid_len;
    }
}

const uint8_t *dtls_conn_cid(const dtls_conn *c, size_t *len)
{
    *len = c->cid_on ? c->cid_rx_len : 0;
    return *len ? c->cid_rx : NULL;
}

int dtls_conn_cid_in_use(const dtls_conn *c)
{
    return c->cid_on && (c->cid_rx_len > 0 || c->cid_tx_len > 0);
}

int dtls_conn_last_recv_newest(const dtls_conn *c) { return c->recv_newest; }

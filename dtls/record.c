/* record.c — the DTLS record layer (RFC 6347 4.1): headers, epochs, 48-bit
 * sequence numbers, the anti-replay window, protection and datagram packing.
 * It never interprets record contents; conn.c dispatches them.
 */
#include "internal.h"

#include <openssl/crypto.h>

#define REPLAY_WINDOW_BITS 64

bool record_parse(dtls_rd *r, record *rec, int cid_len)
{
    const uint8_t *start = rd_ptr(r);
    rec->type = rd_u8(r);
    rec->version = rd_u16(r);
    rec->epoch = rd_u16(r);
    rec->seq = rd_u48(r);
    rec->cid = NULL;
    rec->cid_len = 0;
    /* RFC 9146 4: the CID's length is not on the wire; the receiver knows
     * the length it asked for. Only non-empty CIDs use this format. */
    if (rec->type == CT_TLS12_CID) {
        if (cid_len <= 0)
            return false;
        rec->cid = rd_bytes(r, (size_t)cid_len);
        rec->cid_len = (uint8_t)cid_len;
    }
    size_t len = rd_u16(r);
    rec->frag = rd_bytes(r, len);
    rec->len = len;
    if (!rd_ok(r))
        return false;
    rec->raw = start;
    rec->raw_len = RECORD_HEADER_LEN + rec->cid_len + len;
    /* Only DTLS versions (major 0xFE) and fragments no longer than
     * TLSCiphertext allows (RFC 5246 6.2.3). An unknown content type is
     * the caller's to drop: the header still says where the next record
     * starts, so only that record is lost (RFC 6347 4.1.2.7). */
    if ((rec->version >> 8) != 0xFE)
        return false;
    return len <= MAX_RECORD_CIPHERTEXT;
}

/* RFC 6347 4.1.2.6: a sliding window over the highest authenticated
 * sequence number; older than the window or already seen is a replay. */
bool replay_check(const replay_window *w, uint64_t seq)
{
    if (!w->any || seq > w->max_seq)
        return true;
    uint64_t age = w->max_seq - seq;
    if (age >= REPLAY_WINDOW_BITS)
        return false;
    return !(w->bitmap & ((uint64_t)1 << age));
}

/* Called only after the record authenticated (RFC 6347 4.1.2.6). */
void replay_update(replay_window *w, uint64_t seq)
{
    if (!w->any) {
        w->any = true;
        w->max_seq = seq;
        w->bitmap = 1;
        return;
    }
    if (seq > w->max_seq) {
        uint64_t shift = seq - w->max_seq;
        w->bitmap = shift >= REPLAY_WINDOW_BITS ? 0 : w->bitmap << shift;
        w->bitmap |= 1;
        w->max_seq = seq;
    } else {
        w->bitmap |= (uint64_t)1 << (w->max_seq - seq);
    }
}

/* RFC 9146 5.2: the additional data of a tls12_cid record. */
static size_t cid_additional_data(uint8_t *ad, uint16_t version, uint64_t epoch_seq,
                                  const uint8_t *cid, size_t cid_len, size_t inner_len)
{
    dtls_wr w = wr_init(ad, 8 + 3 + 2 + 8 + cid_len + 2);
    for (int i = 0; i < 8; i++)
        wr_u8(&w, 0xFF); /* seq_num_placeholder */
    wr_u8(&w, CT_TLS12_CID);
    wr_u8(&w, (uint8_t)cid_len);
    wr_u8(&w, CT_TLS12_CID);
    wr_u16(&w, version);
    wr_uint(&w, epoch_seq, 8);
    wr_bytes(&w, cid, cid_len);
    wr_u16(&w, (uint16_t)inner_len);
    return w.len;
}

/* A tls12_cid record: opened with RFC 9146's additional data, then the
 * DTLSInnerPlaintext's zero padding and real content type come off. */
static bool unprotect_cid(dtls_conn *c, dtls_protect *prot, const record *rec,
                          size_t *out_len, uint8_t *inner_type)
{
    dtls_aead *a = protect_aead(prot);
    if (!a || !c->cid_on || rec->cid_len != c->cid_rx_len
        || CRYPTO_memcmp(rec->cid, c->cid_rx, rec->cid_len) != 0
        || rec->len <= dtls_aead_overhead(a))
        return false;
    uint8_t ad[8 + 3 + 2 + 8 + MAX_CID_LEN + 2];
    uint64_t epoch_seq = (uint64_t)rec->epoch << 48 | rec->seq;
    size_t ad_len = cid_additional_data(ad, rec->version, epoch_seq, rec->cid, rec->cid_len,
                                        rec->len - dtls_aead_overhead(a));
    size_t n = 0;
    if (dtls_aead_open_ad(a, ad, ad_len, epoch_seq, rec->frag, rec->len, c->cfg->rbuf, &n) != 0)
        return false;
    while (n > 0 && c->cfg->rbuf[n - 1] == 0)
        n--;
    if (n == 0) /* all padding: no content type */
        return false;
    *inner_type = c->cfg->rbuf[--n];
    *out_len = n;
    return *inner_type != CT_TLS12_CID;
}

bool record_unprotect(dtls_conn *c, dtls_protect *a, const record *rec,
                      const uint8_t **out, size_t *out_len, uint8_t *inner_type)
{
    *inner_type = rec->type;
    if (rec->epoch == 0) {
        if (rec->len > MAX_RECORD_PLAINTEXT || rec->type == CT_TLS12_CID)
            return false;
        *out = rec->frag;
        *out_len = rec->len;
        return true;
    }
    size_t n = 0;
    if (rec->type == CT_TLS12_CID) {
        if (!unprotect_cid(c, a, rec, &n, inner_type))
            return false;
    } else {
        /* We asked for a CID: every protected record must carry it. */
        if (c->cid_on && c->cid_rx_len)
            return false;
        uint64_t epoch_seq = (uint64_t)rec->epoch << 48 | rec->seq;
        /* A CBC record with bad padding or a bad MAC fails here like any
         * forgery, after the same work (cbc.c): dropped and counted. */
        if (protect_open(a, epoch_seq, rec->type, rec->version, rec->frag, rec->len,
                         c->cfg->rbuf, &n) != 0)
            return false;
    }
    if (n > MAX_RECORD_PLAINTEXT)
        return false;
    *out = c->cfg->rbuf;
    *out_len = n;
    return true;
}

/* Whether records we send in this epoch carry the peer's CID. */
static bool sends_cid(const dtls_conn *c, uint16_t epoch)
{
    return epoch > 0 && c->cid_on && c->cid_tx_len > 0;
}

size_t record_overhead(const dtls_conn *c, uint16_t epoch)
{
    size_t n = RECORD_HEADER_LEN + (epoch ? epoch_write_overhead(c, epoch) : 0);
    return sends_cid(c, epoch) ? n + c->cid_tx_len + 1 : n;
}

bool record_write(dtls_conn *c, dtls_wr *w, uint16_t epoch, uint8_t type,
                  const uint8_t *payload, size_t len)
{
    /* the two epochs in use (around a ChangeCipherSpec) differ in parity */
    uint64_t *seq = &c->write_seq[epoch & 1];
    dtls_protect *prot = epoch_write_prot(c, epoch);
    /* RFC 6347 4.1: the sequence number must not wrap. */
    if (*seq >= MAX_RECORD_SEQ)
        return false;
    bool cid = sends_cid(c, epoch);
    size_t body = epoch ? protect_sealed_len(prot, len + cid) : len;
    dtls_aead *aead = protect_aead(prot);
    if (cid && !aead) { /* CIDs are never negotiated with CBC suites */
        w->err = true;
        return false;
    }
    if (wr_room(w) < record_overhead(c, epoch) + len) {
        w->err = true;
        return false;
    }
    uint16_t version = c->version ? c->version : DTLS1_2_VERSION;
    wr_u8(w, cid ? CT_TLS12_CID : type);
    wr_u16(w, version);
    wr_u16(w, epoch);
    wr_u48(w, *seq);
    if (cid)
        wr_bytes(w, c->cid_tx, c->cid_tx_len);
    wr_u16(w, (uint16_t)body);
    if (epoch == 0) {
        wr_bytes(w, payload, len);
    } else if (cid) {
        /* RFC 9146 4: DTLSInnerPlaintext = content || real type (no
         * padding), sealed in place behind the explicit nonce. */
        uint64_t epoch_seq = (uint64_t)epoch << 48 | *seq;
        uint8_t *inner = wr_ptr(w) + aead->explicit_len;
        memmove(inner, payload, len);
        inner[len] = type;
        uint8_t ad[8 + 3 + 2 + 8 + 255 + 2];
        size_t ad_len = cid_additional_data(ad, version, epoch_seq, c->cid_tx, c->cid_tx_len, len + 1);
        size_t n = 0;
        if (dtls_aead_seal_ad(aead, epoch_seq, ad, ad_len, inner, len + 1,
                              wr_ptr(w), &n) != 0 || n != body) {
            w->err = true;
            return false;
        }
        w->len += n;
    } else {
        size_t n = 0;
        uint64_t epoch_seq = (uint64_t)epoch << 48 | *seq;
        if (protect_seal(prot, epoch_seq, type, version, payload, len,
                         wr_ptr(w), &n) != 0 || n != body) {
            w->err = true;
            return false;
        }
        w->len += n;
    }
    (*seq)++;
    c->stats.records_out++;
    return true;
}

void datagram_flush(dtls_conn *c, dtls_wr *w)
{
    if (w->len && !w->err && c->cfg->cb.send)
        c->cfg->cb.send(c->user, w->p, w->len);
    w->len = 0;
    w->err = false;
}

int record_send(dtls_conn *c, uint8_t type, const uint8_t *payload, size_t len)
{
    dtls_wr w = wr_init(c->cfg->wbuf, c->cfg->mtu);
    if (!record_write(c, &w, c->write_epoch, type, payload, len))
        return DTLS_ERR_TOO_BIG;
    datagram_flush(c, &w);
    return DTLS_OK;
}

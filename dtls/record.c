/* record.c — the DTLS record layer (RFC 6347 4.1): headers, epochs, 48-bit
 * sequence numbers, the anti-replay window, protection and datagram packing.
 * It never interprets record contents; conn.c dispatches them.
 */
#include "internal.h"

#include <openssl/crypto.h>

#define REPLAY_WINDOW_BITS 64

bool record_parse(dtls_rd *r, record *rec)
{
    const uint8_t *start = rd_ptr(r);
    rec->type = rd_u8(r);
    rec->version = rd_u16(r);
    rec->epoch = rd_u16(r);
    rec->seq = rd_u48(r);
    size_t len = rd_u16(r);
    rec->frag = rd_bytes(r, len);
    rec->len = len;
    if (!rd_ok(r))
        return false;
    rec->raw = start;
    rec->raw_len = RECORD_HEADER_LEN + len;
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

bool record_unprotect(dtls_conn *c, dtls_aead *a, const record *rec,
                      const uint8_t **out, size_t *out_len)
{
    if (rec->epoch == 0) {
        if (rec->len > MAX_RECORD_PLAINTEXT)
            return false;
        *out = rec->frag;
        *out_len = rec->len;
        return true;
    }
    uint64_t epoch_seq = (uint64_t)rec->epoch << 48 | rec->seq;
    size_t n = 0;
    if (dtls_aead_open(a, epoch_seq, rec->type, rec->version, rec->frag, rec->len,
                       c->cfg->rbuf, &n) != 0)
        return false;
    if (n > MAX_RECORD_PLAINTEXT)
        return false;
    *out = c->cfg->rbuf;
    *out_len = n;
    return true;
}

size_t record_overhead(const dtls_conn *c, uint16_t epoch)
{
    return RECORD_HEADER_LEN + (epoch ? dtls_aead_overhead(&c->wr_aead) : 0);
}

bool record_write(dtls_conn *c, dtls_wr *w, uint16_t epoch, uint8_t type,
                  const uint8_t *payload, size_t len)
{
    uint64_t *seq = &c->write_seq[epoch ? 1 : 0];
    /* RFC 6347 4.1: the sequence number must not wrap. */
    if (*seq >= MAX_RECORD_SEQ)
        return false;
    size_t body = epoch ? len + dtls_aead_overhead(&c->wr_aead) : len;
    if (wr_room(w) < RECORD_HEADER_LEN + body) {
        w->err = true;
        return false;
    }
    uint16_t version = c->version ? c->version : DTLS1_2_VERSION;
    wr_u8(w, type);
    wr_u16(w, version);
    wr_u16(w, epoch);
    wr_u48(w, *seq);
    wr_u16(w, (uint16_t)body);
    if (epoch == 0) {
        wr_bytes(w, payload, len);
    } else {
        size_t n = 0;
        uint64_t epoch_seq = (uint64_t)epoch << 48 | *seq;
        if (dtls_aead_seal(&c->wr_aead, epoch_seq, type, version, payload, len,
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

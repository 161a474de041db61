/* handshake.c — the DTLS handshake layer (RFC 6347 4.2): message headers,
 * the transcript, fragmentation of our flights to the MTU, reassembly of the
 * peer's messages (bounded), and flight retransmission with backoff.
 * What a message means is for server.c and client.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

/* A resend the peer's retransmission asks for: often enough to answer each
 * of its timer-driven tries (1 s and up by default), too seldom for a
 * forged stale fragment to turn us into an amplifier. With a shorter
 * configured timer our own retransmissions fill the gaps. */
#define TRIGGERED_RETRANSMIT_GAP_MS 250

/* ---- lifetime ---- */

int hs_new(dtls_conn *c, uint64_t now_ms)
{
    dtls_config *cfg = c->cfg;
    /* A spare is all zeros (hs_free wiped it) but for its transcript buffer. */
    dtls_hs *hs = cfg->nhs_spare ? cfg->hs_spare[--cfg->nhs_spare] : calloc(1, sizeof *hs);
    if (!hs)
        return DTLS_ERR_INTERNAL;
    hs->state = c->role == DTLS_ROLE_SERVER ? HS_S_WAIT_CLIENT_HELLO : HS_C_WAIT_SERVER_HELLO;
    hs->rto_ms = c->cfg->rto_initial_ms;
    hs->give_up_at = now_ms + c->cfg->handshake_timeout_ms;
    c->hs = hs;
    return DTLS_OK;
}

#define REASM_CHUNK_ALLOC (REASM_CHUNK + REASM_CHUNK / 8) /* body, then its bitmap */

/* Reassembly memory is counted three ways: per message, per association
 * (hs->reasm_bytes) and per config (every handshake of a server). */
static void reasm_account(dtls_conn *c, reasm_msg *m, size_t n)
{
    m->bytes += (uint32_t)n;
    c->hs->reasm_bytes += n;
    c->cfg->reasm_in_use += n;
}

static void reasm_clear(dtls_conn *c, reasm_msg *m)
{
    for (uint32_t i = 0; i < m->nchunks; i++)
        free(m->chunks[i].data);
    free(m->chunks);
    c->hs->reasm_bytes -= m->bytes;
    c->cfg->reasm_in_use -= m->bytes;
    memset(m, 0, sizeof *m);
}

void hs_free(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    if (!hs)
        return;
    EVP_PKEY_free(hs->ecdhe);
    EVP_PKEY_free(hs->peer_key);
    dtls_chain_free(&hs->peer_chain);
    free(hs->servername);
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++)
        reasm_clear(c, &hs->reasm[i]);
    for (size_t i = 0; i < hs->nearly; i++)
        free(hs->early[i].bytes);
    session_clear(&hs->resume);
    free(hs->new_ticket);
    protect_cleanup(&hs->pending_wr_prot);
    uint8_t *transcript = hs->transcript;
    size_t cap = hs->transcript_cap;
    if (transcript) /* a poisoned length (SIZE_MAX) wipes the whole buffer */
        OPENSSL_cleanse(transcript, hs->transcript_len < cap ? hs->transcript_len : cap);
    OPENSSL_cleanse(hs, sizeof *hs);
    dtls_config *cfg = c->cfg;
    c->hs = NULL;
    if (cfg->nhs_spare == HS_SPARE_MAX) {
        free(transcript);
        free(hs);
        return;
    }
    if (cap > HS_SPARE_TRANSCRIPT_MAX) { /* a long chain's: not kept */
        free(transcript);
        transcript = NULL;
        cap = 0;
    }
    hs->transcript = transcript;
    hs->transcript_cap = cap;
    cfg->hs_spare[cfg->nhs_spare++] = hs;
}

void hs_spares_free(dtls_config *cfg)
{
    while (cfg->nhs_spare) {
        dtls_hs *hs = cfg->hs_spare[--cfg->nhs_spare];
        free(hs->transcript);
        free(hs);
    }
}

/* ---- transcript (RFC 6347 4.2.6: hashed as if sent unfragmented) ---- */

static bool transcript_reserve(dtls_hs *hs, size_t more)
{
    if (hs->transcript_cap - hs->transcript_len >= more)
        return true;
    size_t cap = hs->transcript_cap ? hs->transcript_cap : 2048;
    while (cap - hs->transcript_len < more)
        cap *= 2;
    uint8_t *p = realloc(hs->transcript, cap);
    if (!p)
        return false;
    hs->transcript = p;
    hs->transcript_cap = cap;
    return true;
}

void transcript_add(dtls_hs *hs, uint8_t type, uint16_t seq, const uint8_t *body, size_t len)
{
    if (!transcript_reserve(hs, HANDSHAKE_HEADER_LEN + len)) {
        hs->transcript_len = SIZE_MAX; /* poisons every later hash */
        return;
    }
    if (hs->transcript_len == SIZE_MAX)
        return;
    dtls_wr w = wr_init(hs->transcript + hs->transcript_len, HANDSHAKE_HEADER_LEN + len);
    wr_u8(&w, type);
    wr_u24(&w, (uint32_t)len);
    wr_u16(&w, seq);
    wr_u24(&w, 0);
    wr_u24(&w, (uint32_t)len);
    wr_bytes(&w, body, len);
    hs->transcript_len += w.len;
}

void transcript_add_msg(dtls_hs *hs, const hs_msg *m)
{
    transcript_add(hs, m->type, m->seq, m->body, m->len);
}

/* Whether the transcript holds message (type, seq) with these bytes at
 * foff: a fragment of a real resend, not a forgery. */
static bool transcript_has(const dtls_hs *hs, uint8_t type, uint16_t seq, uint32_t foff,
                           const uint8_t *frag, uint32_t flen)
{
    if (hs->transcript_len == SIZE_MAX)
        return false;
    dtls_rd r = rd_init(hs->transcript, hs->transcript_len);
    while (rd_left(&r) > 0) {
        uint8_t t = rd_u8(&r);
        uint32_t len = rd_u24(&r);
        uint16_t s = rd_u16(&r);
        rd_skip(&r, 6);
        const uint8_t *body = rd_bytes(&r, len);
        if (!body)
            return false;
        if (t == type && s == seq)
            return foff <= len && flen <= len - foff && memcmp(body + foff, frag, flen) == 0;
    }
    return false;
}

int transcript_hash(const dtls_conn *c, uint8_t *out, size_t *out_len)
{
    const dtls_hs *hs = c->hs;
    unsigned int n = 0;
    /* One digest context per thread, reused: EVP_Digest allocates one per
     * call. The transcript is no secret. */
    static _Thread_local EVP_MD_CTX *md_ctx;
    if (hs->transcript_len == SIZE_MAX || (!md_ctx && !(md_ctx = EVP_MD_CTX_new())))
        return DTLS_ERR_INTERNAL;
    if (EVP_DigestInit_ex2(md_ctx, keys_transcript_md(c->version, hs->suite), NULL) != 1
        || EVP_DigestUpdate(md_ctx, hs->transcript, hs->transcript_len) != 1
        || EVP_DigestFinal_ex(md_ctx, out, &n) != 1)
        return DTLS_ERR_INTERNAL;
    *out_len = n;
    return DTLS_OK;
}

/* ---- our flights ---- */

int flight_reset(dtls_conn *c)
{
    if (!c->flight && !(c->flight = calloc(1, sizeof *c->flight)))
        return DTLS_ERR_INTERNAL;
    c->flight->nmsgs = 0;
    c->flight->len = 0;
    return DTLS_OK;
}

void flight_free(dtls_conn *c)
{
    if (!c->flight)
        return;
    free(c->flight->buf);
    free(c->flight);
    c->flight = NULL;
}

dtls_wr flight_msg_begin(dtls_conn *c, size_t max_len)
{
    flight *f = c->flight;
    if (!f) {
        dtls_wr bad = wr_init(NULL, 0);
        bad.err = true;
        return bad;
    }
    if (f->cap - f->len < max_len) {
        size_t cap = f->len + max_len;
        uint8_t *p = realloc(f->buf, cap);
        if (!p) {
            dtls_wr bad = wr_init(NULL, 0);
            bad.err = true;
            return bad;
        }
        f->buf = p;
        f->cap = cap;
    }
    return wr_init(f->buf + f->len, max_len);
}

static flight_msg *flight_push(dtls_conn *c, uint8_t type, size_t len)
{
    flight *f = c->flight;
    if (!f || f->nmsgs == MAX_FLIGHT_MSGS)
        return NULL;
    flight_msg *m = &f->msgs[f->nmsgs++];
    m->type = type;
    m->epoch = c->write_epoch;
    m->off = (uint32_t)f->len;
    m->len = (uint32_t)len;
    f->len += len;
    return m;
}

int flight_msg_end(dtls_conn *c, uint8_t type, dtls_wr *w)
{
    if (!wr_ok(w) || w->len > MAX_HANDSHAKE_MESSAGE)
        return DTLS_ERR_INTERNAL;
    flight_msg *m = flight_push(c, type, w->len);
    if (!m)
        return DTLS_ERR_INTERNAL;
    m->seq = c->hs->next_send_seq++;
    transcript_add(c->hs, type, m->seq, c->flight->buf + m->off, m->len);
    return DTLS_OK;
}

int flight_add_ccs(dtls_conn *c)
{
    if (!flight_push(c, FLIGHT_CCS, 0))
        return DTLS_ERR_INTERNAL;
    epoch_write_advance(c);
    return DTLS_OK;
}

/* Append one message to the datagram being built, in as many fragments as
 * the MTU needs (RFC 6347 4.2.3); full datagrams are sent on the way. */
static bool flight_write_msg(dtls_conn *c, dtls_wr *w, const flight_msg *m)
{
    static const uint8_t ccs = 1;
    if (m->type == FLIGHT_CCS) {
        if (wr_room(w) < record_overhead(c, m->epoch) + 1)
            datagram_flush(c, w);
        return record_write(c, w, m->epoch, CT_CHANGE_CIPHER_SPEC, &ccs, 1);
    }
    const uint8_t *body = c->flight->buf + m->off;
    size_t off = 0;
    do {
        size_t framing = record_overhead(c, m->epoch) + HANDSHAKE_HEADER_LEN;
        size_t left = m->len - off;
        /* Start a new datagram rather than send a sliver of a fragment. */
        if (wr_room(w) < framing + (left < 64 ? left : 64))
            datagram_flush(c, w);
        if (wr_room(w) < framing)
            return false;
        size_t flen = wr_room(w) - framing;
        if (left && flen == 0)
            return false;
        if (flen > left)
            flen = left;
        dtls_wr f = wr_init(c->cfg->fbuf, sizeof c->cfg->fbuf);
        wr_u8(&f, m->type);
        wr_u24(&f, (uint32_t)m->len);
        wr_u16(&f, m->seq);
        wr_u24(&f, (uint32_t)off);
        wr_u24(&f, (uint32_t)flen);
        wr_bytes(&f, body + off, flen);
        if (!wr_ok(&f) || !record_write(c, w, m->epoch, CT_HANDSHAKE, f.p, f.len))
            return false;
        off += flen;
    } while (off < m->len);
    return true;
}

int flight_send(dtls_conn *c, uint64_t now_ms, bool retransmission)
{
    dtls_wr w = wr_init(c->cfg->wbuf, c->cfg->mtu);
    for (size_t i = 0; i < flight_count(c) && c->state != DTLS_STATE_CLOSED; i++)
        if (!flight_write_msg(c, &w, &c->flight->msgs[i]))
            return DTLS_ERR_INTERNAL;
    datagram_flush(c, &w);
    /* The host may close us from its send callback. */
    if (c->state == DTLS_STATE_CLOSED)
        return DTLS_ERR_CLOSED;
    c->last_retransmit_at = now_ms;
    if (retransmission)
        c->stats.retransmits++;
    return DTLS_OK;
}

void flight_start_timer(dtls_conn *c, uint64_t now_ms)
{
    if (c->hs)
        c->hs->retransmit_at = now_ms + c->hs->rto_ms;
}

/* The peer resent messages we already have: it lost (part of) our last
 * flight, so resend it (RFC 6347 4.2.4), at most once per short gap so a
 * forged stale fragment cannot make us a traffic amplifier. */
static void retransmit_on_stale(dtls_conn *c, uint64_t now_ms)
{
    if (!flight_count(c) || now_ms - c->last_triggered_at < TRIGGERED_RETRANSMIT_GAP_MS)
        return;
    c->last_triggered_at = now_ms;
    flight_send(c, now_ms, true);
}

/* ---- timers ---- */

uint64_t hs_deadline(const dtls_conn *c)
{
    uint64_t d = UINT64_MAX;
    if (c->hs) {
        d = c->hs->give_up_at;
        if (c->hs->retransmit_at && c->hs->retransmit_at < d)
            d = c->hs->retransmit_at;
    } else if (flight_count(c) && c->flight_expires) {
        d = c->flight_expires;
    }
    uint64_t r = c->hs ? UINT64_MAX : reneg_deadline(c);
    return r < d ? r : d;
}

void hs_tick(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    if (!hs) {
        if (flight_count(c) && c->flight_expires && now_ms >= c->flight_expires)
            flight_free(c);
        reneg_tick(c, now_ms);
        return;
    }
    if (now_ms >= hs->give_up_at) {
        if (reneg_abandon_on_timeout(c))
            return;
        c->error = DTLS_ERR_TIMEOUT;
        conn_fail(c, -1, hs->auth_failures ? "handshake timed out (protected records did not "
                                             "authenticate: wrong key?)" : "handshake timed out");
        return;
    }
    if (hs->retransmit_at && now_ms >= hs->retransmit_at) {
        /* RFC 6347 4.2.4.1: double the timer on each retransmission. */
        uint64_t cap = c->cfg->rto_max_ms;
        hs->rto_ms = hs->rto_ms * 2 > cap ? cap : hs->rto_ms * 2;
        conn_log(c, DTLS_LOG_FINE, "retransmitting flight (next timeout %llu ms)",
                 (unsigned long long)hs->rto_ms);
        flight_send(c, now_ms, true);
        hs->retransmit_at = now_ms + hs->rto_ms;
    }
}

/* ---- the peer's messages ---- */

int hs_dispatch_expected(dtls_conn *c, uint64_t now_ms, const hs_msg *m,
                         const hs_expect *table, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].state == c->hs->state && table[i].type == m->type)
            return table[i].handle(c, now_ms, m);
    return conn_fail(c, DTLS_ALERT_UNEXPECTED_MESSAGE, "unexpected handshake message");
}

static int dispatch(dtls_conn *c, uint64_t now_ms, const hs_msg *m)
{
    /* Everything but Finished travels in the epoch the handshake began in
     * (0 for the first), and Finished only after ChangeCipherSpec
     * (RFC 5246 7.4.9). */
    if ((m->type == HT_FINISHED) != (m->epoch == c->hs->base_epoch + 1))
        return conn_fail(c, DTLS_ALERT_UNEXPECTED_MESSAGE, "message in the wrong epoch");
    c->next_recv_seq = (uint16_t)(m->seq + 1);
    /* Part of the peer's next flight arrived: ours got through. */
    c->hs->retransmit_at = 0;
    c->hs->rto_ms = c->cfg->rto_initial_ms;
    return c->role == DTLS_ROLE_SERVER ? server_handle(c, now_ms, m) : client_handle(c, now_ms, m);
}

/* A complete version of message seq, if one was gathered. */
static reasm_msg *reasm_find_complete(dtls_hs *hs, uint16_t seq)
{
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++)
        if (hs->reasm[i].used && hs->reasm[i].seq == seq && hs->reasm[i].have == hs->reasm[i].len)
            return &hs->reasm[i];
    return NULL;
}

static void reasm_drop_seq(dtls_conn *c, uint16_t seq)
{
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++)
        if (c->hs->reasm[i].used && c->hs->reasm[i].seq == seq)
            reasm_clear(c, &c->hs->reasm[i]);
}

/* Make room for the next expected message by giving up the one furthest
 * ahead (it will be resent with its flight, RFC 6347 4.2.4). */
static bool reasm_evict_furthest(dtls_conn *c, const reasm_msg *keep)
{
    reasm_msg *victim = NULL;
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++) {
        reasm_msg *m = &c->hs->reasm[i];
        if (m->used && m != keep && (!victim || m->seq > victim->seq))
            victim = m;
    }
    if (victim)
        reasm_clear(c, victim);
    return victim != NULL;
}

size_t reasm_future_bytes(const dtls_conn *c)
{
    size_t n = 0;
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++)
        if (c->hs->reasm[i].used && c->hs->reasm[i].seq > c->next_recv_seq)
            n += c->hs->reasm[i].bytes;
    return n;
}

/* Messages numbered below the next expected one can never be used (only
 * that one is drained); they are left behind when the numbering jumps (the
 * server learning it from a ClientHello, a renegotiation). */
static void reasm_drop_stale(dtls_conn *c)
{
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++)
        if (c->hs->reasm[i].used && c->hs->reasm[i].seq < c->next_recv_seq)
            reasm_clear(c, &c->hs->reasm[i]);
}

/* Whether m may take need more bytes: within the association's budget and
 * the config's, and for a message not yet due within the share of those
 * (MAX_FUTURE_REASM_BYTES; RFC 6347 4.2.2 lets a receiver discard such
 * messages). The message an association waits for always gets its first
 * REASM_DUE_RESERVE bytes, whatever the others hold, so handshakes holding
 * the config's budget cannot starve everyone else's. Only the next
 * expected message makes room, by evicting later ones of its own
 * association; never another's. */
static bool reasm_make_room(dtls_conn *c, const reasm_msg *m, size_t need)
{
    reasm_drop_stale(c);
    bool due = m->seq == c->next_recv_seq;
    if (!due && reasm_future_bytes(c) + need > MAX_FUTURE_REASM_BYTES)
        return false;
    size_t due_bytes = 0; /* every version of the due message, together */
    for (size_t i = 0; due && i <= MAX_FUTURE_MESSAGES; i++)
        if (c->hs->reasm[i].used && c->hs->reasm[i].seq == m->seq)
            due_bytes += c->hs->reasm[i].bytes;
    bool reserved = due && due_bytes + need <= REASM_DUE_RESERVE;
    while (c->hs->reasm_bytes + need > MAX_REASM_BYTES
           || (!reserved && c->cfg->reasm_in_use + need > c->cfg->max_reasm))
        if (!due || !reasm_evict_furthest(c, m))
            return false;
    return true;
}

/* Slot for a fragment. Fragments of one message agree on its type, length
 * and epoch (RFC 6347 4.2.3); one that disagrees with what came first does
 * not get dropped for it, since that first fragment may have been forged:
 * it starts a rival version (at most REASM_CANDIDATES per message_seq, the
 * one with the fewest bytes making way), and whichever completes first is
 * the message. A complete unfragmented message replaces every rival. */
static reasm_msg *reasm_slot(dtls_conn *c, uint16_t epoch, uint8_t type, uint16_t seq,
                             uint32_t len, bool whole)
{
    dtls_hs *hs = c->hs;
    reasm_msg *free_slot = NULL, *weakest = NULL;
    int rivals = 0;
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++) {
        reasm_msg *m = &hs->reasm[i];
        if (!m->used) {
            free_slot = free_slot ? free_slot : m;
            continue;
        }
        if (m->seq != seq)
            continue;
        if (m->type == type && m->len == len && m->epoch == epoch)
            return m;
        rivals++;
        if (!weakest || m->have < weakest->have)
            weakest = m;
    }
    if (whole && rivals) {
        reasm_drop_seq(c, seq);
        rivals = 0;
        free_slot = NULL;
    }
    if (rivals >= REASM_CANDIDATES) {
        reasm_clear(c, weakest);
        free_slot = weakest;
    }
    if (!free_slot) {
        for (size_t i = 0; i <= MAX_FUTURE_MESSAGES && !free_slot; i++)
            if (!hs->reasm[i].used)
                free_slot = &hs->reasm[i];
    }
    if (!free_slot && seq == c->next_recv_seq && reasm_evict_furthest(c, NULL))
        return reasm_slot(c, epoch, type, seq, len, whole);
    if (!free_slot)
        return NULL;
    free_slot->used = true;
    free_slot->epoch = epoch;
    free_slot->type = type;
    free_slot->seq = seq;
    free_slot->len = len;
    return free_slot;
}

/* The chunk of m holding body offset index * REASM_CHUNK, allocated on
 * first use within the budgets (reasm_make_room). */
static uint8_t *reasm_chunk_at(dtls_conn *c, reasm_msg *m, uint32_t index)
{
    for (uint32_t i = 0; i < m->nchunks; i++)
        if (m->chunks[i].index == index)
            return m->chunks[i].data;
    size_t grow = m->nchunks == m->chunk_cap ? (m->chunk_cap ? m->chunk_cap : 4) : 0;
    if (!reasm_make_room(c, m, REASM_CHUNK_ALLOC + grow * sizeof *m->chunks))
        return NULL;
    if (grow) {
        reasm_chunk *more = realloc(m->chunks, (m->chunk_cap + grow) * sizeof *more);
        if (!more)
            return NULL;
        m->chunks = more;
        m->chunk_cap += (uint32_t)grow;
        reasm_account(c, m, grow * sizeof *more);
    }
    uint8_t *data = calloc(1, REASM_CHUNK_ALLOC);
    if (!data)
        return NULL;
    reasm_account(c, m, REASM_CHUNK_ALLOC);
    m->chunks[m->nchunks].index = index;
    m->chunks[m->nchunks].data = data;
    m->nchunks++;
    return data;
}

static bool reasm_add(dtls_conn *c, reasm_msg *m, uint32_t off, const uint8_t *frag, uint32_t flen)
{
    while (flen > 0) {
        uint32_t at = off % REASM_CHUNK;
        uint32_t n = REASM_CHUNK - at < flen ? REASM_CHUNK - at : flen;
        uint8_t *chunk = reasm_chunk_at(c, m, off / REASM_CHUNK);
        if (!chunk)
            return false;
        uint8_t *bits = chunk + REASM_CHUNK;
        for (uint32_t i = at; i < at + n; i++) {
            if (bits[i / 8] & (1u << (i % 8)))
                continue;
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
            chunk[i] = frag[i - at];
            m->have++;
        }
        off += n;
        frag += n;
        flen -= n;
    }
    return true;
}

/* The whole body of a complete message, in one buffer the caller frees. */
static uint8_t *reasm_take_body(const reasm_msg *m)
{
    uint8_t *body = malloc(m->len ? m->len : 1);
    if (!body)
        return NULL;
    for (uint32_t i = 0; i < m->nchunks; i++) {
        size_t off = (size_t)m->chunks[i].index * REASM_CHUNK;
        size_t n = m->len - off < REASM_CHUNK ? m->len - off : REASM_CHUNK;
        memcpy(body + off, m->chunks[i].data, n);
    }
    return body;
}

/* Handle every complete message that is next in sequence. */
static int drain(dtls_conn *c, uint64_t now_ms)
{
    reasm_msg *m;
    while (c->hs && c->state != DTLS_STATE_CLOSED
           && (m = reasm_find_complete(c->hs, c->next_recv_seq))) {
        /* Take the body out of the slots: the handler may free the whole
         * handshake state when it completes. */
        hs_msg msg = { m->type, m->seq, m->epoch, NULL, m->len };
        uint8_t *body = reasm_take_body(m);
        reasm_drop_seq(c, msg.seq);
        if (!body)
            return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "out of memory");
        msg.body = body;
        int rc = dispatch(c, now_ms, &msg);
        free(body);
        if (rc != DTLS_OK)
            return rc;
    }
    return DTLS_OK;
}

/* After the handshake: the peer either resends its last flight (we lost
 * our final one) or starts a renegotiation, which reneg.c accepts or
 * refuses. True when a new handshake now takes this fragment. */
static bool post_handshake_message(dtls_conn *c, uint64_t now_ms, uint16_t epoch,
                                   uint8_t type, uint16_t seq)
{
    /* A new handshake numbers its messages from 0 again (RFC 6347 4.2.2),
     * so a renegotiation is recognised by type and epoch, not number. */
    bool reneg = epoch > 0 && (c->role == DTLS_ROLE_SERVER ? type == HT_CLIENT_HELLO
                                                            : type == HT_HELLO_REQUEST);
    if (reneg)
        return reneg_peer_request(c, now_ms, epoch, seq);
    if (seq < c->next_recv_seq)
        retransmit_on_stale(c, now_ms);
    else
        c->stats.dropped_unexpected++;
    return false;
}

int hs_recv_record(dtls_conn *c, uint64_t now_ms, uint16_t epoch, const uint8_t *p, size_t len)
{
    dtls_rd r = rd_init(p, len);
    while (rd_left(&r) > 0 && c->state != DTLS_STATE_CLOSED) {
        uint8_t type = rd_u8(&r);
        uint32_t mlen = rd_u24(&r);
        uint16_t seq = rd_u16(&r);
        uint32_t foff = rd_u24(&r);
        uint32_t flen = rd_u24(&r);
        const uint8_t *frag = rd_bytes(&r, flen);
        if (!frag || foff > mlen || flen > mlen - foff) {
            /* Malformed or inconsistent fragment: drop the rest of the
             * record (RFC 6347 4.1.2.7), never the association. */
            c->stats.dropped_malformed++;
            return DTLS_OK;
        }
        /* From an epoch we left, only a resend of what we already have
         * means anything (RFC 6347 4.2.4); anything new there is forged. */
        if (epoch < c->read_epoch && seq >= c->next_recv_seq) {
            c->stats.dropped_epoch++;
            continue;
        }
        if (!c->hs && !post_handshake_message(c, now_ms, epoch, type, seq))
            continue;
        if (!c->hs || reneg_drop_fragment(c, epoch, type)) {
            c->stats.dropped_unexpected++;
            continue;
        }
        if (mlen > MAX_HANDSHAKE_MESSAGE)
            return conn_fail(c, DTLS_ALERT_ILLEGAL_PARAMETER, "handshake message too large");
        /* The server learns the numbering from the client's first hello
         * (after a HelloVerifyRequest it is 1, RFC 6347 4.2.2). */
        if (c->hs->state == HS_S_WAIT_CLIENT_HELLO && type == HT_CLIENT_HELLO && foff == 0)
            c->next_recv_seq = seq;
        reneg_learn_seq(c, epoch, type, seq, foff);
        if (seq < c->next_recv_seq) {
            if (c->hs->finished_failed_once && epoch == 0 && type == HT_CLIENT_KEY_EXCHANGE
                && transcript_has(c->hs, type, seq, foff, frag, flen))
                c->hs->peer_resent_flight = true;
            retransmit_on_stale(c, now_ms);
            continue;
        }
        if (seq > c->next_recv_seq + MAX_FUTURE_MESSAGES) {
            c->stats.dropped_unexpected++;
            continue;
        }
        bool whole = foff == 0 && flen == mlen;
        if (seq == c->next_recv_seq && whole) {
            /* Unfragmented and due: it decides, whatever was gathered. */
            reasm_drop_seq(c, seq);
            hs_msg m = { type, seq, epoch, frag, mlen };
            int rc = dispatch(c, now_ms, &m);
            if (rc != DTLS_OK)
                return rc;
        } else {
            reasm_msg *m = reasm_slot(c, epoch, type, seq, mlen, whole);
            if (!m || !reasm_add(c, m, foff, frag, flen)) {
                c->stats.dropped_unexpected++;
                continue;
            }
        }
        int rc = drain(c, now_ms);
        if (rc != DTLS_OK)
            return rc;
    }
    if (!rd_ok(&r))
        c->stats.dropped_malformed++;
    return c->state == DTLS_STATE_CLOSED ? c->error : DTLS_OK;
}

/* ---- ChangeCipherSpec (RFC 5246 7.1, RFC 6347 4.1) ---- */

static int apply_ccs(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    epoch_read_advance(c);
    hs->ccs_early = false;
    /* Fragments gathered in the old epoch for messages not yet due can only
     * be forgeries now: every later message comes protected. */
    for (size_t i = 0; i <= MAX_FUTURE_MESSAGES; i++)
        if (hs->reasm[i].used && hs->reasm[i].epoch < c->read_epoch)
            reasm_clear(c, &hs->reasm[i]);
    hs->state = c->role == DTLS_ROLE_SERVER ? HS_S_WAIT_FINISHED : HS_C_WAIT_FINISHED;
    /* Records of the new epoch that came before the CCS, in arrival order. */
    size_t n = hs->nearly;
    early_record early[MAX_EARLY_RECORDS];
    memcpy(early, hs->early, sizeof early);
    hs->nearly = 0;
    hs->early_bytes = 0;
    hs->replaying_early = true;
    for (size_t i = 0; i < n; i++) {
        if (c->state != DTLS_STATE_CLOSED) {
            dtls_rd r = rd_init(early[i].bytes, early[i].len);
            record rec;
            if (record_parse(&r, &rec, conn_cid_rx_len(c)))
                conn_process_record(c, now_ms, &rec);
        }
        free(early[i].bytes);
    }
    if (c->hs)
        c->hs->replaying_early = false;
    return c->state == DTLS_STATE_CLOSED ? c->error : DTLS_OK;
}

int hs_change_cipher_spec(dtls_conn *c, uint64_t now_ms)
{
    dtls_hs *hs = c->hs;
    if (!hs) /* a resent CCS of the peer's last flight */
        return DTLS_OK;
    if (hs->state == HS_S_WAIT_CCS || hs->state == HS_C_WAIT_CCS)
        return apply_ccs(c, now_ms);
    /* Reordered ahead of a message we still miss: keep it in mind once the
     * keys exist, drop it before that (RFC 6347 4.1: CCS may arrive early). */
    if (c->pending_rd_ready)
        hs->ccs_early = true;
    else
        c->stats.dropped_unexpected++;
    return DTLS_OK;
}

int hs_wait_ccs(dtls_conn *c, uint64_t now_ms, hs_state state)
{
    c->hs->state = state;
    return c->hs->ccs_early ? apply_ccs(c, now_ms) : DTLS_OK;
}

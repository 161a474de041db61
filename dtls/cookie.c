/* cookie.c — the stateless front door (RFC 6347 4.2.1): a ClientHello
 * without a valid cookie gets a HelloVerifyRequest and leaves no state
 * behind. The cookie is an HMAC over the peer's address and the hello's
 * fixed fields under a secret that rotates; the previous secret stays valid
 * for one more period so that a rotation never fails a handshake. A secret
 * set from outside (dtls_config_set_cookie_secret) is never used directly:
 * each wall-clock period's key is derived from it (config.c). */
#include "internal.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define COOKIE_ROTATE_MS DTLS_COOKIE_PERIOD_MS

static void cookie_compute(dtls_config *cfg, int which, const uint8_t *peer, size_t peer_len,
                    const client_hello *ch, uint8_t out[COOKIE_LEN])
{
    uint8_t head[1 + 2 + 32 + 1];
    head[0] = (uint8_t)peer_len;
    head[1] = (uint8_t)(ch->version >> 8);
    head[2] = (uint8_t)ch->version;
    memcpy(head + 3, ch->random, 32);
    head[35] = (uint8_t)ch->session_id_len;
    size_t n = 0;
    /* The keyed context is reused: init without a key restarts it with
     * the same key, and allocates nothing (single-threaded per config). */
    EVP_MAC_CTX *ctx = cfg->cookie_mac[which];
    /* The fields the client must repeat unchanged (RFC 6347 4.2.1). */
    bool ok = ctx && EVP_MAC_init(ctx, NULL, 0, NULL)
        && EVP_MAC_update(ctx, head, sizeof head)
        && EVP_MAC_update(ctx, peer, peer_len)
        && EVP_MAC_update(ctx, ch->session_id, ch->session_id_len)
        && EVP_MAC_update(ctx, ch->suites.p, ch->suites.len)
        && EVP_MAC_update(ctx, ch->compressions.p, ch->compressions.len)
        && EVP_MAC_final(ctx, out, &n, COOKIE_LEN) && n == COOKIE_LEN;
    if (!ok) /* an unguessable value nobody can match */
        RAND_bytes(out, COOKIE_LEN);
}

bool cookie_check(dtls_config *cfg, const uint8_t *peer, size_t peer_len,
                         const client_hello *ch)
{
    if (ch->cookie_len != COOKIE_LEN)
        return false;
    uint8_t want[COOKIE_LEN];
    for (int which = 0; which < 2; which++) {
        if (!cfg->cookie_mac[which])
            continue;
        cookie_compute(cfg, which, peer, peer_len, ch, want);
        if (CRYPTO_memcmp(want, ch->cookie, COOKIE_LEN) == 0)
            return true;
    }
    return false;
}

/* The one ClientHello in the datagram's first record, unfragmented: a
 * stateless server cannot reassemble (RFC 6347 4.2.1 lets it drop). */
static bool first_client_hello(const uint8_t *dgram, size_t len, record *rec,
                               uint16_t *msg_seq, client_hello *ch)
{
    dtls_rd r = rd_init(dgram, len);
    if (!record_parse(&r, rec, 0) || rec->type != CT_HANDSHAKE || rec->epoch != 0)
        return false;
    dtls_rd h = rd_init(rec->frag, rec->len);
    uint8_t type = rd_u8(&h);
    uint32_t mlen = rd_u24(&h);
    *msg_seq = rd_u16(&h);
    uint32_t foff = rd_u24(&h);
    uint32_t flen = rd_u24(&h);
    const uint8_t *body = rd_bytes(&h, flen);
    if (!body || type != HT_CLIENT_HELLO || foff != 0 || flen != mlen)
        return false;
    return client_hello_parse(body, mlen, ch);
}

int dtls_conn_is_own_hello(const dtls_conn *conn, const uint8_t *dgram, size_t len)
{
    record rec;
    uint16_t msg_seq;
    client_hello ch;
    return conn->role == DTLS_ROLE_SERVER && first_client_hello(dgram, len, &rec, &msg_seq, &ch)
        && memcmp(ch.random, conn->hello_tag, sizeof conn->hello_tag) == 0;
}

int dtls_is_client_hello(const uint8_t *dgram, size_t len)
{
    dtls_rd r = rd_init(dgram, len);
    record rec;
    return record_parse(&r, &rec, 0) && record_is_client_hello(&rec);
}

dtls_accept_t dtls_accept(dtls_config *cfg, uint64_t now_ms,
                          const uint8_t *peer, size_t peer_len,
                          const uint8_t *dgram, size_t len,
                          uint8_t *reply, size_t reply_cap, size_t *reply_len)
{
    *reply_len = 0;
    if (cfg->cookie_external) {
        /* A shared secret: every holder derives the same per-period keys. */
        config_cookie_keys_for(cfg, now_ms);
        if (!cfg->cookie_init)
            return DTLS_ACCEPT_DROP;
    } else if (!cfg->cookie_init || now_ms - cfg->cookie_rotated_at >= COOKIE_ROTATE_MS) {
        if (!cfg->cookie_init)
            dtls_config_rotate_cookie_secret(cfg); /* the first: no previous one */
        dtls_config_rotate_cookie_secret(cfg);
        cfg->cookie_rotated_at = now_ms;
        if (!cfg->cookie_init)
            return DTLS_ACCEPT_DROP;
    }
    record rec;
    uint16_t msg_seq;
    client_hello ch;
    if (peer_len > 64 || !first_client_hello(dgram, len, &rec, &msg_seq, &ch))
        return DTLS_ACCEPT_DROP;
    if (cookie_check(cfg, peer, peer_len, &ch))
        return DTLS_ACCEPT_NEW;

    /* HelloVerifyRequest: record seq copied from the ClientHello, message
     * seq likewise, server_version DTLS 1.0 (RFC 6347 4.2.1). */
    uint8_t cookie[COOKIE_LEN];
    cookie_compute(cfg, 0, peer, peer_len, &ch, cookie);
    size_t body_len = 2 + 1 + COOKIE_LEN;
    size_t total = RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + body_len;
    if (total > len || total > reply_cap)
        return DTLS_ACCEPT_DROP; /* never amplify */
    dtls_wr w = wr_init(reply, reply_cap);
    wr_u8(&w, CT_HANDSHAKE);
    wr_u16(&w, DTLS1_0_VERSION);
    wr_u16(&w, 0);
    wr_u48(&w, rec.seq);
    wr_u16(&w, (uint16_t)(HANDSHAKE_HEADER_LEN + body_len));
    wr_u8(&w, HT_HELLO_VERIFY_REQUEST);
    wr_u24(&w, (uint32_t)body_len);
    wr_u16(&w, msg_seq);
    wr_u24(&w, 0);
    wr_u24(&w, (uint32_t)body_len);
    wr_u16(&w, DTLS1_0_VERSION);
    wr_u8(&w, COOKIE_LEN);
    wr_bytes(&w, cookie, COOKIE_LEN);
    if (!wr_ok(&w))
        return DTLS_ACCEPT_DROP;
    *reply_len = w.len;
    return DTLS_ACCEPT_REPLY;
}

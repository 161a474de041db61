/* ticket.c — sealing and opening session tickets, and the ticket keys'
 * rotation. A ticket carries no plaintext secret: the session value is
 * encrypted and authenticated under a key only the servers hold, with a
 * fresh random IV per ticket (RFC 5077 4, 5.3). Anything that does not open
 * cleanly is simply not a session: the caller falls back to a full
 * handshake (RFC 5077 3.4).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define TICKET_IV_LEN 12
#define TICKET_TAG_LEN 16
#define TICKET_NAME_LEN 16

/* Keys this engine makes: the newest seals; one older one still opens. */
static void ticket_keys_rotate(dtls_config *cfg, uint64_t now_ms)
{
    uint8_t fresh[TICKET_KEY_LEN];
    if (RAND_bytes(fresh, sizeof fresh) != 1)
        return;
    memmove(cfg->ticket_keys + TICKET_KEY_LEN, cfg->ticket_keys, TICKET_KEY_LEN);
    memcpy(cfg->ticket_keys, fresh, TICKET_KEY_LEN);
    OPENSSL_cleanse(fresh, sizeof fresh);
    cfg->nticket_keys = cfg->nticket_keys ? 2 : 1;
    cfg->ticket_rotated_at = now_ms;
}

/* Keys of a shared secret: this period's seals, it and the last one open. */
static void ticket_keys_derive(dtls_config *cfg, uint64_t now_ms)
{
    uint64_t period = (now_ms + (uint64_t)cfg->clock_offset_ms) / cfg->session_timeout_ms;
    if (cfg->nticket_keys && period == cfg->ticket_period)
        return;
    uint8_t *keys = cfg->ticket_keys;
    size_t n = period ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        if (!config_period_key(cfg->ticket_master, cfg->ticket_master_len, "dtlsrun ticket key",
                               period - i, keys + i * TICKET_KEY_LEN, TICKET_KEY_LEN)) {
            OPENSSL_cleanse(keys, 2 * TICKET_KEY_LEN);
            cfg->nticket_keys = 0; /* no ticket sealed or opened until it works */
            return;
        }
    }
    cfg->nticket_keys = n;
    cfg->ticket_period = period;
}

static void ticket_keys_refresh(dtls_config *cfg, uint64_t now_ms)
{
    if (cfg->ticket_keys_external)
        return;
    if (cfg->ticket_master_len) {
        ticket_keys_derive(cfg, now_ms);
        return;
    }
    if (!cfg->nticket_keys || now_ms - cfg->ticket_rotated_at >= cfg->session_timeout_ms)
        ticket_keys_rotate(cfg, now_ms);
}

/* Fetched once (an implicit fetch per ticket is a method-store lookup). */
static EVP_CIPHER *ticket_cipher;
static CRYPTO_ONCE ticket_cipher_once = CRYPTO_ONCE_STATIC_INIT;

static void ticket_cipher_fetch(void)
{
    ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* One AES-256-GCM operation over a ticket body; the key name is the
 * additional data. Returns the output length or -1. */
static int ticket_gcm(const uint8_t *key, bool seal, const uint8_t *name, const uint8_t *iv,
                      const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
    if (!CRYPTO_THREAD_run_once(&ticket_cipher_once, ticket_cipher_fetch) || !ticket_cipher)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    bool ok = ctx
        && EVP_CipherInit_ex(ctx, ticket_cipher, NULL, NULL, NULL, seal) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TICKET_IV_LEN, NULL) == 1
        && EVP_CipherInit_ex(ctx, NULL, NULL, key + TICKET_NAME_LEN, iv, seal) == 1
        && EVP_CipherUpdate(ctx, NULL, &n, name, TICKET_NAME_LEN) == 1
        && EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1
        && (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TICKET_TAG_LEN, tag) == 1)
        && EVP_CipherFinal_ex(ctx, out + n, &m) == 1
        && (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TICKET_TAG_LEN, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? n + m : -1;
}

int ticket_seal(dtls_config *cfg, uint64_t now_ms, const dtls_session *s,
                uint8_t *out, size_t cap, size_t *out_len)
{
    ticket_keys_refresh(cfg, now_ms);
    if (!cfg->nticket_keys)
        return -1;
    dtls_session bare = *s; /* the session ID travels in the hello, not here */
    bare.session_id_len = 0;
    bare.ticket = NULL;
    bare.ticket_len = 0;
    size_t len = session_encoded_len(&bare, false);
    if (cap < TICKET_OVERHEAD + len)
        return -1;
    uint8_t *plain = malloc(len);
    if (!plain)
        return -1;
    dtls_wr w = wr_init(plain, len);
    const uint8_t *key = cfg->ticket_keys;
    uint8_t *iv = out + TICKET_NAME_LEN, *body = iv + TICKET_IV_LEN;
    memcpy(out, key, TICKET_NAME_LEN);
    int n = -1;
    if (session_encode(&bare, false, &w) && RAND_bytes(iv, TICKET_IV_LEN) == 1)
        n = ticket_gcm(key, true, out, iv, plain, len, body, body + len);
    OPENSSL_cleanse(plain, len);
    free(plain);
    OPENSSL_cleanse(&bare, sizeof bare);
    if (n != (int)len)
        return -1;
    *out_len = TICKET_OVERHEAD + len;
    return 0;
}

bool ticket_open(dtls_config *cfg, uint64_t now_ms, const uint8_t *ticket, size_t len,
                 dtls_session *s, bool *renew)
{
    ticket_keys_refresh(cfg, now_ms);
    if (len <= TICKET_OVERHEAD || len > SESSION_TICKET_MAX)
        return false;
    size_t k = 0;
    while (k < cfg->nticket_keys
           && memcmp(cfg->ticket_keys + k * TICKET_KEY_LEN, ticket, TICKET_NAME_LEN) != 0)
        k++;
    if (k == cfg->nticket_keys)
        return false; /* another server's, or a key retired since */
    size_t body_len = len - TICKET_OVERHEAD;
    uint8_t *plain = malloc(body_len);
    if (!plain)
        return false;
    uint8_t tag[TICKET_TAG_LEN];
    memcpy(tag, ticket + len - TICKET_TAG_LEN, TICKET_TAG_LEN);
    int n = ticket_gcm(cfg->ticket_keys + k * TICKET_KEY_LEN, false, ticket,
                       ticket + TICKET_NAME_LEN, ticket + TICKET_NAME_LEN + TICKET_IV_LEN,
                       body_len, plain, tag);
    bool ok = n == (int)body_len && session_decode(s, plain, body_len, false);
    OPENSSL_cleanse(plain, body_len);
    free(plain);
    if (!ok)
        return false;
    /* RFC 5077 5.6 style lifetime: from when the full handshake made it;
     * a little clock skew between nodes is tolerated for the start only. */
    uint64_t wall = now_ms + (uint64_t)cfg->clock_offset_ms;
    uint64_t lifetime_ms = (uint64_t)s->lifetime_s * 1000;
    if (lifetime_ms > cfg->session_timeout_ms) /* the timeout was lowered since */
        lifetime_ms = cfg->session_timeout_ms;
    uint64_t age = wall > s->created_ms ? wall - s->created_ms : 0;
    if (s->created_ms > wall + 60000 || age >= lifetime_ms) {
        session_clear(s);
        return false;
    }
    *renew = k != 0;
    return true;
}

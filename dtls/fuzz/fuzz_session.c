/* fuzz_session.c — resumable sessions as data. Byte 0 picks a mode:
 *   0: session_decode of raw bytes (with or without the client's ticket
 *      field); what decodes must encode and decode again to the same bytes;
 *   1: ticket_open under a fixed key, of a real ticket sealed here and then
 *      mutated by the input (byte flips, truncation, extension, key name),
 *      or of the raw input; a ticket that opens must decode like a session;
 *   2: the session-ID cache under a put / get / remove / clock program:
 *      the count never exceeds the maximum, a removed ID is never found,
 *      and what is found is the session stored under that ID. */
#include "fuzz_common.h"
#include "internal.h"

static dtls_config *cfg;
static uint8_t ticket[1024];
static size_t ticket_len;
static const uint64_t now0 = 1000000;

static void make_session(dtls_session *s, uint8_t id, uint8_t salt)
{
    memset(s, 0, sizeof *s);
    s->version = DTLS1_2_VERSION;
    s->suite_id = 0xC02B;
    s->ems = true;
    memset(s->master_secret, salt, sizeof s->master_secret);
    s->created_ms = 1700000000000ull;
    s->lifetime_s = 7200;
    s->session_id_len = SESSION_ID_MAX;
    memset(s->session_id, 0, SESSION_ID_MAX);
    s->session_id[0] = id;
    s->session_id[8] = id; /* also past the bytes the hash reads */
    strcpy(s->servername, "fuzz.example");
}

static void setup(void)
{
    cfg = dtls_config_new();
    uint8_t keys[2 * DTLS_TICKET_KEY_LEN];
    for (size_t i = 0; i < sizeof keys; i++)
        keys[i] = (uint8_t)(i * 7 + 1);
    dtls_config_set_ticket_keys(cfg, keys, sizeof keys);
    dtls_config_set_clock_offset(cfg, 1700000000000ll - (int64_t)now0);
    dtls_session s;
    make_session(&s, 1, 0x5A);
    s.peer_cert = malloc(100);
    memset(s.peer_cert, 0x30, 100);
    s.peer_cert_len = 100;
    if (ticket_seal(cfg, now0, &s, ticket, sizeof ticket, &ticket_len) != 0)
        abort();
    session_clear(&s);
}

static void check_roundtrip(const dtls_session *s, bool with_ticket)
{
    static uint8_t a[32768], b[32768];
    dtls_wr w = wr_init(a, sizeof a);
    if (!session_encode(s, with_ticket, &w) || w.len != session_encoded_len(s, with_ticket))
        abort();
    dtls_session t;
    if (!session_decode(&t, a, w.len, with_ticket))
        abort();
    dtls_wr w2 = wr_init(b, sizeof b);
    if (!session_encode(&t, with_ticket, &w2) || w2.len != w.len || memcmp(a, b, w.len) != 0)
        abort();
    session_clear(&t);
}

static void decode_mode(fuzz_in *in)
{
    bool with_ticket = in_u8(in) & 1;
    dtls_session s;
    if (session_decode(&s, in->p, in->n, with_ticket)) {
        check_roundtrip(&s, with_ticket);
        session_clear(&s);
    }
}

static void ticket_mode(fuzz_in *in)
{
    uint8_t t[2048];
    size_t len = ticket_len;
    uint8_t how = in_u8(in);
    uint64_t now = now0 + ((uint64_t)in_u16(in) << 16); /* up to ~49 days on */
    if (how & 1) { /* the raw input */
        const uint8_t *p = in_bytes(in, sizeof t, &len);
        memcpy(t, p, len);
    } else {
        memcpy(t, ticket, ticket_len);
        while (in->n >= 3) { /* (offset, xor) edits */
            size_t at = in_u16(in) % (len + 1);
            uint8_t x = in_u8(in);
            if (at == len && len < sizeof t)
                t[len++] = x;
            else if (at < len)
                t[at] ^= x;
        }
        if (how & 2)
            len -= (how >> 2) % (len + 1);
    }
    dtls_session s;
    bool renew;
    if (ticket_open(cfg, now, t, len, &s, &renew)) {
        check_roundtrip(&s, false);
        session_clear(&s);
    }
}

/* IDs come from a set of 8 so the program revisits them; removed[i] says
 * ID i was removed since it was last put. */
static void cache_mode(fuzz_in *in)
{
    session_cache c;
    size_t max = in_u8(in) % 8;
    session_cache_init(&c, max);
    bool removed[8] = { 0 };
    uint8_t salt[8] = { 0 };
    uint64_t now = now0;
    while (in->n) {
        uint8_t op = in_u8(in);
        uint8_t idx = (op >> 2) & 7;
        dtls_session s;
        make_session(&s, idx, 0);
        switch (op & 3) {
        case 0: /* put */
            salt[idx] = in_u8(in);
            make_session(&s, idx, salt[idx]);
            if (session_cache_put(&c, &s, now + in_u16(in)) == 0)
                removed[idx] = false;
            break;
        case 1: { /* get */
            dtls_session got;
            if (session_cache_get(&c, s.session_id, s.session_id_len, now, &got)) {
                if (removed[idx] || memcmp(got.session_id, s.session_id, SESSION_ID_MAX) != 0
                    || got.master_secret[0] != salt[idx])
                    abort();
                session_clear(&got);
            }
            break;
        }
        case 2: /* remove (op bit 5: with a short or overlong ID length) */
            session_cache_remove(&c, s.session_id, (op & 0x20) ? in_u8(in) % 33 : s.session_id_len);
            if (!(op & 0x20))
                removed[idx] = true;
            break;
        case 3:
            now += in_u8(in) * 16;
            break;
        }
        session_clear(&s);
        if (c.count > c.max)
            abort();
    }
    session_cache_free(&c);
    if (session_cache_memory(&c) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfg)
        setup();
    fuzz_in in = { data, size };
    switch (in_u8(&in) % 3) {
    case 0: decode_mode(&in); break;
    case 1: ticket_mode(&in); break;
    case 2: cache_mode(&in); break;
    }
    return 0;
}

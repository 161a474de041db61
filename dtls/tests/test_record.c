/* test_record.c — the record layer's edges: header parsing (RFC 6347
 * 4.1), the anti-replay window at its boundaries (4.1.2.6), and record
 * protection round trips through record_write / record_unprotect with the
 * nonce and AAD the AEAD vectors were checked against. */
#include "unit.h"
#include "internal.h"
#include "prf.h"

static void test_parse(void)
{
    uint8_t rec[13 + 4] = { 23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 1, 2, 0, 4, 'd', 'a', 't', 'a' };
    dtls_rd r = rd_init(rec, sizeof rec);
    record out;
    CHECK(record_parse(&r, &out, 0));
    CHECK(out.type == 23 && out.epoch == 1 && out.seq == 0x102 && out.len == 4);
    CHECK(rd_left(&r) == 0 && out.raw_len == sizeof rec);
    /* Truncated: header alone, one byte short of the fragment. */
    r = rd_init(rec, 12);
    CHECK(!record_parse(&r, &out, 0));
    r = rd_init(rec, sizeof rec - 1);
    CHECK(!record_parse(&r, &out, 0));
    /* Not DTLS, oversized length; an unknown content type parses (its
     * record alone is dropped by the caller, RFC 6347 4.1.2.7). */
    uint8_t bad[sizeof rec];
    memcpy(bad, rec, sizeof rec);
    bad[1] = 0x03;
    r = rd_init(bad, sizeof bad);
    CHECK(!record_parse(&r, &out, 0));
    memcpy(bad, rec, sizeof rec);
    bad[0] = 24;
    r = rd_init(bad, sizeof bad);
    CHECK(record_parse(&r, &out, 0) && out.type == 24 && rd_left(&r) == 0);
    uint8_t *big = calloc(1, 13 + 20000);
    memcpy(big, rec, 13);
    big[11] = (uint8_t)(20000 >> 8);
    big[12] = (uint8_t)(20000 & 0xFF);
    r = rd_init(big, 13 + 20000);
    CHECK(!record_parse(&r, &out, 0));
    free(big);
    /* Two records in one datagram. */
    uint8_t two[2 * sizeof rec];
    memcpy(two, rec, sizeof rec);
    memcpy(two + sizeof rec, rec, sizeof rec);
    r = rd_init(two, sizeof two);
    CHECK(record_parse(&r, &out, 0) && record_parse(&r, &out, 0) && rd_left(&r) == 0);
}

static void test_replay_window(void)
{
    replay_window w = { 0 };
    CHECK(replay_check(&w, 0));
    replay_update(&w, 0);
    CHECK(!replay_check(&w, 0));
    CHECK(replay_check(&w, 1));
    replay_update(&w, 100);
    /* 100 - 63 is the oldest number the 64-bit window still tracks. */
    CHECK(replay_check(&w, 37));
    CHECK(!replay_check(&w, 36));
    CHECK(!replay_check(&w, 0));
    CHECK(!replay_check(&w, 100));
    replay_update(&w, 37);
    CHECK(!replay_check(&w, 37));
    CHECK(replay_check(&w, 38));
    CHECK(replay_check(&w, 99));
    replay_update(&w, 99);
    CHECK(!replay_check(&w, 99));
    /* A jump past the window forgets everything older. */
    replay_update(&w, 1000);
    CHECK(!replay_check(&w, 99) && !replay_check(&w, 936));
    CHECK(replay_check(&w, 937) && replay_check(&w, 999) && !replay_check(&w, 1000));
    /* The top of the 48-bit space. */
    uint64_t top = ((uint64_t)1 << 48) - 1;
    replay_update(&w, top);
    CHECK(!replay_check(&w, top) && replay_check(&w, top - 1) && !replay_check(&w, top - 64));
    /* Every one of 64 numbers received out of order is then a replay. */
    replay_window v = { 0 };
    replay_update(&v, 63);
    for (uint64_t s = 0; s < 63; s++) {
        CHECK(replay_check(&v, s));
        replay_update(&v, s);
    }
    int fresh = 0;
    for (uint64_t s = 0; s <= 63; s++)
        fresh += replay_check(&v, s);
    CHECK(fresh == 0);
}

/* record_write then record_unprotect, as the two ends of an association
 * keyed from the same key block. */
static void test_protect_roundtrip(dtls_aead_alg alg)
{
    dtls_config *cfg = dtls_config_new();
    dtls_conn *tx = dtls_conn_new(cfg, DTLS_ROLE_CLIENT, NULL, 0, NULL);
    dtls_conn *rx = dtls_conn_new(cfg, DTLS_ROLE_SERVER, NULL, 0, NULL);
    uint8_t key[32], iv[12];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xA0 + i);
    for (int i = 0; i < 12; i++)
        iv[i] = (uint8_t)(0x10 + i);
    tx->wr_prot.kind = rx->rd_prot.kind = PROTECT_AEAD;
    CHECK(dtls_aead_init(&tx->wr_prot.u.aead, alg, key, iv, 1) == 0);
    CHECK(dtls_aead_init(&rx->rd_prot.u.aead, alg, key, iv, 0) == 0);
    tx->version = DTLS1_2_VERSION;
    tx->write_seq[1] = 41;
    uint8_t buf[256];
    dtls_wr w = wr_init(buf, sizeof buf);
    CHECK(record_write(tx, &w, 1, CT_APPLICATION_DATA, (const uint8_t *)"secret", 6));
    CHECK(w.len == 13 + 6 + dtls_aead_overhead(&tx->wr_prot.u.aead));
    CHECK(memcmp(buf + 13, "secret", 6) != 0 || dtls_aead_overhead(&tx->wr_prot.u.aead) > 8);
    dtls_rd r = rd_init(buf, w.len);
    record rec;
    CHECK(record_parse(&r, &rec, 0) && rec.epoch == 1 && rec.seq == 41);
    const uint8_t *p;
    size_t n;
    uint8_t type;
    CHECK(record_unprotect(rx, &rx->rd_prot, &rec, &p, &n, &type) && n == 6 && memcmp(p, "secret", 6) == 0);
    /* The header is authenticated: another sequence number fails. */
    buf[10] ^= 1;
    r = rd_init(buf, w.len);
    CHECK(record_parse(&r, &rec, 0) && !record_unprotect(rx, &rx->rd_prot, &rec, &p, &n, &type));
    dtls_conn_free(tx);
    dtls_conn_free(rx);
    dtls_config_free(cfg);
}

int main(void)
{
    test_parse();
    test_replay_window();
    test_protect_roundtrip(DTLS_AEAD_AES_128_GCM);
    test_protect_roundtrip(DTLS_AEAD_AES_256_GCM);
    test_protect_roundtrip(DTLS_AEAD_CHACHA20_POLY1305);
    test_protect_roundtrip(DTLS_AEAD_AES_128_CCM);
    test_protect_roundtrip(DTLS_AEAD_AES_128_CCM_8);
    return unit_report();
}

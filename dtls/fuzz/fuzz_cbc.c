/* fuzz_cbc.c — dtls_cbc_open_ad fed fragments the fuzzer shapes, both
 * modes, every alg, any MAC prefix, judged against a plain receiver written
 * from the RFC text (RFC 5246 6.2.3.2, RFC 7366 3): verdicts and plaintexts
 * must agree, and nothing may be read out of bounds. The input picks alg,
 * mode and prefix and is the decrypted fragment; the harness encrypts it
 * and, when asked, gives it a valid MAC for the plaintext length its last
 * byte claims, so the fuzzer works at the accept/reject line.
 * In scripts/fuzz's smoke pass with the others; alone:
 *   scripts/fuzz 60 cbc
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbc.h"
#include "tests/cbc_ref.h"

enum { MAX_INSIDE = 2048 };
static const uint8_t enc_key[32] = { 1, 2, 3 }, mac_key[48] = { 4, 5, 6 }, iv0[16] = { 7 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t inside[MAX_INSIDE], rec[16 + MAX_INSIDE + 48], got[MAX_INSIDE + 64],
        want[MAX_INSIDE + 64];
    if (size < 3)
        return 0;
    const struct alg_info *a = &algs[data[0] % N_ALGS];
    int etm = data[1] & 1, valid_mac = data[1] & 2, flip = data[1] & 4;
    /* Up to 255 + 21 = DTLS_CBC_MAX_PREFIX: an RFC 9146 prefix's fixed part
     * with the longest CID. */
    size_t pre_len = (size_t)data[2] + (data[1] & 16 ? 21 : 0);
    if (data[1] & 8)
        pre_len = DTLS_CBC_RECORD_PREFIX;
    data += 3;
    size -= 3;
    if (size < pre_len)
        return 0;
    struct pfx pf;
    memcpy(pf.b, data, pre_len);
    pf.len = pre_len;
    data += pre_len;
    size -= pre_len;
    size_t n = size > MAX_INSIDE ? MAX_INSIDE : size - size % 16;
    if (n == 0)
        return 0;
    memcpy(inside, data, n);
    size_t mac = a->mac_len;
    uint8_t m[64];
    if (!etm && valid_mac && n >= mac + 1) {
        size_t pad = inside[n - 1];
        size_t plain = pad + 1 + mac <= n ? n - pad - 1 - mac : n - 1 - mac;
        if (ref_record_mac(a, mac_key, &pf, plain, inside, plain, m) != 0)
            abort();
        memcpy(inside + plain, m, mac);
    }
    memcpy(rec, iv0, 16);
    if (ref_cbc_dir(a->cipher, enc_key, iv0, inside, n, rec + 16, 1) != 0)
        abort();
    size_t len = 16 + n;
    if (etm) {
        if (ref_record_mac(a, mac_key, &pf, len, rec, len, m) != 0)
            abort();
        if (!valid_mac)
            m[0] ^= 1;
        memcpy(rec + len, m, mac);
        len += mac;
    }
    if (flip)
        rec[(data[0] * 7u) % len] ^= (uint8_t)(1u << (data[0] % 8));
    /* Also every shorter length now and then: truncation. */
    if (data[0] & 0x80 && len > 1)
        len -= 1 + data[0] % (len - 1 < 32 ? len - 1 : 32);

    dtls_cbc rx;
    if (dtls_cbc_init(&rx, a->alg, enc_key, mac_key, 0, etm) != 0)
        abort();
    size_t got_len = 0, want_len = 0;
    int r1 = dtls_cbc_open_ad(&rx, pf.b, pf.len, rec, len, got, &got_len);
    int r2 = cbc_ref_open(a, etm, enc_key, mac_key, &pf, rec, len, want, &want_len);
    dtls_cbc_cleanup(&rx);
    if (r1 != r2 || (r1 == 0 && (got_len != want_len || memcmp(got, want, got_len) != 0)))
        abort();
    return 0;
}

/* cbc_timing — a look at the time dtls_cbc_open takes on MAC-then-encrypt
 * records that it must refuse, shaped as in Lucky Thirteen (AlFardan and
 * Paterson 2013): one ciphertext length, a wrong MAC, and decrypted padding
 * that is valid and empty, valid and 255 bytes long, or invalid. A classic
 * receiver MACs 256 bytes less in the second case; ours must not differ.
 * Prints per-shape percentiles for every alg; a look, not a proof (timer
 * resolution, noise, one machine).
 *   cbc_timing [iterations] [fragment-bytes]     (default 100000, 512)
 */
#include "cbc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

enum { SHAPES = 3, MAX_N = 4096 };
static const char *shape_names[SHAPES] = { "pad 0 valid, MAC wrong", "pad 255 valid, MAC wrong",
                                           "pad invalid" };

int main(int argc, char **argv)
{
    size_t iters = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100000;
    size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 512;
    static const dtls_cbc_alg algs[] = { DTLS_CBC_AES_128_SHA1, DTLS_CBC_AES_256_SHA1,
                                         DTLS_CBC_AES_128_SHA256, DTLS_CBC_AES_256_SHA256,
                                         DTLS_CBC_AES_256_SHA384 };
    static uint8_t inside[SHAPES][MAX_N], rec[SHAPES][MAX_N + 16], out[MAX_N + 16];
    uint8_t ek[32], mk[48], iv[16];
    if (iters == 0 || n < 272 || n > MAX_N || n % 16) {
        fprintf(stderr, "usage: cbc_timing [iterations] [fragment-bytes: 272..%d, a multiple of 16]\n", MAX_N);
        return 2;
    }
    uint64_t *t = malloc(SHAPES * iters * sizeof *t);
    if (t == NULL)
        return 1;
    memset(ek, 0x11, sizeof ek);
    memset(mk, 0x22, sizeof mk);
    memset(iv, 0x33, sizeof iv);
    for (int s = 0; s < SHAPES; s++)
        for (size_t i = 0; i < n; i++)
            inside[s][i] = (uint8_t)(i * 7 + 1);
    inside[0][n - 1] = 0;
    memset(inside[1] + n - 256, 255, 256);
    inside[2][n - 1] = 200;
    inside[2][n - 2] = 3;

    for (size_t a = 0; a < sizeof algs / sizeof algs[0]; a++) {
        dtls_cbc rx;
        /* Plain AES-CBC encrypts the hand-made plaintexts under the
         * receiver's key. */
        EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, dtls_cbc_key_len(algs[a]) == 16 ? "AES-128-CBC"
                                                                                 : "AES-256-CBC", NULL);
        if (c == NULL || dtls_cbc_init(&rx, algs[a], ek, mk, 0, 0) != 0)
            return 1;
        for (int s = 0; s < SHAPES; s++) {
            EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
            int l = 0;
            memcpy(rec[s], iv, 16);
            if (x == NULL || !EVP_EncryptInit_ex(x, c, NULL, ek, iv) ||
                !EVP_CIPHER_CTX_set_padding(x, 0) ||
                !EVP_EncryptUpdate(x, rec[s] + 16, &l, inside[s], (int)n))
                return 1;
            EVP_CIPHER_CTX_free(x);
        }
        EVP_CIPHER_free(c);
        size_t out_len;
        for (size_t k = 0; k < iters; k++) {
            for (int s = 0; s < SHAPES; s++) {
                uint64_t t0 = now_ns();
                int r = dtls_cbc_open(&rx, 5, 23, 0xfefd, rec[s], 16 + n, out, &out_len);
                t[s * iters + k] = now_ns() - t0;
                if (r == 0) {
                    fprintf(stderr, "a record with a wrong MAC was accepted\n");
                    return 1;
                }
            }
        }
        uint64_t med[SHAPES];
        for (int s = 0; s < SHAPES; s++) {
            uint64_t *ts = t + s * iters;
            qsort(ts, iters, sizeof *ts, cmp_u64);
            med[s] = ts[iters / 2];
            printf("alg %zu n=%zu %-26s p10 %6llu  median %6llu  p90 %6llu ns\n", a + 1, n,
                   shape_names[s], (unsigned long long)ts[iters / 10],
                   (unsigned long long)med[s], (unsigned long long)ts[iters * 9 / 10]);
        }
        uint64_t lo = med[0], hi = med[0];
        for (int s = 1; s < SHAPES; s++) {
            lo = med[s] < lo ? med[s] : lo;
            hi = med[s] > hi ? med[s] : hi;
        }
        printf("alg %zu medians differ by %llu ns (%.2f %%)\n", a + 1, (unsigned long long)(hi - lo),
               lo ? 100.0 * (double)(hi - lo) / (double)lo : 0.0);
        dtls_cbc_cleanup(&rx);
    }
    free(t);
    return 0;
}

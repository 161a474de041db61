/* unit.h — the smallest test harness: CHECK macros, hex helpers, and a
 * closing line "N passed, N failed" that ctest and CI read. */
#ifndef DTLS_UNIT_H
#define DTLS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static int unit_passed, unit_failed;

#define CHECK(cond) do { \
    if (cond) unit_passed++; \
    else { unit_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_MEM(a, b, n) do { \
    if (memcmp((a), (b), (n)) == 0) unit_passed++; \
    else { unit_failed++; fprintf(stderr, "%s:%d: bytes differ: %s vs %s\n", __FILE__, __LINE__, #a, #b); } \
} while (0)

/* Decode hex (whitespace ignored) into a malloc'd buffer; *len gets its size. */
static inline uint8_t *unit_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex), k = 0;
    uint8_t *out = malloc(n / 2 + 1);
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else continue;
        if (hi < 0) hi = v;
        else { out[k++] = (uint8_t)(hi << 4 | v); hi = -1; }
    }
    *len = k;
    return out;
}

static inline int unit_report(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif

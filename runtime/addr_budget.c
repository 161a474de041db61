/* addr_budget.c — handshakes in progress per source address (see
 * addr_budget.h). Owns the counter array only; the server decides when a
 * handshake starts and ends.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* The part of the address a budget counts (RFC 4291 2.5.5.2: an
 * IPv4-mapped IPv6 address is its IPv4 address). */
static size_t addr_prefix(const rt_addr *a, uint8_t out[9])
{
    static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    const uint8_t *ip = a->key + 3; /* after family and port */
    if (a->key[0] == 6 && memcmp(ip, v4_mapped, sizeof v4_mapped) != 0) {
        out[0] = 6;
        memcpy(out + 1, ip, 8);
        return 9;
    }
    out[0] = 4;
    memcpy(out + 1, a->key[0] == 6 ? ip + 12 : ip, 4);
    return 5;
}

static uint16_t *counter(const rt_addr_budget *b, const rt_addr *a)
{
    uint8_t prefix[9];
    size_t n = addr_prefix(a, prefix);
    return &b->counts[rt_siphash(b->k0, b->k1, prefix, n) & b->mask];
}

int rt_addr_budget_init(rt_addr_budget *b, unsigned limit, size_t max_handshakes)
{
    uint8_t seed[16];
    memset(b, 0, sizeof *b);
    if (uv_random(NULL, NULL, seed, sizeof seed, 0, NULL) != 0)
        return -1;
    memcpy(&b->k0, seed, 8);
    memcpy(&b->k1, seed + 8, 8);
    size_t n = 256;
    while (n < max_handshakes && n < 65536)
        n *= 2;
    b->counts = calloc(n, sizeof *b->counts);
    b->mask = n - 1;
    b->limit = limit > UINT16_MAX ? UINT16_MAX : limit;
    return b->counts ? 0 : -1;
}

void rt_addr_budget_free(rt_addr_budget *b)
{
    free(b->counts);
    b->counts = NULL;
}

int rt_addr_budget_take(rt_addr_budget *b, const rt_addr *a)
{
    uint16_t *n = counter(b, a);
    if (*n >= b->limit)
        return -1;
    (*n)++;
    return 0;
}

void rt_addr_budget_release(rt_addr_budget *b, const rt_addr *a)
{
    uint16_t *n = counter(b, a);
    if (*n > 0)
        (*n)--;
}

/* addr_budget.h — how many handshakes each source address has in progress,
 * so one address cannot take every handshake slot of a server. Counted per
 * IPv4 address or IPv6 /64 (one host often holds a whole /64, RFC 6177),
 * never per port. A fixed array of counters indexed by a keyed SipHash of
 * the address: allocated once per server, nothing per datagram or per peer.
 */
#ifndef DTLSRUN_ADDR_BUDGET_H
#define DTLSRUN_ADDR_BUDGET_H

#include <stddef.h>
#include <stdint.h>

struct rt_addr;

typedef struct rt_addr_budget {
    uint16_t *counts;
    size_t mask;      /* counters - 1, a power of two minus one */
    unsigned limit;   /* handshakes in progress per address */
    uint64_t k0, k1;
} rt_addr_budget;

/* Sized for max_handshakes in progress in all (two addresses share a
 * counter with odds 1 in the table size, under a random key). 0 or -1. */
int rt_addr_budget_init(rt_addr_budget *b, unsigned limit, size_t max_handshakes);
void rt_addr_budget_free(rt_addr_budget *b);
/* Takes one handshake slot for the address: 0, or -1 when it has none left. */
int rt_addr_budget_take(rt_addr_budget *b, const struct rt_addr *a);
void rt_addr_budget_release(rt_addr_budget *b, const struct rt_addr *a);

#endif

/* reneg.h — what a connection keeps between handshakes for renegotiation
 * (RFC 5746): the last handshake's verify_data and when it ended, and the
 * previous epoch's keys while an epoch change settles (RFC 6347 4.1).
 * The functions are declared in internal.h with the rest of the engine.
 */
#ifndef DTLS_RENEG_H
#define DTLS_RENEG_H

#include <stdbool.h>
#include <stdint.h>

/* Records of the previous epoch are still opened for this long after an
 * epoch change (RFC 6347 4.1 allows up to the MSL); our own messages of
 * that epoch are resent as long as the final flight that holds them lives. */
#define RENEG_PREV_EPOCH_KEEP_MS (120 * 1000)

struct reneg_prev; /* reneg.c: the previous epoch's keys */

typedef struct reneg_state {
    bool secure;               /* the last handshake had RFC 5746's indication */
    bool local;                /* the handshake under way was asked for by the host */
    uint8_t verify_data[24];   /* that handshake's client, then server verify_data */
    uint64_t last_done_at;     /* when it completed */
    uint8_t *randoms;          /* client: its client_random and server_random */
    struct reneg_prev *prev;   /* NULL except around an epoch change */
} reneg_state;

#endif

/* ticket.h — stateless session tickets (RFC 5077 4's recommended shape):
 *   key_name (16) | IV (12) | AES-256-GCM(session value) | tag (16)
 * with the key name as additional data. Keys are 48 bytes, name (16) and
 * AES key (32); the first key seals, every key opens. Keys made here rotate
 * every session timeout and the previous one still opens for one more
 * period; keys set from outside (shared between processes and nodes) never
 * rotate here: the operator rotates them by prepending a new one.
 */
#ifndef DTLS_TICKET_H
#define DTLS_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define TICKET_KEY_LEN 48
#define TICKET_KEYS_MAX 16
#define TICKET_OVERHEAD (16 + 12 + 16)
/* The largest ticket we issue or offer: a ClientHello carrying it must fit
 * one datagram at the default MTU (a stateless server cannot reassemble a
 * fragmented first hello, RFC 6347 4.2.1), beside ~600 bytes of the rest. */
#define TICKET_MAX_IN_HELLO 768

struct dtls_config;

/* Seal s (its session_id is not kept) into out. 0, or -1 (no ticket then). */
int ticket_seal(struct dtls_config *cfg, uint64_t now_ms, const dtls_session *s,
                uint8_t *out, size_t cap, size_t *out_len);
/* Open a ticket the client offered: true with *s filled when it is ours,
 * intact and not expired; renew says it was sealed under an older key. */
bool ticket_open(struct dtls_config *cfg, uint64_t now_ms, const uint8_t *ticket, size_t len,
                 dtls_session *s, bool *renew);

#endif

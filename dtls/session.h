/* session.h — a resumable session as a value (RFC 5246 7.3, 7.4.1.2):
 * what an abbreviated handshake needs (master secret, suite, version, the
 * extended-master-secret flag) and what a resumed association still
 * reports (peer certificate, PSK identity, server name). One versioned byte
 * string serves the session-ID cache, the sealed ticket, and the client's
 * opaque getSession() blob, so all three agree and can cross processes.
 * Owns nothing global; every buffer it returns is the caller's to wipe.
 */
#ifndef DTLS_SESSION_H
#define DTLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SESSION_ID_MAX 32
#define SESSION_PEER_CERT_MAX 8192   /* a bigger leaf is not kept: no resumption */
#define SESSION_TICKET_MAX 16384     /* what a client keeps of a server's ticket */

typedef struct dtls_session {
    uint16_t version;                /* DTLS1_2_VERSION */
    uint16_t suite_id;
    bool ems;                        /* made with RFC 7627's extended master secret */
    bool verified;                   /* client: the server's chain and name were checked */
    uint8_t auth_context[8];         /* server: its client-authentication policy when made */
    uint8_t master_secret[48];
    uint64_t created_ms;             /* wall clock (ms since the epoch) */
    uint32_t lifetime_s;             /* server: its timeout; client: the ticket hint */
    uint8_t session_id[SESSION_ID_MAX];
    uint8_t session_id_len;
    char servername[256];            /* "" when none */
    uint8_t psk_identity[128];
    uint8_t psk_identity_len;
    uint8_t *peer_cert;              /* leaf DER, malloc'ed, or NULL */
    size_t peer_cert_len;
    uint8_t *ticket;                 /* client only: the server's ticket, or NULL */
    size_t ticket_len;
} dtls_session;

/* Wipes the secrets and frees the owned buffers; the struct can be reused. */
void session_clear(dtls_session *s);
/* Deep copy (dst is overwritten, not cleared first). 0 or -1. */
int session_copy(dtls_session *dst, const dtls_session *src);

/* Serialised size, and serialisation into w (with_ticket: the client blob). */
size_t session_encoded_len(const dtls_session *s, bool with_ticket);
bool session_encode(const dtls_session *s, bool with_ticket, dtls_wr *w);
/* Parses what session_encode wrote; false (and s cleared) on any defect. */
bool session_decode(dtls_session *s, const uint8_t *p, size_t len, bool with_ticket);

#endif

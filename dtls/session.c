/* session.c — the session value's byte form. Format 1, big-endian:
 *   u8 format (1) | u16 version | u16 suite | u8 flags (bit 0: EMS, bit 1:
 *   the server was verified) | 8 auth context | 48 master secret
 *   | u64 created (wall ms) | u32 lifetime (s)
 *   | vec8 session_id | vec8 servername | vec8 psk_identity
 *   | vec16 peer certificate | [client blob only: vec16 ticket]
 * Every field is read back through the bounds-checked reader and checked
 * for range; an unknown format is refused, never guessed at.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#define SESSION_FORMAT 1
#define SESSION_FLAG_EMS 1
#define SESSION_FLAG_VERIFIED 2

void session_clear(dtls_session *s)
{
    if (s->peer_cert)
        free(s->peer_cert);
    if (s->ticket)
        free(s->ticket);
    OPENSSL_cleanse(s, sizeof *s);
}

static int dup_bytes(uint8_t **dst, const uint8_t *src, size_t len)
{
    *dst = NULL;
    if (!src || !len)
        return 0;
    if (!(*dst = malloc(len)))
        return -1;
    memcpy(*dst, src, len);
    return 0;
}

int session_copy(dtls_session *dst, const dtls_session *src)
{
    *dst = *src;
    if (dup_bytes(&dst->peer_cert, src->peer_cert, src->peer_cert_len) != 0
        || dup_bytes(&dst->ticket, src->ticket, src->ticket_len) != 0) {
        session_clear(dst);
        return -1;
    }
    return 0;
}

size_t session_encoded_len(const dtls_session *s, bool with_ticket)
{
    return 1 + 2 + 2 + 1 + 8 + 48 + 8 + 4 + 1 + s->session_id_len + 1 + strlen(s->servername)
         + 1 + s->psk_identity_len + 2 + s->peer_cert_len + (with_ticket ? 2 + s->ticket_len : 0);
}

bool session_encode(const dtls_session *s, bool with_ticket, dtls_wr *w)
{
    size_t name_len = strlen(s->servername);
    wr_u8(w, SESSION_FORMAT);
    wr_u16(w, s->version);
    wr_u16(w, s->suite_id);
    wr_u8(w, (s->ems ? SESSION_FLAG_EMS : 0) | (s->verified ? SESSION_FLAG_VERIFIED : 0));
    wr_bytes(w, s->auth_context, sizeof s->auth_context);
    wr_bytes(w, s->master_secret, 48);
    wr_uint(w, s->created_ms, 8);
    wr_uint(w, s->lifetime_s, 4);
    wr_u8(w, s->session_id_len);
    wr_bytes(w, s->session_id, s->session_id_len);
    wr_u8(w, (uint8_t)name_len);
    wr_bytes(w, s->servername, name_len);
    wr_u8(w, s->psk_identity_len);
    wr_bytes(w, s->psk_identity, s->psk_identity_len);
    wr_u16(w, (uint16_t)s->peer_cert_len);
    wr_bytes(w, s->peer_cert, s->peer_cert_len);
    if (with_ticket) {
        wr_u16(w, (uint16_t)s->ticket_len);
        wr_bytes(w, s->ticket, s->ticket_len);
    }
    return wr_ok(w) && name_len <= 255 && s->peer_cert_len <= SESSION_PEER_CERT_MAX
        && s->ticket_len <= SESSION_TICKET_MAX;
}

bool session_decode(dtls_session *s, const uint8_t *p, size_t len, bool with_ticket)
{
    memset(s, 0, sizeof *s);
    dtls_rd r = rd_init(p, len);
    uint8_t format = rd_u8(&r);
    s->version = rd_u16(&r);
    s->suite_id = rd_u16(&r);
    uint8_t flags = rd_u8(&r);
    rd_copy(&r, s->auth_context, sizeof s->auth_context);
    rd_copy(&r, s->master_secret, 48);
    s->created_ms = rd_uint(&r, 8);
    s->lifetime_s = (uint32_t)rd_uint(&r, 4);
    dtls_rd sid = rd_vec(&r, 1);
    dtls_rd name = rd_vec(&r, 1);
    dtls_rd identity = rd_vec(&r, 1);
    dtls_rd cert = rd_vec(&r, 2);
    dtls_rd ticket = with_ticket ? rd_vec(&r, 2) : rd_init(NULL, 0);
    bool ok = rd_done(&r) && format == SESSION_FORMAT && (flags & ~(SESSION_FLAG_EMS | SESSION_FLAG_VERIFIED)) == 0
           && sid.len <= SESSION_ID_MAX && identity.len <= sizeof s->psk_identity
           && cert.len <= SESSION_PEER_CERT_MAX && ticket.len <= SESSION_TICKET_MAX
           && !memchr(name.p, 0, name.len);
    if (ok) {
        s->ems = flags & SESSION_FLAG_EMS;
        s->verified = flags & SESSION_FLAG_VERIFIED;
        s->session_id_len = (uint8_t)sid.len;
        memcpy(s->session_id, sid.p, sid.len);
        memcpy(s->servername, name.p, name.len);
        s->servername[name.len] = '\0';
        s->psk_identity_len = (uint8_t)identity.len;
        memcpy(s->psk_identity, identity.p, identity.len);
        ok = dup_bytes(&s->peer_cert, cert.p, cert.len) == 0
          && dup_bytes(&s->ticket, ticket.p, ticket.len) == 0;
        s->peer_cert_len = s->peer_cert ? cert.len : 0;
        s->ticket_len = s->ticket ? ticket.len : 0;
    }
    if (!ok)
        session_clear(s);
    return ok;
}

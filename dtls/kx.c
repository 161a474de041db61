/* kx.c — key-exchange pieces both roles share: the Certificate message,
 * ECDHE parameters and shared secrets, and the PSK premaster secret
 * (RFC 5246 7.4.2, RFC 8422 5.4, RFC 4279 2, RFC 5489 2). */
#include "internal.h"

#include <string.h>
#include <openssl/crypto.h>

#include "keyex.h"

int kx_write_certificate(dtls_conn *c, bool empty)
{
    const dtls_chain *chain = &c->cfg->chain;
    size_t total = 3;
    for (size_t i = 0; !empty && i < chain->n; i++)
        total += 3 + chain->der_len[i];
    dtls_wr w = flight_msg_begin(c, total);
    size_t mark = wr_vec_begin(&w, 3);
    for (size_t i = 0; !empty && i < chain->n; i++) {
        size_t m = wr_vec_begin(&w, 3);
        wr_bytes(&w, chain->der[i], chain->der_len[i]);
        wr_vec_end(&w, m, 3);
    }
    wr_vec_end(&w, mark, 3);
    return flight_msg_end(c, HT_CERTIFICATE, &w);
}

/* Returns 0 or an alert; *empty tells whether the list was empty. */
int kx_parse_certificate(dtls_conn *c, const hs_msg *m, bool *empty)
{
    dtls_hs *hs = c->hs;
    dtls_rd r = rd_init(m->body, m->len);
    dtls_rd list = rd_vec(&r, 3);
    if (!rd_done(&r))
        return DTLS_ALERT_DECODE_ERROR;
    *empty = list.len == 0;
    while (rd_left(&list) > 0) {
        dtls_rd der = rd_vec(&list, 3);
        if (!rd_ok(&der) || der.len == 0)
            return DTLS_ALERT_DECODE_ERROR;
        if (dtls_chain_push_der(&hs->peer_chain, der.p, der.len) != 0)
            return DTLS_ALERT_BAD_CERTIFICATE;
        if (hs->peer_chain.n > 10)
            return DTLS_ALERT_BAD_CERTIFICATE;
    }
    if (!rd_ok(&list))
        return DTLS_ALERT_DECODE_ERROR;
    if (!*empty) {
        EVP_PKEY_free(hs->peer_key);
        hs->peer_key = X509_get_pubkey(hs->peer_chain.certs[0]);
        if (!hs->peer_key)
            return DTLS_ALERT_UNSUPPORTED_CERTIFICATE;
    }
    return 0;
}

/* ECParameters + our point (RFC 8422 5.4): a fresh key on hs->group. */
int kx_write_ecdhe_params(dtls_conn *c, dtls_wr *w)
{
    dtls_hs *hs = c->hs;
    EVP_PKEY_free(hs->ecdhe);
    hs->ecdhe = dtls_ecdhe_generate(hs->group, hs->ecdhe_pub, &hs->ecdhe_pub_len);
    if (!hs->ecdhe)
        return DTLS_ERR_INTERNAL;
    wr_u8(w, 3); /* named_curve */
    wr_u16(w, hs->group);
    wr_u8(w, (uint8_t)hs->ecdhe_pub_len);
    wr_bytes(w, hs->ecdhe_pub, hs->ecdhe_pub_len);
    return wr_ok(w) ? DTLS_OK : DTLS_ERR_INTERNAL;
}

/* Our key with the peer's point: the premaster (ECDHE) or the "other
 * secret" of ECDHE_PSK, into out. Returns 0 or an alert. */
int kx_ecdhe_secret(dtls_conn *c, const uint8_t *point, size_t len, uint8_t *out, size_t *out_len)
{
    dtls_hs *hs = c->hs;
    if (len == 0)
        return DTLS_ALERT_DECODE_ERROR;
    if (dtls_ecdhe_derive(hs->group, hs->ecdhe, point, len, out, out_len) != 0)
        return DTLS_ALERT_ILLEGAL_PARAMETER;
    EVP_PKEY_free(hs->ecdhe);
    hs->ecdhe = NULL;
    return 0;
}

/* RFC 4279 2: other_secret<2> || psk<2>, where other_secret is N zero
 * bytes for plain PSK, or the ECDH result for ECDHE_PSK (RFC 5489 2). */
int kx_psk_premaster(dtls_hs *hs, const uint8_t *other, size_t other_len,
                     const uint8_t *psk, size_t psk_len)
{
    if (psk_len > MAX_PSK_KEY || other_len > DTLS_MAX_ECDH_SECRET + MAX_PSK_KEY)
        return DTLS_ERR_INTERNAL;
    dtls_wr w = wr_init(hs->premaster, sizeof hs->premaster);
    wr_u16(&w, (uint16_t)(other ? other_len : psk_len));
    if (other)
        wr_bytes(&w, other, other_len);
    else
        for (size_t i = 0; i < psk_len; i++)
            wr_u8(&w, 0);
    wr_u16(&w, (uint16_t)psk_len);
    wr_bytes(&w, psk, psk_len);
    if (!wr_ok(&w))
        return DTLS_ERR_INTERNAL;
    hs->premaster_len = w.len;
    return DTLS_OK;
}

/* Remember who authenticated with a PSK, for the host to see. */
int kx_keep_psk_identity(dtls_conn *c, const uint8_t *id, size_t len)
{
    free(c->psk_identity);
    c->psk_identity = malloc(len ? len : 1);
    if (!c->psk_identity)
        return DTLS_ERR_INTERNAL;
    memcpy(c->psk_identity, id, len);
    c->psk_identity_len = len;
    return DTLS_OK;
}

/* protect.c — dispatch of record protection to the AEAD or CBC-HMAC
 * construction of the negotiated suite (protect.h). Holds no crypto of its
 * own: aead.c and cbc.c do the work. */
#include "protect.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

int protect_init(dtls_protect *p, const dtls_suite *s, const dtls_key_slices *k, int encrypt,
                 int etm)
{
    protect_cleanup(p);
    if (s->cbc != DTLS_CBC_NONE) {
        if (!(p->u.cbc = calloc(1, sizeof *p->u.cbc)))
            return -1;
        p->kind = PROTECT_CBC; /* from here on, cleanup frees it */
        return dtls_cbc_init(p->u.cbc, s->cbc, k->key, k->mac_key, encrypt, etm) == 0 ? 0 : -1;
    }
    if (dtls_aead_init(&p->u.aead, s->aead, k->key, k->iv, encrypt) != 0)
        return -1;
    p->kind = PROTECT_AEAD;
    return 0;
}

void protect_cleanup(dtls_protect *p)
{
    if (p->kind == PROTECT_CBC && p->u.cbc) {
        dtls_cbc_cleanup(p->u.cbc);
        free(p->u.cbc);
    } else if (p->kind == PROTECT_AEAD)
        dtls_aead_cleanup(&p->u.aead);
    OPENSSL_cleanse(p, sizeof *p);
}

void protect_move(dtls_protect *dst, dtls_protect *src)
{
    protect_cleanup(dst);
    memcpy(dst, src, sizeof *dst);
    memset(src, 0, sizeof *src);
}

size_t protect_overhead_max(const dtls_protect *p)
{
    if (p->kind == PROTECT_CBC)
        return dtls_cbc_overhead_max(p->u.cbc);
    return p->kind == PROTECT_AEAD ? dtls_aead_overhead(&p->u.aead) : 0;
}

size_t protect_sealed_len(const dtls_protect *p, size_t len)
{
    if (p->kind == PROTECT_CBC)
        return dtls_cbc_sealed_len(p->u.cbc, len);
    return len + (p->kind == PROTECT_AEAD ? dtls_aead_overhead(&p->u.aead) : 0);
}

/* Sealing and opening have one shape in both constructions. */
typedef int (*cbc_fn)(dtls_cbc *, uint64_t, uint8_t, uint16_t, const uint8_t *, size_t, uint8_t *,
                      size_t *);
typedef int (*aead_fn)(dtls_aead *, uint64_t, uint8_t, uint16_t, const uint8_t *, size_t, uint8_t *,
                       size_t *);

static int protect_run(dtls_protect *p, cbc_fn cbc, aead_fn aead, uint64_t epoch_seq, uint8_t type,
                       uint16_t version, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    if (p->kind == PROTECT_CBC)
        return cbc(p->u.cbc, epoch_seq, type, version, in, len, out, out_len);
    if (p->kind == PROTECT_AEAD)
        return aead(&p->u.aead, epoch_seq, type, version, in, len, out, out_len);
    return -1;
}

int protect_seal(dtls_protect *p, uint64_t epoch_seq, uint8_t type, uint16_t version,
                 const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    return protect_run(p, dtls_cbc_seal, dtls_aead_seal, epoch_seq, type, version, in, len, out,
                       out_len);
}

int protect_open(dtls_protect *p, uint64_t epoch_seq, uint8_t type, uint16_t version,
                 const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    return protect_run(p, dtls_cbc_open, dtls_aead_open, epoch_seq, type, version, in, len, out,
                       out_len);
}

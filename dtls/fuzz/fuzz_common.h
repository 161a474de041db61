/* fuzz_common.h — shared set-up for the libFuzzer targets: one server
 * identity made once, an in-memory pair to bring a connection to the state
 * a target wants, and splitting fuzz input into datagrams (u16 length
 * prefixes), so one input is a whole sequence of hostile datagrams. */
#ifndef DTLS_FUZZ_COMMON_H
#define DTLS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtls/dtls.h"

static char *fuzz_cert, *fuzz_key;

static inline void fuzz_identity(void)
{
    char err[128];
    if (!fuzz_cert && dtls_make_self_signed("localhost", 30, &fuzz_cert, &fuzz_key, err, sizeof err) != DTLS_OK)
        abort();
}

/* Call fn(datagram) for each length-prefixed piece of data. */
static inline void fuzz_datagrams(const uint8_t *data, size_t size, void (*fn)(const uint8_t *, size_t))
{
    while (size >= 2) {
        size_t len = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        fn(data, len);
        data += len;
        size -= len;
    }
}

/* Callbacks for a config whose output no one reads. */
static inline void fuzz_no_send(void *user, const uint8_t *d, size_t len)
{
    (void)user;
    (void)d;
    (void)len;
}

static inline void fuzz_no_event(void *user, const dtls_event *ev)
{
    (void)user;
    (void)ev;
}

/* Reading a structured fuzz input field by field: past the end every read
 * yields zeros, so a short input is still a valid (shorter) program. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

static inline uint8_t in_u8(fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t in_u16(fuzz_in *in)
{
    uint16_t hi = in_u8(in);
    return (uint16_t)(hi << 8 | in_u8(in));
}

/* Up to want bytes in place; *got says how many there were. */
static inline const uint8_t *in_bytes(fuzz_in *in, size_t want, size_t *got)
{
    const uint8_t *p = in->p;
    *got = want < in->n ? want : in->n;
    in->p += *got;
    in->n -= *got;
    return p;
}

/* CIDs from a fixed pattern (0xC0, 0xC1, ...), so inputs can carry the
 * ones an association really uses. */
static inline int fuzz_cid_gen(void *user, uint8_t *cid, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++)
        cid[i] = (uint8_t)(0xC0 + i);
    return 0;
}

#endif

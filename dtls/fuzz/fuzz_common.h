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

#endif

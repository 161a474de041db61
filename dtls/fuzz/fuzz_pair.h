/* fuzz_pair.h — bringing an in-memory pair (tests/pair.h) to the state a
 * target starts from: the server connection just made by a cookie-checked
 * ClientHello, or both ends established. What is still queued is dropped,
 * so the target alone decides what each engine sees next. */
#ifndef DTLS_FUZZ_PAIR_H
#define DTLS_FUZZ_PAIR_H

#include "fuzz_common.h"
#include "../tests/pair.h"

/* Drop every datagram still on its way. */
static inline void fuzz_pair_drain(pair *p)
{
    for (int side = 0; side < 2; side++) {
        pair_side *s = side ? &p->server : &p->client;
        for (size_t i = 0; i < s->inbox.n; i++)
            free(s->inbox.d[i].bytes);
        s->inbox.n = 0;
    }
}

static inline bool fuzz_server_exists(pair *p)
{
    return p->server.conn != NULL;
}

/* A fresh pair run until the server has its connection (the client's
 * second ClientHello, with the cookie, processed); false if it never does. */
static inline bool fuzz_pair_past_cookie(pair *p, dtls_config *ccfg, dtls_config *scfg)
{
    pair_init(p, ccfg, scfg, 1);
    dtls_conn_start(p->client.conn, p->now);
    bool ok = pair_run(p, fuzz_server_exists, 3000);
    fuzz_pair_drain(p);
    return ok;
}

/* A fresh pair run to an established association on both sides. */
static inline bool fuzz_pair_established(pair *p, dtls_config *ccfg, dtls_config *scfg)
{
    pair_init(p, ccfg, scfg, 1);
    dtls_conn_start(p->client.conn, p->now);
    bool ok = pair_run(p, pair_both_established, 5000);
    pair_run(p, pair_never, 0);
    fuzz_pair_drain(p);
    return ok;
}

#endif

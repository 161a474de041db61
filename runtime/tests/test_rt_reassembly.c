/* test_rt_reassembly.c — maxReassemblyBytes bounds what all of a server's
 * handshakes hold for fragmented messages (issue 12.1, the cap per
 * server). Two PSK servers on 127.0.0.1, one at the default cap and one at
 * the minimum (64 KiB); eight handshakes from eight ports of ::1 (handed to
 * each server's datagram handler in-process, as in test_rt_budget) stall
 * after their cookie, and each then sends one datagram of 1-byte fragments
 * of the message it owes, scattered over 32 KiB: about 38 KB asked per
 * handshake. The default server holds it all (server:stats().
 * reassemblyBytes); the capped one holds no more than its cap plus each
 * handshake's reserve for the message it waits for, and a real client
 * still gets through it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"
#include "rt_test.h"

enum { STALLED = 8, FRAGMENTS = 64, MESSAGE_LEN = 32768, FIRST_PORT = 20000 };

static rt_loop *loop;

/* One epoch-0 record of FRAGMENTS 1-byte fragments of ClientKeyExchange
 * (message_seq 2: the client's hellos were 0 and 1), 512 bytes apart in a
 * message claiming MESSAGE_LEN (RFC 6347 4.2.3 framing, written out). */
static size_t scattered_fragments(uint8_t *out)
{
    size_t n = 0;
    const size_t body = FRAGMENTS * (12 + 1);
    const uint8_t header[13] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0x01, 0xf4,
                                 (uint8_t)(body >> 8), (uint8_t)body };
    memcpy(out, header, sizeof header);
    n += sizeof header;
    for (unsigned i = 0; i < FRAGMENTS; i++) {
        uint32_t off = i * 512;
        const uint8_t frag[13] = { 16, (uint8_t)(MESSAGE_LEN >> 16), (uint8_t)(MESSAGE_LEN >> 8),
                                   (uint8_t)MESSAGE_LEN, 0, 2, (uint8_t)(off >> 16),
                                   (uint8_t)(off >> 8), (uint8_t)off, 0, 0, 1, 0xAA };
        memcpy(out + n, frag, sizeof frag);
        n += sizeof frag;
    }
    return n;
}

/* STALLED handshakes from ::1, each then asking for reassembly memory;
 * returns what the server holds for them. */
static uint64_t attack(rt_server *server)
{
    uint8_t dgram[13 + FRAGMENTS * 13];
    size_t len = scattered_fragments(dgram);
    for (int i = 0; i < STALLED; i++) {
        rt_addr from;
        CHECK(rt_addr_parse(&from, 6, "::1", FIRST_PORT + i) == 0);
        CHECK(rt_test_stalled_handshake(loop, server, &from));
        server->ep->on_datagram(server->ep, &from, dgram, len);
    }
    rt_server_stats st;
    rt_server_stats_get(server, &st);
    CHECK(st.handshaking == STALLED);
    return st.reassembly_bytes;
}

int main(void)
{
    loop = rt_loop_new();
    rt_handlers sh = { .psk_lookup = rt_test_psk_lookup };
    rt_tls_options so;
    int port = 0;

    rt_test_psk_options(&so, NULL);
    rt_server *uncapped = rt_test_server(loop, &so, &sh, &port);
    uint64_t held = attack(uncapped);
    fprintf(stderr, "default maxReassemblyBytes: %d stalled handshakes hold %llu bytes\n", STALLED,
            (unsigned long long)held);
    /* each asked a chunk of 512 + 64 for each fragment, and the index */
    CHECK(held >= (uint64_t)STALLED * FRAGMENTS * 576);
    rt_server_close(uncapped);

    rt_test_psk_options(&so, NULL);
    so.max_reassembly_bytes = RT_MIN_REASSEMBLY_BYTES;
    rt_server *capped = rt_test_server(loop, &so, &sh, &port);
    held = attack(capped);
    fprintf(stderr, "maxReassemblyBytes %u: %d stalled handshakes hold %llu bytes\n",
            RT_MIN_REASSEMBLY_BYTES, STALLED, (unsigned long long)held);
    CHECK(held >= RT_MIN_REASSEMBLY_BYTES - 1200);
    CHECK(held <= RT_MIN_REASSEMBLY_BYTES + (uint64_t)STALLED * DTLS_REASSEMBLY_RESERVE);

    /* a real client from 127.0.0.1 still gets through the capped server */
    CHECK(rt_test_legit_client_connects(loop, capped, port));
    rt_loop_free(loop);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

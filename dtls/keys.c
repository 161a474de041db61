/* keys.c — from premaster secret to record keys and Finished values
 * (RFC 5246 8.1, 6.3, 7.4.9; RFC 7627 4 for the extended master secret).
 * Every intermediate secret is wiped as soon as it has been used. */
#include "internal.h"

#include <string.h>
#include <openssl/crypto.h>

#include "prf.h"

/* Fetched once: the legacy EVP_sha256() pointer makes every EVP_Digest
 * look the implementation up again (OpenSSL 3 method store). */
static EVP_MD *prf_sha256, *prf_sha384, *md5_sha1;
static CRYPTO_ONCE prf_md_once = CRYPTO_ONCE_STATIC_INIT;

static void prf_md_fetch(void)
{
    prf_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    prf_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    md5_sha1 = EVP_MD_fetch(NULL, "MD5-SHA1", NULL);
}

/* DTLS 1.0 is TLS 1.1 (RFC 4347): its PRF is P_MD5 xor P_SHA1 whatever the
 * suite (RFC 4346 5), which dtls_prf takes as a NULL hash. */
const EVP_MD *keys_prf_md(uint16_t version, const dtls_suite *s)
{
    if (version == DTLS1_0_VERSION)
        return NULL;
    bool sha384 = s && s->prf_sha384;
    if (CRYPTO_THREAD_run_once(&prf_md_once, prf_md_fetch) && prf_sha256 && prf_sha384)
        return sha384 ? prf_sha384 : prf_sha256;
    return sha384 ? EVP_sha384() : EVP_sha256();
}

/* What Finished and the extended master secret hash the transcript with:
 * MD5(m) || SHA-1(m) in DTLS 1.0 (RFC 4346 7.4.9, RFC 7627 3), else the
 * PRF hash (RFC 5246 7.4.9). */
const EVP_MD *keys_transcript_md(uint16_t version, const dtls_suite *s)
{
    if (version != DTLS1_0_VERSION)
        return keys_prf_md(version, s);
    if (CRYPTO_THREAD_run_once(&prf_md_once, prf_md_fetch) && md5_sha1)
        return md5_sha1;
    return EVP_md5_sha1();
}

int keys_master_secret(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    const EVP_MD *md = keys_prf_md(c->version, hs->suite);
    int rc;
    if (hs->peer_ems && c->cfg->ems) {
        /* session_hash covers the transcript through ClientKeyExchange. */
        uint8_t session_hash[EVP_MAX_MD_SIZE];
        size_t n = 0;
        if (transcript_hash(c, session_hash, &n) != DTLS_OK)
            return DTLS_ERR_INTERNAL;
        rc = dtls_prf(md, hs->premaster, hs->premaster_len, "extended master secret",
                      session_hash, n, NULL, 0, hs->master_secret, 48);
    } else {
        rc = dtls_prf(md, hs->premaster, hs->premaster_len, "master secret",
                      hs->client_random, 32, hs->server_random, 32, hs->master_secret, 48);
    }
    OPENSSL_cleanse(hs->premaster, sizeof hs->premaster);
    hs->premaster_len = 0;
    if (rc == 0 && c->cfg->cb.keylog)
        keys_log_master(c);
    return rc == 0 ? DTLS_OK : DTLS_ERR_INTERNAL;
}

/* NSS key log format (what SSLKEYLOGFILE readers such as Wireshark take):
 * the client_random names the session, the master secret decrypts it. */
void keys_log_master(dtls_conn *c)
{
    static const char digits[] = "0123456789abcdef";
    char line[sizeof "CLIENT_RANDOM " + 64 + 1 + 96];
    size_t n = 0;
    memcpy(line, "CLIENT_RANDOM ", 14);
    n = 14;
    for (size_t i = 0; i < 32; i++) {
        line[n++] = digits[c->hs->client_random[i] >> 4];
        line[n++] = digits[c->hs->client_random[i] & 15];
    }
    line[n++] = ' ';
    for (size_t i = 0; i < 48; i++) {
        line[n++] = digits[c->hs->master_secret[i] >> 4];
        line[n++] = digits[c->hs->master_secret[i] & 15];
    }
    line[n] = '\0';
    c->cfg->cb.keylog(c->user, line);
    OPENSSL_cleanse(line, sizeof line);
}

/* Derive the key block and key both directions: write keys wait in the
 * handshake for our ChangeCipherSpec (the current ones stay in use until
 * then during a renegotiation), read keys in pending_rd_prot for the
 * peer's. AEAD suites have no MAC keys, CBC suites no IVs (RFC 5246 6.3). */
int keys_install(dtls_conn *c)
{
    dtls_hs *hs = c->hs;
    dtls_key_layout l = dtls_suite_key_layout(hs->suite);
    uint8_t block[DTLS_MAX_KEY_BLOCK];
    if (l.total > sizeof block
        || dtls_prf(keys_prf_md(c->version, hs->suite), hs->master_secret, 48, "key expansion",
                    hs->server_random, 32, hs->client_random, 32, block, l.total) != 0)
        return DTLS_ERR_INTERNAL;
    bool client = c->role == DTLS_ROLE_CLIENT;
    dtls_key_slices mine = dtls_key_block_slices(&l, block, client);
    dtls_key_slices theirs = dtls_key_block_slices(&l, block, !client);
    /* RFC 7366 3: Encrypt-then-MAC applies to CBC suites only, when both
     * hellos carried the extension. */
    bool etm = hs->peer_etm && hs->suite->cbc != DTLS_CBC_NONE;
    protect_cleanup(&hs->pending_wr_prot);
    protect_cleanup(&c->pending_rd_prot);
    int ok = protect_init(&hs->pending_wr_prot, hs->suite, &mine, 1, etm) == 0
          && protect_init(&c->pending_rd_prot, hs->suite, &theirs, 0, etm) == 0;
    OPENSSL_cleanse(block, sizeof block);
    if (!ok)
        return DTLS_ERR_INTERNAL;
    c->pending_rd_ready = true;
    /* What the host sees as in use: in a renegotiation, the new suite only
     * once it completes (reneg_established). */
    if (!hs->reneg) {
        c->suite = hs->suite;
        c->etm = etm;
    }
    return DTLS_OK;
}

/* The peer's Finished (RFC 5246 7.4.9): 12 bytes, compared in constant
 * time. Returns DTLS_OK, or the error after failing the connection. */
int keys_check_finished(dtls_conn *c, const hs_msg *m)
{
    uint8_t want[12];
    bool from_client = c->role == DTLS_ROLE_SERVER;
    if (m->len != sizeof want)
        return conn_fail(c, DTLS_ALERT_DECODE_ERROR, "Finished of the wrong length");
    if (keys_finished(c, from_client, want) != DTLS_OK)
        return conn_fail(c, DTLS_ALERT_INTERNAL_ERROR, "Finished computation failed");
    int differs = CRYPTO_memcmp(want, m->body, sizeof want);
    OPENSSL_cleanse(want, sizeof want);
    if (differs)
        return conn_fail(c, DTLS_ALERT_DECRYPT_ERROR, "the peer's Finished does not verify");
    return DTLS_OK;
}

/* Also kept in the handshake: the next handshake's renegotiation_info
 * carries both (RFC 5746 3.1). */
int keys_finished(dtls_conn *c, bool client, uint8_t out[12])
{
    uint8_t hash[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (transcript_hash(c, hash, &n) != DTLS_OK)
        return DTLS_ERR_INTERNAL;
    if (dtls_prf(keys_prf_md(c->version, c->hs->suite), c->hs->master_secret, 48,
                 client ? "client finished" : "server finished",
                 hash, n, NULL, 0, out, 12) != 0)
        return DTLS_ERR_INTERNAL;
    if (out != c->hs->verify_data_client && out != c->hs->verify_data_server)
        memcpy(client ? c->hs->verify_data_client : c->hs->verify_data_server, out, 12);
    return DTLS_OK;
}

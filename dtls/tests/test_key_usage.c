/* test_key_usage.c — RFC 5246 7.4.2 and 7.4.6: a certificate's key usage
 * extension says what its key may do, and a suite may use a key only so.
 * ECDHE_ECDSA and ECDHE_RSA sign with it (digitalSignature), RSA key
 * transport encrypts the premaster to it (keyEncipherment), a client signs
 * CertificateVerify with its own (digitalSignature).
 *   - the server picks only suites its certificate allows (each case has a
 *     control without the extension that picks the other suite), and a
 *     configuration left with none is refused with a reason;
 *   - the client refuses a server certificate that does not allow what the
 *     chosen suite does: the tap puts, in the server's Certificate, a
 *     certificate of the same length for the same key whose key usage says
 *     otherwise; the client answers unsupported_certificate before sending
 *     anything of its own (without the check the handshake would go on and
 *     fail only at Finished, with another alert);
 *   - a client whose certificate may not sign sends none when asked
 *     (RFC 5246 7.4.6), and a server refuses one that may not sign;
 *   - a certificate whose extensions do not parse (two subjectAltName) is
 *     refused as a server's own, and as a peer's with bad_certificate.
 */
#include "internal.h"
#include "unit.h"
#include "pair.h"
#include "test_certs.h"

static EVP_PKEY *rsa_key, *ec_key;

/* The DER of a PEM certificate (caller frees). */
static uint8_t *cert_der(const char *pem, size_t *len)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    uint8_t *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    *len = n > 0 ? (size_t)n : 0;
    X509_free(x);
    BIO_free(b);
    return der;
}

static dtls_config *server_config(EVP_PKEY *key, const char *cert, const char *ciphers)
{
    dtls_config *cfg = dtls_config_new();
    char *kp = test_key_pem(key), err[256];
    CHECK(dtls_config_set_cert_chain_pem(cfg, cert, strlen(cert), err, sizeof err) == DTLS_OK);
    CHECK(dtls_config_set_key_pem(cfg, kp, strlen(kp), err, sizeof err) == DTLS_OK);
    if (ciphers)
        CHECK(dtls_config_set_ciphers(cfg, ciphers, err, sizeof err) == DTLS_OK);
    free(kp);
    return cfg;
}

static dtls_config *client_config(const char *ciphers)
{
    dtls_config *cfg = dtls_config_new();
    char err[256];
    dtls_config_set_verify_peer(cfg, 0); /* the key usage check needs no chain */
    CHECK(dtls_config_set_ciphers(cfg, ciphers, err, sizeof err) == DTLS_OK);
    return cfg;
}

/* The suite a handshake agrees on, "" when none completes. */
static const char *agreed(dtls_config *c, dtls_config *s, char *out, size_t cap)
{
    pair p;
    pair_init(&p, c, s, 7);
    CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
    bool up = pair_run(&p, pair_both_established, 5000);
    snprintf(out, cap, "%s", up ? dtls_conn_cipher_name(p.client.conn) : "");
    pair_free(&p);
    return out;
}

/* The server's preference puts the suite its key usage forbids first. */
static void test_server_picks_allowed_suites(void)
{
    const char *both = "AES128-SHA:ECDHE-RSA-AES128-SHA";
    char *plain = test_cert_pem(rsa_key, NULL);
    char *sign_only = test_cert_pem(rsa_key, "critical,digitalSignature");
    char *enc_only = test_cert_pem(rsa_key, "critical,keyEncipherment");
    char got[64];
    struct {
        const char *cert, *server_ciphers, *want;
    } cases[] = {
        { plain, both, "AES128-SHA" },                      /* control */
        { sign_only, both, "ECDHE-RSA-AES128-SHA" },
        { plain, "ECDHE-RSA-AES128-SHA:AES128-SHA", "ECDHE-RSA-AES128-SHA" }, /* control */
        { enc_only, "ECDHE-RSA-AES128-SHA:AES128-SHA", "AES128-SHA" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dtls_config *s = server_config(rsa_key, cases[i].cert, cases[i].server_ciphers);
        dtls_config *c = client_config(both);
        agreed(c, s, got, sizeof got);
        CHECK(strcmp(got, cases[i].want) == 0);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "  case %zu: agreed on '%s', want %s\n", i, got, cases[i].want);
        dtls_config_free(c);
        dtls_config_free(s);
    }
    free(plain);
    free(sign_only);
    free(enc_only);
}

/* A configuration whose certificate allows no suite it names is refused
 * when built, and the reason names the key usage. */
static void test_config_refused(void)
{
    char err[256] = "";
    char *enc_only = test_cert_pem(rsa_key, "critical,keyEncipherment");
    dtls_config *s = server_config(rsa_key, enc_only, NULL); /* default suites: ECDHE only */
    CHECK(dtls_config_check(s, DTLS_ROLE_SERVER, err, sizeof err) == DTLS_ERR_ARG);
    CHECK(strstr(err, "does not allow digitalSignature") != NULL);
    dtls_config_free(s);
    char *sign_only = test_cert_pem(rsa_key, "critical,digitalSignature");
    s = server_config(rsa_key, sign_only, "AES128-SHA");
    CHECK(dtls_config_check(s, DTLS_ROLE_SERVER, err, sizeof err) == DTLS_ERR_ARG);
    CHECK(strstr(err, "does not allow keyEncipherment") != NULL);
    dtls_config_free(s);
    char *rsa_agree = test_cert_pem(rsa_key, "critical,keyAgreement");
    s = server_config(rsa_key, rsa_agree, "AES128-SHA:ECDHE-RSA-AES128-SHA");
    CHECK(dtls_config_check(s, DTLS_ROLE_SERVER, err, sizeof err) == DTLS_ERR_ARG);
    CHECK(strstr(err, "neither digitalSignature") != NULL);
    dtls_config_free(s);
    /* an EC key: RSA key transport is not a question */
    char *agree_only = test_cert_pem(ec_key, "critical,keyAgreement");
    s = server_config(ec_key, agree_only, NULL);
    CHECK(dtls_config_check(s, DTLS_ROLE_SERVER, err, sizeof err) == DTLS_ERR_ARG);
    CHECK(strstr(err, "does not allow digitalSignature") != NULL && strstr(err, "keyEncipherment") == NULL);
    dtls_config_free(s);
    char *broken = test_cert_pem_ext(ec_key, NULL, true);
    s = server_config(ec_key, broken, NULL);
    CHECK(dtls_config_check(s, DTLS_ROLE_SERVER, err, sizeof err) == DTLS_ERR_ARG);
    CHECK(strstr(err, "extensions do not parse") != NULL);
    dtls_config_free(s);
    /* the same key without the extension is fine */
    char *plain = test_cert_pem(ec_key, NULL);
    s = server_config(ec_key, plain, NULL);
    CHECK(dtls_config_check(s, DTLS_ROLE_SERVER, err, sizeof err) == DTLS_OK);
    dtls_config_free(s);
    free(enc_only);
    free(sign_only);
    free(rsa_agree);
    free(agree_only);
    free(broken);
    free(plain);
}

/* A peer certificate whose extensions do not parse: bad_certificate, not a
 * key usage verdict. */
static void test_invalid_extensions(void)
{
    char *broken = test_cert_pem_ext(ec_key, "critical,digitalSignature", true);
    char *fine = test_cert_pem(ec_key, "critical,digitalSignature");
    const char *why = NULL;
    for (int i = 0; i < 2; i++) {
        BIO *b = BIO_new_mem_buf(i ? broken : fine, -1);
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        CHECK(x != NULL);
        int alert = x ? dtls_cert_key_usage_alert(x, DTLS_KU_SIGN, &why) : -1;
        CHECK(alert == (i ? DTLS_ALERT_BAD_CERTIFICATE : 0));
        X509_free(x);
        BIO_free(b);
    }
    CHECK(why != NULL && strstr(why, "do not parse") != NULL);
    free(broken);
    free(fine);
}

/* Swaps one certificate's DER for another of the same length in the
 * server's flight (both are plaintext handshake bytes in epoch 0). */
static const uint8_t *swap_from, *swap_to;
static size_t swap_len, swaps;

static void swap_tap(pair *p, bool to_server, uint8_t *b, size_t *len)
{
    (void)p;
    if (to_server || *len < swap_len)
        return;
    for (size_t i = 0; i + swap_len <= *len; i++)
        if (memcmp(b + i, swap_from, swap_len) == 0) {
            memcpy(b + i, swap_to, swap_len);
            swaps++;
        }
}

static void client_refuses(EVP_PKEY *key, const char *suite, const char *served_ku,
                           const char *shown_ku)
{
    char *served = NULL, *shown = NULL;
    size_t a_len = 0, b_len = 1;
    uint8_t *a = NULL, *b = NULL;
    /* ECDSA signatures vary in length by a byte or two: try again until
     * the two certificates match (RSA ones always do). */
    for (int tries = 0; tries < 64 && a_len != b_len; tries++) {
        free(served);
        free(shown);
        OPENSSL_free(a);
        OPENSSL_free(b);
        served = test_cert_pem(key, served_ku);
        shown = test_cert_pem(key, shown_ku);
        a = cert_der(served, &a_len);
        b = cert_der(shown, &b_len);
    }
    CHECK(a_len > 0 && a_len == b_len && memcmp(a, b, a_len) != 0);
    for (int swap = 0; swap < 2; swap++) {
        dtls_config *s = server_config(key, served, suite);
        dtls_config *c = client_config(suite);
        pair p;
        pair_init(&p, c, s, 11);
        swap_from = a;
        swap_to = b;
        swap_len = a_len;
        swaps = 0;
        if (swap)
            p.tap = swap_tap;
        CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
        bool up = pair_run(&p, pair_both_established, 5000);
        if (!swap) {
            CHECK(up); /* control: what the server serves is fine */
        } else {
            CHECK(!up && swaps >= 1);
            CHECK(p.client.closed
                  && p.client.close_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_UNSUPPORTED_CERTIFICATE));
            CHECK(p.server.nalerts == 1
                  && p.server.alerts_received[0] == DTLS_ALERT_UNSUPPORTED_CERTIFICATE);
        }
        pair_free(&p);
        dtls_config_free(c);
        dtls_config_free(s);
    }
    OPENSSL_free(a);
    OPENSSL_free(b);
    free(served);
    free(shown);
}

static void test_client_refuses_server_certificate(void)
{
    /* ECDHE_RSA: the ServerKeyExchange is signed, so digitalSignature. */
    client_refuses(rsa_key, "ECDHE-RSA-AES128-SHA", "critical,digitalSignature", "critical,keyEncipherment");
    /* RSA key transport: the premaster is encrypted, so keyEncipherment. */
    client_refuses(rsa_key, "AES128-SHA", "critical,keyEncipherment", "critical,digitalSignature");
    /* ECDHE_ECDSA: signed too; keyAgreement alone is not signing (RFC 8422 5.3). */
    client_refuses(ec_key, "ECDHE-ECDSA-AES128-GCM-SHA256", "critical,digitalSignature",
                   "critical,keyAgreement");
}

/* A client certificate whose key may not sign. Asked for one, our client
 * sends none (RFC 5246 7.4.6): a server that only requests goes on
 * without, one that requires fails with handshake_failure. And a server
 * refuses one, even unverified (requested, no CA): our client is made to
 * send it by marking its certificate as one that signs. */
static void test_client_certificate(void)
{
    char *server_cert = test_cert_pem(ec_key, NULL);
    char *signs = test_cert_pem(ec_key, "critical,digitalSignature");
    char *agrees = test_cert_pem(ec_key, "critical,keyAgreement");
    enum { SENT_FINE, NOT_SENT, NOT_SENT_REQUIRED, FORCED } kinds[] = { SENT_FINE, NOT_SENT,
                                                                       NOT_SENT_REQUIRED, FORCED };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *client_cert = kinds[i] == SENT_FINE ? signs : agrees;
        dtls_config *s = server_config(ec_key, server_cert, NULL);
        char *kp = test_key_pem(ec_key), err[256];
        if (kinds[i] == NOT_SENT_REQUIRED)
            CHECK(dtls_config_add_ca_pem(s, client_cert, strlen(client_cert), err, sizeof err) == DTLS_OK);
        dtls_config_set_request_cert(s, 1, kinds[i] == NOT_SENT_REQUIRED);
        dtls_config *c = client_config("ECDHE-ECDSA-AES128-GCM-SHA256");
        CHECK(dtls_config_set_cert_chain_pem(c, client_cert, strlen(client_cert), err, sizeof err) == DTLS_OK);
        CHECK(dtls_config_set_key_pem(c, kp, strlen(kp), err, sizeof err) == DTLS_OK);
        if (kinds[i] == FORCED)
            c->leaf_key_usage |= DTLS_KU_SIGN;
        pair p;
        pair_init(&p, c, s, 13);
        CHECK(dtls_conn_start(p.client.conn, p.now) == DTLS_OK);
        bool up = pair_run(&p, pair_both_established, 5000);
        size_t len = 0;
        switch (kinds[i]) {
        case SENT_FINE:
            CHECK(up && dtls_conn_peer_cert_der(p.server.conn, &len) != NULL && len > 0);
            break;
        case NOT_SENT:
            CHECK(up && dtls_conn_peer_cert_der(p.server.conn, &len) == NULL);
            break;
        case NOT_SENT_REQUIRED:
            CHECK(!up && p.server.closed
                  && p.server.close_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_HANDSHAKE_FAILURE));
            break;
        case FORCED:
            CHECK(!up && p.server.closed
                  && p.server.close_error == DTLS_ERR_FROM_ALERT(DTLS_ALERT_UNSUPPORTED_CERTIFICATE));
            CHECK(p.client.nalerts == 1
                  && p.client.alerts_received[0] == DTLS_ALERT_UNSUPPORTED_CERTIFICATE);
            break;
        }
        pair_free(&p);
        dtls_config_free(c);
        dtls_config_free(s);
        free(kp);
    }
    free(server_cert);
    free(signs);
    free(agrees);
}

int main(void)
{
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(rsa_key != NULL && ec_key != NULL);
    test_server_picks_allowed_suites();
    test_config_refused();
    test_client_refuses_server_certificate();
    test_invalid_extensions();
    test_client_certificate();
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    return unit_report();
}

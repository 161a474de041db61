/* test_cert.c — PEM/DER loading, key matching, chain verification with host
 * names and alerts, handshake signatures for every scheme, and the host
 * helpers of dtls.h (self-signed certificates, fingerprints, subjects). */
#include "cert.h"
#include "dtls/dtls.h"
#include "unit.h"

#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

static char *cert_pem, *key_pem;

static void test_self_signed_round_trip(void)
{
    char err[256] = "";
    CHECK(dtls_make_self_signed("dtlsrun test", 30, &cert_pem, &key_pem, err, sizeof err) == DTLS_OK);
    CHECK(cert_pem != NULL && key_pem != NULL);
    CHECK(strstr(cert_pem, "-----BEGIN CERTIFICATE-----") != NULL);
    CHECK(strstr(key_pem, "-----BEGIN PRIVATE KEY-----") != NULL);

    dtls_chain chain = { 0 };
    CHECK(dtls_chain_from_pem(&chain, cert_pem, strlen(cert_pem), err, sizeof err) == 0);
    CHECK(chain.n == 1 && chain.der_len[0] > 100);
    EVP_PKEY *key = dtls_key_from_pem(key_pem, strlen(key_pem), err, sizeof err);
    CHECK(key != NULL && EVP_PKEY_is_a(key, "EC"));
    CHECK(dtls_key_matches_cert(key, chain.certs[0]) == 1);
    CHECK(dtls_sig_scheme_fits_key(DTLS_SIG_ECDSA_SECP256R1_SHA256, key));
    CHECK(dtls_sig_scheme_fits_key(DTLS_SIG_ECDSA_SECP384R1_SHA384, key));
    CHECK(!dtls_sig_scheme_fits_key(DTLS_SIG_RSA_PSS_RSAE_SHA256, key));

    /* The DER kept is the certificate's exact encoding. */
    unsigned char *re = NULL;
    int re_len = i2d_X509(chain.certs[0], &re);
    CHECK(re_len > 0 && (size_t)re_len == chain.der_len[0]);
    CHECK_MEM(re, chain.der[0], chain.der_len[0]);
    OPENSSL_free(re);

    /* Key and certificate in one file, in either order (the usual server.pem). */
    size_t both_len = strlen(cert_pem) + strlen(key_pem);
    char *both = malloc(both_len + 1);
    snprintf(both, both_len + 1, "%s%s", key_pem, cert_pem);
    dtls_chain c2 = { 0 };
    CHECK(dtls_chain_from_pem(&c2, both, both_len, err, sizeof err) == 0 && c2.n == 1);
    EVP_PKEY *k2 = dtls_key_from_pem(both, both_len, err, sizeof err);
    CHECK(k2 != NULL && dtls_key_matches_cert(k2, c2.certs[0]) == 1);
    snprintf(both, both_len + 1, "%s%s", cert_pem, key_pem);
    EVP_PKEY *k3 = dtls_key_from_pem(both, both_len, err, sizeof err);
    CHECK(k3 != NULL && EVP_PKEY_eq(k3, key) == 1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    dtls_chain_free(&c2);
    free(both);

    /* Another key does not match; appending a second PEM grows the chain. */
    char *cert2 = NULL, *key2 = NULL;
    CHECK(dtls_make_self_signed("other", 1, &cert2, &key2, err, sizeof err) == DTLS_OK);
    EVP_PKEY *other = dtls_key_from_pem(key2, strlen(key2), err, sizeof err);
    CHECK(dtls_key_matches_cert(other, chain.certs[0]) == 0);
    CHECK(dtls_key_matches_cert(NULL, chain.certs[0]) == 0);
    CHECK(dtls_key_matches_cert(other, NULL) == 0);
    CHECK(dtls_chain_from_pem(&chain, cert2, strlen(cert2), err, sizeof err) == 0 && chain.n == 2);
    EVP_PKEY_free(other);
    free(cert2);
    free(key2);
    EVP_PKEY_free(key);
    dtls_chain_free(&chain);
    CHECK(chain.n == 0 && chain.certs == NULL);
    dtls_chain_free(&chain);
}

static void test_fingerprint_subject(void)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    char fp[96], subject[128];
    CHECK(dtls_pem_first_cert_der(cert_pem, strlen(cert_pem), &der, &der_len) == DTLS_OK);
    CHECK(der != NULL && der_len > 0);
    CHECK(dtls_cert_fingerprint_sha256(der, der_len, fp) == DTLS_OK);
    CHECK(strlen(fp) == 95);
    int format_ok = 1;
    for (int i = 0; i < 95; i++) {
        char ch = fp[i];
        if (i % 3 == 2 ? ch != ':' : !((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')))
            format_ok = 0;
    }
    CHECK(format_ok);
    /* Independently: the SHA-256 of the DER, first and last byte. */
    uint8_t md[32];
    unsigned md_len;
    char first[3], last[3];
    EVP_Digest(der, der_len, md, &md_len, EVP_sha256(), NULL);
    snprintf(first, sizeof first, "%02X", md[0]);
    snprintf(last, sizeof last, "%02X", md[31]);
    CHECK(memcmp(fp, first, 2) == 0 && memcmp(fp + 93, last, 2) == 0);

    CHECK(dtls_cert_subject(der, der_len, subject, sizeof subject) == DTLS_OK);
    CHECK(strcmp(subject, "CN=dtlsrun test") == 0);
    char small[6];
    CHECK(dtls_cert_subject(der, der_len, small, sizeof small) == DTLS_OK);
    CHECK(strcmp(small, "CN=dt") == 0);
    CHECK(dtls_cert_subject((const uint8_t *)"junk", 4, subject, sizeof subject) != DTLS_OK);
    CHECK(dtls_cert_fingerprint_sha256(NULL, 0, fp) != DTLS_OK);
    free(der);

    CHECK(dtls_pem_first_cert_der("nothing here", 12, &der, &der_len) != DTLS_OK);
    CHECK(der == NULL);
    CHECK(dtls_pem_first_cert_der(key_pem, strlen(key_pem), &der, &der_len) != DTLS_OK);
}

/* ---- a small PKI built in the test: root -> intermediate -> leaf -------- */

static X509 *issue(EVP_PKEY *subject_key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                   int ca, const char *san, long not_after_days)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(strlen(cn) * 7919 + (size_t)ca));
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400 * not_after_days);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    X509_set_pubkey(x, subject_key);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints,
                                             ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    if (ca) {
        e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (san) {
        e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_alt_name, san);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    X509_sign(x, issuer_key ? issuer_key : subject_key, EVP_sha256());
    return x;
}

static void push_x509(dtls_chain *chain, X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    CHECK(len > 0 && dtls_chain_push_der(chain, der, (size_t)len) == 0);
    OPENSSL_free(der);
}

static char *to_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    PEM_write_bio_X509(b, x);
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static void test_verify_self_signed(void)
{
    char err[256];
    dtls_chain chain = { 0 };
    CHECK(dtls_chain_from_pem(&chain, cert_pem, strlen(cert_pem), err, sizeof err) == 0);

    /* Untrusted: unknown_ca. */
    X509_STORE *empty = X509_STORE_new();
    err[0] = '\0';
    CHECK(dtls_chain_verify(empty, &chain, "localhost", DTLS_PURPOSE_ANY, err, sizeof err) == DTLS_ALERT_UNKNOWN_CA);
    CHECK(strlen(err) > 0);

    /* Pinned as its own trust anchor. */
    X509_STORE *store = X509_STORE_new();
    CHECK(dtls_store_add_pem(store, cert_pem, strlen(cert_pem), err, sizeof err) == 1);
    CHECK(dtls_chain_verify(store, &chain, NULL, DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "localhost", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "LOCALHOST", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "127.0.0.1", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "::1", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "example.com", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_CERTIFICATE_UNKNOWN);
    CHECK(strstr(err, "mismatch") != NULL);
    CHECK(dtls_chain_verify(store, &chain, "127.0.0.2", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_CERTIFICATE_UNKNOWN);
    /* The CN is not a DNS name to match when there are SANs. */
    CHECK(dtls_chain_verify(store, &chain, "dtlsrun test", DTLS_PURPOSE_ANY, err, sizeof err) != 0);

    /* Verified a year from now: expired. */
    X509_STORE *later = X509_STORE_new();
    CHECK(dtls_store_add_pem(later, cert_pem, strlen(cert_pem), err, sizeof err) == 1);
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(later), time(NULL) + 365L * 86400);
    CHECK(dtls_chain_verify(later, &chain, "localhost", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_CERTIFICATE_EXPIRED);

    /* No certificate at all. */
    dtls_chain none = { 0 };
    CHECK(dtls_chain_verify(store, &none, NULL, DTLS_PURPOSE_ANY, err, sizeof err) == DTLS_ALERT_BAD_CERTIFICATE);

    X509_STORE_free(later);
    X509_STORE_free(store);
    X509_STORE_free(empty);
    dtls_chain_free(&chain);
}

static void test_verify_chain(void)
{
    char err[256];
    EVP_PKEY *root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *int_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *root = issue(root_key, "Test Root", NULL, NULL, 1, NULL, 3650);
    X509 *inter = issue(int_key, "Test Intermediate", root, root_key, 1, NULL, 3650);
    X509 *leaf = issue(leaf_key, "server.test", inter, int_key, 0,
                       "DNS:server.test,DNS:*.wild.test,IP:192.0.2.7", 30);
    X509 *expired = issue(leaf_key, "old.test", inter, int_key, 0, "DNS:old.test", -1);
    char *root_pem = to_pem(root);

    X509_STORE *store = X509_STORE_new();
    CHECK(dtls_store_add_pem(store, root_pem, strlen(root_pem), err, sizeof err) == 1);

    dtls_chain chain = { 0 };
    push_x509(&chain, leaf);
    push_x509(&chain, inter);
    CHECK(dtls_chain_verify(store, &chain, "server.test", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "a.wild.test", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "a.b.wild.test", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_CERTIFICATE_UNKNOWN);
    CHECK(dtls_chain_verify(store, &chain, "192.0.2.7", DTLS_PURPOSE_ANY, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "other.test", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_CERTIFICATE_UNKNOWN);

    /* Extended key usage binds the purpose (a client-only certificate
     * cannot serve); a leaf without the extension may do either. */
    X509 *client_only = issue(leaf_key, "server.test", inter, int_key, 0, "DNS:server.test", 30);
    X509V3_CTX ectx;
    X509V3_set_ctx(&ectx, inter, client_only, NULL, NULL, 0);
    X509_EXTENSION *eku = X509V3_EXT_nconf_nid(NULL, &ectx, NID_ext_key_usage, "clientAuth");
    X509_add_ext(client_only, eku, -1);
    X509_EXTENSION_free(eku);
    X509_sign(client_only, int_key, EVP_sha256());
    dtls_chain client_chain = { 0 };
    push_x509(&client_chain, client_only);
    push_x509(&client_chain, inter);
    CHECK(dtls_chain_verify(store, &client_chain, "server.test", DTLS_PURPOSE_SERVER, err, sizeof err) != 0);
    CHECK(dtls_chain_verify(store, &client_chain, NULL, DTLS_PURPOSE_CLIENT, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, "server.test", DTLS_PURPOSE_SERVER, err, sizeof err) == 0);
    CHECK(dtls_chain_verify(store, &chain, NULL, DTLS_PURPOSE_CLIENT, err, sizeof err) == 0);
    dtls_chain_free(&client_chain);
    X509_free(client_only);

    /* Without the intermediate the issuer is unknown. */
    dtls_chain leaf_only = { 0 };
    push_x509(&leaf_only, leaf);
    CHECK(dtls_chain_verify(store, &leaf_only, "server.test", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_UNKNOWN_CA);

    /* Expired leaf. */
    dtls_chain old = { 0 };
    push_x509(&old, expired);
    push_x509(&old, inter);
    CHECK(dtls_chain_verify(store, &old, "old.test", DTLS_PURPOSE_ANY, err, sizeof err) ==
          DTLS_ALERT_CERTIFICATE_EXPIRED);

    /* A leaf signed by a key that is not the intermediate's. */
    X509 *forged = issue(leaf_key, "server.test", inter, leaf_key, 0, "DNS:server.test", 30);
    dtls_chain bad = { 0 };
    push_x509(&bad, forged);
    push_x509(&bad, inter);
    int alert = dtls_chain_verify(store, &bad, "server.test", DTLS_PURPOSE_ANY, err, sizeof err);
    CHECK(alert == DTLS_ALERT_BAD_CERTIFICATE || alert == DTLS_ALERT_DECRYPT_ERROR);

    /* A self-signed chain presented by the peer is not trusted. */
    X509_STORE *other = X509_STORE_new();
    CHECK(dtls_store_add_pem(other, cert_pem, strlen(cert_pem), err, sizeof err) == 1);
    CHECK(dtls_chain_verify(other, &chain, "server.test", DTLS_PURPOSE_ANY, err, sizeof err) == DTLS_ALERT_UNKNOWN_CA);

    /* DER that does not parse, or carries trailing bytes, is refused. */
    CHECK(dtls_chain_push_der(&bad, (const uint8_t *)"\x30\x03\x02\x01\x01", 5) == -1);
    uint8_t buf[4096];
    memcpy(buf, chain.der[0], chain.der_len[0]);
    buf[chain.der_len[0]] = 0;
    CHECK(dtls_chain_push_der(&bad, buf, chain.der_len[0] + 1) == -1);
    CHECK(dtls_chain_push_der(&bad, buf, chain.der_len[0] - 1) == -1);
    CHECK(dtls_chain_push_der(&bad, buf, 0) == -1);
    CHECK(bad.n == 2);

    dtls_chain_free(&chain);
    dtls_chain_free(&leaf_only);
    dtls_chain_free(&old);
    dtls_chain_free(&bad);
    X509_STORE_free(store);
    X509_STORE_free(other);
    free(root_pem);
    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
    X509_free(expired);
    X509_free(forged);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(int_key);
    EVP_PKEY_free(leaf_key);
}

/* ---- signatures ---------------------------------------------------------- */

static const uint16_t all_schemes[] = {
    DTLS_SIG_ECDSA_SECP256R1_SHA256, DTLS_SIG_ECDSA_SECP384R1_SHA384,
    DTLS_SIG_RSA_PSS_RSAE_SHA256,    DTLS_SIG_RSA_PSS_RSAE_SHA384,
    DTLS_SIG_RSA_PKCS1_SHA256,       DTLS_SIG_RSA_PKCS1_SHA384,
};
#define N_SCHEMES (sizeof all_schemes / sizeof all_schemes[0])

/* The public half only, as a peer's certificate would give it. */
static EVP_PKEY *public_only(EVP_PKEY *key)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(key, &der);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
    OPENSSL_free(der);
    return pub;
}

static void test_signatures(void)
{
    EVP_PKEY *keys[3] = {
        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
        EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"),
        EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048),
    };
    /* Which schemes fit which key (TLS 1.2: any ECDSA hash on either curve). */
    static const int fits[3][N_SCHEMES] = {
        { 1, 1, 0, 0, 0, 0 },
        { 1, 1, 0, 0, 0, 0 },
        { 0, 0, 1, 1, 1, 1 },
    };
    static const uint8_t tbs[] = "client_random || server_random || ServerECDHParams";
    for (int k = 0; k < 3; k++) {
        CHECK(keys[k] != NULL);
        EVP_PKEY *pub = public_only(keys[k]);
        CHECK(pub != NULL);
        for (size_t s = 0; s < N_SCHEMES; s++) {
            uint16_t scheme = all_schemes[s];
            uint8_t sig[1024];
            size_t sig_len = sizeof sig;
            CHECK(dtls_sig_scheme_supported(scheme));
            CHECK(dtls_sig_scheme_fits_key(scheme, keys[k]) == fits[k][s]);
            CHECK(dtls_sig_scheme_fits_key(scheme, pub) == fits[k][s]);
            if (!fits[k][s]) {
                CHECK(dtls_sig_sign(keys[k], scheme, tbs, sizeof tbs, sig, &sig_len) == -1);
                continue;
            }
            CHECK(dtls_sig_sign(keys[k], scheme, tbs, sizeof tbs, sig, &sig_len) == 0);
            CHECK(sig_len > 0 && sig_len <= (size_t)EVP_PKEY_get_size(keys[k]));
            CHECK(dtls_sig_verify(pub, scheme, tbs, sizeof tbs, sig, sig_len) == 0);
            CHECK(dtls_sig_verify(keys[k], scheme, tbs, sizeof tbs, sig, sig_len) == 0);
            /* A flipped bit in the signature or the message fails. */
            sig[sig_len / 2] ^= 0x10;
            CHECK(dtls_sig_verify(pub, scheme, tbs, sizeof tbs, sig, sig_len) == -1);
            sig[sig_len / 2] ^= 0x10;
            uint8_t tbs2[sizeof tbs];
            memcpy(tbs2, tbs, sizeof tbs);
            tbs2[0] ^= 1;
            CHECK(dtls_sig_verify(pub, scheme, tbs2, sizeof tbs2, sig, sig_len) == -1);
            CHECK(dtls_sig_verify(pub, scheme, tbs, sizeof tbs, sig, sig_len - 1) == -1);
            CHECK(dtls_sig_verify(pub, scheme, tbs, sizeof tbs, sig, 0) == -1);
            /* The same signature under any other scheme fails. */
            int others_fail = 1;
            for (size_t o = 0; o < N_SCHEMES; o++)
                if (o != s && dtls_sig_verify(pub, all_schemes[o], tbs, sizeof tbs, sig, sig_len) == 0)
                    others_fail = 0;
            CHECK(others_fail);
            /* Too little room for the signature. */
            size_t small = 8;
            CHECK(dtls_sig_sign(keys[k], scheme, tbs, sizeof tbs, sig, &small) == -1);
        }
        EVP_PKEY_free(pub);
    }
    /* Unknown schemes, Ed25519, RSA-PSS-PSS keys: none fit. */
    CHECK(!dtls_sig_scheme_supported(0x0807));
    CHECK(!dtls_sig_scheme_fits_key(0x0807, keys[0]));
    CHECK(!dtls_sig_scheme_fits_key(DTLS_SIG_ECDSA_SECP256R1_SHA256, NULL));
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    CHECK(!dtls_sig_scheme_fits_key(DTLS_SIG_ECDSA_SECP256R1_SHA256, ed));
    CHECK(!dtls_sig_scheme_fits_key(DTLS_SIG_RSA_PSS_RSAE_SHA256, ed));
    EVP_PKEY_free(ed);

    /* SHA-1 schemes: verified when a peer uses them, never produced. */
    CHECK(!dtls_sig_scheme_supported(DTLS_SIG_ECDSA_SHA1));
    CHECK(!dtls_sig_scheme_supported(DTLS_SIG_RSA_PKCS1_SHA1));
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    CHECK(dtls_sig_sign(keys[0], DTLS_SIG_ECDSA_SHA1, tbs, sizeof tbs, sig, &sig_len) == -1);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    sig_len = sizeof sig;
    CHECK(EVP_DigestSignInit_ex(m, NULL, "SHA1", NULL, NULL, keys[2], NULL) == 1 &&
          EVP_DigestSign(m, sig, &sig_len, tbs, sizeof tbs) == 1);
    EVP_MD_CTX_free(m);
    CHECK(dtls_sig_verify(keys[2], DTLS_SIG_RSA_PKCS1_SHA1, tbs, sizeof tbs, sig, sig_len) == 0);
    CHECK(dtls_sig_verify(keys[2], DTLS_SIG_RSA_PKCS1_SHA256, tbs, sizeof tbs, sig, sig_len) == -1);

    /* PSS with a salt other than the hash length is refused (RFC 8446 4.2.3). */
    m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    sig_len = sizeof sig;
    CHECK(EVP_DigestSignInit_ex(m, &pctx, "SHA256", NULL, NULL, keys[2], NULL) == 1 &&
          EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 20) > 0 &&
          EVP_DigestSign(m, sig, &sig_len, tbs, sizeof tbs) == 1);
    EVP_MD_CTX_free(m);
    CHECK(dtls_sig_verify(keys[2], DTLS_SIG_RSA_PSS_RSAE_SHA256, tbs, sizeof tbs, sig, sig_len) == -1);

    for (int k = 0; k < 3; k++)
        EVP_PKEY_free(keys[k]);
    CHECK(ERR_peek_error() == 0);
}

/* ---- bad input ----------------------------------------------------------- */

static void test_bad_pem(void)
{
    char err[256];
    dtls_chain chain = { 0 };
    X509_STORE *store = X509_STORE_new();

    err[0] = '\0';
    CHECK(dtls_chain_from_pem(&chain, "garbage", 7, err, sizeof err) == -1);
    CHECK(strstr(err, "no CERTIFICATE") != NULL);
    CHECK(dtls_chain_from_pem(&chain, "", 0, err, sizeof err) == -1);
    CHECK(dtls_chain_from_pem(&chain, NULL, 0, err, sizeof err) == -1);
    static const char bad_b64[] =
        "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64@@@\n-----END CERTIFICATE-----\n";
    err[0] = '\0';
    CHECK(dtls_chain_from_pem(&chain, bad_b64, strlen(bad_b64), err, sizeof err) == -1);
    CHECK(strlen(err) > 0);
    static const char not_a_cert[] =
        "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    err[0] = '\0';
    CHECK(dtls_chain_from_pem(&chain, not_a_cert, strlen(not_a_cert), err, sizeof err) == -1);
    CHECK(strstr(err, "malformed") != NULL);
    /* Truncated by the length given: no END line inside it. */
    err[0] = '\0';
    CHECK(dtls_chain_from_pem(&chain, cert_pem, strlen(cert_pem) / 2, err, sizeof err) == -1);
    CHECK(strlen(err) > 0);
    /* A good certificate followed by a broken one fails as a whole... */
    size_t good_len = strlen(cert_pem);
    char *mixed = malloc(good_len + sizeof not_a_cert);
    memcpy(mixed, cert_pem, good_len);
    memcpy(mixed + good_len, not_a_cert, sizeof not_a_cert);
    CHECK(dtls_chain_from_pem(&chain, mixed, strlen(mixed), err, sizeof err) == -1);
    free(mixed);
    dtls_chain_free(&chain);
    /* ...and a NULL err is fine. */
    CHECK(dtls_chain_from_pem(&chain, "x", 1, NULL, 0) == -1);

    CHECK(dtls_store_add_pem(store, "garbage", 7, err, sizeof err) == -1);
    CHECK(dtls_store_add_pem(store, not_a_cert, strlen(not_a_cert), err, sizeof err) == -1);
    CHECK(dtls_store_add_pem(NULL, cert_pem, strlen(cert_pem), err, sizeof err) == -1);

    err[0] = '\0';
    CHECK(dtls_key_from_pem("garbage", 7, err, sizeof err) == NULL);
    CHECK(strstr(err, "no PRIVATE KEY") != NULL);
    CHECK(dtls_key_from_pem(cert_pem, strlen(cert_pem), err, sizeof err) == NULL);
    static const char bad_key[] =
        "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n";
    err[0] = '\0';
    CHECK(dtls_key_from_pem(bad_key, strlen(bad_key), err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot parse") != NULL);
    CHECK(dtls_key_from_pem(NULL, 0, err, sizeof err) == NULL);

    /* An encrypted key: a clear message, and no prompt. */
    EVP_PKEY *key = dtls_key_from_pem(key_pem, strlen(key_pem), err, sizeof err);
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    CHECK(PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_128_cbc(), NULL, 0, NULL,
                                        (void *)"secret") == 1);
    long n = BIO_get_mem_data(b, &data);
    err[0] = '\0';
    CHECK(dtls_key_from_pem(data, (size_t)n, err, sizeof err) == NULL);
    CHECK(strstr(err, "encrypted") != NULL);
    BIO_free(b);
    EVP_PKEY_free(key);

    /* Unsupported key type. */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, ed, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &data);
    err[0] = '\0';
    CHECK(dtls_key_from_pem(data, (size_t)n, err, sizeof err) == NULL);
    CHECK(strstr(err, "unsupported") != NULL);
    BIO_free(b);
    EVP_PKEY_free(ed);

    /* Legacy encodings: SEC1 "EC PRIVATE KEY" and PKCS#1 "RSA PRIVATE KEY". */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *legacy[2] = { ec, rsa };
    for (int i = 0; i < 2; i++) {
        b = BIO_new(BIO_s_mem());
        CHECK(PEM_write_bio_PrivateKey_traditional(b, legacy[i], NULL, NULL, 0, NULL, NULL) == 1);
        n = BIO_get_mem_data(b, &data);
        CHECK(strstr(data, i == 0 ? "BEGIN EC PRIVATE KEY" : "BEGIN RSA PRIVATE KEY") != NULL);
        EVP_PKEY *back = dtls_key_from_pem(data, (size_t)n, err, sizeof err);
        CHECK(back != NULL && EVP_PKEY_eq(back, legacy[i]) == 1);
        EVP_PKEY_free(back);
        BIO_free(b);
    }
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);

    X509_STORE_free(store);
    CHECK(ERR_peek_error() == 0);
}

static void test_make_self_signed_args(void)
{
    char *c = NULL, *k = NULL, err[128];
    CHECK(dtls_make_self_signed("x", 0, &c, &k, err, sizeof err) != DTLS_OK);
    CHECK(dtls_make_self_signed("x", 1, NULL, &k, err, sizeof err) != DTLS_OK);
    /* Two certificates never share a serial or key. */
    char *c2 = NULL, *k2 = NULL;
    CHECK(dtls_make_self_signed(NULL, 1, &c, &k, err, sizeof err) == DTLS_OK);
    CHECK(dtls_make_self_signed(NULL, 1, &c2, &k2, err, sizeof err) == DTLS_OK);
    CHECK(strcmp(c, c2) != 0 && strcmp(k, k2) != 0);
    free(c);
    free(k);
    free(c2);
    free(k2);
}

int main(void)
{
    test_self_signed_round_trip();
    test_fingerprint_subject();
    test_verify_self_signed();
    test_verify_chain();
    test_signatures();
    test_bad_pem();
    test_make_self_signed_args();
    free(cert_pem);
    free(key_pem);
    return unit_report();
}

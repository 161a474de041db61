/* test_suite.c — the cipher-suite table: ids and both names of every suite
 * (the legacy ones checked against an expected table taken from IANA's
 * registry as `openssl ciphers -V -stdname` prints it), record parameters,
 * and that legacy suites are never defaults, and usable only when named in
 * the ciphers option, for the versions that can carry them. */
#include "internal.h"
#include "suite.h"
#include "unit.h"

struct legacy_case {
    uint16_t id;
    const char *openssl, *iana;
    dtls_kx kx;
    size_t key_len, mac_len;
    int prf_sha384, dtls12_only;
};

static const struct legacy_case legacy[] = {
    { 0xC009, "ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", DTLS_KX_ECDHE_ECDSA, 16, 20, 0, 0 },
    { 0xC00A, "ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", DTLS_KX_ECDHE_ECDSA, 32, 20, 0, 0 },
    { 0xC013, "ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", DTLS_KX_ECDHE_RSA, 16, 20, 0, 0 },
    { 0xC014, "ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", DTLS_KX_ECDHE_RSA, 32, 20, 0, 0 },
    { 0xC023, "ECDHE-ECDSA-AES128-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", DTLS_KX_ECDHE_ECDSA, 16, 32, 0, 1 },
    { 0xC024, "ECDHE-ECDSA-AES256-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", DTLS_KX_ECDHE_ECDSA, 32, 48, 1, 1 },
    { 0xC027, "ECDHE-RSA-AES128-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", DTLS_KX_ECDHE_RSA, 16, 32, 0, 1 },
    { 0xC028, "ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", DTLS_KX_ECDHE_RSA, 32, 48, 1, 1 },
    { 0x00AE, "PSK-AES128-CBC-SHA256", "TLS_PSK_WITH_AES_128_CBC_SHA256", DTLS_KX_PSK, 16, 32, 0, 0 },
    { 0x00AF, "PSK-AES256-CBC-SHA384", "TLS_PSK_WITH_AES_256_CBC_SHA384", DTLS_KX_PSK, 32, 48, 1, 0 },
    { 0x002F, "AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", DTLS_KX_RSA, 16, 20, 0, 0 },
    { 0x0035, "AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", DTLS_KX_RSA, 32, 20, 0, 0 },
    { 0x003C, "AES128-SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256", DTLS_KX_RSA, 16, 32, 0, 1 },
    { 0x003D, "AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256", DTLS_KX_RSA, 32, 32, 0, 1 },
};
#define N_LEGACY (sizeof legacy / sizeof legacy[0])

static const dtls_suite *by_name(const char *name)
{
    return dtls_suite_by_name(name, strlen(name));
}

static void test_legacy_table(void)
{
    for (size_t i = 0; i < N_LEGACY; i++) {
        const struct legacy_case *l = &legacy[i];
        const dtls_suite *s = dtls_suite_by_id(l->id);
        CHECK(s != NULL);
        if (s == NULL)
            continue;
        CHECK(by_name(l->openssl) == s);
        CHECK(by_name(l->iana) == s);
        CHECK(strcmp(s->name, l->openssl) == 0);
        CHECK(s->legacy);
        CHECK(s->kx == l->kx);
        CHECK(s->aead == DTLS_AEAD_NONE);
        CHECK(dtls_cbc_key_len(s->cbc) == l->key_len);
        CHECK(dtls_cbc_mac_key_len(s->cbc) == l->mac_len);
        CHECK(s->prf_sha384 == l->prf_sha384);
        CHECK(s->dtls12_only == l->dtls12_only);
        CHECK(dtls_suite_uses_cert(s) == (l->kx != DTLS_KX_PSK));
        CHECK(dtls_suite_uses_psk(s) == (l->kx == DTLS_KX_PSK));
        CHECK(dtls_suite_uses_ecdhe(s) == (l->kx == DTLS_KX_ECDHE_ECDSA || l->kx == DTLS_KX_ECDHE_RSA));
    }
    /* Names are case-insensitive, and a prefix is not a name. */
    CHECK(by_name("aes128-sha") == dtls_suite_by_id(0x002F));
    CHECK(by_name("AES128-SH") == NULL);
}

static void test_defaults_have_no_legacy(void)
{
    size_t n = 0;
    const dtls_suite *const *d = dtls_suite_defaults(&n);
    CHECK(n == 14);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= !d[i]->legacy && d[i]->aead != DTLS_AEAD_NONE && d[i]->cbc == DTLS_CBC_NONE;
    CHECK(ok);
}

/* Legacy suites are used only when named in the ciphers option, and only
 * for the versions that can carry them (DTLS 1.0: SHA-1 and PSK CBC suites). */
static void test_ciphers_option_names_legacy(void)
{
    dtls_config *cfg = dtls_config_new();
    char err[128] = "";
    CHECK(cfg != NULL);
    CHECK(dtls_config_set_ciphers(cfg, "AES128-SHA", err, sizeof err) == DTLS_OK);
    CHECK(cfg->ciphers_set && cfg->nsuites == 1 && cfg->suites[0] == by_name("AES128-SHA"));
    CHECK(dtls_config_set_ciphers(cfg, "ECDHE-ECDSA-AES128-GCM-SHA256:TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
                                  err, sizeof err) == DTLS_OK);
    CHECK(cfg->nsuites == 2 && cfg->suites[1] == by_name("ECDHE-RSA-AES256-SHA384"));

    static const uint8_t id[] = "client", key[] = "0123456789abcdef";
    CHECK(dtls_config_set_psk(cfg, id, 6, key, 16) == DTLS_OK);
    CHECK(dtls_config_set_ciphers(cfg, "PSK-AES128-CBC-SHA256:PSK-AES128-CCM8", err, sizeof err) == DTLS_OK);
    const dtls_suite *usable[MAX_SUITES];
    CHECK(config_usable_suites(cfg, DTLS_ROLE_CLIENT, usable, MAX_SUITES) == 2);
    CHECK(usable[0] == by_name("PSK-AES128-CBC-SHA256"));
    /* DTLS 1.0 only: the AEAD suite cannot be carried, the CBC one can. */
    CHECK(dtls_config_set_versions(cfg, DTLS_VERSION_1_0, DTLS_VERSION_1_0) == DTLS_OK);
    CHECK(config_usable_suites(cfg, DTLS_ROLE_CLIENT, usable, MAX_SUITES) == 1);
    CHECK(usable[0] == by_name("PSK-AES128-CBC-SHA256"));
    CHECK(dtls_config_set_ciphers(cfg, "PSK-AES128-CCM8", err, sizeof err) == DTLS_OK);
    CHECK(config_usable_suites(cfg, DTLS_ROLE_CLIENT, usable, MAX_SUITES) == 0);
    CHECK(dtls_config_set_versions(cfg, DTLS_VERSION_1_2, DTLS_VERSION_1_0) == DTLS_ERR_ARG);
    CHECK(dtls_config_set_versions(cfg, 0xFEFE, DTLS_VERSION_1_2) == DTLS_ERR_ARG);
    dtls_config_free(cfg);

    /* Not named: never used, whatever the versions. */
    cfg = dtls_config_new();
    CHECK(dtls_config_set_psk(cfg, id, 6, key, 16) == DTLS_OK);
    CHECK(dtls_config_set_versions(cfg, DTLS_VERSION_1_0, DTLS_VERSION_1_2) == DTLS_OK);
    size_t n = config_usable_suites(cfg, DTLS_ROLE_CLIENT, usable, MAX_SUITES);
    bool any_legacy = false;
    for (size_t i = 0; i < n; i++)
        any_legacy |= usable[i]->legacy;
    CHECK(n > 0 && !any_legacy);
    dtls_config_free(cfg);
}

/* Key block layouts (RFC 5246 6.3) for an AEAD suite, and CBC suites of
 * each MAC, and where each writer's keys sit. */
static void test_key_layout(void)
{
    static const struct { uint16_t id; size_t mac, key, iv; } cases[] = {
        { 0xC02B, 0, 16, 4 },  { 0xC02C, 0, 32, 4 },  { 0xCCA8, 0, 32, 12 },
        { 0x002F, 20, 16, 0 }, { 0xC014, 20, 32, 0 }, { 0x00AE, 32, 16, 0 },
        { 0x003D, 32, 32, 0 }, { 0xC028, 48, 32, 0 },
    };
    uint8_t block[DTLS_MAX_KEY_BLOCK];
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dtls_key_layout l = dtls_suite_key_layout(dtls_suite_by_id(cases[i].id));
        CHECK(l.mac_len == cases[i].mac && l.key_len == cases[i].key && l.iv_len == cases[i].iv);
        CHECK(l.total == 2 * (cases[i].mac + cases[i].key + cases[i].iv));
        CHECK(l.total <= DTLS_MAX_KEY_BLOCK);
        dtls_key_slices c = dtls_key_block_slices(&l, block, 1);
        dtls_key_slices s = dtls_key_block_slices(&l, block, 0);
        size_t m = cases[i].mac, k = cases[i].key, v = cases[i].iv;
        CHECK(m ? c.mac_key == block && s.mac_key == block + m : !c.mac_key && !s.mac_key);
        CHECK(c.key == block + 2 * m && s.key == block + 2 * m + k);
        CHECK(v ? c.iv == block + 2 * (m + k) && s.iv == block + 2 * (m + k) + v : !c.iv && !s.iv);
    }
    /* Every suite fits the largest block. */
    for (uint32_t id = 0; id <= 0xffff; id++) {
        const dtls_suite *s = dtls_suite_by_id((uint16_t)id);
        if (s)
            CHECK(dtls_suite_key_layout(s).total <= DTLS_MAX_KEY_BLOCK);
    }
}

int main(void)
{
    test_legacy_table();
    test_defaults_have_no_legacy();
    test_ciphers_option_names_legacy();
    test_key_layout();
    return unit_report();
}

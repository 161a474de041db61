/* hello.c — parsing the ClientHello (RFC 5246 7.4.1.2 with the DTLS cookie,
 * RFC 6347 4.2.1). Shared by the stateless cookie check and the server
 * state machine so that both read the message the same way. */
#include "internal.h"
#include "keyex.h"

#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static bool is_ip_literal(dtls_rd name)
{
    char text[256];
    if (name.len >= sizeof text)
        return false;
    memcpy(text, name.p, name.len);
    text[name.len] = '\0';
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);
    ASN1_OCTET_STRING_free(ip);
    ERR_clear_error();
    return ip != NULL;
}

static bool is_dns_name(dtls_rd name)
{
    size_t label = 0;
    bool numeric_label = false;
    while (rd_left(&name) > 0) {
        uint8_t ch = rd_u8(&name);
        if (ch == '.') {
            /* no empty label, so no leading, doubled or trailing dot */
            if (label == 0 || rd_left(&name) == 0)
                return false;
            label = 0;
            continue;
        }
        bool digit = ch >= '0' && ch <= '9';
        bool letter = (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z';
        if (!digit && !letter && ch != '-' && ch != '_')
            return false;
        numeric_label = label == 0 ? digit : numeric_label && digit;
        if (++label > 63) /* RFC 1035 2.3.4 */
            return false;
    }
    /* A last label of digits only is an IPv4 literal (no top-level
     * domain is numeric). */
    return label > 0 && !numeric_label;
}

hostname_kind hello_hostname_kind(dtls_rd name)
{
    if (is_ip_literal(name))
        return HOSTNAME_IP_LITERAL;
    return is_dns_name(name) ? HOSTNAME_OK : HOSTNAME_BAD;
}

bool client_hello_parse(const uint8_t *body, size_t len, client_hello *ch)
{
    dtls_rd r = rd_init(body, len);
    ch->version = rd_u16(&r);
    ch->random = rd_bytes(&r, 32);
    dtls_rd sid = rd_vec(&r, 1);
    dtls_rd cookie = rd_vec(&r, 1);
    ch->suites = rd_vec(&r, 2);
    ch->compressions = rd_vec(&r, 1);
    ch->has_extensions = rd_left(&r) > 0;
    ch->extensions = ch->has_extensions ? rd_vec(&r, 2) : rd_init(NULL, 0);
    if (!rd_done(&r) || !rd_ok(&sid) || !rd_ok(&cookie) || !rd_ok(&ch->extensions))
        return false;
    if (sid.len > 32 || ch->suites.len < 2 || ch->suites.len % 2 || ch->compressions.len < 1)
        return false;
    ch->session_id = sid.p;
    ch->session_id_len = sid.len;
    ch->cookie = cookie.p;
    ch->cookie_len = cookie.len;
    return true;
}

/* What we offer and accept, in preference order. */
static const uint16_t SIG_SCHEMES[] = {
    DTLS_SIG_ECDSA_SECP256R1_SHA256, DTLS_SIG_ECDSA_SECP384R1_SHA384,
    DTLS_SIG_RSA_PSS_RSAE_SHA256, DTLS_SIG_RSA_PSS_RSAE_SHA384,
    DTLS_SIG_RSA_PKCS1_SHA256, DTLS_SIG_RSA_PKCS1_SHA384,
};
/* P-256 first: with OpenSSL 3.0 its key generation is the cheapest of the
 * three (docs/benchmarks.md); all are 128-bit-secure or better. */
static const uint16_t GROUPS[] = { DTLS_GROUP_SECP256R1, DTLS_GROUP_X25519, DTLS_GROUP_SECP384R1 };

const uint16_t *hello_sig_schemes(size_t *n)
{
    *n = sizeof SIG_SCHEMES / sizeof SIG_SCHEMES[0];
    return SIG_SCHEMES;
}

const uint16_t *hello_groups(size_t *n)
{
    *n = sizeof GROUPS / sizeof GROUPS[0];
    return GROUPS;
}

bool hello_list_has(const uint16_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

void hello_write_sig_schemes(dtls_wr *w)
{
    size_t mark = wr_vec_begin(w, 2);
    for (size_t i = 0; i < sizeof SIG_SCHEMES / sizeof SIG_SCHEMES[0]; i++)
        wr_u16(w, SIG_SCHEMES[i]);
    wr_vec_end(w, mark, 2);
}

/* A signature on a handshake by the peer's key: the scheme must be one we
 * asked for, and its algorithm must be the key's (RFC 5246 7.4.1.4.1; in
 * TLS 1.2 an ECDSA hash is not bound to the curve). */
bool hello_peer_scheme_ok(uint16_t scheme, EVP_PKEY *key)
{
    if (!hello_list_has(SIG_SCHEMES, sizeof SIG_SCHEMES / sizeof SIG_SCHEMES[0], scheme) || !key)
        return false;
    int type = EVP_PKEY_get_base_id(key);
    if ((scheme & 0xFF) == 0x03)
        return type == EVP_PKEY_EC;
    return type == EVP_PKEY_RSA;
}

/* The scheme that matches key's curve exactly (RFC 8446 4.2.3 style),
 * preferred when several fit: SHA-256 for P-256, SHA-384 for P-384. */
bool hello_scheme_is_natural(uint16_t scheme, EVP_PKEY *key)
{
    uint16_t group = hello_key_group(key);
    if (scheme == DTLS_SIG_ECDSA_SECP256R1_SHA256)
        return group == DTLS_GROUP_SECP256R1;
    if (scheme == DTLS_SIG_ECDSA_SECP384R1_SHA384)
        return group == DTLS_GROUP_SECP384R1;
    return true;
}

/* The NamedGroup of an EC key's curve, 0 for other keys or curves. */
uint16_t hello_key_group(EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC
        || !EVP_PKEY_get_group_name(key, name, sizeof name, &len))
        return 0;
    if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
        return DTLS_GROUP_SECP256R1;
    if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
        return DTLS_GROUP_SECP384R1;
    return 0;
}

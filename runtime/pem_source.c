/* pem_source.c — turns an option that is "PEM text or a file path" into PEM
 * text, and DER certificates into PEM for scripts. Owns file reading for
 * credentials, bounded in size; never logs or echoes the contents (they may
 * hold private keys), only the option name and path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* No certificate bundle or key we accept is this large. */
#define RT_PEM_FILE_MAX (1024u * 1024u)

int rt_pem_source_load(const char *what, const char *text_or_path, char **out,
                       size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    if (strstr(text_or_path, "-----BEGIN") != NULL) {
        size_t n = strlen(text_or_path);
        char *copy = malloc(n + 1);
        if (copy == NULL) {
            rt_errf(err, errlen, "%s: out of memory", what);
            return -1;
        }
        memcpy(copy, text_or_path, n + 1);
        *out = copy;
        *out_len = n;
        return 0;
    }
    FILE *f = fopen(text_or_path, "rb");
    if (f == NULL) {
        rt_errf(err, errlen, "%s: cannot read '%s': %s", what, text_or_path, strerror(errno));
        return -1;
    }
    char *buf = malloc(RT_PEM_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        rt_errf(err, errlen, "%s: out of memory", what);
        return -1;
    }
    size_t n = fread(buf, 1, RT_PEM_FILE_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || n > RT_PEM_FILE_MAX || n == 0) {
        free(buf);
        rt_errf(err, errlen, "%s: cannot read '%s': %s", what, text_or_path,
                failed ? "read error" : n == 0 ? "empty file" : "file too large");
        return -1;
    }
    buf[n] = '\0';
    if (strstr(buf, "-----BEGIN") == NULL) {
        free(buf);
        rt_errf(err, errlen, "%s: '%s' holds no PEM data", what, text_or_path);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

char *rt_der_to_pem(const uint8_t *der, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] = "-----BEGIN CERTIFICATE-----\n";
    static const char tail[] = "-----END CERTIFICATE-----\n";
    size_t b64 = 4 * ((len + 2) / 3);
    size_t cap = sizeof head + sizeof tail + b64 + b64 / 64 + 2;
    char *pem = malloc(cap);
    if (pem == NULL)
        return NULL;
    size_t o = 0, col = 0;
    memcpy(pem, head, sizeof head - 1);
    o = sizeof head - 1;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        pem[o++] = alphabet[(v >> 18) & 63];
        pem[o++] = alphabet[(v >> 12) & 63];
        pem[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        pem[o++] = i + 2 < len ? alphabet[v & 63] : '=';
        col += 4;
        if (col == 64) { /* RFC 7468 2: lines of exactly 64 characters */
            pem[o++] = '\n';
            col = 0;
        }
    }
    if (col)
        pem[o++] = '\n';
    memcpy(pem + o, tail, sizeof tail);
    return pem;
}

int rt_cert_describe(const uint8_t *der, size_t len, rt_cert_info *out)
{
    memset(out, 0, sizeof *out);
    dtls_cert_info more;
    if (dtls_cert_subject(der, len, out->subject, sizeof out->subject) != DTLS_OK ||
        dtls_cert_fingerprint_sha256(der, len, out->fingerprint256) != DTLS_OK ||
        dtls_cert_details(der, len, &more) != DTLS_OK)
        return -1;
    memcpy(out->issuer, more.issuer, sizeof out->issuer);
    memcpy(out->serial, more.serial, sizeof out->serial);
    memcpy(out->subjectaltname, more.subjectaltname, sizeof out->subjectaltname);
    memcpy(out->valid_from, more.valid_from, sizeof out->valid_from);
    memcpy(out->valid_to, more.valid_to, sizeof out->valid_to);
    return 0;
}

const char *rt_error_string(int err)
{
    return dtls_strerror(err);
}

const char *rt_alert_name(int desc)
{
    return dtls_alert_name(desc);
}

const char *rt_error_alert_name(int err)
{
    int desc = dtls_err_alert(err);
    return desc < 0 ? NULL : dtls_alert_name(desc);
}

const char *rt_io_error_string(int status)
{
    return uv_strerror(status);
}

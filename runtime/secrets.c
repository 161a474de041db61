/* secrets.c — the process-wide shared secrets: the ticket keys (or ticket
 * secret) and the cookie secret every server uses unless its own options
 * set them. They come from the master of --workers, or from the files of
 * --ticket-keys / --cookie-secret, which SIGHUP reads again so that an
 * operator rotates keys without closing a session (docs/deploy.md).
 * Secret bytes are wiped when replaced and never appear in a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

static uint8_t default_ticket_keys[16 * RT_TICKET_KEY_LEN];
static size_t default_ticket_keys_len;
static uint8_t default_cookie_secret[RT_COOKIE_SECRET_MAX];
static size_t default_cookie_secret_len;
static uint8_t default_ticket_secret[RT_COOKIE_SECRET_MAX];
static size_t default_ticket_secret_len;
static char *ticket_keys_path, *cookie_secret_path;

_Static_assert(RT_TICKET_KEY_LEN == DTLS_TICKET_KEY_LEN, "ticket key length");
_Static_assert(RT_COOKIE_SECRET_MIN == DTLS_COOKIE_SECRET_MIN && RT_COOKIE_SECRET_MAX == DTLS_COOKIE_SECRET_MAX,
               "cookie secret length range");
_Static_assert(RT_COOKIE_SECRET_MIN == DTLS_TICKET_SECRET_MIN && RT_COOKIE_SECRET_MAX == DTLS_TICKET_SECRET_MAX,
               "ticket secret length range");

/* Replaces a default (wiping the old one); src NULL clears it. */
static void store_secret(uint8_t *dst, size_t cap, size_t *dst_len, const uint8_t *src, size_t len)
{
    explicit_bzero(dst, cap);
    *dst_len = src ? len : 0;
    if (src)
        memcpy(dst, src, len);
}

int rt_set_default_ticket_keys(const uint8_t *keys, size_t len, char *err, size_t errlen)
{
    if (keys && (len == 0 || len % RT_TICKET_KEY_LEN || len > sizeof default_ticket_keys)) {
        rt_errf(err, errlen, "must hold one to 16 keys of %u bytes (%zu bytes)", RT_TICKET_KEY_LEN, len);
        return -1;
    }
    store_secret(default_ticket_keys, sizeof default_ticket_keys, &default_ticket_keys_len, keys, len);
    if (keys)
        store_secret(default_ticket_secret, sizeof default_ticket_secret, &default_ticket_secret_len, NULL, 0);
    return 0;
}

/* A secret of RT_COOKIE_SECRET_MIN..MAX bytes into a default slot. */
static int set_default_secret(uint8_t *dst, size_t cap, size_t *dst_len, const uint8_t *secret, size_t len,
                              char *err, size_t errlen)
{
    if (secret && (len < RT_COOKIE_SECRET_MIN || len > RT_COOKIE_SECRET_MAX)) {
        rt_errf(err, errlen, "must hold %u to %u bytes (%zu bytes)", RT_COOKIE_SECRET_MIN,
                RT_COOKIE_SECRET_MAX, len);
        return -1;
    }
    store_secret(dst, cap, dst_len, secret, len);
    return 0;
}

int rt_set_default_cookie_secret(const uint8_t *secret, size_t len, char *err, size_t errlen)
{
    return set_default_secret(default_cookie_secret, sizeof default_cookie_secret, &default_cookie_secret_len,
                              secret, len, err, errlen);
}

int rt_set_default_ticket_secret(const uint8_t *secret, size_t len, char *err, size_t errlen)
{
    if (set_default_secret(default_ticket_secret, sizeof default_ticket_secret, &default_ticket_secret_len,
                           secret, len, err, errlen) != 0)
        return -1;
    if (secret)
        store_secret(default_ticket_keys, sizeof default_ticket_keys, &default_ticket_keys_len, NULL, 0);
    return 0;
}

void rt_secrets_apply(dtls_config *cfg, bool own_ticket_keys, bool own_cookie_secret)
{
    if (!own_ticket_keys && default_ticket_keys_len)
        dtls_config_set_ticket_keys(cfg, default_ticket_keys, default_ticket_keys_len);
    else if (!own_ticket_keys && default_ticket_secret_len)
        dtls_config_set_ticket_secret(cfg, default_ticket_secret, default_ticket_secret_len);
    if (!own_cookie_secret && default_cookie_secret_len)
        dtls_config_set_cookie_secret(cfg, default_cookie_secret, default_cookie_secret_len);
}

/* ---- the files ---- */

/* The whole of a small key file, raw bytes, into out (cap bytes at most). */
static int read_key_file(const char *path, uint8_t *out, size_t cap, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        rt_errf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    *len = fread(out, 1, cap, f);
    int extra = fgetc(f);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        rt_errf(err, errlen, "read error");
        return -1;
    }
    if (extra != EOF) {
        rt_errf(err, errlen, "larger than %zu bytes", cap - 1);
        return -1;
    }
    return 0;
}

static int read_ticket_keys(const char *path, uint8_t *keys, size_t cap, size_t *len, char *why, size_t n)
{
    if (read_key_file(path, keys, cap, len, why, n) != 0)
        return -1;
    if (*len == 0 || *len % RT_TICKET_KEY_LEN || *len > 16 * RT_TICKET_KEY_LEN) {
        rt_errf(why, n, "must hold one to 16 keys of %u bytes (%zu bytes)", RT_TICKET_KEY_LEN, *len);
        return -1;
    }
    return 0;
}

static int read_cookie_secret(const char *path, uint8_t *secret, size_t cap, size_t *len, char *why, size_t n)
{
    if (read_key_file(path, secret, cap, len, why, n) != 0)
        return -1;
    if (*len < RT_COOKIE_SECRET_MIN || *len > RT_COOKIE_SECRET_MAX) {
        rt_errf(why, n, "must hold %u to %u bytes (%zu bytes)", RT_COOKIE_SECRET_MIN, RT_COOKIE_SECRET_MAX, *len);
        return -1;
    }
    return 0;
}

/* Reads both files (those given) and only then replaces the defaults, so
 * that a bad file leaves every old key in place. */
static int load_files(const char *tickets, const char *cookie, char *err, size_t errlen)
{
    /* A byte more than the most allowed: a longer file is named by its size. */
    uint8_t keys[16 * RT_TICKET_KEY_LEN + 1], secret[RT_COOKIE_SECRET_MAX + 1];
    size_t keys_len = 0, secret_len = 0;
    char why[160] = "";
    int rc = 0;
    if (tickets && read_ticket_keys(tickets, keys, sizeof keys, &keys_len, why, sizeof why) != 0) {
        rt_errf(err, errlen, "--ticket-keys %s: %s", tickets, why);
        rc = -1;
    } else if (cookie && read_cookie_secret(cookie, secret, sizeof secret, &secret_len, why, sizeof why) != 0) {
        rt_errf(err, errlen, "--cookie-secret %s: %s", cookie, why);
        rc = -1;
    }
    if (rc == 0 && tickets)
        rt_set_default_ticket_keys(keys, keys_len, NULL, 0);
    if (rc == 0 && cookie)
        rt_set_default_cookie_secret(secret, secret_len, NULL, 0);
    explicit_bzero(keys, sizeof keys);
    explicit_bzero(secret, sizeof secret);
    return rc;
}

int rt_secret_files_load(const char *ticket_keys_file, const char *cookie_secret_file, char *err,
                         size_t errlen)
{
    if (load_files(ticket_keys_file, cookie_secret_file, err, errlen) != 0)
        return -1;
    free(ticket_keys_path);
    free(cookie_secret_path);
    ticket_keys_path = ticket_keys_file ? strdup(ticket_keys_file) : NULL;
    cookie_secret_path = cookie_secret_file ? strdup(cookie_secret_file) : NULL;
    return 0;
}

int rt_secret_files_given(void) { return ticket_keys_path != NULL || cookie_secret_path != NULL; }

/* Every server of the loop that uses the defaults takes the new ones. */
static void refresh_server(void *arg, rt_server *s)
{
    (void)arg;
    rt_server_refresh_secrets(s);
}

int rt_secret_files_reload(rt_loop *loop, char *err, size_t errlen)
{
    if (!rt_secret_files_given())
        return 0;
    if (load_files(ticket_keys_path, cookie_secret_path, err, errlen) != 0)
        return -1;
    rt_loop_each_server(loop, refresh_server, NULL);
    return 0;
}

/* default_cert.c — the embedded default credentials, so that a server given
 * neither cert/key nor psk works with no set-up (`dtlsrun scripts/echo.lua`).
 *
 * Behaviour: on first use a self-signed ECDSA P-256 certificate (CN
 * "dtlsrun", from dtls_make_self_signed) and its key are written to the
 * state directory, and reused by every later run:
 *   $DTLSRUN_STATE_DIR, else $XDG_STATE_HOME/dtlsrun, else
 *   $HOME/.local/state/dtlsrun
 * as default-cert.pem and default-key.pem. The directory is made 0700, the
 * key 0600; each file is written to a temporary name and renamed, under an
 * flock on "lock" in the same directory, so concurrent first runs agree on
 * one pair. Deleting the two files makes a fresh pair. The certificate's
 * SHA-256 fingerprint is logged at INFO (never the key).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_internal.h"

#define DEFAULT_CERT_NAME "default-cert.pem"
#define DEFAULT_KEY_NAME "default-key.pem"
#define DEFAULT_CERT_DAYS 3650

int rt_state_dir(char *out, size_t cap)
{
    const char *dir = getenv("DTLSRUN_STATE_DIR");
    int n;
    if (dir && *dir)
        n = snprintf(out, cap, "%s", dir);
    else if ((dir = getenv("XDG_STATE_HOME")) && *dir)
        n = snprintf(out, cap, "%s/dtlsrun", dir);
    else if ((dir = getenv("HOME")) && *dir)
        n = snprintf(out, cap, "%s/.local/state/dtlsrun", dir);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* mkdir -p, the last component 0700. */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int write_atomically(const char *dir, const char *name, const char *text, mode_t mode)
{
    char tmp[4200], final[4200];
    snprintf(final, sizeof final, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    int fd = mkstemp(tmp); /* created 0600 */
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, final) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static char *read_small_file(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    size_t len;
    if (rt_pem_source_load(name, path, &text, &len, NULL, 0) != 0)
        return NULL;
    return text;
}

static void log_fingerprint(const char *dir, const char *cert_pem, const char *verb)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    char fp[96] = "?";
    if (dtls_pem_first_cert_der(cert_pem, strlen(cert_pem), &der, &der_len) == DTLS_OK) {
        dtls_cert_fingerprint_sha256(der, der_len, fp);
        free(der);
    }
    rt_log(RT_LOG_INFO, NULL, "%s default certificate %s/%s SHA-256 %s", verb, dir,
           DEFAULT_CERT_NAME, fp);
}

int rt_default_credentials(char **cert_pem, char **key_pem, char *err, size_t errlen)
{
    char dir[4096];
    *cert_pem = *key_pem = NULL;
    if (rt_state_dir(dir, sizeof dir) != 0) {
        rt_errf(err, errlen, "cert: none given and no state directory for the default "
                             "(set DTLSRUN_STATE_DIR or HOME)");
        return -1;
    }
    if (make_dirs(dir) != 0) {
        rt_errf(err, errlen, "cert: cannot create state directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    char lock_path[4200];
    snprintf(lock_path, sizeof lock_path, "%s/lock", dir);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        rt_errf(err, errlen, "cert: cannot lock '%s': %s", lock_path, strerror(errno));
        if (lock >= 0)
            close(lock);
        return -1;
    }
    int rc = -1;
    char *cert = read_small_file(dir, DEFAULT_CERT_NAME);
    char *key = read_small_file(dir, DEFAULT_KEY_NAME);
    if (cert && key) {
        log_fingerprint(dir, cert, "using");
        rc = 0;
    } else {
        free(cert);
        free(key);
        cert = key = NULL;
        char msg[256] = "";
        if (dtls_make_self_signed("dtlsrun", DEFAULT_CERT_DAYS, &cert, &key, msg, sizeof msg) != DTLS_OK) {
            rt_errf(err, errlen, "cert: cannot make the default certificate: %s", msg);
        } else if (write_atomically(dir, DEFAULT_KEY_NAME, key, 0600) != 0 ||
                   write_atomically(dir, DEFAULT_CERT_NAME, cert, 0644) != 0) {
            rt_errf(err, errlen, "cert: cannot write the default certificate in '%s': %s", dir,
                    strerror(errno));
        } else {
            log_fingerprint(dir, cert, "created");
            rc = 0;
        }
    }
    flock(lock, LOCK_UN);
    close(lock);
    if (rc != 0) {
        free(cert);
        free(key);
        return -1;
    }
    *cert_pem = cert;
    *key_pem = key;
    return 0;
}

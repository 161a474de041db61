/* keylog.c — SSLKEYLOGFILE: appends the engine's NSS key-log lines to the
 * file that variable names, for decrypting captures while debugging. Owns
 * nothing else; the only place in the runtime that writes key material,
 * and only when the variable is set. Never logs the line itself.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_internal.h"

void rt_keylog_file_append(const char *line)
{
    static bool warned;
    const char *path = getenv("SSLKEYLOGFILE");
    if (path == NULL || path[0] == '\0')
        return;
    if (!warned) {
        warned = true;
        rt_log(RT_LOG_WARN, NULL, "SSLKEYLOGFILE is set: session keys go to %s (debugging only)", path);
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rt_log(RT_LOG_WARN, NULL, "SSLKEYLOGFILE: cannot open %s", path);
        return;
    }
    /* One write per line: concurrent writers (processes) do not interleave. */
    char text[256];
    size_t n = strlen(line);
    if (n + 1 <= sizeof text) {
        memcpy(text, line, n);
        text[n++] = '\n';
        if (write(fd, text, n) != (ssize_t)n)
            rt_log(RT_LOG_WARN, NULL, "SSLKEYLOGFILE: short write to %s", path);
        explicit_bzero(text, sizeof text);
    }
    close(fd);
}

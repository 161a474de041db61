/* log.c — the runtime's log lines on stderr: UTC time, level, who, message.
 * Owns the process-wide level. One bounded line per event, written with a
 * single call so concurrent writers do not interleave; never logs key
 * material (callers pass names, addresses and error strings only).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "runtime.h"

static int current_level = RT_LOG_INFO;
static const char *const level_names[] = { "FINEST", "FINER", "FINE", "INFO", "WARN", "SEVERE" };

void rt_log_set_level(int level)
{
    if (level < RT_LOG_FINEST)
        level = RT_LOG_FINEST;
    if (level > RT_LOG_SEVERE)
        level = RT_LOG_SEVERE;
    current_level = level;
}

int rt_log_level(void) { return current_level; }
int rt_log_enabled(int level) { return level >= current_level; }

const char *rt_log_level_name(int level)
{
    if (level < RT_LOG_FINEST || level > RT_LOG_SEVERE)
        return NULL;
    return level_names[level];
}

int rt_log_level_parse(const char *name)
{
    for (int i = RT_LOG_FINEST; i <= RT_LOG_SEVERE; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void rt_log(int level, const char *who, const char *fmt, ...)
{
    if (!rt_log_enabled(level))
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;

    char line[6144];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    const char *name = rt_log_level_name(level);
    n += (size_t)snprintf(line + n, sizeof line - n, "%s ", name ? name : "?");
    /* With workers every line says which process wrote it. */
    if (rt_worker_count() > 1) {
        if (rt_worker_is_master())
            n += (size_t)snprintf(line + n, sizeof line - n, "[master] ");
        else
            n += (size_t)snprintf(line + n, sizeof line - n, "[worker %d] ", rt_worker_index());
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", who ? who : "", who ? " " : "");
    /* Control characters from peers or scripts must not forge log lines: a
     * newline (tracebacks) continues the entry on an indented line, and
     * every other control character becomes a space. */
    for (const char *p = msg; *p && n + 8 < sizeof line; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            memcpy(line + n, "\n    ", 5);
            n += 5;
        } else {
            line[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

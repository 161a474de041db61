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
    char line[1024];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    const char *name = rt_log_level_name(level);
    n += snprintf(line + n, sizeof line - (size_t)n, "%s %s%s", name ? name : "?",
                  who ? who : "", who ? " " : "");
    if (n < (int)sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2; /* truncated: keep one line */
    /* Control characters from peers or scripts must not forge log lines. */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}

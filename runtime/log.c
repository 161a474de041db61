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
const int *rt_log_level_ptr(void) { return &current_level; }

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

static int log_format = RT_LOG_FORMAT_TEXT;
static rt_log_handler_fn log_handler;
static void *log_handler_arg;
static int in_handler; /* a handler that logs (or fails) writes to stderr */

void rt_log_set_format(int format) { log_format = format; }

void rt_log_set_handler(rt_log_handler_fn fn, void *arg)
{
    log_handler = fn;
    log_handler_arg = arg;
}

/* "2026-12-01T18:30:00.123Z": UTC with milliseconds. */
static size_t format_time(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(out + n, cap - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
    return n < cap ? n : cap - 1;
}

/* Control characters from peers or scripts must not forge log lines: a
 * newline (tracebacks) continues the entry on an indented line, and every
 * other control character becomes a space. */
static size_t append_text(char *line, size_t n, size_t cap, const char *s)
{
    for (const char *p = s; *p && n + 8 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            memcpy(line + n, "\n    ", 5);
            n += 5;
        } else {
            line[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    return n;
}

/* A JSON string (quotes included). Bytes outside printable ASCII are
 * \u00XX escapes, so the line stays valid JSON whatever a peer sent. */
static size_t append_json(char *line, size_t n, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    line[n++] = '"';
    for (const char *p = s; *p && n + 10 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            line[n++] = '\\';
            line[n++] = (char)c;
        } else if (c == '\n') {
            line[n++] = '\\';
            line[n++] = 'n';
        } else if (c < 0x20 || c >= 0x7f) {
            memcpy(line + n, "\\u00", 4);
            line[n + 4] = hex[c >> 4];
            line[n + 5] = hex[c & 15];
            n += 6;
        } else {
            line[n++] = (char)c;
        }
    }
    line[n++] = '"';
    return n;
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
    if (log_handler && !in_handler) {
        in_handler++;
        int handled = log_handler(log_handler_arg, level, who, msg);
        in_handler--;
        if (handled)
            return;
    }

    char line[6144], when[40];
    const char *name = rt_log_level_name(level);
    format_time(when, sizeof when);
    size_t n;
    if (log_format == RT_LOG_FORMAT_JSON) {
        n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",", when,
                             name ? name : "?");
        /* With workers every line says which process wrote it. */
        if (rt_worker_count() > 1)
            n += (size_t)snprintf(line + n, sizeof line - n, "\"worker\":%d,",
                                  rt_worker_is_master() ? 0 : rt_worker_index());
        if (who) {
            n += (size_t)snprintf(line + n, sizeof line - n, "\"peer\":");
            n = append_json(line, n, 256, who);
            line[n++] = ',';
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "\"msg\":");
        n = append_json(line, n, sizeof line - 4, msg);
        line[n++] = '}';
    } else {
        n = (size_t)snprintf(line, sizeof line, "%s %s ", when, name ? name : "?");
        /* With workers every line says which process wrote it. */
        if (rt_worker_count() > 1 && rt_worker_is_master())
            n += (size_t)snprintf(line + n, sizeof line - n, "[master] ");
        else if (rt_worker_count() > 1)
            n += (size_t)snprintf(line + n, sizeof line - n, "[worker %d] ", rt_worker_index());
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", who ? who : "", who ? " " : "");
        n = append_text(line, n, sizeof line, msg);
    }
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

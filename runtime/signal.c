/* signal.c — a host's own signal watchers (SIGHUP to reload, SIGUSR1...).
 * Owns the uv_signal_t of each; a watcher never keeps the loop alive.
 * SIGINT and SIGTERM stay the loop's (graceful shutdown, loop.c).
 */
#include <stdlib.h>

#include "rt_internal.h"

struct rt_signal {
    uv_signal_t handle;
    rt_signal_fn fn;
    void *arg;
};

static void on_signal(uv_signal_t *h, int signum)
{
    rt_signal *s = h->data;
    rt_log(RT_LOG_INFO, NULL, "signal %d", signum);
    s->fn(s->arg, signum);
}

rt_signal *rt_signal_new(rt_loop *loop, int signum, rt_signal_fn fn, void *arg)
{
    rt_signal *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->fn = fn;
    s->arg = arg;
    if (uv_signal_init(&loop->uv, &s->handle) != 0) {
        free(s);
        return NULL;
    }
    s->handle.data = s;
    if (uv_signal_start(&s->handle, on_signal, signum) != 0) {
        rt_signal_free(s);
        return NULL;
    }
    uv_unref((uv_handle_t *)&s->handle);
    return s;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void rt_signal_free(rt_signal *s)
{
    if (s)
        uv_close((uv_handle_t *)&s->handle, on_closed);
}

/* timer.c — timers for the host (the Lua setTimeout/setInterval). Owns one
 * uv_timer_t per timer, freed only from its close callback; a timer freed
 * from inside its own callback is safe. Never used for engine deadlines
 * (those share one timer, see loop.c).
 */
#include <stdlib.h>

#include "rt_internal.h"

struct rt_timer {
    uv_timer_t uv;
    rt_link link; /* in loop->timers until freed */
    rt_loop *loop;
    rt_timer_fn fn;
    void *arg;
    bool closing;
};

rt_timer *rt_timer_new(rt_loop *loop, rt_timer_fn fn, void *arg)
{
    if (loop->shutting_down)
        return NULL;
    rt_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    uv_timer_init(&loop->uv, &t->uv);
    t->uv.data = t;
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    rt_list_push(&loop->timers, &t->link);
    return t;
}

static void on_timer(uv_timer_t *handle)
{
    rt_timer *t = handle->data;
    t->fn(t->arg);
}

int rt_timer_start(rt_timer *t, uint64_t timeout_ms, uint64_t repeat_ms)
{
    if (t->closing || t->loop->shutting_down)
        return UV_ECANCELED;
    rt_loop_now(t->loop); /* start from the current time, not a stale one */
    return uv_timer_start(&t->uv, on_timer, timeout_ms, repeat_ms);
}

void rt_timer_stop(rt_timer *t)
{
    if (!t->closing)
        uv_timer_stop(&t->uv);
}

int rt_timer_active(const rt_timer *t)
{
    return !t->closing && uv_is_active((const uv_handle_t *)&t->uv);
}

void rt_timer_set_ref(rt_timer *t, int ref)
{
    if (t->closing)
        return;
    if (ref)
        uv_ref((uv_handle_t *)&t->uv);
    else
        uv_unref((uv_handle_t *)&t->uv);
}

static void on_timer_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void rt_timer_free(rt_timer *t)
{
    if (t == NULL || t->closing)
        return;
    t->closing = true;
    rt_link_remove(&t->link);
    uv_close((uv_handle_t *)&t->uv, on_timer_closed);
}

void rt_timers_shutdown(rt_loop *loop)
{
    for (rt_link *l = loop->timers.next; l != &loop->timers; l = l->next)
        uv_timer_stop(&RT_CONTAINER(l, rt_timer, link)->uv);
}

void rt_timers_free_all(rt_loop *loop)
{
    while (!rt_list_empty(&loop->timers))
        rt_timer_free(RT_CONTAINER(loop->timers.next, rt_timer, link));
}

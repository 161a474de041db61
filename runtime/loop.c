/* loop.c — the runtime's event loop: one uv_loop, one deadline timer for
 * every connection (driven by the deadline heap), a deferred-work queue that
 * runs outside engine calls (frees, send completions), signals and graceful
 * shutdown. Never busy-polls: the idle handle is active only while work is
 * queued, and the timer is armed only for the earliest engine deadline.
 */
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include "rt_internal.h"

/* Spare deferred-work nodes kept for reuse, so completions do not malloc. */
#define RT_DEFER_POOL_MAX 1024

static void on_deadline_timer(uv_timer_t *t);
static void on_defer_idle(uv_idle_t *idle);

static void on_flush_check(uv_check_t *check)
{
    rt_endpoint_flush_pending(check->data);
}

rt_loop *rt_loop_new(void)
{
    rt_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return NULL;
    if (uv_loop_init(&loop->uv) != 0) {
        free(loop);
        return NULL;
    }
    loop->uv.data = loop;
    uv_timer_init(&loop->uv, &loop->deadline_timer);
    loop->deadline_timer.data = loop;
    /* Connection deadlines alone never keep the loop alive: their sockets do. */
    uv_unref((uv_handle_t *)&loop->deadline_timer);
    uv_idle_init(&loop->uv, &loop->defer_idle);
    loop->defer_idle.data = loop;
    /* Replies gathered while reading leave once the poll phase is over, so
     * every read of one wake-up shares a sendmmsg. Never keeps the loop
     * alive by itself. */
    rt_list_init(&loop->flush_pending);
    uv_check_init(&loop->uv, &loop->flush_check);
    loop->flush_check.data = loop;
    uv_check_start(&loop->flush_check, on_flush_check);
    uv_unref((uv_handle_t *)&loop->flush_check);
    loop->armed_deadline = UINT64_MAX;
    rt_heap_init(&loop->heap);
    rt_list_init(&loop->graveyard);
    rt_list_init(&loop->servers);
    rt_list_init(&loop->clients);
    rt_list_init(&loop->timers);
    return loop;
}

uint64_t rt_loop_now(rt_loop *loop)
{
    /* libuv caches the time per iteration; between runs (a script's top
     * level, a spec between tests) the cache can be seconds old. */
    if (!loop->running)
        uv_update_time(&loop->uv);
    return uv_now(&loop->uv);
}

int rt_loop_running(const rt_loop *loop) { return loop->running; }
int rt_loop_shutting_down(const rt_loop *loop) { return loop->shutting_down; }

int rt_loop_run(rt_loop *loop)
{
    if (loop->running)
        return -1;
    loop->running = true;
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    loop->running = false;
    loop->shutting_down = false;
    loop->signals_seen = 0;
    return 0;
}

void rt_loop_stop(rt_loop *loop)
{
    uv_stop(&loop->uv);
}

/* ---- deadlines ---- */

void rt_loop_arm_deadlines(rt_loop *loop)
{
    rt_conn *top = rt_heap_top(&loop->heap);
    uint64_t want = top ? top->deadline : UINT64_MAX;
    if (want == loop->armed_deadline)
        return;
    loop->armed_deadline = want;
    if (want == UINT64_MAX) {
        uv_timer_stop(&loop->deadline_timer);
        return;
    }
    uint64_t now = uv_now(&loop->uv);
    uv_timer_start(&loop->deadline_timer, on_deadline_timer, want > now ? want - now : 0, 0);
}

static void on_deadline_timer(uv_timer_t *t)
{
    rt_loop *loop = t->data;
    uint64_t now = uv_now(&loop->uv);
    loop->armed_deadline = UINT64_MAX;
    /* Bounded: each due connection is ticked once per expiry; a deadline the
     * engine leaves in the past is pushed to the next millisecond. */
    size_t budget = loop->heap.len;
    rt_conn *c;
    while (budget-- > 0 && (c = rt_heap_top(&loop->heap)) != NULL && c->deadline <= now)
        rt_conn_tick(c, now);
    rt_loop_arm_deadlines(loop);
}

/* ---- deferred work ---- */

int rt_loop_defer(rt_loop *loop, rt_deferred_fn fn, void *a, intptr_t b, int status)
{
    rt_deferred *d = loop->defer_pool;
    if (d) {
        loop->defer_pool = d->next;
        loop->defer_pool_size--;
    } else if ((d = malloc(sizeof *d)) == NULL) {
        return -1;
    }
    d->next = NULL;
    d->fn = fn;
    d->a = a;
    d->b = b;
    d->status = status;
    if (loop->defer_tail)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
    if (!uv_is_active((uv_handle_t *)&loop->defer_idle))
        uv_idle_start(&loop->defer_idle, on_defer_idle);
    return 0;
}

static void run_graveyard(void *a, intptr_t b, int status)
{
    rt_loop *loop = a;
    (void)b;
    (void)status;
    while (!rt_list_empty(&loop->graveyard)) {
        rt_conn *c = RT_CONTAINER(loop->graveyard.next, rt_conn, link);
        rt_link_remove(&c->link);
        rt_conn_free_finished(c);
    }
}

void rt_loop_sweep_graveyard(rt_loop *loop)
{
    run_graveyard(loop, 0, 0);
}

void rt_loop_schedule_graveyard(rt_loop *loop)
{
    /* Queued once per batch of deaths: the first one schedules the sweep. */
    static const intptr_t marker = 0x67726176; /* "grav" */
    if (!rt_list_empty(&loop->graveyard) && loop->graveyard.next == loop->graveyard.prev)
        rt_loop_defer(loop, run_graveyard, loop, marker, 0);
}

static void run_deferred(rt_loop *loop)
{
    /* Work queued while running waits for the next pass (bounded per pass). */
    rt_deferred *d = loop->defer_head;
    loop->defer_head = loop->defer_tail = NULL;
    while (d) {
        rt_deferred *next = d->next;
        d->fn(d->a, d->b, d->status);
        if (loop->defer_pool_size < RT_DEFER_POOL_MAX) {
            d->next = loop->defer_pool;
            loop->defer_pool = d;
            loop->defer_pool_size++;
        } else {
            free(d);
        }
        d = next;
    }
}

static void on_defer_idle(uv_idle_t *idle)
{
    rt_loop *loop = idle->data;
    run_deferred(loop);
    if (loop->defer_head == NULL)
        uv_idle_stop(idle);
}

/* ---- shutdown ---- */

void rt_loop_shutdown(rt_loop *loop)
{
    loop->shutting_down = true;
    rt_metrics_close(loop);
    /* Each close unlinks its object, so these loops end. */
    while (!rt_list_empty(&loop->servers))
        rt_server_close(RT_CONTAINER(loop->servers.next, rt_server, link));
    while (!rt_list_empty(&loop->clients))
        rt_conn_close(RT_CONTAINER(loop->clients.next, rt_conn, link));
    rt_timers_shutdown(loop);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    rt_loop *loop = sig->data;
    if (loop->signals_seen++ == 0) {
        rt_log(RT_LOG_INFO, NULL, "%s: closing every session", signum == SIGINT ? "SIGINT" : "SIGTERM");
        rt_loop_shutdown(loop);
    } else {
        rt_log(RT_LOG_WARN, NULL, "second signal: stopping now");
        rt_loop_stop(loop);
    }
}

/* SIGHUP: the key files again (docs/deploy.md, rotation without a restart).
 * SIGHUP, SIGUSR1 and SIGUSR2 never end the process (their default): the
 * master of --workers passes them on, and a script acts on them with
 * dtls.onSignal (signal.c) or not at all. */
static void on_user_signal(uv_signal_t *sig, int signum)
{
    char err[300];
    if (signum != SIGHUP || !rt_secret_files_given())
        return;
    if (rt_secret_files_reload(sig->data, err, sizeof err) == 0)
        rt_log(RT_LOG_INFO, NULL, "SIGHUP: key files read again");
    else
        rt_log(RT_LOG_WARN, NULL, "SIGHUP: %s; keeping the keys in use", err);
}

int rt_loop_handle_signals(rt_loop *loop)
{
    if (loop->signals_on)
        return 0;
    static const int user_signals[3] = { SIGHUP, SIGUSR1, SIGUSR2 };
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&loop->uv, &loop->user_signals[i]);
        loop->user_signals[i].data = loop;
        uv_signal_start(&loop->user_signals[i], on_user_signal, user_signals[i]);
        uv_unref((uv_handle_t *)&loop->user_signals[i]);
    }
    uv_signal_init(&loop->uv, &loop->sigint);
    uv_signal_init(&loop->uv, &loop->sigterm);
    loop->sigint.data = loop->sigterm.data = loop;
    int r = uv_signal_start(&loop->sigint, on_signal, SIGINT);
    if (r == 0)
        r = uv_signal_start(&loop->sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&loop->sigint);
    uv_unref((uv_handle_t *)&loop->sigterm);
    loop->signals_on = true;
    return r;
}

static void close_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void rt_loop_free(rt_loop *loop)
{
    if (loop == NULL)
        return;
    loop->freeing = true;
    rt_loop_shutdown(loop);
    /* Let closes, cancelled sends and deferred frees finish. */
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    run_deferred(loop);
    run_graveyard(loop, 0, 0);
    rt_timers_free_all(loop);
    uv_walk(&loop->uv, close_leftover, NULL);
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    uv_loop_close(&loop->uv);
    while (loop->defer_pool) {
        rt_deferred *d = loop->defer_pool;
        loop->defer_pool = d->next;
        free(d);
    }
    rt_heap_free(&loop->heap);
    free(loop);
}

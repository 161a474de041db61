/* lb_state.c — one binding context per Lua state: the runtime loop, the
 * thread callbacks run on, and the sentinel whose finalizer (the last one
 * lua_close runs, being the first marked) frees the loop. Never calls into
 * Lua once lua_close has begun.
 */
#include <stdlib.h>

#include "lb.h"

static const char state_key = 'S';

static int sentinel_gc(lua_State *L)
{
    lb_state **box = lua_touserdata(L, 1);
    lb_state *lb = *box;
    if (lb == NULL)
        return 0;
    *box = NULL;
    lb->closing = true;
    if (lb->log_handler_ref != LUA_NOREF)
        rt_log_set_handler(NULL, NULL); /* never into a closed state */
    for (int i = 0; i < LB_SIGNALS; i++)
        rt_signal_free(lb->signals[i].watcher); /* closed by rt_loop_free's run */
    rt_loop_free(lb->loop);
    free(lb);
    return 0;
}

lb_state *lb_state_get(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key);
    lb_state **box = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return box ? *box : NULL;
}

lb_state *lb_state_open(lua_State *L)
{
    lb_state *lb = lb_state_get(L);
    if (lb)
        return lb;
    lb_state **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, sentinel_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lb = calloc(1, sizeof *lb);
    if (lb == NULL || (lb->loop = rt_loop_new()) == NULL) {
        free(lb);
        luaL_error(L, "dtls: cannot create the event loop");
        return NULL;
    }
    lb->log_handler_ref = LUA_NOREF;
    for (int i = 0; i < LB_SIGNALS; i++) {
        lb->signals[i].lb = lb;
        lb->signals[i].fn_ref = LUA_NOREF;
    }
    lb->exit_code = -1;
    *box = lb;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lb->main = lua_tothread(L, -1);
    lua_pop(L, 1);
    lb->L = lb->main;
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
    return lb;
}

lua_State *lb_enter(lb_state *lb, lua_State *L)
{
    lua_State *saved = lb->L;
    lb->L = L;
    return saved;
}

void lb_leave(lb_state *lb, lua_State *saved)
{
    lb->L = saved;
}

bool lb_can_call(const lb_state *lb)
{
    return !lb->closing;
}

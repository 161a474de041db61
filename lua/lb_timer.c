/* lb_timer.c — dtls.setTimeout, dtls.setInterval, dtls.clearTimer and the
 * timer object (clear, unref, ref). Owns the lb_timer struct; an armed
 * timer pins its userdata so its function stays reachable. Never lets a
 * raising callback escape: it is logged like any handler.
 */
#include <stdlib.h>

#include "lb.h"

typedef struct lb_timer {
    lb_state *lb;
    rt_timer *rt;
    int self_ref; /* while armed */
    bool repeat;
} lb_timer;

static lb_timer *check_timer(lua_State *L, int idx)
{
    lb_timer **box = luaL_checkudata(L, idx, LB_TIMER_MT);
    if (*box == NULL)
        luaL_argerror(L, idx, "timer already collected");
    return *box;
}

static void on_fire(void *arg)
{
    lb_timer *t = arg;
    lb_state *lb = t->lb;
    if (!lb_can_call(lb) || t->self_ref == LUA_NOREF)
        return;
    lua_State *L = lb->L;
    if (!lua_checkstack(L, 6))
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->self_ref); /* keeps it alive during the call */
    int ud = lua_gettop(L);
    if (!t->repeat)
        lb_unref(L, &t->self_ref); /* a timeout is done once it fires */
    lua_getiuservalue(L, ud, 1);
    lua_getfield(L, -1, "fn");
    lua_pushvalue(L, ud);
    lb_pcall(lb, 1, 0, "a timer callback", LUA_NOREF);
    lua_settop(L, ud - 1);
}

static int start_timer(lua_State *L, bool repeat)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (ms < 0)
        return luaL_argerror(L, 1, "delay must not be negative");
    if (repeat && ms == 0)
        ms = 1; /* an interval of 0 would spin the loop */
    lb_timer **box = lua_newuserdatauv(L, sizeof *box, 1);
    *box = NULL;
    int ud = lua_gettop(L);
    lb_init_uservalue(L);
    luaL_setmetatable(L, LB_TIMER_MT);
    lua_pushvalue(L, 2);
    lb_set_field(L, ud, "fn");
    lb_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return luaL_error(L, "out of memory");
    t->lb = lb;
    t->repeat = repeat;
    t->self_ref = LUA_NOREF;
    *box = t;
    t->rt = rt_timer_new(lb->loop, on_fire, t);
    if (t->rt == NULL || rt_timer_start(t->rt, (uint64_t)ms, repeat ? (uint64_t)ms : 0) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, rt_loop_shutting_down(lb->loop) ? "the loop is shutting down"
                                                          : "cannot start a timer");
        return 2;
    }
    t->self_ref = lb_ref_value(L, ud);
    lua_settop(L, ud);
    return 1;
}

int lb_set_timeout(lua_State *L) { return start_timer(L, false); }
int lb_set_interval(lua_State *L) { return start_timer(L, true); }

int lb_clear_timer(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        return 0;
    lb_timer *t = check_timer(L, 1);
    if (t->rt)
        rt_timer_stop(t->rt);
    lb_unref(L, &t->self_ref);
    return 0;
}

static int timer_unref(lua_State *L)
{
    lb_timer *t = check_timer(L, 1);
    if (t->rt)
        rt_timer_set_ref(t->rt, 0);
    lua_settop(L, 1);
    return 1;
}

static int timer_ref(lua_State *L)
{
    lb_timer *t = check_timer(L, 1);
    if (t->rt)
        rt_timer_set_ref(t->rt, 1);
    lua_settop(L, 1);
    return 1;
}

static int timer_active(lua_State *L)
{
    lb_timer *t = check_timer(L, 1);
    lua_pushboolean(L, t->rt && t->self_ref != LUA_NOREF && rt_timer_active(t->rt));
    return 1;
}

static int timer_gc(lua_State *L)
{
    lb_timer **box = luaL_checkudata(L, 1, LB_TIMER_MT);
    lb_timer *t = *box;
    if (t == NULL)
        return 0;
    *box = NULL;
    if (t->self_ref != LUA_NOREF)
        t->lb->closing = true; /* an armed timer is only collected by lua_close */
    rt_timer_free(t->rt); /* stops it; libuv lets go of the handle later */
    free(t);
    return 0;
}

void lb_timer_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "clear", lb_clear_timer }, { "unref", timer_unref },
        { "ref", timer_ref },        { "active", timer_active },
        { NULL, NULL },
    };
    static const luaL_Reg meta[] = { { "__index", lb_index }, { "__gc", timer_gc }, { NULL, NULL } };
    lb_register_type(L, LB_TIMER_MT, methods, meta);
}

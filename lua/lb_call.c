/* lb_call.c — the one way C calls into Lua (lb_pcall, with a traceback
 * handler), event listeners and emission, and the shared object plumbing
 * (uservalue tables of listeners and fields, __index/__newindex).
 * A handler that raises is logged with its traceback and reported as
 * 'error' on its owner; it never unwinds through libuv or the engine.
 */
#include <string.h>

#include "lb.h"

/* Uservalue layout: a table; [1] = { event = { fn, ... } }, string keys are
 * the object's fields (rinfo, cipher...) and whatever the script sets. */
#define LB_LISTENERS 1

/* What the innermost lb_pcall is calling, for the handler's log line. A
 * plain C function as message handler costs nothing per call, where a
 * closure carrying `what` was one allocation per event (the hot path). */
static const char *calling_what;

static int traceback_handler(lua_State *L)
{
    const char *what = calling_what;
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    rt_log(RT_LOG_SEVERE, NULL, "error in %s: %s", what ? what : "handler", lua_tostring(L, -1));
    lua_settop(L, 1); /* the error itself goes to the 'error' listeners */
    return 1;
}

bool lb_pcall(lb_state *lb, int nargs, int nresults, const char *what, int error_target)
{
    lua_State *L = lb->L;
    int fn = lua_gettop(L) - nargs;
    if (!lua_checkstack(L, 8)) {
        lua_settop(L, fn - 1);
        rt_log(RT_LOG_SEVERE, NULL, "Lua stack exhausted: %s not called", what);
        return false;
    }
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, fn);
    const char *outer = calling_what;
    calling_what = what;
    int rc = lua_pcall(L, nargs, nresults, fn);
    calling_what = outer;
    if (rc == LUA_OK) {
        lua_remove(L, fn);
        return true;
    }
    /* Stack: handler, error. Report it once; an 'error' listener that
     * raises too is only logged. */
    if (error_target != LUA_NOREF && error_target != LUA_REFNIL && lb->error_depth == 0 &&
        lb_can_call(lb)) {
        lb->error_depth++;
        lua_pushvalue(L, -1);
        lb_emit(lb, error_target, "error", 1, LUA_NOREF, "an 'error' listener");
        lb->error_depth--;
    }
    lua_settop(L, fn - 1);
    return false;
}

int lb_emit(lb_state *lb, int obj_ref, const char *event, int nargs, int error_target,
            const char *what)
{
    lua_State *L = lb->L;
    int args = lua_gettop(L) - nargs + 1;
    int ran = 0;
    if (!lb_can_call(lb) || obj_ref == LUA_NOREF || obj_ref == LUA_REFNIL || !lua_checkstack(L, 8 + nargs)) {
        lua_settop(L, args - 1);
        return 0;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, obj_ref);
    if (lua_type(L, -1) != LUA_TUSERDATA || lua_getiuservalue(L, -1, 1) != LUA_TTABLE ||
        lua_rawgeti(L, -1, LB_LISTENERS) != LUA_TTABLE || lua_getfield(L, -1, event) != LUA_TTABLE) {
        lua_settop(L, args - 1);
        return 0;
    }
    int list = lua_gettop(L);
    /* Listeners added while emitting wait for the next event. */
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, list, i) != LUA_TFUNCTION) {
            lua_pop(L, 1);
            continue;
        }
        for (int a = 0; a < nargs; a++)
            lua_pushvalue(L, args + a);
        lb_pcall(lb, nargs, 0, what, error_target);
        ran++;
        if (!lb_can_call(lb))
            break;
    }
    lua_settop(L, args - 1);
    return ran;
}

bool lb_has_listeners(lb_state *lb, int obj_ref, const char *event)
{
    lua_State *L = lb->L;
    if (!lb_can_call(lb) || obj_ref == LUA_NOREF || obj_ref == LUA_REFNIL || !lua_checkstack(L, 4))
        return false;
    int top = lua_gettop(L);
    bool any = lua_rawgeti(L, LUA_REGISTRYINDEX, obj_ref) == LUA_TUSERDATA &&
               lua_getiuservalue(L, -1, 1) == LUA_TTABLE &&
               lua_rawgeti(L, -1, LB_LISTENERS) == LUA_TTABLE &&
               lua_getfield(L, -1, event) == LUA_TTABLE && lua_rawlen(L, -1) > 0;
    lua_settop(L, top);
    return any;
}

void lb_init_uservalue(lua_State *L)
{
    lua_createtable(L, 1, 4);
    lua_createtable(L, 0, 4);
    lua_rawseti(L, -2, LB_LISTENERS);
    lua_setiuservalue(L, -2, 1);
}

void lb_add_listener(lua_State *L, int ud_idx, const char *event, int fn_idx)
{
    ud_idx = lua_absindex(L, ud_idx);
    fn_idx = lua_absindex(L, fn_idx);
    lua_getiuservalue(L, ud_idx, 1);
    lua_rawgeti(L, -1, LB_LISTENERS);
    if (lua_getfield(L, -1, event) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, event);
    }
    lua_pushvalue(L, fn_idx);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 3);
}

void *lb_check_self(lua_State *L, const char *mt, const char *var)
{
    void *p = luaL_testudata(L, 1, mt);
    if (p == NULL) {
        /* obj.method(x) instead of obj:method(x) is the usual cause. */
        lua_Debug ar;
        const char *name = "method";
        if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name)
            name = ar.name;
        luaL_argerror(L, 1, lua_pushfstring(L, "%s expected, got %s; call it with a colon: %s:%s(...)",
                                            mt, luaL_typename(L, 1), var, name));
    }
    return p;
}

void lb_set_events(lua_State *L, const char *mt, const char *const *events)
{
    luaL_getmetatable(L, mt);
    lua_newtable(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *const *e = events; *e; e++) {
        if (e != events)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, *e);
        lua_pushboolean(L, 1);
        lua_setfield(L, -3, *e);
    }
    luaL_pushresult(&b);
    lua_setfield(L, -3, "event_names");
    lua_setfield(L, -2, "events");
    lua_pop(L, 1);
}

/* The object at 1 is ours, and event (at 2) is one it emits: a listener for
 * "mesage" would never run, so say so now. */
static const char *check_event(lua_State *L)
{
    int top = lua_gettop(L);
    if (lua_type(L, 1) != LUA_TUSERDATA || lua_getiuservalue(L, 1, 1) != LUA_TTABLE)
        luaL_argerror(L, 1, "dtls server or socket expected; call it with a colon: obj:on(event, fn)");
    lua_pop(L, 1);
    const char *event = luaL_checkstring(L, 2);
    if (lua_getmetatable(L, 1) && lua_getfield(L, -1, "events") == LUA_TTABLE) {
        if (lua_getfield(L, -1, event) == LUA_TNIL) {
            lua_getfield(L, -3, "event_names");
            lua_getfield(L, -4, "__name");
            luaL_argerror(L, 2, lua_pushfstring(L, "unknown event '%s' (%s events: %s)", event,
                                                lua_tostring(L, -1), lua_tostring(L, -2)));
        }
    }
    lua_settop(L, top);
    return event;
}

int lb_on(lua_State *L)
{
    const char *event = check_event(L);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lb_add_listener(L, 1, event, 3);
    lua_settop(L, 1);
    return 1;
}

int lb_off(lua_State *L)
{
    const char *event = check_event(L);
    bool all = lua_isnoneornil(L, 3);
    if (!all)
        luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3); /* the pushes below must not shift the arguments */
    lua_getiuservalue(L, 1, 1);
    lua_rawgeti(L, -1, LB_LISTENERS);
    int listeners = lua_gettop(L);
    if (all || lua_getfield(L, listeners, event) != LUA_TTABLE) {
        lua_pushnil(L);
        lua_setfield(L, listeners, event);
    } else {
        /* Rebuild the list without fn. */
        int old = lua_gettop(L);
        lua_newtable(L);
        lua_Integer n = (lua_Integer)lua_rawlen(L, old), k = 0;
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, old, i);
            if (lua_rawequal(L, -1, 3))
                lua_pop(L, 1);
            else
                lua_rawseti(L, old + 1, ++k);
        }
        lua_setfield(L, listeners, event);
    }
    lua_settop(L, 1);
    return 1;
}

void lb_register_type(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *metamethods)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "methods");
    luaL_setfuncs(L, metamethods, 0);
    lua_pop(L, 1);
}

bool lb_index_method(lua_State *L)
{
    /* methods live in the metatable's "methods" table */
    if (lua_getmetatable(L, 1) && lua_getfield(L, -1, "methods") == LUA_TTABLE) {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, -2) != LUA_TNIL)
            return true;
    }
    lua_settop(L, 2);
    return false;
}

int lb_index_field(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE || lua_type(L, 2) != LUA_TSTRING)
        return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

int lb_index(lua_State *L)
{
    return lb_index_method(L) ? 1 : lb_index_field(L);
}

int lb_newindex(lua_State *L)
{
    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_argerror(L, 2, "field names are strings");
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

void lb_set_field(lua_State *L, int ud_idx, const char *name)
{
    ud_idx = lua_absindex(L, ud_idx);
    lua_getiuservalue(L, ud_idx, 1);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void lb_push_sockname(lua_State *L, const rt_sockname *name)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name->address);
    lua_setfield(L, -2, "address");
    lua_pushinteger(L, name->port);
    lua_setfield(L, -2, "port");
    lua_pushstring(L, name->family ? name->family : "IPv4");
    lua_setfield(L, -2, "family");
}

void lb_push_peer(lua_State *L, const rt_conn *conn)
{
    rt_sockname name;
    rt_conn_peer(conn, &name);
    lb_push_sockname(L, &name);
}

int lb_ref_value(lua_State *L, int idx)
{
    lua_pushvalue(L, idx);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void lb_unref(lua_State *L, int *ref)
{
    if (*ref != LUA_NOREF && *ref != LUA_REFNIL)
        luaL_unref(L, LUA_REGISTRYINDEX, *ref);
    *ref = LUA_NOREF;
}

/* ---- error objects ------------------------------------------------------ */

static int error_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "reason");
    if (!lua_isstring(L, -1))
        lua_pushliteral(L, "dtls error");
    return 1;
}

static int error_concat(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    luaL_tolstring(L, 2, NULL);
    lua_concat(L, 2);
    return 1;
}

/* err:match(...), err:find(...): what scripts did when errors were strings. */
static int error_string_method(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    luaL_tolstring(L, 2, NULL);
    lua_replace(L, 2);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int error_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING && lua_getglobal(L, "string") == LUA_TTABLE &&
        lua_getfield(L, -1, lua_tostring(L, 2)) == LUA_TFUNCTION) {
        lua_pushcclosure(L, error_string_method, 1);
        return 1;
    }
    return 0;
}

void lb_push_error(lua_State *L, rt_conn *conn, int err, const char *msg)
{
    lua_createtable(L, 0, 4);
    const char *alert = rt_error_alert_name(err);
    if (alert) {
        lua_pushstring(L, alert);
        lua_setfield(L, -2, "alert");
    }
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "reason");
    if (conn) {
        size_t id_len = 0;
        const uint8_t *id = rt_conn_psk_identity(conn, &id_len);
        if (id) {
            lua_pushlstring(L, (const char *)id, id_len);
            lua_setfield(L, -2, "identity");
        }
        lb_push_peer(L, conn);
        lua_setfield(L, -2, "rinfo");
    }
    if (luaL_newmetatable(L, LB_ERROR_MT)) {
        static const luaL_Reg meta[] = {
            { "__tostring", error_tostring }, { "__concat", error_concat },
            { "__index", error_index },       { NULL, NULL },
        };
        luaL_setfuncs(L, meta, 0);
    }
    lua_setmetatable(L, -2);
}

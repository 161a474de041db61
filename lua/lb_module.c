/* lb_module.c — luaopen_dtls: the module table (createServer, connect,
 * timers, logging, run/stop/shutdown, hex helpers) and ldtls_host_run for
 * dtlsrun. Owns nothing but the table; objects live in their own files.
 */
#include <string.h>

#include "lb.h"
#include "ldtls.h"

static int l_set_log_level(lua_State *L)
{
    int level;
    if (lua_type(L, 1) == LUA_TSTRING) {
        level = rt_log_level_parse(lua_tostring(L, 1));
        if (level < 0)
            return luaL_argerror(L, 1, "FINEST, FINER, FINE, INFO, WARN or SEVERE expected");
    } else {
        lua_Integer v = luaL_checkinteger(L, 1);
        if (v < RT_LOG_FINEST || v > RT_LOG_SEVERE)
            return luaL_argerror(L, 1, "level out of range (see dtls.logLevel)");
        level = (int)v;
    }
    rt_log_set_level(level);
    return 0;
}

static int l_get_log_level(lua_State *L)
{
    lua_pushinteger(L, rt_log_level());
    return 1;
}

/* dtls.log(level, message): a log line in the runtime's format. */
static int l_log(lua_State *L)
{
    int level = (int)luaL_checkinteger(L, 1);
    const char *msg = luaL_checkstring(L, 2);
    if (level < RT_LOG_FINEST || level > RT_LOG_SEVERE)
        return luaL_argerror(L, 1, "level out of range (see dtls.logLevel)");
    rt_log(level, NULL, "%s", msg);
    return 0;
}

static int l_run(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    if (rt_loop_running(lb->loop))
        return luaL_error(L, "dtls.run: the loop is already running");
    lua_State *saved = lb_enter(lb, L);
    rt_loop_run(lb->loop);
    lb_leave(lb, saved);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_stop(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    rt_loop_stop(lb->loop);
    return 0;
}

static int l_shutdown(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    lua_State *saved = lb_enter(lb, L);
    rt_loop_shutdown(lb->loop);
    lb_leave(lb, saved);
    return 0;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* dtls.hex("0a0B") -> "\10\11": PSK keys are binary strings. */
static int l_hex(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (len % 2) {
        lua_pushnil(L);
        lua_pushstring(L, "hex: odd number of digits");
        return 2;
    }
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, len / 2 + 1);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit((unsigned char)s[i]), lo = hex_digit((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "hex: bad digit at position %d", (int)(hi < 0 ? i + 1 : i + 2));
            return 2;
        }
        out[i / 2] = (char)(hi << 4 | lo);
    }
    luaL_pushresultsize(&b, len / 2);
    return 1;
}

static int l_tohex(lua_State *L)
{
    static const char digits[] = "0123456789abcdef";
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, len * 2 + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 15];
    }
    luaL_pushresultsize(&b, len * 2);
    return 1;
}

int luaopen_dtls(lua_State *L)
{
    static const luaL_Reg with_state[] = {
        { "createServer", lb_create_server }, { "connect", lb_connect },
        { "setTimeout", lb_set_timeout },     { "setInterval", lb_set_interval },
        { "run", l_run },                     { "stop", l_stop },
        { "shutdown", l_shutdown },           { NULL, NULL },
    };
    static const luaL_Reg plain[] = {
        { "clearTimer", lb_clear_timer }, { "setLogLevel", l_set_log_level },
        { "getLogLevel", l_get_log_level }, { "log", l_log },
        { "hex", l_hex },                 { "tohex", l_tohex },
        { NULL, NULL },
    };
    lb_state *lb = lb_state_open(L);
    lb_server_register(L);
    lb_socket_register(L);
    lb_timer_register(L);
    luaL_newlib(L, plain);
    lua_pushlightuserdata(L, lb);
    luaL_setfuncs(L, with_state, 1);
    lua_createtable(L, 0, 6);
    static const char *const names[] = { "FINEST", "FINER", "FINE", "INFO", "WARN", "SEVERE" };
    for (int i = 0; i < 6; i++) {
        lua_pushinteger(L, i);
        lua_setfield(L, -2, names[i]);
    }
    lua_setfield(L, -2, "logLevel");
    /* dtlsrun --workers: this process's number (1..N) and N; 1 and 1 else. */
    lua_pushinteger(L, rt_worker_index());
    lua_setfield(L, -2, "worker");
    lua_pushinteger(L, rt_worker_count());
    lua_setfield(L, -2, "workers");
    lua_pushliteral(L, "dtls 0.1");
    lua_setfield(L, -2, "_VERSION");
    return 1;
}

int ldtls_host_run(lua_State *L)
{
    lb_state *lb = lb_state_get(L);
    if (lb == NULL)
        return 0; /* the script never loaded dtls: nothing to run */
    rt_loop_handle_signals(lb->loop);
    lua_State *saved = lb_enter(lb, L);
    int r = rt_loop_run(lb->loop);
    lb_leave(lb, saved);
    return r;
}

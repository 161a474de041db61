/* lb_module.c — luaopen_dtls: the module table (createServer, connect,
 * timers, logging, run/stop/shutdown, hex helpers) and ldtls_host_run for
 * dtlsrun. Owns nothing but the table; objects live in their own files.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "ldtls.h"

/* A level by number (dtls.logLevel.INFO) or by name ("INFO", any case). */
static int check_level(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        int level = rt_log_level_parse(lua_tostring(L, idx));
        if (level < 0)
            luaL_argerror(L, idx, "FINEST, FINER, FINE, INFO, WARN or SEVERE expected");
        return level;
    }
    lua_Integer v = luaL_checkinteger(L, idx);
    if (v < RT_LOG_FINEST || v > RT_LOG_SEVERE)
        luaL_argerror(L, idx, "level out of range (see dtls.logLevel)");
    return (int)v;
}

static int l_set_log_level(lua_State *L)
{
    rt_log_set_level(check_level(L, 1));
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
    int level = check_level(L, 1);
    const char *msg = luaL_checkstring(L, 2);
    rt_log(level, NULL, "%s", msg);
    return 0;
}

/* The runtime's log sink when the script set one: fn(level, message, peer). */
static int lua_log_handler(void *arg, int level, const char *who, const char *msg)
{
    lb_state *lb = arg;
    if (!lb_can_call(lb) || lb->log_handler_ref == LUA_NOREF || !lua_checkstack(lb->L, 6))
        return 0;
    lua_State *L = lb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, lb->log_handler_ref);
    lua_pushstring(L, rt_log_level_name(level));
    lua_pushstring(L, msg);
    if (who)
        lua_pushstring(L, who);
    else
        lua_pushnil(L);
    /* A handler that raises: its error goes to stderr, and so does the line. */
    return lb_pcall(lb, 3, 0, "the log handler", LUA_NOREF);
}

static int l_set_log_handler(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lb_unref(L, &lb->log_handler_ref);
    if (lua_isnoneornil(L, 1)) {
        rt_log_set_handler(NULL, NULL);
        return 0;
    }
    lb->log_handler_ref = lb_ref_value(L, 1);
    rt_log_set_handler(lua_log_handler, lb);
    return 0;
}

static void on_signal(void *arg, int signum)
{
    lb_signal *s = arg;
    lb_state *lb = s->lb;
    if (!lb_can_call(lb) || s->fn_ref == LUA_NOREF || !lua_checkstack(lb->L, 4))
        return;
    lua_rawgeti(lb->L, LUA_REGISTRYINDEX, s->fn_ref);
    lua_pushstring(lb->L, signum == SIGHUP ? "SIGHUP" : signum == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
    lb_pcall(lb, 1, 0, "a signal handler", LUA_NOREF);
}

/* dtls.onSignal(name, fn): fn(name) runs from the loop each time the signal
 * arrives (SIGHUP to reload, say); nil removes it. SIGINT and SIGTERM stay
 * dtlsrun's graceful shutdown. */
static int l_on_signal(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    static const char *const names[] = { "SIGHUP", "SIGUSR1", "SIGUSR2", NULL };
    static const int numbers[] = { SIGHUP, SIGUSR1, SIGUSR2 };
    const char *name = luaL_checkstring(L, 1);
    int i = 0;
    while (names[i] && strcmp(names[i], name) != 0)
        i++;
    if (names[i] == NULL)
        return luaL_argerror(L, 1, lua_pushfstring(L, "SIGHUP, SIGUSR1 or SIGUSR2 expected, got '%s'%s", name,
                                                   strcmp(name, "SIGINT") == 0 || strcmp(name, "SIGTERM") == 0
                                                   ? " (SIGINT and SIGTERM are the graceful shutdown)" : ""));
    if (!lua_isnil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lb_signal *s = &lb->signals[i];
    lb_unref(L, &s->fn_ref);
    if (lua_isnil(L, 2)) {
        rt_signal_free(s->watcher);
        s->watcher = NULL;
        return 0;
    }
    if (s->watcher == NULL && (s->watcher = rt_signal_new(lb->loop, numbers[i], on_signal, s)) == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot watch %s", names[i]);
        return 2;
    }
    s->fn_ref = lb_ref_value(L, 2);
    lua_pushboolean(L, 1);
    return 1;
}

/* dtls.exit([code]): close_notify to every session, then end the process
 * with code once the loop has stopped (dtlsrun returns it from main; under
 * plain lua5.4, dtls.run() exits). */
static int l_exit(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer code = luaL_optinteger(L, 1, 0);
    if (code < 0 || code > 255)
        return luaL_argerror(L, 1, "exit code out of range (0-255)");
    lb->exit_code = (int)code;
    lua_State *saved = lb_enter(lb, L);
    rt_loop_shutdown(lb->loop);
    lb_leave(lb, saved);
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
    if (lb->exit_code >= 0 && lb->host == NULL) {
        /* dtls.exit under plain lua5.4: as os.exit(code) would. */
        fflush(stdout);
        exit(lb->exit_code);
    }
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
        { "shutdown", l_shutdown },           { "setLogHandler", l_set_log_handler },
        { "exit", l_exit },                   { "onSignal", l_on_signal },
        { NULL, NULL },
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
    lb->host = "dtlsrun";
    lua_State *saved = lb_enter(lb, L);
    int r = rt_loop_run(lb->loop);
    lb_leave(lb, saved);
    return r;
}

int ldtls_host_metrics(lua_State *L, const char *address, int port, char *err, size_t errlen)
{
    lb_state *lb = lb_state_get(L);
    if (lb == NULL) {
        snprintf(err, errlen, "metrics: the script did not load the dtls module");
        return -1;
    }
    return rt_metrics_start(lb->loop, address, port, err, errlen);
}

int ldtls_exit_code(lua_State *L)
{
    lb_state *lb = lb_state_get(L);
    return lb ? lb->exit_code : -1;
}

/* main.c — the dtlsrun executable: `dtlsrun [options] script.lua [args...]`.
 * Owns the command line, the Lua state (standard libraries, `dtls`
 * preloaded, `arg` as lua.c builds it), running the script and then the
 * loop, and --workers (the master's side is runtime/workers.c). The only
 * file in runtime/ that knows Lua; never touches the engine.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <uv.h>

#include "ldtls.h"
#include "runtime.h"

#ifndef DTLSRUN_VERSION
#define DTLSRUN_VERSION "0"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dtlsrun [options] script.lua [args...]\n"
            "Runs a DTLS service whose behaviour is a Lua 5.4 script.\n"
            "\n"
            "options:\n"
            "  --log-level LEVEL  FINEST, FINER, FINE, INFO (default), WARN or SEVERE\n"
            "  --log-format FMT   text (default) or json (one object per line)\n"
            "  --metrics ADDR:PORT  serve the servers' counters at http://ADDR:PORT/metrics\n"
            "                     (Prometheus text format; [::1]:PORT for IPv6)\n"
            "  --workers N        run N worker processes (or 'auto': one per CPU) on\n"
            "                     the same ports (SO_REUSEPORT); default 1\n"
            "  --ticket-keys FILE session ticket keys for every server: one or more\n"
            "                     48-byte keys, raw; the first seals, all open\n"
            "  --cookie-secret FILE  HelloVerifyRequest cookie secret for every\n"
            "                     server: 32 to 64 raw bytes\n"
            "  --version          print the version and exit\n"
            "  --help             print this help and exit\n"
            "  --                 stop handling options\n"
            "\n"
            "The script sees its arguments in `arg` (arg[0] is the script) and\n"
            "loads the API with require \"dtls\". The loop runs after the script\n"
            "returns, until nothing is left to do; SIGINT/SIGTERM close every\n"
            "session with close_notify and exit 0; dtls.exit(code) exits with code.\n"
            "The script's directory comes first on package.path.\n"
            "SSLKEYLOGFILE=path appends each session's NSS key-log line to path\n"
            "(for decrypting captures while debugging).\n"
            "session with close_notify and exit 0.\n"
            "With --workers each worker loads the script into its own Lua state;\n"
            "they share the cookie secret and ticket keys (random unless given),\n"
            "and a worker that dies is restarted.\n"
            "A server given neither cert/key nor psk uses a self-signed default\n"
            "certificate kept in $DTLSRUN_STATE_DIR, else $XDG_STATE_HOME/dtlsrun,\n"
            "else $HOME/.local/state/dtlsrun.\n");
}

static int traceback_handler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* arg as lua.c makes it: arg[0] the script, positive indices its arguments,
 * negative ones the interpreter and its options. */
static void make_arg_table(lua_State *L, int argc, char **argv, int script)
{
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* The script's own directory comes first on package.path, so a script
 * finds the modules beside it (scripts/coap-hello.lua requires "coap")
 * from any working directory. */
static void add_script_dir_to_path(lua_State *L, const char *script)
{
    const char *slash = strrchr(script, '/');
    lua_getglobal(L, "package");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    if (slash == NULL)
        lua_pushliteral(L, ".");
    else if (slash == script)
        lua_pushliteral(L, ""); /* "/script.lua": "/?.lua" */
    else
        lua_pushlstring(L, script, (size_t)(slash - script));
    const char *dir = lua_tostring(L, -1);
    lua_getfield(L, -2, "path");
    const char *old = lua_tostring(L, -1);
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, old ? old : "");
    lua_setfield(L, -4, "path");
    lua_pop(L, 3);
}

static int run_script(lua_State *L, const char *path, int nargs_from, int argc, char **argv)
{
    lua_pushcfunction(L, traceback_handler);
    int handler = lua_gettop(L);
    if (luaL_loadfile(L, path) != LUA_OK) {
        /* Syntax errors already read "file:line: message". */
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    int n = 0;
    for (int i = nargs_from; i < argc; i++, n++)
        lua_pushstring(L, argv[i]);
    if (lua_pcall(L, n, 0, handler) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_settop(L, 0);
    return 0;
}

/* "127.0.0.1:9464" or "[::1]:9464". */
static int parse_host_port(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return -1;
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (s[0] == '[') {
        if (colon[-1] != ']')
            return -1;
        h = s + 1;
        n -= 2;
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (n == 0 || n >= cap || *end != '\0' || p < 0 || p > 65535 || end == colon + 1)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

/* --ticket-keys / --cookie-secret: defaults for every server of this process
 * (and of its workers), read again on SIGHUP. Exit status 1 on a bad file,
 * with a message naming the flag. */
static int load_shared_secrets(const char *ticket_file, const char *cookie_file)
{
    char err[400];
    if (rt_secret_files_load(ticket_file, cookie_file, err, sizeof err) != 0) {
        fprintf(stderr, "dtlsrun: %s\n", err);
        return 1;
    }
    return 0;
}

/* Workers share one cookie secret and one ticket secret: made here, before
 * the fork, unless the files gave them. Both derive their keys per period
 * of wall-clock time, so the workers rotate ticket keys (every
 * sessionTimeout) and cookie keys in lockstep without a word between them. */
static int make_shared_secrets(bool have_ticket_keys, bool have_cookie_secret)
{
    uint8_t buf[RT_COOKIE_SECRET_MIN];
    char err[200];
    int rc = 0;
    if (!have_ticket_keys &&
        (uv_random(NULL, NULL, buf, sizeof buf, 0, NULL) != 0 ||
         rt_set_default_ticket_secret(buf, sizeof buf, err, sizeof err) != 0))
        rc = 1;
    if (!have_cookie_secret &&
        (uv_random(NULL, NULL, buf, RT_COOKIE_SECRET_MIN, 0, NULL) != 0 ||
         rt_set_default_cookie_secret(buf, RT_COOKIE_SECRET_MIN, err, sizeof err) != 0))
        rc = 1;
    explicit_bzero(buf, sizeof buf);
    if (rc)
        fprintf(stderr, "dtlsrun: cannot make the workers' shared secrets\n");
    return rc;
}

/* The flag's value: "--flag VALUE" or "--flag=VALUE"; NULL when missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (a[n] == '=')
        return a + n + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool is_flag(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

int main(int argc, char **argv)
{
    const char *metrics = NULL;
    char metrics_host[64];
    int metrics_port = 0;
    int i = 1;
    int workers = 1;
    const char *ticket_file = NULL, *cookie_file = NULL;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("dtlsrun %s (%s, libuv %s)\n", DTLSRUN_VERSION, LUA_RELEASE, uv_version_string());
            return 0;
        } else if (strcmp(a, "--log-level") == 0 || strncmp(a, "--log-level=", 12) == 0) {
            const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
            int level = v ? rt_log_level_parse(v) : -1;
            if (level < 0) {
                fprintf(stderr, "dtlsrun: --log-level needs one of FINEST, FINER, FINE, INFO, "
                                "WARN, SEVERE\n");
                return 2;
            }
            rt_log_set_level(level);
        } else if (strcmp(a, "--metrics") == 0 || strncmp(a, "--metrics=", 10) == 0) {
            metrics = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            if (metrics == NULL || parse_host_port(metrics, metrics_host, sizeof metrics_host,
                                                   &metrics_port) != 0) {
                fprintf(stderr, "dtlsrun: --metrics needs ADDR:PORT (127.0.0.1:9464, [::1]:9464)\n");
                return 2;
            }
        } else if (strcmp(a, "--log-format") == 0 || strncmp(a, "--log-format=", 13) == 0) {
            const char *v = a[12] == '=' ? a + 13 : (i + 1 < argc ? argv[++i] : NULL);
            if (v && strcmp(v, "json") == 0) {
                rt_log_set_format(RT_LOG_FORMAT_JSON);
            } else if (v && strcmp(v, "text") == 0) {
                rt_log_set_format(RT_LOG_FORMAT_TEXT);
            } else {
                fprintf(stderr, "dtlsrun: --log-format needs text or json\n");
                return 2;
            }
        } else if (is_flag(a, "--workers")) {
            const char *v = flag_value(argc, argv, &i, "--workers");
            char *end = NULL;
            long n = v && strcmp(v, "auto") == 0 ? (long)uv_available_parallelism()
                                                  : v ? strtol(v, &end, 10) : 0;
            if (v == NULL || (end && *end) || n < 1 || n > RT_MAX_WORKERS) {
                fprintf(stderr, "dtlsrun: --workers needs a number from 1 to %d, or auto\n",
                        RT_MAX_WORKERS);
                return 2;
            }
            workers = (int)(n > RT_MAX_WORKERS ? RT_MAX_WORKERS : n);
        } else if (is_flag(a, "--ticket-keys") || is_flag(a, "--cookie-secret")) {
            bool tickets = is_flag(a, "--ticket-keys");
            const char *v = flag_value(argc, argv, &i, tickets ? "--ticket-keys" : "--cookie-secret");
            if (v == NULL || *v == '\0') {
                fprintf(stderr, "dtlsrun: %s needs a file\n", tickets ? "--ticket-keys" : "--cookie-secret");
                return 2;
            }
            *(tickets ? &ticket_file : &cookie_file) = v;
        } else {
            fprintf(stderr, "dtlsrun: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    int script = i;
    if (load_shared_secrets(ticket_file, cookie_file) != 0)
        return 1;

    if (workers > 1) {
        /* A script that does not compile fails once, here, not in N
         * workers; one that fails while running makes the first worker
         * fail, and the master stop (rt_workers_run). */
        lua_State *check = luaL_newstate();
        if (check == NULL) {
            fprintf(stderr, "dtlsrun: cannot create a Lua state\n");
            return 1;
        }
        if (luaL_loadfile(check, argv[script]) != LUA_OK) {
            fprintf(stderr, "%s\n", lua_tostring(check, -1));
            lua_close(check);
            return 1;
        }
        lua_close(check);
        if (make_shared_secrets(ticket_file != NULL, cookie_file != NULL) != 0)
            return 1;
        int is_worker = 0;
        int status = rt_workers_run(workers, &is_worker);
        if (!is_worker)
            return status;
    }

    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "dtlsrun: cannot create a Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_dtls);
    lua_setfield(L, -2, "dtls");
    lua_pop(L, 1);
    make_arg_table(L, argc, argv, script);
    add_script_dir_to_path(L, argv[script]);

    int status = run_script(L, argv[script], script + 1, argc, argv);
    if (status == 0 && metrics) {
        char err[256];
        if (ldtls_host_metrics(L, metrics_host, metrics_port, err, sizeof err) != 0) {
            fprintf(stderr, "dtlsrun: %s\n", err);
            status = 1;
        }
    }
    if (status == 0)
        rt_worker_ready();
    if (status == 0 && ldtls_host_run(L) != 0)
        status = 1;
    if (status == 0 && ldtls_exit_code(L) >= 0)
        status = ldtls_exit_code(L); /* dtls.exit(code) */
    lua_close(L);
    return status;
}

/* lb.h — the Lua binding's private declarations: per-Lua-state context,
 * the one protected-call helper, event listeners, and the object types
 * (server, socket, timer). Knows Lua and runtime.h; never the engine.
 *
 * Ownership: every object is a C struct pointed to by a small userdata.
 * The struct outlives the userdata while the runtime still holds it, and
 * the userdata is pinned in the registry (self_ref) while the object is
 * active (bound, connected, armed), so listeners stay reachable and GC never
 * frees what libuv or the engine still holds.
 */
#ifndef DTLSRUN_LB_H
#define DTLSRUN_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "runtime.h"

#define LB_SERVER_MT "dtls.server"
#define LB_SOCKET_MT "dtls.socket"
#define LB_TIMER_MT "dtls.timer"
#define LB_ERROR_MT "dtls.error"

#define LB_SIGNALS 3 /* SIGHUP, SIGUSR1, SIGUSR2 */
typedef struct lb_signal {
    struct lb_state *lb;
    rt_signal *watcher; /* NULL when no function is set */
    int fn_ref;
} lb_signal;

typedef struct lb_state {
    lua_State *main;     /* the main thread */
    lua_State *L;        /* the thread callbacks run on (the caller of run, close...) */
    rt_loop *loop;
    bool closing;        /* lua_close is finalizing: never call into Lua again */
    int error_depth;     /* > 0 while emitting 'error' for a failed handler */
    int log_handler_ref; /* dtls.setLogHandler's function, or LUA_NOREF */
    int exit_code;       /* dtls.exit's code, or -1 */
    const char *host;    /* "dtlsrun" when its main runs the loop, else NULL */
    lb_signal signals[LB_SIGNALS]; /* dtls.onSignal */
} lb_state;

/* ---- state (lb_state.c) ---- */
lb_state *lb_state_get(lua_State *L);
lb_state *lb_state_open(lua_State *L);
/* Entry points that can call back into Lua record the calling thread. */
lua_State *lb_enter(lb_state *lb, lua_State *L);
void lb_leave(lb_state *lb, lua_State *saved);
/* Calling into Lua is allowed (not during lua_close). */
bool lb_can_call(const lb_state *lb);

/* ---- calls and events (lb_call.c) ---- */
/* Calls the function below nargs arguments on lb->L with a traceback
 * handler. On error the traceback is logged (what names the handler) and
 * the error is emitted as 'error' on the object in error_target (a registry
 * ref, or LUA_NOREF). Pops the function and arguments. Returns true when it
 * did not raise; nresults (0 or 1) results are left on success only. */
bool lb_pcall(lb_state *lb, int nargs, int nresults, const char *what, int error_target);
/* Calls every listener of event on the object in registry ref obj_ref with
 * the nargs values on top of the stack (popped). Returns how many ran. */
int lb_emit(lb_state *lb, int obj_ref, const char *event, int nargs, int error_target,
            const char *what);
/* Whether the object has a listener for event (to skip making arguments
 * nobody reads, such as key-log lines). */
bool lb_has_listeners(lb_state *lb, int obj_ref, const char *event);
/* Creates the uservalue table (listeners + fields) of the userdata on top. */
void lb_init_uservalue(lua_State *L);
/* obj:on(event, fn) / obj:off(event[, fn]) for any of our userdata. */
int lb_on(lua_State *L);
/* The userdata of type mt at 1, else an argument error that suggests
 * var:method(...) (a call with '.' instead of ':' is the usual cause). */
void *lb_check_self(lua_State *L, const char *mt, const char *var);
/* The events objects of type mt emit: on/off refuse any other name. */
void lb_set_events(lua_State *L, const char *mt, const char *const *events);
int lb_off(lua_State *L);
/* Adds fn at index fn_idx as a listener of event on the userdata at ud_idx. */
void lb_add_listener(lua_State *L, int ud_idx, const char *event, int fn_idx);
/* __index / __newindex shared by our objects: methods first, then fields. */
/* A userdata type: metatable `name` with its methods in a "methods" table
 * (found by __index) and the given metamethods. */
void lb_register_type(lua_State *L, const char *name, const luaL_Reg *methods,
                      const luaL_Reg *metamethods);
int lb_index(lua_State *L);
/* lb_index's halves: a method pushed (true, else the stack is back to the
 * two arguments), then a field from the uservalue (returns 1 or 0). */
bool lb_index_method(lua_State *L);
int lb_index_field(lua_State *L);
int lb_newindex(lua_State *L);
/* Sets field name of the object at ud_idx to the value on top (popped). */
void lb_set_field(lua_State *L, int ud_idx, const char *name);
/* Pushes an error object { alert =, reason =, identity =, rinfo = } whose
 * tostring is reason (today's message); string methods work on it. conn
 * may be NULL (no identity, no rinfo). */
void lb_push_error(lua_State *L, rt_conn *conn, int err, const char *msg);
/* Pushes {address=, port=, family=}. */
void lb_push_sockname(lua_State *L, const rt_sockname *name);
/* Pushes the connection's peer as {address=, port=, family=}. */
void lb_push_peer(lua_State *L, const rt_conn *conn);
int lb_ref_value(lua_State *L, int idx);
void lb_unref(lua_State *L, int *ref);

/* ---- options (lb_options.c) ---- */
/* Reads the options table at idx into opt (strings stay owned by Lua and
 * valid while the table is on the stack). On failure pushes nothing and
 * writes a message naming the option. */
typedef struct lb_options {
    rt_tls_options tls;
    int family;        /* 4 or 6 */
    int port;          /* client options form */
    const char *address;
    int psk_idx;       /* server: stack index of the psk table/function, or 0 */
} lb_options;
int lb_read_options(lua_State *L, int idx, bool server, lb_options *out, char *err, size_t errlen);
int lb_family_from_type(const char *type);

/* ---- servers (lb_server.c) ---- */
int lb_create_server(lua_State *L);
void lb_server_register(lua_State *L);

/* ---- objects ---- */
typedef struct lb_server {
    lb_state *lb;
    rt_server *rt;     /* NULL once the runtime reported it closed */
    int self_ref;      /* pins the userdata while bound or closing */
    int psk_ref;       /* psk table or function, or LUA_NOREF */
    /* The identity of the last PSK lookup that found no key, for the
     * clientError that follows it within the same engine call. */
    rt_conn *refused_conn;
    int refused_identity_ref;
    int options_ref;   /* a copy of createServer's options, for setSecureContext */
    bool ud_alive;
    bool closing;
} lb_server;

typedef struct lb_socket {
    lb_state *lb;
    rt_conn *conn;     /* NULL once closed */
    lb_server *server; /* server sockets, while connected */
    int self_ref;      /* pins the userdata while connected */
    bool ud_alive;
    bool is_client;
    bool in_gc;        /* __gc is closing it: the struct is freed there */
    bool lazy_fields;  /* rinfo, cipher, ... not yet in the uservalue table */
    bool was_reused;   /* isSessionReused, kept past close */
    uint8_t *session;  /* client: getSession's blob, kept past close */
    size_t session_len;
    int reneg_ref;     /* socket:renegotiate's callback, or LUA_NOREF */
    struct lb_closed_fields *closed; /* lazy fields of a closed socket, not yet made */
} lb_socket;

/* ---- sockets (lb_socket.c) ---- */
int lb_connect(lua_State *L);
void lb_socket_register(lua_State *L);
/* Runtime events for a socket (server sockets get them via lb_server.c). */
void lb_socket_secure(lb_state *lb, lb_socket *sock, rt_conn *conn);
void lb_socket_message(lb_state *lb, lb_socket *sock, const uint8_t *data, size_t len);
void lb_socket_error(lb_state *lb, lb_socket *sock, rt_conn *conn, int err, const char *msg);
void lb_socket_closed(lb_state *lb, lb_socket *sock);
/* RFC 9146: the peer moved; 'rinfo' (new, old) and socket.rinfo follows. */
void lb_socket_moved(lb_state *lb, lb_socket *sock, const rt_sockname *old);
void lb_socket_keylog(lb_state *lb, lb_socket *sock, const char *line);
/* A renegotiation ended (err 0: done; the socket's fields are the new
 * handshake's): socket:renegotiate's callback, then 'renegotiated'. */
void lb_socket_renegotiated(lb_state *lb, lb_socket *sock, rt_conn *conn, int err, const char *msg);
/* Server side: a socket for an established connection, pushed on lb->L. */
lb_socket *lb_socket_push_new(lb_state *lb, lb_server *srv, rt_conn *conn);
/* Where errors raised in this socket's handlers go (server or socket). */
int lb_socket_error_target(const lb_socket *sock);
/* Fills cipher, protocol, pskIdentity, peerCertificate of the socket at ud_idx. */
void lb_socket_fill_secure_fields(lua_State *L, int ud_idx, rt_conn *conn);

/* ---- timers (lb_timer.c) ---- */
int lb_set_timeout(lua_State *L);
int lb_set_interval(lua_State *L);
int lb_clear_timer(lua_State *L);
void lb_timer_register(lua_State *L);

#endif

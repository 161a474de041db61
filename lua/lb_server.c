/* lb_server.c — dtls.createServer and the server object: bind, on, close,
 * address; events listening, secureConnection, clientError, error, close;
 * PSK lookups from a table or a Lua function. Owns the lb_server struct,
 * freed only when both the userdata and the runtime server are gone.
 */
#include <stdlib.h>
#include <string.h>

#include "lb.h"

static lb_server *check_server(lua_State *L, int idx)
{
    lb_server **box = idx == 1 ? lb_check_self(L, LB_SERVER_MT, "server")
                               : luaL_checkudata(L, idx, LB_SERVER_MT);
    if (*box == NULL)
        luaL_argerror(L, idx, "server already collected");
    return *box;
}

static void maybe_free(lb_server *srv)
{
    if (!srv->ud_alive && srv->rt == NULL)
        free(srv);
}

static void pin(lua_State *L, lb_server *srv, int ud_idx)
{
    if (srv->self_ref == LUA_NOREF)
        srv->self_ref = lb_ref_value(L, ud_idx);
}

/* ---- runtime callbacks ---- */

static void on_secure(void *host, rt_conn *conn)
{
    lb_server *srv = host;
    lb_state *lb = srv->lb;
    if (!lb_can_call(lb) || !srv->ud_alive)
        return;
    lb_socket *sock = lb_socket_push_new(lb, srv, conn); /* pushed */
    if (sock == NULL)
        return;
    lb_emit(lb, srv->self_ref, "secureConnection", 1, srv->self_ref, "a 'secureConnection' listener");
}

static void on_message(void *host, rt_conn *conn, const uint8_t *data, size_t len)
{
    lb_socket *sock = rt_conn_user(conn);
    (void)host;
    if (sock)
        lb_socket_message(sock->lb, sock, data, len);
}

static void on_renegotiated(void *host, rt_conn *conn, int err, const char *msg)
{
    lb_socket *sock = rt_conn_user(conn);
    (void)host;
    if (sock)
        lb_socket_renegotiated(sock->lb, sock, conn, err, msg);
}

static void on_error(void *host, rt_conn *conn, int err, const char *msg)
{
    lb_server *srv = host;
    lb_socket *sock = rt_conn_user(conn);
    if (sock) {
        lb_socket_error(sock->lb, sock, conn, err, msg);
        return;
    }
    /* No socket yet: the handshake failed. Tell the server, node's
     * tlsClientError, without making it a server 'error'. */
    lb_state *lb = srv->lb;
    if (!lb_can_call(lb) || !srv->ud_alive)
        return;
    lua_State *L = lb->L;
    if (!lua_checkstack(L, 4))
        return;
    lb_push_error(L, conn, err, msg);
    if (srv->refused_conn == conn && srv->refused_identity_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, srv->refused_identity_ref);
        lua_setfield(L, -2, "identity");
    }
    srv->refused_conn = NULL;
    lb_unref(L, &srv->refused_identity_ref);
    lb_push_peer(L, conn);
    lb_emit(lb, srv->self_ref, "clientError", 2, srv->self_ref, "a 'clientError' listener");
}

static void on_moved(void *host, rt_conn *conn, const rt_sockname *old)
{
    lb_socket *sock = rt_conn_user(conn);
    (void)host;
    if (sock)
        lb_socket_moved(sock->lb, sock, old);
}

static void on_closed(void *host, rt_conn *conn)
{
    lb_socket *sock = rt_conn_user(conn);
    (void)host;
    rt_conn_set_user(conn, NULL);
    if (sock)
        lb_socket_closed(sock->lb, sock);
}

static int on_psk_lookup(void *host, rt_conn *conn, const uint8_t *identity, size_t identity_len,
                         uint8_t *key, size_t cap)
{
    lb_server *srv = host;
    lb_state *lb = srv->lb;
    if (!lb_can_call(lb) || srv->psk_ref == LUA_NOREF)
        return -2;
    lua_State *L = lb->L;
    if (!lua_checkstack(L, 8))
        return -2;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, srv->psk_ref);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushlstring(L, (const char *)identity, identity_len);
        lua_rawget(L, -2);
    } else {
        lua_pushlstring(L, (const char *)identity, identity_len);
        lb_push_peer(L, conn);
        /* An error fails this one handshake (internal_error), logged. */
        if (!lb_pcall(lb, 2, 1, "the psk function", srv->ud_alive ? srv->self_ref : LUA_NOREF)) {
            lua_settop(L, top);
            return -2;
        }
    }
    int rc;
    size_t len = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *k = lua_tolstring(L, -1, &len);
        if (len == 0 || len > cap) {
            rt_log(RT_LOG_WARN, rt_conn_peer_text(conn), "psk: key of %zu bytes is not usable "
                   "(1-%zu)", len, cap);
            rc = -2;
        } else {
            memcpy(key, k, len);
            rc = (int)len;
        }
    } else if (lua_isnil(L, -1) || lua_type(L, -1) == LUA_TBOOLEAN) {
        rc = -1; /* unknown identity */
    } else {
        rt_log(RT_LOG_WARN, rt_conn_peer_text(conn), "psk function returned a %s, not a key string",
               luaL_typename(L, -1));
        rc = -2;
    }
    if (rc < 0) {
        /* The handshake fails next: clientError names the identity. */
        lb_unref(L, &srv->refused_identity_ref);
        lua_pushlstring(L, (const char *)identity, identity_len);
        srv->refused_identity_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        srv->refused_conn = conn;
    }
    lua_settop(L, top);
    return rc;
}

static void on_server_closed(void *host)
{
    lb_server *srv = host;
    lb_state *lb = srv->lb;
    srv->rt = NULL;
    if (lb_can_call(lb) && srv->ud_alive) {
        lb_emit(lb, srv->self_ref, "close", 0, LUA_NOREF, "a server 'close' listener");
        lb_unref(lb->L, &srv->self_ref);
        lb_unref(lb->L, &srv->psk_ref);
        lb_unref(lb->L, &srv->refused_identity_ref);
        lb_unref(lb->L, &srv->options_ref);
    }
    maybe_free(srv);
}

/* node's 'keylog'(line, tlsSocket): no socket exists yet, so rinfo. */
static void on_keylog(void *host, rt_conn *conn, const char *line)
{
    lb_server *srv = host;
    lb_state *lb = srv->lb;
    if (!srv->ud_alive || !lb_has_listeners(lb, srv->self_ref, "keylog") ||
        !lua_checkstack(lb->L, 6))
        return;
    lua_pushfstring(lb->L, "%s\n", line);
    lb_push_peer(lb->L, conn);
    lb_emit(lb, srv->self_ref, "keylog", 2, srv->self_ref, "a 'keylog' listener");
}

static const rt_handlers server_handlers = {
    .conn_secure = on_secure, .conn_message = on_message, .conn_error = on_error,
    .conn_closed = on_closed, .psk_lookup = on_psk_lookup, .server_closed = on_server_closed,
    .conn_moved = on_moved, .conn_renegotiated = on_renegotiated,
    .keylog = on_keylog,
};

/* ---- Lua API ---- */

int lb_create_server(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lb_options opt;
    char err[256] = "";
    if (lb_read_options(L, 1, true, &opt, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lb_server **box = lua_newuserdatauv(L, sizeof *box, 1);
    *box = NULL;
    int ud = lua_gettop(L);
    lb_init_uservalue(L);
    luaL_setmetatable(L, LB_SERVER_MT);
    lb_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return luaL_error(L, "out of memory");
    srv->lb = lb;
    srv->self_ref = srv->psk_ref = srv->refused_identity_ref = LUA_NOREF;
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    srv->options_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    srv->ud_alive = true;
    *box = srv;
    srv->rt = rt_server_new(lb->loop, opt.family, &opt.tls, &server_handlers, srv, err, sizeof err);
    if (srv->rt == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    if (opt.psk_idx)
        srv->psk_ref = lb_ref_value(L, opt.psk_idx);
    if (!lua_isnil(L, 2))
        lb_add_listener(L, ud, "secureConnection", 2);
    lua_pushvalue(L, ud);
    return 1;
}

static void emit_listening(void *a, intptr_t ref, int status)
{
    lb_state *lb = a;
    (void)status;
    if (!lb_can_call(lb))
        return;
    lua_State *L = lb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, (int)ref);
    luaL_unref(L, LUA_REGISTRYINDEX, (int)ref);
    lb_server **box = lua_touserdata(L, -1);
    lb_server *srv = box ? *box : NULL;
    lua_pop(L, 1);
    if (srv && srv->rt && !srv->closing && rt_server_bound(srv->rt))
        lb_emit(lb, srv->self_ref, "listening", 0, srv->self_ref, "a 'listening' listener");
}

static int server_bind(lua_State *L)
{
    lb_server *srv = check_server(L, 1);
    lua_Integer port = luaL_checkinteger(L, 2);
    int cb = 0;
    const char *address = NULL;
    if (lua_type(L, 3) == LUA_TFUNCTION) {
        cb = 3;
    } else {
        address = luaL_optstring(L, 3, NULL);
        if (!lua_isnoneornil(L, 4)) {
            luaL_checktype(L, 4, LUA_TFUNCTION);
            cb = 4;
        }
    }
    if (port < 0 || port > 65535)
        return luaL_argerror(L, 2, "port out of range (0-65535)");
    if (srv->rt == NULL || srv->closing) {
        lua_pushnil(L);
        lua_pushstring(L, "server is closed");
        return 2;
    }
    char err[256] = "";
    if (rt_server_bind(srv->rt, address, (int)port, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    pin(L, srv, 1);
    if (cb)
        lb_add_listener(L, 1, "listening", cb);
    /* 'listening' comes from the loop, after the caller set its listeners. */
    int ref = lb_ref_value(L, 1);
    if (rt_loop_defer(srv->lb->loop, emit_listening, srv->lb, ref, 0) != 0)
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
    lua_settop(L, 1);
    return 1;
}

static int server_close(lua_State *L)
{
    lb_server *srv = check_server(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
        if (srv->rt && !srv->closing)
            lb_add_listener(L, 1, "close", 2);
    }
    if (srv->rt && !srv->closing) {
        srv->closing = true;
        pin(L, srv, 1); /* until 'close' is emitted */
        lua_State *saved = lb_enter(srv->lb, L);
        rt_server_close(srv->rt);
        lb_leave(srv->lb, saved);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int server_close_meta(lua_State *L)
{
    lua_settop(L, 1); /* __close passes the pending error, not a callback */
    return server_close(L);
}

static int server_address(lua_State *L)
{
    lb_server *srv = check_server(L, 1);
    rt_sockname name;
    if (srv->rt == NULL || srv->closing || rt_server_sockname(srv->rt, &name) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, "server is not bound");
        return 2;
    }
    lb_push_sockname(L, &name);
    return 1;
}

static int server_connections(lua_State *L)
{
    lb_server *srv = check_server(L, 1);
    lua_pushinteger(L, srv->rt ? (lua_Integer)rt_server_connection_count(srv->rt) : 0);
    return 1;
}

/* server:setSecureContext({ cert =, key =, ca = }): what is given replaces
 * the server's, the rest of its options stay; handshakes that start from
 * now on use it, live sessions keep theirs. */
static int server_set_secure_context(lua_State *L)
{
    lb_server *srv = check_server(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if (srv->rt == NULL || srv->closing) {
        lua_pushnil(L);
        lua_pushstring(L, "server is closed");
        return 2;
    }
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
        if (strcmp(k, "cert") != 0 && strcmp(k, "key") != 0 && strcmp(k, "ca") != 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "unknown option '%s' (setSecureContext takes cert, key, ca)", k);
            return 2;
        }
    }
    lua_newtable(L); /* 3: the merged options */
    lua_rawgeti(L, LUA_REGISTRYINDEX, srv->options_ref);
    lua_pushnil(L);
    while (lua_next(L, 4)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, 3);
    }
    lua_pop(L, 1);
    static const char *const fields[] = { "cert", "key", "ca" };
    for (int i = 0; i < 3; i++)
        if (lua_getfield(L, 2, fields[i]) != LUA_TNIL)
            lua_setfield(L, 3, fields[i]);
        else
            lua_pop(L, 1);
    lb_options opt;
    char err[256] = "";
    if (lb_read_options(L, 3, true, &opt, err, sizeof err) != 0 ||
        rt_server_set_tls(srv->rt, &opt.tls, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lb_unref(L, &srv->options_ref);
    srv->options_ref = lb_ref_value(L, 3);
    lua_pushboolean(L, 1);
    return 1;
}

static void set_count(lua_State *L, const char *name, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, name);
}

/* server:stats(): counters since createServer (see rt_server_stats). */
static int server_stats(lua_State *L)
{
    lb_server *srv = check_server(L, 1);
    if (srv->rt == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, "server is closed");
        return 2;
    }
    rt_server_stats st;
    rt_server_stats_get(srv->rt, &st);
    lua_createtable(L, 0, 12);
    set_count(L, "sessions", st.sessions);
    set_count(L, "handshaking", st.handshaking);
    set_count(L, "reassemblyBytes", st.reassembly_bytes);
    set_count(L, "handshakesDone", st.handshakes_done);
    set_count(L, "helloVerifyRequests", st.hello_verify_requests);
    lua_newtable(L); /* by alert name, "timeout", "other" */
    for (int a = 0; a < 256; a++)
        if (st.failed_by_alert[a])
            set_count(L, rt_alert_name(a), st.failed_by_alert[a]);
    if (st.failed_timeout)
        set_count(L, "timeout", st.failed_timeout);
    if (st.failed_other)
        set_count(L, "other", st.failed_other);
    lua_setfield(L, -2, "handshakesFailed");
    lua_createtable(L, 0, 6);
    set_count(L, "malformed", st.dropped_malformed);
    set_count(L, "auth", st.dropped_auth);
    set_count(L, "replay", st.dropped_replay);
    set_count(L, "epoch", st.dropped_epoch);
    set_count(L, "unexpected", st.dropped_unexpected);
    set_count(L, "overCapacity", st.dropped_over_capacity);
    lua_setfield(L, -2, "dropped");
    set_count(L, "datagramsIn", st.datagrams_in);
    set_count(L, "datagramsOut", st.datagrams_out);
    set_count(L, "bytesIn", st.bytes_in);
    set_count(L, "bytesOut", st.bytes_out);
    return 1;
}

static int server_gc(lua_State *L)
{
    lb_server **box = luaL_checkudata(L, 1, LB_SERVER_MT);
    lb_server *srv = *box;
    if (srv == NULL)
        return 0;
    *box = NULL;
    srv->ud_alive = false;
    lb_unref(L, &srv->options_ref);
    if (srv->self_ref != LUA_NOREF)
        srv->lb->closing = true; /* a pinned object is only collected by lua_close */
    if (srv->rt && !srv->closing) {
        srv->closing = true;
        rt_server_close(srv->rt);
    }
    maybe_free(srv);
    return 0;
}

static int server_tostring(lua_State *L)
{
    lb_server **box = luaL_checkudata(L, 1, LB_SERVER_MT);
    lb_server *srv = *box;
    rt_sockname name;
    if (srv && srv->rt && !srv->closing && rt_server_sockname(srv->rt, &name) == 0)
        lua_pushfstring(L, "dtls.server (%s:%d)", name.address, name.port);
    else
        lua_pushfstring(L, "dtls.server (%s)", srv && srv->rt && !srv->closing ? "unbound" : "closed");
    return 1;
}

void lb_server_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "bind", server_bind },       { "on", lb_on },
        { "off", lb_off },             { "close", server_close },
        { "address", server_address }, { "connections", server_connections },
        { "stats", server_stats },     { "setSecureContext", server_set_secure_context },
        { NULL, NULL },
    };
    static const luaL_Reg meta[] = {
        { "__index", lb_index },       { "__newindex", lb_newindex },
        { "__gc", server_gc },         { "__close", server_close_meta },
        { "__tostring", server_tostring }, { NULL, NULL },
    };
    lb_register_type(L, LB_SERVER_MT, methods, meta);
    static const char *const events[] = { "listening", "secureConnection", "clientError", "error",
                                          "close", "keylog", NULL };
    lb_set_events(L, LB_SERVER_MT, events);
}

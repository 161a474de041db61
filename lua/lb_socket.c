/* lb_socket.c — the socket object (one DTLS association) for both roles,
 * and dtls.connect. Methods send, close, address, on/off; events
 * secureConnect, message, error, close; fields rinfo, cipher, protocol, encryptThenMac,
 * pskIdentity, peerCertificate. Owns the lb_socket struct, freed when both
 * its userdata and its connection are gone. A closed socket's send is
 * nil, "socket is closed", never a crash.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

static lb_socket *check_socket(lua_State *L, int idx)
{
    lb_socket **box = idx == 1 ? lb_check_self(L, LB_SOCKET_MT, "socket")
                               : luaL_checkudata(L, idx, LB_SOCKET_MT);
    if (*box == NULL)
        luaL_argerror(L, idx, "socket already collected");
    return *box;
}

static void forget_session(lb_socket *sock)
{
    if (sock->session)
        explicit_bzero(sock->session, sock->session_len);
    free(sock->session);
    sock->session = NULL;
    sock->session_len = 0;
}

/* A closed server socket whose lazy fields nobody has read yet keeps what
 * they are made from, instead of making them all at close: most sockets
 * are never looked at again, and building eight fields and a table at
 * every close was ~2.5 us per handshake. Strings here are static (suite
 * and version names, reasons) or owned copies. A socket whose peer sent a
 * certificate still makes its fields at close. */
typedef struct lb_closed_fields {
    rt_sockname peer;
    const char *cipher, *protocol, *why;
    bool authorized;
    uint8_t *psk_identity;
    size_t psk_identity_len;
    char *servername;
} lb_closed_fields;

static void closed_fields_free(lb_socket *sock)
{
    lb_closed_fields *f = sock->closed;
    if (!f)
        return;
    free(f->psk_identity);
    free(f->servername);
    free(f);
    sock->closed = NULL;
}

/* Copies what the fields need from a connection about to go away; false
 * when there is a peer certificate (or no memory): make the fields now. */
static bool closed_fields_keep(lb_socket *sock, rt_conn *conn)
{
    if (rt_conn_peer_cert_der(conn, NULL) != NULL)
        return false;
    lb_closed_fields *f = calloc(1, sizeof *f);
    if (!f)
        return false;
    rt_conn_peer(conn, &f->peer);
    f->cipher = rt_conn_cipher(conn);
    f->protocol = rt_conn_protocol(conn);
    f->authorized = rt_conn_authorized(conn, &f->why);
    size_t id_len = 0;
    const uint8_t *id = rt_conn_psk_identity(conn, &id_len);
    const char *sni = rt_conn_servername(conn);
    bool ok = true;
    if (id && (f->psk_identity = malloc(id_len ? id_len : 1)) != NULL) {
        memcpy(f->psk_identity, id, id_len);
        f->psk_identity_len = id_len;
    } else if (id) {
        ok = false;
    }
    if (sni && !(f->servername = strdup(sni)))
        ok = false;
    sock->closed = f;
    if (!ok)
        closed_fields_free(sock);
    return ok;
}

static void push_opt_string(lua_State *L, const char *s)
{
    if (s)
        lua_pushstring(L, s);
    else
        lua_pushnil(L);
}

/* The fields of a closed socket from its kept copy (closed_fields_keep). */
static void closed_fields_fill(lua_State *L, int ud, const lb_closed_fields *f)
{
    lb_push_sockname(L, &f->peer);
    lb_set_field(L, ud, "rinfo");
    push_opt_string(L, f->cipher);
    lb_set_field(L, ud, "cipher");
    push_opt_string(L, f->protocol);
    lb_set_field(L, ud, "protocol");
    if (f->psk_identity)
        lua_pushlstring(L, (const char *)f->psk_identity, f->psk_identity_len);
    else
        lua_pushnil(L);
    lb_set_field(L, ud, "pskIdentity");
    push_opt_string(L, f->servername);
    lb_set_field(L, ud, "servername");
    lua_pushnil(L);
    lb_set_field(L, ud, "peerCertificate");
    lua_pushboolean(L, f->authorized);
    lb_set_field(L, ud, "authorized");
    push_opt_string(L, f->why);
    lb_set_field(L, ud, "authorizationError");
}

static void maybe_free(lb_socket *sock)
{
    if (!sock->ud_alive && sock->conn == NULL && !sock->in_gc) {
        forget_session(sock);
        closed_fields_free(sock);
        free(sock);
    }
}

int lb_socket_error_target(const lb_socket *sock)
{
    if (sock->server && sock->server->ud_alive)
        return sock->server->self_ref;
    return sock->self_ref;
}

static lb_socket *push_socket(lua_State *L, lb_state *lb)
{
    lb_socket **box = lua_newuserdatauv(L, sizeof *box, 1);
    *box = NULL;
    lb_init_uservalue(L);
    luaL_setmetatable(L, LB_SOCKET_MT);
    lb_socket *sock = calloc(1, sizeof *sock);
    if (sock == NULL)
        return NULL;
    sock->lb = lb;
    sock->self_ref = LUA_NOREF;
    sock->reneg_ref = LUA_NOREF;
    sock->ud_alive = true;
    *box = sock;
    return sock;
}

void lb_socket_fill_secure_fields(lua_State *L, int ud_idx, rt_conn *conn)
{
    ud_idx = lua_absindex(L, ud_idx);
    lua_pushstring(L, rt_conn_cipher(conn));
    lb_set_field(L, ud_idx, "cipher");
    lua_pushstring(L, rt_conn_protocol(conn));
    lb_set_field(L, ud_idx, "protocol");
    lua_pushboolean(L, rt_conn_encrypt_then_mac(conn));
    lb_set_field(L, ud_idx, "encryptThenMac");
    size_t id_len = 0;
    const uint8_t *id = rt_conn_psk_identity(conn, &id_len);
    if (id)
        lua_pushlstring(L, (const char *)id, id_len);
    else
        lua_pushnil(L);
    lb_set_field(L, ud_idx, "pskIdentity");
    const char *sni = rt_conn_servername(conn);
    if (sni)
        lua_pushstring(L, sni);
    else
        lua_pushnil(L);
    lb_set_field(L, ud_idx, "servername");
    size_t der_len = 0;
    const uint8_t *der = rt_conn_peer_cert_der(conn, &der_len);
    rt_cert_info info;
    if (der && rt_cert_describe(der, der_len, &info) == 0) {
        lua_createtable(L, 0, 9);
        static const struct { const char *name; size_t offset; } text[] = {
            { "subject", offsetof(rt_cert_info, subject) },
            { "issuer", offsetof(rt_cert_info, issuer) },
            { "fingerprint256", offsetof(rt_cert_info, fingerprint256) },
            { "serialNumber", offsetof(rt_cert_info, serial) },
            { "subjectaltname", offsetof(rt_cert_info, subjectaltname) },
            { "validFrom", offsetof(rt_cert_info, valid_from) },
            { "validTo", offsetof(rt_cert_info, valid_to) },
        };
        for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
            const char *v = (const char *)&info + text[i].offset;
            if (v[0] == '\0')
                continue; /* absent (a certificate without subjectAltName) */
            lua_pushstring(L, v);
            lua_setfield(L, -2, text[i].name);
        }
        lua_pushlstring(L, (const char *)der, der_len);
        lua_setfield(L, -2, "raw");
        char *pem = rt_der_to_pem(der, der_len);
        if (pem) {
            lua_pushstring(L, pem);
            free(pem);
            lua_setfield(L, -2, "pem");
        }
    } else {
        lua_pushnil(L);
    }
    lb_set_field(L, ud_idx, "peerCertificate");
    const char *why = NULL;
    lua_pushboolean(L, rt_conn_authorized(conn, &why));
    lb_set_field(L, ud_idx, "authorized");
    if (why)
        lua_pushstring(L, why);
    else
        lua_pushnil(L);
    lb_set_field(L, ud_idx, "authorizationError");
}

lb_socket *lb_socket_push_new(lb_state *lb, lb_server *srv, rt_conn *conn)
{
    lua_State *L = lb->L;
    if (!lua_checkstack(L, 10))
        return NULL;
    lb_socket *sock = push_socket(L, lb);
    if (sock == NULL) {
        lua_pop(L, 1);
        return NULL;
    }
    int ud = lua_gettop(L);
    sock->conn = conn;
    sock->server = srv;
    sock->self_ref = lb_ref_value(L, ud);
    rt_conn_set_user(conn, sock);
    /* rinfo, cipher and the rest are made on first use (or at close): a
     * server may hold many idle sockets whose fields nobody reads. */
    sock->lazy_fields = true;
    return sock;
}

/* The fields a server socket fills in on first use (socket_index). */
static bool is_lazy_field(const char *key)
{
    static const char *const names[] = { "rinfo", "cipher", "protocol", "encryptThenMac", "pskIdentity",
                                         "servername", "peerCertificate", "authorized",
                                         "authorizationError", NULL };
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, key) == 0)
            return true;
    return false;
}

static void materialize_fields(lua_State *L, int ud, lb_socket *sock)
{
    if (!sock->lazy_fields || (sock->conn == NULL && sock->closed == NULL) || !lua_checkstack(L, 8))
        return;
    ud = lua_absindex(L, ud);
    sock->lazy_fields = false;
    if (sock->conn == NULL) {
        closed_fields_fill(L, ud, sock->closed);
        closed_fields_free(sock);
        return;
    }
    lb_push_peer(L, sock->conn);
    lb_set_field(L, ud, "rinfo");
    lb_socket_fill_secure_fields(L, ud, sock->conn);
}

static int socket_index(lua_State *L)
{
    /* Methods first: socket:send is looked up once per message. */
    if (lb_index_method(L))
        return 1;
    if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "worker") == 0) {
        /* dtlsrun --workers: which process serves this socket (1..N). */
        lua_pushinteger(L, rt_worker_index());
        return 1;
    }
    lb_socket **box = luaL_testudata(L, 1, LB_SOCKET_MT);
    if (box && *box && (*box)->lazy_fields && lua_type(L, 2) == LUA_TSTRING
        && is_lazy_field(lua_tostring(L, 2)))
        materialize_fields(L, 1, *box);
    return lb_index_field(L);
}

/* ---- runtime events ---- */

void lb_socket_secure(lb_state *lb, lb_socket *sock, rt_conn *conn)
{
    if (!lb_can_call(lb) || !sock->ud_alive || !lua_checkstack(lb->L, 6))
        return;
    /* The socket is the listeners' first argument: inside
     * `local client = dtls.connect(..., function(socket) ... end)` the
     * local is not assigned yet when a callback could name it. */
    lua_rawgeti(lb->L, LUA_REGISTRYINDEX, sock->self_ref);
    lb_socket_fill_secure_fields(lb->L, -1, conn);
    lb_emit(lb, sock->self_ref, "secureConnect", 1, lb_socket_error_target(sock),
            "a 'secureConnect' listener");
}

void lb_socket_message(lb_state *lb, lb_socket *sock, const uint8_t *data, size_t len)
{
    if (!lb_can_call(lb) || !sock->ud_alive || !lua_checkstack(lb->L, 4))
        return;
    lua_pushlstring(lb->L, (const char *)data, len);
    lb_emit(lb, sock->self_ref, "message", 1, lb_socket_error_target(sock), "a 'message' listener");
}

void lb_socket_error(lb_state *lb, lb_socket *sock, rt_conn *conn, int err, const char *msg)
{
    if (!lb_can_call(lb) || !sock->ud_alive || !lua_checkstack(lb->L, 8))
        return;
    lb_push_error(lb->L, conn, err, msg);
    lb_emit(lb, sock->self_ref, "error", 1, LUA_NOREF, "a socket 'error' listener");
}

void lb_socket_keylog(lb_state *lb, lb_socket *sock, const char *line)
{
    if (!sock->ud_alive || !lb_has_listeners(lb, sock->self_ref, "keylog"))
        return;
    lua_pushfstring(lb->L, "%s\n", line); /* node's format: one line, newline included */
    lb_emit(lb, sock->self_ref, "keylog", 1, lb_socket_error_target(sock), "a 'keylog' listener");
}

void lb_socket_closed(lb_state *lb, lb_socket *sock)
{
    /* The connection goes away now: keep its fields for the 'close'
     * listeners and later reads (made on first read when they can be). */
    if (sock->lazy_fields && sock->ud_alive && sock->self_ref != LUA_NOREF && sock->conn
        && !closed_fields_keep(sock, sock->conn) && lua_checkstack(lb->L, 2)) {
        lua_rawgeti(lb->L, LUA_REGISTRYINDEX, sock->self_ref);
        materialize_fields(lb->L, -1, sock);
        lua_pop(lb->L, 1);
    }
    const char *reason = sock->conn ? rt_conn_close_reason(sock->conn) : NULL;
    bool emit = lb_can_call(lb) && sock->ud_alive && lua_checkstack(lb->L, 2);
    if (emit)
        lua_pushstring(lb->L, reason ? reason : "local");
    if (sock->conn) {
        sock->was_reused = rt_conn_session_reused(sock->conn);
        forget_session(sock);
        if (sock->is_client && rt_conn_get_session(sock->conn, &sock->session, &sock->session_len) != 0)
            sock->session = NULL;
    }
    sock->conn = NULL;
    sock->server = NULL;
    lb_unref(lb->L, &sock->reneg_ref);
    if (lb_can_call(lb) && sock->ud_alive) {
        if (emit)
            lb_emit(lb, sock->self_ref, "close", 1, sock->self_ref, "a socket 'close' listener");
        lb_unref(lb->L, &sock->self_ref);
    }
    maybe_free(sock);
}

void lb_socket_moved(lb_state *lb, lb_socket *sock, const rt_sockname *old)
{
    lua_State *L = lb->L;
    if (!lb_can_call(lb) || !sock->ud_alive || sock->conn == NULL || !lua_checkstack(L, 6))
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, sock->self_ref);
    materialize_fields(L, -1, sock);
    lb_push_peer(L, sock->conn);
    lua_pushvalue(L, -1);
    lb_set_field(L, -3, "rinfo");
    lua_remove(L, -2);
    lb_push_sockname(L, old);
    lb_emit(lb, sock->self_ref, "rinfo", 2, lb_socket_error_target(sock), "a 'rinfo' listener");
}

void lb_socket_renegotiated(lb_state *lb, lb_socket *sock, rt_conn *conn, int err, const char *msg)
{
    lua_State *L = lb->L;
    if (!lb_can_call(lb) || !sock->ud_alive || !lua_checkstack(L, 8))
        return;
    if (err == 0 && !sock->lazy_fields) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sock->self_ref);
        lb_socket_fill_secure_fields(L, -1, conn);
        lua_pop(L, 1);
    }
    /* The listeners first, then the callback (either may close the socket). */
    int cb = sock->reneg_ref, target = lb_socket_error_target(sock);
    sock->reneg_ref = LUA_NOREF;
    if (err == 0)
        lua_pushnil(L);
    else
        lb_push_error(L, conn, err, msg);
    lb_emit(lb, sock->self_ref, "renegotiated", 1, target, "a 'renegotiated' listener");
    if (cb == LUA_NOREF)
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, cb);
    luaL_unref(L, LUA_REGISTRYINDEX, cb);
    if (err == 0)
        lua_pushnil(L);
    else
        lb_push_error(L, conn, err, msg);
    lb_pcall(lb, 1, 0, "a renegotiate callback", target);
}

static void client_renegotiated(void *host, rt_conn *conn, int err, const char *msg)
{
    lb_socket_renegotiated(((lb_socket *)host)->lb, host, conn, err, msg);
}

/* The server issued a session or ticket: hand the opaque blob to Lua. */
static void client_session(void *host, rt_conn *conn)
{
    lb_socket *sock = host;
    lb_state *lb = sock->lb;
    uint8_t *blob = NULL;
    size_t len = 0;
    if (!lb_can_call(lb) || !sock->ud_alive || !lua_checkstack(lb->L, 4)
        || rt_conn_get_session(conn, &blob, &len) != 0)
        return;
    lua_pushlstring(lb->L, (const char *)blob, len);
    explicit_bzero(blob, len);
    free(blob);
    lb_emit(lb, sock->self_ref, "session", 1, lb_socket_error_target(sock), "a 'session' listener");
}

/* Client connections: the socket is the runtime host. */
static void client_secure(void *host, rt_conn *conn) { lb_socket_secure(((lb_socket *)host)->lb, host, conn); }
static void client_message(void *host, rt_conn *conn, const uint8_t *data, size_t len)
{
    (void)conn;
    lb_socket_message(((lb_socket *)host)->lb, host, data, len);
}
static void client_error(void *host, rt_conn *conn, int err, const char *msg)
{
    lb_socket_error(((lb_socket *)host)->lb, host, conn, err, msg);
}
static void client_closed(void *host, rt_conn *conn)
{
    rt_conn_set_user(conn, NULL);
    lb_socket_closed(((lb_socket *)host)->lb, host);
}

static void client_keylog(void *host, rt_conn *conn, const char *line)
{
    (void)conn;
    lb_socket_keylog(((lb_socket *)host)->lb, host, line);
}

static const rt_handlers client_handlers = {
    .conn_secure = client_secure, .conn_message = client_message, .conn_error = client_error,
    .conn_closed = client_closed, .conn_session = client_session, .keylog = client_keylog,
    .conn_renegotiated = client_renegotiated,
};

/* ---- Lua API ---- */

static void start_handshake(void *a, intptr_t ref, int status)
{
    lb_state *lb = a;
    (void)status;
    if (!lb_can_call(lb))
        return;
    lua_State *L = lb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, (int)ref);
    luaL_unref(L, LUA_REGISTRYINDEX, (int)ref);
    lb_socket **box = lua_touserdata(L, -1);
    lb_socket *sock = box ? *box : NULL;
    lua_pop(L, 1);
    if (sock && sock->conn)
        rt_conn_start_handshake(sock->conn);
}

/* connect(port, address, type, options): a copy of options with the three
 * positional values added, left on the stack. Naming one of them in the
 * table too is refused: which one was meant? */
static int options_with_target(lua_State *L, int idx, lua_Integer port, const char *address,
                               const char *type, char *err, size_t errlen)
{
    static const char *const positional[] = { "port", "address", "type" };
    for (int i = 0; i < 3; i++) {
        bool given = lua_getfield(L, idx, positional[i]) != LUA_TNIL;
        lua_pop(L, 1);
        if (given) {
            snprintf(err, errlen, "%s: given as an argument of connect; leave it out of the "
                     "options table", positional[i]);
            return -1;
        }
    }
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_pushinteger(L, port);
    lua_setfield(L, -2, "port");
    lua_pushstring(L, address);
    lua_setfield(L, -2, "address");
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    return 0;
}

int lb_connect(lua_State *L)
{
    lb_state *lb = lua_touserdata(L, lua_upvalueindex(1));
    lb_options opt;
    char err[256] = "";
    int cb = 0, options = 1;
    if (lua_type(L, 1) != LUA_TTABLE) {
        /* node-dtls: connect(port, address, type[, options][, callback]) */
        lua_Integer port = luaL_checkinteger(L, 1);
        const char *address = luaL_checkstring(L, 2);
        const char *type = luaL_checkstring(L, 3);
        if (port < 1 || port > 65535)
            return luaL_argerror(L, 1, "port out of range (1-65535)");
        bool has_options = lua_type(L, 4) == LUA_TTABLE;
        if (!has_options && !lua_isnoneornil(L, 4) && lua_type(L, 4) != LUA_TFUNCTION)
            return luaL_typeerror(L, 4, "options table or callback");
        cb = has_options ? 5 : 4;
        lua_settop(L, 5);
        if (!has_options)
            lua_newtable(L); /* at 6: no options */
        if (options_with_target(L, has_options ? 4 : 6, port, address, type, err,
                                sizeof err) != 0) {
            lua_pushnil(L);
            lua_pushstring(L, err);
            return 2;
        }
        options = lua_gettop(L);
    } else {
        cb = 2;
    }
    if (lua_isnoneornil(L, cb))
        cb = 0;
    else
        luaL_checktype(L, cb, LUA_TFUNCTION);
    if (lb_read_options(L, options, false, &opt, err, sizeof err) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lb_socket *sock = push_socket(L, lb);
    if (sock == NULL)
        return luaL_error(L, "out of memory");
    int ud = lua_gettop(L);
    sock->is_client = true;
    sock->conn = rt_client_connect(lb->loop, opt.family, opt.address, opt.port, &opt.tls,
                                   &client_handlers, sock, err, sizeof err);
    if (sock->conn == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    rt_conn_set_user(sock->conn, sock);
    sock->self_ref = lb_ref_value(L, ud);
    lb_push_peer(L, sock->conn);
    lb_set_field(L, ud, "rinfo");
    if (cb)
        lb_add_listener(L, ud, "secureConnect", cb);
    /* Like node, the handshake starts from the loop, after the caller has
     * had a chance to add listeners. */
    int ref = lb_ref_value(L, ud);
    if (rt_loop_defer(lb->loop, start_handshake, lb, ref, 0) != 0) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        rt_conn_start_handshake(sock->conn);
    }
    lua_settop(L, ud);
    return 1;
}

static void on_send_done(void *a, intptr_t ref, int status)
{
    lb_state *lb = a;
    if (!lb_can_call(lb))
        return;
    lua_State *L = lb->L;
    if (!lua_checkstack(L, 4))
        return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, (int)ref);
    luaL_unref(L, LUA_REGISTRYINDEX, (int)ref);
    if (status == 0)
        lua_pushnil(L);
    else
        lua_pushstring(L, rt_io_error_string(status));
    lb_pcall(lb, 1, 0, "a send callback", LUA_NOREF);
}

static int socket_send(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    lua_Integer offset = 0, length = -1;
    int idx = 3;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        offset = luaL_checkinteger(L, idx++);
        if (lua_type(L, idx) == LUA_TNUMBER)
            length = luaL_checkinteger(L, idx++);
    }
    int cb = 0;
    if (!lua_isnoneornil(L, idx)) {
        luaL_checktype(L, idx, LUA_TFUNCTION);
        cb = idx;
    }
    if (offset < 0 || (size_t)offset > len)
        return luaL_argerror(L, 3, "offset out of range");
    if (length < 0)
        length = (lua_Integer)len - offset;
    if ((size_t)length > len - (size_t)offset)
        return luaL_argerror(L, 4, "length out of range");
    /* An empty record is legal TLS, but the peer's 'message' would fire
     * with "" — or, for many stacks, not at all. Never send one. */
    if (length == 0)
        return luaL_argerror(L, 2, "empty message: nothing to send (a record carries at least one byte)");
    if (sock->conn == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, "socket is closed");
        return 2;
    }
    if (!rt_conn_established(sock->conn)) {
        lua_pushnil(L);
        lua_pushstring(L, "socket is not connected yet (wait for 'secureConnect')");
        return 2;
    }
    size_t max = rt_conn_max_send(sock->conn);
    if ((size_t)length > max) {
        lua_pushnil(L);
        lua_pushfstring(L, "message too long: %d bytes, at most %d fit in one record",
                        (int)length, (int)max);
        return 2;
    }
    int ref = cb ? lb_ref_value(L, cb) : LUA_NOREF;
    lua_State *saved = lb_enter(sock->lb, L);
    int r = rt_conn_send(sock->conn, (const uint8_t *)data + offset, (size_t)length,
                         cb ? on_send_done : NULL, sock->lb, ref);
    lb_leave(sock->lb, saved);
    if (r < 0) {
        if (cb)
            luaL_unref(L, LUA_REGISTRYINDEX, ref);
        lua_pushnil(L);
        lua_pushstring(L, rt_error_string(r));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* socket:renegotiate([cb]): a new handshake on the live session (a
 * server sends HelloRequest); cb(nil) when done, cb(err) when not. */
static int socket_renegotiate(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    const char *why = NULL;
    if (sock->conn == NULL)
        why = "socket is closed";
    else if (!rt_conn_established(sock->conn))
        why = "socket is not connected yet (wait for 'secureConnect')";
    else if (sock->reneg_ref != LUA_NOREF)
        why = "a renegotiation is already under way";
    if (why) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    lua_State *saved = lb_enter(sock->lb, L);
    int r = rt_conn_renegotiate(sock->conn, &why);
    lb_leave(sock->lb, saved);
    if (r < 0) {
        lua_pushnil(L);
        lua_pushstring(L, why);
        return 2;
    }
    if (!lua_isnoneornil(L, 2))
        sock->reneg_ref = lb_ref_value(L, 2);
    lua_pushboolean(L, 1);
    return 1;
}

static int socket_close(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    if (sock->conn) {
        lua_State *saved = lb_enter(sock->lb, L);
        rt_conn_close(sock->conn); /* 'close' is emitted before this returns */
        lb_leave(sock->lb, saved);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int socket_close_meta(lua_State *L)
{
    lua_settop(L, 1);
    return socket_close(L);
}

static int socket_address(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    rt_sockname name;
    if (sock->conn == NULL || rt_conn_local(sock->conn, &name) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, "socket is closed");
        return 2;
    }
    lb_push_sockname(L, &name);
    return 1;
}

static int socket_is_session_reused(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    lua_pushboolean(L, sock->conn ? rt_conn_session_reused(sock->conn) : sock->was_reused);
    return 1;
}

/* Client: the session as an opaque binary string for dtls.connect's
 * session option, or nil when the server made nothing resumable. */
static int socket_get_session(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    uint8_t *blob = NULL;
    size_t len = 0;
    if (!sock->is_client) {
        lua_pushnil(L);
        lua_pushstring(L, "getSession: only a client socket has a session to resume");
        return 2;
    }
    if (sock->conn == NULL) { /* kept from when it closed */
        if (sock->session == NULL) {
            lua_pushnil(L);
            lua_pushstring(L, "no resumable session");
            return 2;
        }
        lua_pushlstring(L, (const char *)sock->session, sock->session_len);
        return 1;
    }
    if (rt_conn_get_session(sock->conn, &blob, &len) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, "no resumable session (yet)");
        return 2;
    }
    lua_pushlstring(L, (const char *)blob, len);
    explicit_bzero(blob, len);
    free(blob);
    return 1;
}

static int socket_is_closed(lua_State *L)
{
    lb_socket *sock = check_socket(L, 1);
    lua_pushboolean(L, sock->conn == NULL);
    return 1;
}

static int socket_gc(lua_State *L)
{
    lb_socket **box = luaL_checkudata(L, 1, LB_SOCKET_MT);
    lb_socket *sock = *box;
    if (sock == NULL)
        return 0;
    *box = NULL;
    sock->ud_alive = false;
    if (sock->conn) {
        /* Only lua_close collects a connected (pinned) socket. Closing
         * reports conn_closed synchronously, which must not free sock
         * under our feet. */
        sock->lb->closing = true;
        sock->in_gc = true;
        rt_conn_close(sock->conn);
        sock->in_gc = false;
        sock->conn = NULL;
    }
    maybe_free(sock);
    return 0;
}

static int socket_tostring(lua_State *L)
{
    lb_socket **box = luaL_checkudata(L, 1, LB_SOCKET_MT);
    lb_socket *sock = *box;
    if (sock && sock->conn)
        lua_pushfstring(L, "dtls.socket (%s)", rt_conn_peer_text(sock->conn));
    else
        lua_pushstring(L, "dtls.socket (closed)");
    return 1;
}

void lb_socket_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "send", socket_send },       { "close", socket_close },
        { "address", socket_address }, { "isClosed", socket_is_closed },
        { "isSessionReused", socket_is_session_reused }, { "getSession", socket_get_session },
        { "renegotiate", socket_renegotiate },
        { "on", lb_on },               { "off", lb_off },
        { NULL, NULL },
    };
    static const luaL_Reg meta[] = {
        { "__index", socket_index },   { "__newindex", lb_newindex },
        { "__gc", socket_gc },         { "__close", socket_close_meta },
        { "__tostring", socket_tostring }, { NULL, NULL },
    };
    lb_register_type(L, LB_SOCKET_MT, methods, meta);
    static const char *const events[] = { "secureConnect", "message", "error", "close", "keylog",
                                          "session", "rinfo", "renegotiated", NULL };
    lb_set_events(L, LB_SOCKET_MT, events);
}

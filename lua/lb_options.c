/* lb_options.c — reads createServer/connect option tables into the
 * runtime's rt_tls_options. Owns option names and their type rules; every
 * failure is a message naming the option. Never keeps Lua strings beyond
 * the call (the runtime copies what it needs while building the config).
 */
#include <stdio.h>
#include <string.h>

#include "lb.h"

int lb_family_from_type(const char *type)
{
    if (type && strcmp(type, "udp4") == 0)
        return 4;
    if (type && strcmp(type, "udp6") == 0)
        return 6;
    return 0;
}

/* The engine's limits (docs/psk-coap.md): identities 1-128 bytes, keys 1-64. */
#define LB_PSK_IDENTITY_MAX 128
#define LB_PSK_KEY_MAX 64

static const char *const known_server[] = {
    "type", "key", "cert", "ca", "requestCert", "rejectUnauthorized", "ciphers", "mtu",
    "handshakeTimeout", "retransmitTimeout", "maxRetransmitTimeout", "psk", "pskHint",
    "maxConnections", "maxHandshakes", "maxHandshakesPerAddress", "maxReassemblyBytes",
    "idleTimeout", "ipv6Only",
    "sessionCacheSize", "sessionTimeout", "ticketKeys", "tickets", "connectionId",
    "cookieSecret", "minVersion", "maxVersion", "allowRenegotiation", "renegotiationInterval", NULL };
static const char *const known_client[] = {
    "type", "port", "address", "key", "cert", "ca", "servername", "rejectUnauthorized",
    "ciphers", "mtu", "handshakeTimeout", "retransmitTimeout", "maxRetransmitTimeout", "psk",
    "localAddress", "localPort", "idleTimeout", "checkServerIdentity", "session", "connectionId",
    "minVersion", "maxVersion", "allowRenegotiation", "renegotiationInterval", "allowLegacyServer", NULL };

static bool known(const char *const *names, const char *key)
{
    for (; *names; names++)
        if (strcmp(*names, key) == 0)
            return true;
    return false;
}

/* Each getter leaves the value on the stack (strings must stay referenced
 * until the config is built) and fails with a message naming the option. */
static int get_string(lua_State *L, int t, const char *name, const char **out, char *err, size_t errlen)
{
    int ty = lua_getfield(L, t, name);
    if (ty == LUA_TNIL) {
        *out = NULL;
        return 0;
    }
    if (ty != LUA_TSTRING) {
        snprintf(err, errlen, "%s: expected a string, got %s", name, luaL_typename(L, -1));
        return -1;
    }
    *out = lua_tostring(L, -1);
    return 0;
}

/* A binary-safe string (keys, session blobs), left on the stack. */
static int get_bytes(lua_State *L, int t, const char *name, const uint8_t **out, size_t *len,
                     char *err, size_t errlen)
{
    int ty = lua_getfield(L, t, name);
    *out = NULL;
    *len = 0;
    if (ty == LUA_TNIL)
        return 0;
    if (ty != LUA_TSTRING) {
        snprintf(err, errlen, "%s: expected a (binary) string, got %s", name, luaL_typename(L, -1));
        return -1;
    }
    *out = (const uint8_t *)lua_tolstring(L, -1, len);
    return 0;
}

static int get_bool(lua_State *L, int t, const char *name, int *out, char *err, size_t errlen)
{
    int ty = lua_getfield(L, t, name);
    lua_pop(L, 1);
    if (ty == LUA_TNIL)
        return 0;
    lua_getfield(L, t, name);
    if (ty != LUA_TBOOLEAN) {
        snprintf(err, errlen, "%s: expected a boolean, got %s", name, luaL_typename(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    *out = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return 0;
}

static int get_count(lua_State *L, int t, const char *name, lua_Integer lo, lua_Integer hi,
                     lua_Integer *out, char *err, size_t errlen)
{
    int ty = lua_getfield(L, t, name);
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (ty == LUA_TNIL)
        return 0;
    if (ty != LUA_TNUMBER || !isint) {
        snprintf(err, errlen, "%s: expected an integer", name);
        return -1;
    }
    if (v < lo || v > hi) {
        snprintf(err, errlen, "%s: %lld is out of range (%lld-%lld)", name, (long long)v,
                 (long long)lo, (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int read_psk(lua_State *L, int t, bool server, lb_options *out, char *err, size_t errlen)
{
    int ty = lua_getfield(L, t, "psk");
    if (ty == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    int psk = lua_gettop(L);
    if (server) {
        if (ty == LUA_TFUNCTION) {
            out->psk_idx = psk;
        } else if (ty == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, psk)) {
                if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
                    snprintf(err, errlen, "psk: the table maps identity strings to key strings");
                    lua_pop(L, 2);
                    return -1;
                }
                /* Caught now, not at the first handshake that needs it. */
                size_t id_len = 0, key_len = 0;
                const char *id = lua_tolstring(L, -2, &id_len);
                lua_tolstring(L, -1, &key_len);
                bool bad_id = id_len < 1 || id_len > LB_PSK_IDENTITY_MAX;
                if (bad_id || key_len < 1 || key_len > LB_PSK_KEY_MAX) {
                    if (bad_id)
                        snprintf(err, errlen, "psk: identity '%.40s' is %zu bytes (1-%d)", id,
                                 id_len, LB_PSK_IDENTITY_MAX);
                    else
                        snprintf(err, errlen, "psk: the key of '%.40s' is %zu bytes (1-%d)", id,
                                 key_len, LB_PSK_KEY_MAX);
                    lua_pop(L, 2);
                    return -1;
                }
                lua_pop(L, 1);
            }
            out->psk_idx = psk;
        } else {
            snprintf(err, errlen, "psk: expected a table {identity = key} or a function, got %s",
                     luaL_typename(L, psk));
            return -1;
        }
        out->tls.psk_server = 1;
        return 0;
    }
    if (ty != LUA_TTABLE) {
        snprintf(err, errlen, "psk: expected a table {identity = ..., key = ...}, got %s",
                 luaL_typename(L, psk));
        return -1;
    }
    size_t id_len = 0, key_len = 0;
    if (lua_getfield(L, psk, "identity") != LUA_TSTRING ||
        lua_getfield(L, psk, "key") != LUA_TSTRING) {
        snprintf(err, errlen, "psk: needs string fields identity and key");
        return -1;
    }
    out->tls.psk_identity = (const uint8_t *)lua_tolstring(L, -2, &id_len);
    out->tls.psk_key = (const uint8_t *)lua_tolstring(L, -1, &key_len);
    out->tls.psk_identity_len = id_len;
    out->tls.psk_key_len = key_len;
    if (id_len == 0 || key_len == 0) {
        snprintf(err, errlen, "psk: identity and key must not be empty");
        return -1;
    }
    return 0;
}

int lb_read_options(lua_State *L, int idx, bool server, lb_options *out, char *err, size_t errlen)
{
    int t = lua_absindex(L, idx);
    luaL_checkstack(L, 40, "dtls options");
    memset(out, 0, sizeof *out);
    rt_tls_options_init(&out->tls);
    const char *type = NULL;
    lua_Integer n;

    /* Unknown keys are most likely typos ("rejectUnauthorised"): say so. */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !known(server ? known_server : known_client,
                                                      lua_tostring(L, -1))) {
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            snprintf(err, errlen, "unknown option '%s'", k);
            lua_pop(L, 1);
            return -1;
        }
    }

    if (get_string(L, t, "type", &type, err, errlen))
        return -1;
    out->family = lb_family_from_type(type);
    if (out->family == 0) {
        snprintf(err, errlen, "type: must be \"udp4\" or \"udp6\"%s", type ? "" : " (required)");
        return -1;
    }
    if (get_string(L, t, "key", &out->tls.key, err, errlen) ||
        get_string(L, t, "cert", &out->tls.cert, err, errlen) ||
        get_string(L, t, "ca", &out->tls.ca, err, errlen) ||
        get_bool(L, t, "rejectUnauthorized", &out->tls.reject_unauthorized, err, errlen))
        return -1;
    if (lua_getfield(L, t, "ciphers") == LUA_TTABLE) {
        /* {"A", "B"} is the same as "A:B" */
        luaL_Buffer b;
        int list = lua_gettop(L);
        luaL_buffinit(L, &b);
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, list); i++) {
            if (lua_rawgeti(L, list, i) != LUA_TSTRING) {
                snprintf(err, errlen, "ciphers: expected suite names (strings)");
                return -1;
            }
            if (i > 1)
                luaL_addchar(&b, ':');
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
        out->tls.ciphers = lua_tostring(L, -1);
    } else if (get_string(L, t, "ciphers", &out->tls.ciphers, err, errlen)) {
        return -1;
    }
    if (get_string(L, t, "minVersion", &out->tls.min_version, err, errlen) ||
        get_string(L, t, "maxVersion", &out->tls.max_version, err, errlen))
        return -1;
    n = 0;
    if (get_count(L, t, "mtu", 256, 65535, &n, err, errlen))
        return -1;
    out->tls.mtu = (size_t)n;
    n = 0;
    if (get_count(L, t, "handshakeTimeout", 1, (lua_Integer)1 << 40, &n, err, errlen))
        return -1;
    out->tls.handshake_timeout_ms = (uint64_t)n;
    n = 0;
    if (get_count(L, t, "retransmitTimeout", RT_RETRANSMIT_RANGE_MIN_MS,
                  RT_RETRANSMIT_RANGE_MAX_MS, &n, err, errlen))
        return -1;
    out->tls.retransmit_ms = (uint32_t)n;
    n = 0;
    if (get_count(L, t, "maxRetransmitTimeout", RT_RETRANSMIT_RANGE_MIN_MS,
                  RT_RETRANSMIT_RANGE_MAX_MS, &n, err, errlen))
        return -1;
    out->tls.max_retransmit_ms = (uint32_t)n;
    n = -1; /* absent: the role's default (servers: 10 minutes); 0: never */
    if (get_count(L, t, "idleTimeout", 0, (lua_Integer)1 << 40, &n, err, errlen))
        return -1;
    if (n >= 0)
        out->tls.idle_timeout_ms = (uint64_t)n;
    if (read_psk(L, t, server, out, err, errlen))
        return -1;
    n = -1;
    if (get_count(L, t, "connectionId", 0, RT_CID_MAX_LEN, &n, err, errlen))
        return -1;
    out->tls.connection_id = (int)n;
    /* docs/renegotiation.md */
    if (get_bool(L, t, "allowRenegotiation", &out->tls.allow_renegotiation, err, errlen))
        return -1;
    n = -1;
    if (get_count(L, t, "renegotiationInterval", 0, 7 * 24 * 3600, &n, err, errlen))
        return -1;
    out->tls.renegotiation_interval_ms = n < 0 ? -1 : (long long)n * 1000;

    if (server) {
        n = -1;
        if (get_count(L, t, "sessionCacheSize", 0, 10000000, &n, err, errlen))
            return -1;
        out->tls.session_cache_size = (long)n;
        n = 0;
        if (get_count(L, t, "sessionTimeout", 1, 7 * 24 * 3600, &n, err, errlen))
            return -1;
        out->tls.session_timeout_ms = (uint64_t)n * 1000;
        if (get_bool(L, t, "tickets", &out->tls.tickets, err, errlen) ||
            get_bytes(L, t, "ticketKeys", &out->tls.ticket_keys, &out->tls.ticket_keys_len, err, errlen) ||
            get_bytes(L, t, "cookieSecret", &out->tls.cookie_secret, &out->tls.cookie_secret_len, err, errlen))
            return -1;
        if (get_bool(L, t, "requestCert", &out->tls.request_cert, err, errlen) ||
            get_string(L, t, "pskHint", &out->tls.psk_hint, err, errlen))
            return -1;
        int ipv6_only = -1;
        if (get_bool(L, t, "ipv6Only", &ipv6_only, err, errlen))
            return -1;
        if (ipv6_only >= 0 && out->family != 6) {
            snprintf(err, errlen, "ipv6Only: only for type \"udp6\"");
            return -1;
        }
        out->tls.dual_stack = ipv6_only == 0;
        n = 0;
        if (get_count(L, t, "maxConnections", 1, (lua_Integer)1 << 32, &n, err, errlen))
            return -1;
        out->tls.max_connections = (size_t)n;
        n = 0;
        if (get_count(L, t, "maxHandshakes", 1, (lua_Integer)1 << 32, &n, err, errlen))
            return -1;
        out->tls.max_handshakes = (size_t)n;
        n = 0;
        if (get_count(L, t, "maxHandshakesPerAddress", 1, 65535, &n, err, errlen))
            return -1;
        out->tls.max_handshakes_per_address = (size_t)n;
        n = 0;
        /* up to 1 TiB, or what a size_t holds where that is less */
        const lua_Integer most = SIZE_MAX < ((uint64_t)1 << 40) ? (lua_Integer)SIZE_MAX
                                                                 : (lua_Integer)1 << 40;
        if (get_count(L, t, "maxReassemblyBytes", RT_MIN_REASSEMBLY_BYTES, most, &n, err, errlen))
            return -1;
        out->tls.max_reassembly_bytes = (size_t)n;
        return 0;
    }
    if (get_bytes(L, t, "session", &out->tls.session, &out->tls.session_len, err, errlen))
        return -1;
    int check_identity = 1;
    if (get_bool(L, t, "allowLegacyServer", &out->tls.allow_legacy_server, err, errlen) ||
        get_bool(L, t, "checkServerIdentity", &check_identity, err, errlen) ||
        get_string(L, t, "servername", &out->tls.servername, err, errlen) ||
        get_string(L, t, "address", &out->address, err, errlen) ||
        get_string(L, t, "localAddress", &out->tls.local_address, err, errlen))
        return -1;
    n = 0;
    if (get_count(L, t, "localPort", 0, 65535, &n, err, errlen))
        return -1;
    out->tls.local_port = (int)n;
    out->tls.skip_server_identity_check = !check_identity;
    n = 0;
    if (get_count(L, t, "port", 1, 65535, &n, err, errlen))
        return -1;
    if (n == 0) {
        snprintf(err, errlen, "port: required (1-65535)");
        return -1;
    }
    out->port = (int)n;
    if (out->address == NULL)
        out->address = out->family == 6 ? "::1" : "127.0.0.1";
    return 0;
}

/* ldtls.h — the Lua binding's entry points for hosts: the module opener
 * (require "dtls") and what dtlsrun needs to run a script's loop.
 * Nothing here exposes runtime internals to Lua scripts.
 */
#ifndef DTLSRUN_LDTLS_H
#define DTLSRUN_LDTLS_H

#include <stddef.h>

#include <lua.h>

#if defined(__GNUC__)
#define LDTLS_EXPORT __attribute__((visibility("default")))
#else
#define LDTLS_EXPORT
#endif

LDTLS_EXPORT int luaopen_dtls(lua_State *L);

/* For dtlsrun: if the script loaded the dtls module, stop gracefully on
 * SIGINT/SIGTERM and run its loop until nothing is left. Returns 0, or -1
 * when the loop could not run. */
int ldtls_host_run(lua_State *L);
/* For dtlsrun --metrics: serve the script's servers' counters over HTTP
 * (Prometheus text) on address:port. 0, or -1 with a message in err (also
 * when the script never loaded dtls: there is nothing to report). */
int ldtls_host_metrics(lua_State *L, const char *address, int port, char *err, size_t errlen);
/* The code the script passed to dtls.exit, or -1 when it did not call it. */
int ldtls_exit_code(lua_State *L);

#endif

/* A Lua module built with the sanitizer flags, for the asan.* self-checks:
 * proves the wrapped lua5.4 can load instrumented code and that ASan is live. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

int luaopen_asan_probe(lua_State *L);

static int probe_roundtrip(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char *copy = malloc(len + 1);
  if (!copy)
    return luaL_error(L, "out of memory");
  memcpy(copy, s, len + 1);
  lua_pushlstring(L, copy, len);
  free(copy);
  return 1;
}

/* Writes one byte past a heap block, on purpose. */
static int probe_overflow(lua_State *L) {
  volatile size_t n = (size_t)luaL_optinteger(L, 1, 16);
  char *block = malloc(n);
  if (!block)
    return luaL_error(L, "out of memory");
  memset(block, 'a', n);
  block[n] = 'x';
  lua_pushlstring(L, block, n); /* keeps the compiler from eliding the block */
  free(block);
  return 1;
}

int luaopen_asan_probe(lua_State *L) {
  static const luaL_Reg fns[] = {{"roundtrip", probe_roundtrip}, {"overflow", probe_overflow}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}

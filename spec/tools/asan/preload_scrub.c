/* Preloaded into lua5.4 after clang's ASan runtime by the sanitizer build's
 * lua5.4 wrapper: once the dynamic loader is done with LD_PRELOAD, put the
 * caller's LD_PRELOAD and ASAN_OPTIONS back, so that processes started from
 * Lua (dtlsrun, openssl, another lua5.4 via the wrapper) never inherit the
 * shared ASan runtime. Must not do anything else. */
#include <stdlib.h>

static void restore(const char *saved_name, const char *name) {
  const char *saved = getenv(saved_name);
  if (saved && *saved)
    setenv(name, saved, 1);
  else
    unsetenv(name);
  unsetenv(saved_name);
}

__attribute__((constructor)) static void preload_scrub(void) {
  if (!getenv("DTLSRUN_CHILD_ASAN_OPTIONS") && !getenv("DTLSRUN_CHILD_LD_PRELOAD"))
    return; /* not started by the wrapper */
  restore("DTLSRUN_CHILD_LD_PRELOAD", "LD_PRELOAD");
  restore("DTLSRUN_CHILD_ASAN_OPTIONS", "ASAN_OPTIONS");
}

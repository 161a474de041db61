-- Self-checks for the sanitizer build's lua5.4 wrapper (spec/CMakeLists.txt, asan.*).
--   ok [EXE]  the instrumented probe module loads and works; children see no
--             LD_PRELOAD, and the ASan executable EXE runs as a child
--   overflow  the probe overflows a heap block; ASan must report it (the test greps for it)
--   dtls PATH require "dtls" works when PATH exists (exit 77 = skipped otherwise)
local mode = arg[1]

if mode == "ok" then
  local probe = require "asan_probe"
  assert(probe.roundtrip("abc\0def") == "abc\0def", "probe roundtrip")
  assert(os.getenv("LD_PRELOAD") == nil, "LD_PRELOAD leaked into the interpreter's environment")
  local child = io.popen("echo \"[${LD_PRELOAD-}]\"", "r")
  local seen = child:read("l")
  child:close()
  assert(seen == "[]", "child process inherited LD_PRELOAD: " .. tostring(seen))
  -- an ASan executable started from here runs (with a leaked preload it aborts:
  -- "incompatible ASan runtimes")
  if arg[2] then
    local ok = os.execute(arg[2] .. " --help >/dev/null")
    assert(ok, "ASan child " .. arg[2] .. " failed under the wrapped interpreter")
  end
  print("asan preload ok")
elseif mode == "overflow" then
  require("asan_probe").overflow(16)
  print("no report: ASan is not active")
elseif mode == "dtls" then
  local f = io.open(arg[2], "rb")
  if not f then
    print("skipped: " .. arg[2] .. " not built yet")
    os.exit(77)
  end
  f:close()
  local dtls = require "dtls"
  assert(type(dtls) == "table", "require 'dtls' did not return a table")
  print("dtls.so loads under the ASan preload")
else
  error("usage: check_preload.lua ok|overflow|dtls PATH")
end

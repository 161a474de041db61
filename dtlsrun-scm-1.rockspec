-- dtlsrun-scm-1.rockspec — the `dtls` Lua module (and the dtlsrun
-- executable) built by CMake from this checkout: `luarocks make` here.
-- Needs the C libraries' headers: libssl-dev (libcrypto), libuv1-dev,
-- liblua5.4-dev, and cmake.
rockspec_format = "3.0"
package = "dtlsrun"
version = "scm-1"
source = {
  url = "git+file://.", -- luarocks make builds the checkout it runs in
}
description = {
  summary = "DTLS 1.2 servers and clients in Lua 5.4, on libcrypto and libuv",
  detailed = [[
    A scriptable DTLS service: the whole DTLS 1.2 protocol (RFC 6347) in C on
    OpenSSL's libcrypto, libuv UDP, and an API that mirrors node-dtls
    (createServer, bind, secureConnection, message, send, connect).
  ]],
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    DTLSRUN_LUA_CMOD_DIR = "$(LIBDIR)",
    CMAKE_INSTALL_BINDIR = "$(BINDIR)",
    DTLSRUN_TESTS = "OFF",
  },
}

-- echo_legacy.lua — the benchmark's echo service with legacy suites named
-- (issue 10): RSA key transport and CBC-HMAC, which are never defaults.
--   dtlsrun bench/echo_legacy.lua port address cert key ciphers
local dtls = require "dtls"

local port, address = tonumber(arg[1]), arg[2]
local cert, key, ciphers = arg[3], arg[4], arg[5]

local server = assert(dtls.createServer({ type = "udp4", cert = cert, key = key, ciphers = ciphers }))
server:on("secureConnection", function(socket)
  socket:on("message", function(msg) socket:send(msg) end)
end)
assert(server:bind(port, address))

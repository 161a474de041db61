-- echo_psk.lua — the benchmarks' PSK echo service: scripts/echo.lua with a
-- psk table instead of a certificate (PSK suites only).
--   dtlsrun bench/echo_psk.lua [port [address [identity hexkey]]]
local dtls = require "dtls"

local port = tonumber(arg and arg[1]) or 4433
local address = arg and arg[2] or "127.0.0.1"
local identity = arg and arg[3] or "bench"
local key = assert(dtls.hex(arg and arg[4] or "000102030405060708090a0b0c0d0e0f"))
local family = address:find(":", 1, true) and "udp6" or "udp4"

local server = assert(dtls.createServer({ type = family, psk = { [identity] = key } }))

server:on("secureConnection", function(socket)
  socket:on("message", function(msg)
    socket:send(msg)
  end)
  -- Alerts and failures are logged by dtlsrun itself (INFO); add
  -- socket:on("error", fn) to act on them.
end)

server:on("error", function(err)
  dtls.log(dtls.logLevel.WARN, "echo_psk: " .. tostring(err))
end)

assert(server:bind(port, address))

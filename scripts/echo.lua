-- echo.lua — the example service: every DTLS message is sent back as is.
--   dtlsrun scripts/echo.lua [port [address [cert key]]]
-- Listens on UDP 4433 on every IPv4 address by default. Without cert/key it
-- uses dtlsrun's embedded self-signed certificate (made on first run, its
-- SHA-256 fingerprint logged), so it needs no set-up:
--   openssl s_client -dtls1_2 -connect 127.0.0.1:4433
local dtls = require "dtls"

local port = tonumber(arg and arg[1]) or 4433
local address = arg and arg[2] or "0.0.0.0"
local cert, key = arg and arg[3], arg and arg[4]
local family = address:find(":", 1, true) and "udp6" or "udp4"

local server = assert(dtls.createServer({ type = family, cert = cert, key = key }))

server:on("secureConnection", function(socket)
  socket:on("message", function(msg)
    socket:send(msg)
  end)
  -- Alerts and failures are logged by dtlsrun itself (INFO); add
  -- socket:on("error", fn) to act on them.
end)

server:on("error", function(err)
  dtls.log(dtls.logLevel.WARN, "echo: " .. tostring(err))
end)

assert(server:bind(port, address))

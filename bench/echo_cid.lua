-- echo_cid.lua — scripts/echo.lua with RFC 9146 Connection IDs on: every
-- record from a client that asks carries an 8-byte CID the server routes by.
--   dtlsrun bench/echo_cid.lua port address cert key
local dtls = require "dtls"

local port, address, cert, key = tonumber(arg[1]), arg[2], arg[3], arg[4]
local server = assert(dtls.createServer({ type = "udp4", cert = cert, key = key, connectionId = 8 }))
server:on("secureConnection", function(socket)
  socket:on("message", function(msg) socket:send(msg) end)
end)
assert(server:bind(port, address))

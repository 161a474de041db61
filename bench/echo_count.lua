-- echo_count.lua — scripts/echo.lua that also counts the handshakes its
-- worker completed, for scripts/bench --workers: on SIGUSR1 each worker
-- prints "handshakes WORKER N" (N since the start) to stdout.
--   dtlsrun --workers N bench/echo_count.lua port address cert key
local dtls = require "dtls"

local port, address, cert, key = tonumber(arg[1]), arg[2], arg[3], arg[4]
local server = assert(dtls.createServer({ type = "udp4", cert = cert, key = key }))
local handshakes = 0
server:on("secureConnection", function(socket)
  handshakes = handshakes + 1
  socket:on("message", function(msg) socket:send(msg) end)
end)
dtls.onSignal("SIGUSR1", function()
  io.stdout:write(string.format("handshakes %d %d\n", dtls.worker, handshakes))
  io.stdout:flush()
end)
assert(server:bind(port, address))

-- echo-client.lua — sends its arguments as messages to an echo server and
-- prints each reply.
--   dtlsrun scripts/echo-client.lua [port [address [ca]]] -- message...
-- Without a ca the server's certificate is not verified (the embedded
-- default certificate is self-signed), and a warning says so.
local dtls = require "dtls"

local params, messages, seen_sep = {}, {}, false
for _, a in ipairs(arg or {}) do
  if a == "--" and not seen_sep then seen_sep = true
  elseif seen_sep then messages[#messages + 1] = a
  else params[#params + 1] = a end
end
if #messages == 0 then messages = { "hello" } end

local port = tonumber(params[1]) or 4433
local address = params[2] or "127.0.0.1"
local ca = params[3]
if not ca then
  dtls.log(dtls.logLevel.WARN, "no ca given: the server's certificate is not verified")
end

local client = assert(dtls.connect({
  port = port, address = address,
  type = address:find(":", 1, true) and "udp6" or "udp4",
  ca = ca, rejectUnauthorized = ca ~= nil,
}))

local pending = #messages
local guard = dtls.setTimeout(10000, function()
  io.stderr:write("echo-client: timed out\n")
  os.exit(1)
end)

client:on("secureConnect", function()
  for _, m in ipairs(messages) do assert(client:send(m)) end
end)
client:on("message", function(msg)
  print(msg)
  pending = pending - 1
  if pending == 0 then
    dtls.clearTimer(guard)
    client:close()
  end
end)
client:on("error", function(err)
  io.stderr:write("echo-client: ", tostring(err), "\n")
  os.exit(1)
end)

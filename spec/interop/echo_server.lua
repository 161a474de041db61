-- echo_server.lua — the dtlsrun server the interop tests talk to: every
-- message is sent back as is. Options come as key=value arguments:
--   dtlsrun spec/interop/echo_server.lua port=P [address=127.0.0.1]
--       [cert=FILE key=FILE] [ca=FILE requestCert=1] [ciphers=A:B] [mtu=N]
--       [psk=identity:hexkey,identity2:hexkey2] [pskHint=TEXT]
--       [handshakeTimeout=MS] [retransmitTimeout=MS] [maxRetransmitTimeout=MS]
--       [connectionId=N] [sessionCacheSize=N] [sessionTimeout=S] [tickets=0|1]
--       [ticketKeys=FILE]  (a file of raw 48-byte keys)
--       [minVersion=DTLSv1|DTLSv1.2] [maxVersion=DTLSv1|DTLSv1.2]
--       [allowRenegotiation=0|1] [renegotiationInterval=S]
--       [renegotiate=N]    start a renegotiation (HelloRequest) after the Nth message
-- One line per event goes to stdout, so the tests can check what was
-- negotiated and which alert ended a failed handshake:
--   listening PORT
--   secure PORT CIPHER PROTOCOL psk=IDENTITY|- cert=SUBJECT|-
--   etm PORT yes|no                    (after "secure": Encrypt-then-MAC, RFC 7366)
--   resumed PORT                       (after "secure", for an abbreviated handshake)
--   worker PORT N                      (after "secure": the worker serving it, dtlsrun --workers)
--   moved OLDPORT NEWPORT              (RFC 9146: the peer's address changed)
--   renegotiated PORT CIPHER           (a renegotiation completed)
--   renegotiationFailed PORT MESSAGE
--   clientError MESSAGE
--   sendError PORT N bytes: MESSAGE
--   error PORT MESSAGE
local dtls = require "dtls"

io.stdout:setvbuf("line")

local opt = {}
for _, a in ipairs(arg or {}) do
  local k, v = a:match("^([%w]+)=(.*)$")
  if not k then
    io.stderr:write("echo_server.lua: arguments are key=value, got '", a, "'\n")
    os.exit(2)
  end
  opt[k] = v
end

local port = tonumber(opt.port) or error("port=N is required")
local address = opt.address or "127.0.0.1"
local options = { type = address:find(":", 1, true) and "udp6" or "udp4" }
options.cert, options.key, options.ca = opt.cert, opt.key, opt.ca
options.requestCert = opt.requestCert == "1" or nil
options.ciphers = opt.ciphers
options.minVersion, options.maxVersion = opt.minVersion, opt.maxVersion
for _, name in ipairs({ "mtu", "handshakeTimeout", "retransmitTimeout", "maxRetransmitTimeout",
                        "connectionId", "sessionCacheSize", "sessionTimeout",
                        "renegotiationInterval" }) do
  options[name] = opt[name] and (tonumber(opt[name]) or error(name .. ": expected a number"))
end
options.pskHint = opt.pskHint
if opt.tickets then options.tickets = opt.tickets == "1" end
if opt.allowRenegotiation then options.allowRenegotiation = opt.allowRenegotiation == "1" end
local renegotiate_after = tonumber(opt.renegotiate)
if opt.ticketKeys then
  local f = assert(io.open(opt.ticketKeys, "rb"))
  options.ticketKeys = f:read("a")
  f:close()
end
if opt.psk then
  options.psk = {}
  for identity, hexkey in opt.psk:gmatch("([^,:]+):([^,]+)") do
    options.psk[identity] = assert(dtls.hex(hexkey))
  end
end

local server = assert(dtls.createServer(options))

server:on("secureConnection", function(socket)
  local cert = socket.peerCertificate
  print(string.format("secure %d %s %s psk=%s cert=%s", socket.rinfo.port, tostring(socket.cipher),
                      tostring(socket.protocol), socket.pskIdentity or "-",
                      cert and cert.subject or "-"))
  print(string.format("etm %d %s", socket.rinfo.port, socket.encryptThenMac and "yes" or "no"))
  if socket:isSessionReused() then print(string.format("resumed %d", socket.rinfo.port)) end
  print(string.format("worker %d %d", socket.rinfo.port, socket.worker))
  print(string.format("cookies %d %d", socket.rinfo.port, server:stats().helloVerifyRequests))
  socket:on("rinfo", function(new, old) print(string.format("moved %d %d", old.port, new.port)) end)
  socket:on("renegotiated", function(err)
    if err then
      print(string.format("renegotiationFailed %d %s", socket.rinfo.port, tostring(err)))
    else
      print(string.format("renegotiated %d %s", socket.rinfo.port, tostring(socket.cipher)))
    end
  end)
  local messages = 0
  socket:on("message", function(msg)
    messages = messages + 1
    if messages == renegotiate_after then
      local ok, err = socket:renegotiate()
      if not ok then print(string.format("renegotiationFailed %d %s", socket.rinfo.port, tostring(err))) end
    end
    local ok, err = socket:send(msg)
    if not ok then print(string.format("sendError %d %d bytes: %s", socket.rinfo.port, #msg, tostring(err))) end
  end)
  socket:on("error", function(err) print(string.format("error %d %s", socket.rinfo.port, tostring(err))) end)
end)
server:on("clientError", function(err) print("clientError " .. tostring(err)) end)
server:on("error", function(err) print("error server " .. tostring(err)) end)

assert(server:bind(port, address, function() print("listening " .. server:address().port) end))

-- coap-hello.lua — a CoAP server (RFC 7252) over DTLS with pre-shared keys,
-- the way constrained devices speak it (RFC 7925):
--
--   dtlsrun scripts/coap-hello.lua [PORT] [name=value ...]
--
--   PORT            UDP port (default 5684, coaps)
--   address=ADDR    address to bind (default 0.0.0.0; an IPv6 one binds udp6)
--   identity=ID     the PSK identity clients send (default "coap-client")
--   key=HEX         that identity's key in hex (default 7365637265744b6579 = "secretKey")
--   hint=TEXT       a PSK identity hint for the ServerKeyExchange (default none)
--   ciphers=A:B     the suites to offer (default: all dtlsrun has; the
--                   server picks the first of its list the client offers)
--   handshakeTimeout=MS
--                   give up on a handshake after this long (default 60000)
--   cert=FILE certkey=FILE
--                   also offer certificate suites with this certificate (ECDSA)
--   mode=cert       certificate only, no PSK: dtlsrun's embedded default
--                   certificate unless cert/certkey are given
--
-- Resources: GET /hello -> 2.05 "Hello from dtlsrun" (text/plain),
-- GET /.well-known/core -> the link-format list. Anything else: 4.04, and a
-- known path with another method: 4.05. Try it with libcoap:
--
--   coap-client-openssl -m get -u coap-client -k secretKey coaps://127.0.0.1/hello
--
-- The CoAP codec is scripts/coap.lua: dtlsrun puts this script's directory
-- first on package.path.
local dtls = require "dtls"
local coap = require "coap"

-- ---- arguments ----------------------------------------------------------
local opt = { port = "5684", address = "0.0.0.0", identity = "coap-client",
              key = "7365637265744b6579" }
for i, a in ipairs(arg or {}) do
  local k, v = a:match("^(%a+)=(.*)$")
  if k then
    opt[k] = v
  elseif i == 1 and a:match("^%d+$") then
    opt.port = a
  else
    error("coap-hello.lua: arguments are [PORT] name=value..., got '" .. a .. "'", 0)
  end
end

local options = { type = opt.address:find(":", 1, true) and "udp6" or "udp4",
                  cert = opt.cert, key = opt.certkey, ciphers = opt.ciphers,
                  handshakeTimeout = tonumber(opt.handshakeTimeout) }
if opt.mode ~= "cert" then
  options.psk = { [opt.identity] = assert(dtls.hex(opt.key)) }
  options.pskHint = opt.hint
end

-- ---- resources ------------------------------------------------------------
local TEXT, LINK = coap.format.TEXT, coap.format.LINK_FORMAT
local resources = {
  ["/hello"] = { format = TEXT, body = "Hello from dtlsrun", attrs = 'title="Hello";ct=0' },
}
resources["/.well-known/core"] = { format = LINK, body = '</hello>;' .. resources["/hello"].attrs }

-- Critical options this server understands (RFC 7252 5.4.1: any other
-- critical option in a request is answered with 4.02 Bad Option).
local O = coap.option
local understood = { [O.URI_HOST] = true, [O.URI_PORT] = true, [O.URI_PATH] = true,
                     [O.URI_QUERY] = true, [O.ACCEPT] = true }

-- handle(request) -> code, payload, content-format (nil for none)
local function handle(req)
  for _, o in ipairs(req.options) do
    if o.number == O.PROXY_URI or o.number == O.PROXY_SCHEME then
      return coap.code(5, 5), "Proxying Not Supported"        -- RFC 7252 5.10.2
    end
    if coap.critical(o.number) and not understood[o.number] then
      return coap.code(4, 2), "Bad Option " .. o.number
    end
  end
  local path = coap.path(req)
  local res = resources[path]
  if not res then return coap.code(4, 4), "Not Found" end
  if req.code ~= coap.GET then return coap.code(4, 5), "Method Not Allowed" end
  local accept = coap.find(req, O.ACCEPT)
  if accept and coap.read_uint(accept) ~= res.format then
    return coap.code(4, 6), "Not Acceptable"
  end
  return coap.code(2, 5), res.body, res.format
end

-- ---- messages -------------------------------------------------------------
local next_id = math.random(0, 0xFFFF)

-- reply(msg_bytes) -> the bytes to send back, or nil to stay silent.
local function reply(bytes, who)
  local msg, why, header = coap.decode(bytes)
  if not msg then
    dtls.log(dtls.logLevel.FINE, who .. " malformed CoAP message: " .. why)
    -- A Confirmable message we cannot parse is rejected with a Reset (RFC 7252 4.2);
    -- anything else, or a header we could not read, is ignored.
    if header and header.type == coap.CON then
      return coap.encode{ type = coap.RST, code = coap.EMPTY, id = header.id }
    end
    return nil
  end
  local class = msg.code >> 5
  if msg.type == coap.ACK or msg.type == coap.RST then
    return nil -- we never send Confirmable messages, so there is nothing to match
  end
  if msg.code == coap.EMPTY or class ~= 0 then
    -- A CoAP ping (Empty CON) or a message that is no request: Reset if Confirmable.
    if msg.type == coap.CON then return coap.encode{ type = coap.RST, code = coap.EMPTY, id = msg.id } end
    return nil
  end

  local code, payload, format = handle(msg)
  dtls.log(dtls.logLevel.INFO, string.format("%s %s %s %s -> %s", who, coap.type_names[msg.type],
           coap.code_text(msg.code), coap.path(msg), coap.code_text(code)))
  local out = { code = code, token = msg.token, payload = payload, options = {} }
  if format then out.options[1] = { number = O.CONTENT_FORMAT, value = coap.uint(format) } end
  if msg.type == coap.CON then
    -- Piggybacked response: an ACK with the request's message ID (RFC 7252 5.2.1).
    -- GET is idempotent, so a retransmitted request simply gets the same answer again.
    out.type, out.id = coap.ACK, msg.id
  else
    -- A Non-confirmable request gets a Non-confirmable response (RFC 7252 5.2.3).
    next_id = (next_id + 1) & 0xFFFF
    out.type, out.id = coap.NON, next_id
  end
  return coap.encode(out)
end

-- ---- server ---------------------------------------------------------------
local server = assert(dtls.createServer(options))

server:on("secureConnection", function(socket)
  local who = string.format("%s:%d (%s, %s)", socket.rinfo.address, socket.rinfo.port,
                            socket.pskIdentity or "certificate", socket.cipher)
  socket:on("message", function(bytes)
    -- The codec returns errors instead of raising; the pcall is a second wall.
    local ok, answer = pcall(reply, bytes, who)
    if not ok then
      dtls.log(dtls.logLevel.WARN, who .. " coap: " .. tostring(answer))
    elseif answer then
      socket:send(answer)
    end
  end)
end)

server:on("error", function(err) dtls.log(dtls.logLevel.WARN, "coap-hello: " .. tostring(err)) end)

assert(server:bind(tonumber(opt.port), opt.address))

-- coap.lua — a small CoAP message codec (RFC 7252 section 3), pure Lua 5.4,
-- no I/O. Used by coap-hello.lua. It parses exactly one message per call and
-- never trusts a length: every read is checked against the end of the input,
-- and every loop advances by at least one byte, so hostile input can only
-- produce `nil, reason`, never an error or a long loop.
--
--   local coap = require "coap"
--   local msg, why = coap.decode(bytes)   -- msg or nil, "reason"[, header]
--   local bytes = coap.encode{ type = coap.ACK, code = coap.code(2, 5), id = msg.id,
--                              token = msg.token,
--                              options = { { number = 12, value = "\0" } },
--                              payload = "Hello" }

local M = {}

-- Message types (RFC 7252 3).
M.CON, M.NON, M.ACK, M.RST = 0, 1, 2, 3
M.type_names = { [0] = "CON", "NON", "ACK", "RST" }

-- Option numbers this codec names (RFC 7252 5.10, 12.2).
M.option = {
  IF_MATCH = 1, URI_HOST = 3, ETAG = 4, IF_NONE_MATCH = 5, OBSERVE = 6, URI_PORT = 7,
  LOCATION_PATH = 8, URI_PATH = 11, CONTENT_FORMAT = 12, MAX_AGE = 14, URI_QUERY = 15,
  ACCEPT = 17, LOCATION_QUERY = 20, BLOCK2 = 23, BLOCK1 = 27, SIZE2 = 28, PROXY_URI = 35,
  PROXY_SCHEME = 39, SIZE1 = 60,
}

-- Content-Format numbers (RFC 7252 12.3).
M.format = { TEXT = 0, LINK_FORMAT = 40, OCTET_STREAM = 42, JSON = 50 }

-- A code is class.detail, sent as one byte ccc ddddd (RFC 7252 3).
function M.code(class, detail) return class * 32 + detail end
function M.code_text(code) return string.format("%d.%02d", code >> 5, code & 31) end

M.EMPTY = M.code(0, 0)
M.GET, M.POST, M.PUT, M.DELETE = M.code(0, 1), M.code(0, 2), M.code(0, 3), M.code(0, 4)

-- An option is critical if its number is odd (RFC 7252 5.4.1).
function M.critical(number) return number & 1 == 1 end

local MAX_OPTIONS = 64       -- more options than this is treated as an attack
local MAX_OPTION_NUMBER = 65535

-- An option's delta or length nibble, with its extended bytes (RFC 7252 3.1):
-- 0-12 as is, 13: one more byte + 13, 14: two more bytes + 269, 15: reserved.
-- Returns value, next position; or nil, reason.
local function read_extended(data, pos, nibble, what)
  if nibble < 13 then return nibble, pos end
  if nibble == 13 then
    if pos > #data then return nil, what .. ": truncated extended byte" end
    return data:byte(pos) + 13, pos + 1
  end
  if nibble == 14 then
    if pos + 1 > #data then return nil, what .. ": truncated extended bytes" end
    return (data:byte(pos) << 8 | data:byte(pos + 1)) + 269, pos + 2
  end
  return nil, what .. ": reserved value 15"
end

-- decode(data) -> message, or nil, reason, header
-- message = { version, type, code, id, token, options = { {number, value}, ... }, payload }
-- On a format error after a readable header, `header` (type, code, id) is
-- returned too, so the caller can answer a Confirmable message with a Reset.
-- Messages that cannot be answered at all (shorter than 4 bytes, or of an
-- unknown version, which RFC 7252 3 says to ignore silently) return no header.
function M.decode(data)
  if type(data) ~= "string" then return nil, "not a string" end
  if #data < 4 then return nil, "shorter than the 4-byte header" end
  local b0, code, id = string.unpack(">BBI2", data)
  local header = { version = b0 >> 6, type = (b0 >> 4) & 3, code = code, id = id }
  if header.version ~= 1 then return nil, "unknown version " .. header.version end

  local tkl = b0 & 15
  -- TKL 9-15 are reserved and "MUST be processed as a message format error".
  if tkl > 8 then return nil, "reserved token length " .. tkl, header end
  if 4 + tkl > #data then return nil, "truncated token", header end
  local msg = { version = 1, type = header.type, code = code, id = id,
                token = data:sub(5, 4 + tkl), options = {}, payload = "" }
  local pos = 5 + tkl

  -- An Empty message (0.00) is exactly 4 bytes (RFC 7252 4.1).
  if code == M.EMPTY then
    if #data ~= 4 then return nil, "empty message with token, options or payload", header end
    return msg
  end

  local number = 0
  while pos <= #data do
    local byte = data:byte(pos)
    pos = pos + 1
    if byte == 0xFF then
      -- A marker followed by nothing is a format error (RFC 7252 3).
      if pos > #data then return nil, "payload marker with an empty payload", header end
      msg.payload = data:sub(pos)
      break
    end
    if #msg.options >= MAX_OPTIONS then return nil, "too many options", header end
    local delta, length, next_or_err
    delta, next_or_err = read_extended(data, pos, byte >> 4, "option delta")
    if not delta then return nil, next_or_err, header end
    length, next_or_err = read_extended(data, next_or_err, byte & 15, "option length")
    if not length then return nil, next_or_err, header end
    pos = next_or_err
    number = number + delta
    if number > MAX_OPTION_NUMBER then return nil, "option number out of range", header end
    if pos + length - 1 > #data then return nil, "option value runs past the end", header end
    msg.options[#msg.options + 1] = { number = number, value = data:sub(pos, pos + length - 1) }
    pos = pos + length
  end
  return msg
end

-- Writes an option delta or length nibble's extended form (inverse of read_extended).
local function split_extended(n)
  if n < 13 then return n, "" end
  if n < 269 then return 13, string.char(n - 13) end
  return 14, string.pack(">I2", n - 269)
end

-- encode(message) -> bytes. Options may be given in any order; they are
-- sorted by number (stable for repeated options) as the delta coding needs.
function M.encode(m)
  local token = m.token or ""
  assert(#token <= 8, "token longer than 8 bytes")
  local out = { string.pack(">BBI2", 0x40 | (m.type & 3) << 4 | #token, m.code, m.id & 0xFFFF), token }
  local options = {}
  for i, o in ipairs(m.options or {}) do options[i] = { number = o.number, value = o.value, i = i } end
  table.sort(options, function(a, b)
    if a.number ~= b.number then return a.number < b.number end
    return a.i < b.i
  end)
  local last = 0
  for _, o in ipairs(options) do
    local dn, dx = split_extended(o.number - last)
    local ln, lx = split_extended(#o.value)
    out[#out + 1] = string.char(dn << 4 | ln) .. dx .. lx .. o.value
    last = o.number
  end
  if m.payload and #m.payload > 0 then out[#out + 1] = "\255" .. m.payload end
  return table.concat(out)
end

-- An unsigned integer option value: the shortest big-endian form, 0 is empty (RFC 7252 3.2).
function M.uint(n)
  local s = ""
  while n > 0 do
    s = string.char(n & 0xFF) .. s
    n = n >> 8
  end
  return s
end

function M.read_uint(s)
  local n = 0
  for i = 1, math.min(#s, 4) do n = n << 8 | s:byte(i) end
  return n
end

-- The request's path, "/a/b", from its Uri-Path options ("/" when there are none).
function M.path(msg)
  local parts = {}
  for _, o in ipairs(msg.options) do
    if o.number == M.option.URI_PATH then parts[#parts + 1] = o.value end
  end
  return "/" .. table.concat(parts, "/")
end

-- The first value of an option, or nil.
function M.find(msg, number)
  for _, o in ipairs(msg.options) do
    if o.number == number then return o.value end
  end
end

return M

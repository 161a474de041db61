#!/usr/bin/env bash
# scripts/coap-hello.lua against hostile CoAP (RFC 7252 3, 4.2, 4.3), over a
# real PSK DTLS session from a dtlsrun client:
#   malformed messages (short, wrong version, reserved token lengths and
#   option nibbles, truncated extensions and values, a payload marker with no
#   payload, an Empty message with bytes after the header, too many options,
#   option numbers past 65535) are answered with RST when Confirmable and
#   ignored otherwise; ACK/RST and unknown versions are ignored; a CoAP ping
#   gets RST; valid requests using the 13/14 extended forms get the right
#   answer; 300 random messages later the same session still answers GET /hello,
#   and the server logged no Lua error.
# Before that, scripts/coap.lua's codec alone: encode/decode round trips and
# 20000 random and mutated inputs, none of which may raise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init

# ---- the client ---------------------------------------------------------------
# Sends one message at a time. A message that must stay unanswered is followed
# by a CoAP ping: the next thing to arrive must be the ping's RST (loopback
# keeps the order), so silence is checked without waiting for a timer.
cat >"$IT_TMP/hostile.lua" <<'LUA'
local dtls = require "dtls"
package.path = os.getenv("DTLSRUN_ROOT") .. "/scripts/?.lua;" .. package.path
local coap = require "coap"
io.stdout:setvbuf("line")

local port, identity, hexkey = tonumber(arg[1]), arg[2], arg[3]
local failures = 0
local function check(ok, what)
  print((ok and "ok   " or "FAIL ") .. what)
  if not ok then failures = failures + 1 end
end

-- ---- the codec alone ----------------------------------------------------------
local function same(a, b)
  if a.type ~= b.type or a.code ~= b.code or a.id ~= b.id or a.token ~= b.token
     or a.payload ~= b.payload or #a.options ~= #b.options then return false end
  for i, o in ipairs(a.options) do
    if o.number ~= b.options[i].number or o.value ~= b.options[i].value then return false end
  end
  return true
end

do
  local m = { type = coap.CON, code = coap.GET, id = 0xBEEF, token = "\1\2\3\4\5\6\7\8",
              options = { { number = coap.option.URI_PATH, value = string.rep("p", 300) },
                          { number = coap.option.URI_HOST, value = "h" },
                          { number = coap.option.URI_PATH, value = string.rep("q", 13) },
                          { number = 2048, value = "" }, { number = 65535, value = "x" } },
              payload = "body" }
  local bytes = coap.encode(m)
  local back = assert(coap.decode(bytes))
  check(back.options[1].number == 3 and back.options[2].value == string.rep("p", 300)
        and back.options[3].value == string.rep("q", 13) and coap.path(back) == "/" .. string.rep("p", 300)
        .. "/" .. string.rep("q", 13) and back.options[5].number == 65535 and back.payload == "body"
        and back.token == m.token and back.id == 0xBEEF, "codec: round trip with 13/14 extended forms")
  check(coap.encode(back) == bytes, "codec: re-encoding gives the same bytes")
  check(coap.uint(0) == "" and coap.uint(255) == "\255" and coap.uint(256) == "\1\0"
        and coap.read_uint("\1\0") == 256, "codec: uint option values")
  check(coap.code_text(coap.code(2, 5)) == "2.05" and coap.code_text(coap.code(4, 4)) == "4.04",
        "codec: code text")
end

do
  math.randomseed(7253)
  local raised, parsed, stable = 0, 0, true
  local seeds = { coap.encode{ type = coap.CON, code = coap.GET, id = 1, token = "tk",
                               options = { { number = 11, value = "hello" }, { number = 300, value = "zz" } },
                               payload = "p" }, "\64\0\0\1", "\80\1\0\2\255x" }
  for i = 1, 20000 do
    local s
    if i % 2 == 0 then
      local t = {}
      for j = 1, math.random(0, 40) do t[j] = string.char(math.random(0, 255)) end
      s = table.concat(t)
    else
      local b = { seeds[i % #seeds + 1]:byte(1, -1) }
      for _ = 1, math.random(1, 4) do
        local at = math.random(1, #b + 1)
        if math.random(2) == 1 then b[at] = math.random(0, 255) else table.insert(b, at, math.random(0, 255)) end
      end
      s = string.char(table.unpack(b))
    end
    local ok, m = pcall(coap.decode, s)
    if not ok then raised = raised + 1 elseif m then
      parsed = parsed + 1
      -- what the codec accepts it can write again, and read back the same
      local ok2, again = pcall(function() return assert(coap.decode(coap.encode(m))) end)
      if not ok2 or not same(m, again) then stable = false end
    end
  end
  check(raised == 0, "codec: 20000 random and mutated inputs, none raised (" .. parsed .. " parsed)")
  check(stable, "codec: every accepted input re-encodes to an equal message")
end

-- ---- over DTLS ------------------------------------------------------------------
local H = function(hex) return assert(dtls.hex(hex)) end
local PING_ID = 0x7A7A
local ping = coap.encode{ type = coap.CON, code = coap.EMPTY, id = PING_ID }
local function get(id, token, extra)
  local options = { { number = coap.option.URI_PATH, value = "hello" } }
  for _, o in ipairs(extra or {}) do options[#options + 1] = o end
  return coap.encode{ type = coap.CON, code = coap.GET, id = id, token = token, options = options }
end

-- { name, bytes, expect }: expect(reply) -> true, or "silent"
local function rst_for(id)
  return function(r) return r.type == coap.RST and r.code == coap.EMPTY and r.id == id and r.token == "" end
end
local function hello_ack(id, token)
  return function(r)
    return r.type == coap.ACK and r.code == coap.code(2, 5) and r.id == id and r.token == token
      and r.payload == "Hello from dtlsrun" and coap.find(r, coap.option.CONTENT_FORMAT) == ""
  end
end
local cases = {
  { "1 byte", "\64", "silent" },
  { "version 2", H"80011234", "silent" },
  { "version 0", H"00011235", "silent" },
  { "token length 9 (reserved)", H"49010001" .. "123456789", rst_for(1) },
  { "token length 15 (reserved)", H"4F010002", rst_for(2) },
  { "token shorter than its length", H"48010003" .. "abc", rst_for(3) },
  { "option delta 15, not a marker", H"40010004F178", rst_for(4) },
  { "option length 15", H"400100051F", rst_for(5) },
  { "delta 13 without its byte", H"40010006D0", rst_for(6) },
  { "delta 14 without its two bytes", H"40010007E001", rst_for(7) },
  { "length 14 with one byte", H"400100080E01", rst_for(8) },
  { "value past the end", H"40010009B5" .. "hel", rst_for(9) },
  { "payload marker, no payload", H"4001000AFF", rst_for(10) },
  { "Empty message with a token", H"4100000B" .. "X", rst_for(11) },
  { "Empty message with a payload", H"4000000CFF" .. "x", rst_for(12) },
  { "option number past 65535", H"4001000DE0FFFFE0FFFF", rst_for(13) },
  { "65 options", H"4001000E" .. string.rep("\0", 65), rst_for(14) },
  { "malformed NON", H"5001000FFF", "silent" },
  { "ACK", H"60000010", "silent" },
  { "RST", H"70000011", "silent" },
  { "CON response 2.05", H"40450012", rst_for(0x12) },
  { "NON response 2.05", H"50450013", "silent" },
  { "CON with reserved class 7", H"40E00014", rst_for(0x14) },
  { "CoAP ping", ping, rst_for(PING_ID) },
  { "GET /hello", get(0x20, "tok"), hello_ack(0x20, "tok") },
  { "GET /hello, 8-byte token", get(0x21, "12345678"), hello_ack(0x21, "12345678") },
  { "GET /hello, Uri-Query by a delta-13 option, elective option 2048 by delta 14",
    get(0x22, "q", { { number = coap.option.URI_QUERY, value = "a=1" }, { number = 2048, value = "e" } }),
    hello_ack(0x22, "q") },
  { "GET /<300 bytes>: 4.04", coap.encode{ type = coap.CON, code = coap.GET, id = 0x23, token = "n",
      options = { { number = coap.option.URI_PATH, value = string.rep("x", 300) } } },
    function(r) return r.type == coap.ACK and r.code == coap.code(4, 4) and r.id == 0x23 and r.token == "n" end },
  { "NON GET /hello", coap.encode{ type = coap.NON, code = coap.GET, id = 0x24, token = "non",
      options = { { number = coap.option.URI_PATH, value = "hello" } } },
    function(r) return r.type == coap.NON and r.code == coap.code(2, 5) and r.token == "non" end },
  { "GET /hello with an unknown critical option: 4.02", get(0x25, "c", { { number = 9, value = "" } }),
    function(r) return r.type == coap.ACK and r.code == coap.code(4, 2) and r.id == 0x25 end },
  { "DELETE /hello: 4.05", coap.encode{ type = coap.CON, code = coap.DELETE, id = 0x26,
      options = { { number = coap.option.URI_PATH, value = "hello" } } },
    function(r) return r.type == coap.ACK and r.code == coap.code(4, 5) and r.id == 0x26 end },
}

local step, waiting_ping, random_left = 0, false, nil
local c = assert(dtls.connect{ type = "udp4", address = "127.0.0.1", port = port,
                               psk = { identity = identity, key = H(hexkey) } })
local guard = dtls.setTimeout(20000, function()
  check(false, "timed out waiting for the answer to: " .. (cases[step] and cases[step][1] or "the last GET"))
  os.exit(1)
end)

local function finish()
  dtls.clearTimer(guard)
  c:close()
  print(failures == 0 and "all passed" or (failures .. " checks failed"))
  os.exit(failures == 0 and 0 or 1)
end

local function next_case()
  step = step + 1
  local case = cases[step]
  if not case then
    -- 300 random datagrams (answers, if any, are ignored), then one last GET.
    math.randomseed(6347)
    for _ = 1, 300 do
      local t = {}
      for j = 1, math.random(1, 60) do t[j] = string.char(math.random(0, 255)) end
      c:send(table.concat(t))
    end
    random_left = true
    c:send(get(0x5A5A, "last-one"))
    return
  end
  c:send(case[2])
  if case[3] == "silent" then
    waiting_ping = true
    c:send(ping)
  end
end

c:on("secureConnect", next_case)
c:on("error", function(e) check(false, "client error: " .. tostring(e)); finish() end)
c:on("message", function(bytes)
  local r, why = coap.decode(bytes)
  if random_left then
    if r and r.token == "last-one" then
      check(hello_ack(0x5A5A, "last-one")(r), "after 300 random datagrams the session still answers")
      finish()
    end
    return
  end
  local case = cases[step]
  if not r then
    check(false, case[1] .. ": unparseable reply (" .. tostring(why) .. ")")
  elseif waiting_ping then
    waiting_ping = false
    check(rst_for(PING_ID)(r), case[1] .. ": ignored (the next reply is the ping's RST)")
  else
    check(case[3](r), string.format("%s: answered %s %s id %d", case[1], coap.type_names[r.type],
                                    coap.code_text(r.code), r.id))
  end
  if not waiting_ping then next_case() end
end)
LUA

ID=coap-client
HEXKEY=00112233445566778899aabbccddeeff
it_start_udp_server srv "$DTLSRUN_BIN" --log-level FINE "$DTLSRUN_ROOT/scripts/coap-hello.lua" \
  '{PORT}' address=127.0.0.1 identity="$ID" key="$HEXKEY"

rc=0
it_start cli 30 "$DTLSRUN_BIN" "$IT_TMP/hostile.lua" "${IT_PORT[srv]}" "$ID" "$HEXKEY"
it_wait cli 25 || rc=$?
cat "$IT_TMP/cli.out" >&2
((rc == 0)) || it_fail "the hostile client exited with status $rc"
grep -q '^all passed$' "$IT_TMP/cli.out" || it_fail "the hostile client did not finish"
it_running srv || it_fail "coap-hello.lua exited"
# A Lua error inside the message handler would be logged as "coap: ..." at WARN,
# or reported as a server 'error'.
if grep -E 'WARN .*(coap:|coap-hello:)|traceback' "$IT_TMP/srv.err"; then
  it_fail "coap-hello.lua logged a Lua error"
fi
grep -q 'malformed CoAP message' "$IT_TMP/srv.err" || it_fail "no malformed message was logged at FINE"
it_log "pass: hostile CoAP over DTLS"

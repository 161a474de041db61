-- echo_client.lua — the dtlsrun client the interop and loss tests run: it
-- connects with dtls.connect, sends lines, and checks that each comes back
-- byte for byte. Exit status 0 on success; otherwise 1 and a message on stderr.
--   dtlsrun spec/interop/echo_client.lua port=P [address=127.0.0.1]
--       [ca=FILE] [servername=NAME] [rejectUnauthorized=0|1]
--       [cert=FILE key=FILE] [ciphers=A:B] [mtu=N] [psk=identity:hexkey]
--       [handshakeTimeout=MS] [retransmitTimeout=MS] [maxRetransmitTimeout=MS]
--       [input=FILE]       the lines to send, one message per line (newline kept);
--                          default: `lines` generated lines of about `size` bytes
--       [lines=N] [size=N]
--       [clients=N]        handshakes to make in all (default 1), each with its own
--       [parallel=N]       lines; at most `parallel` at a time (default 1)
--       [resend=MS]        DTLS does not retransmit application data: over a lossy
--       [tries=N]          path, send each unanswered line again every MS, at most
--                          `tries` times in all (default 0: send once, and then
--                          the echoes must come back in order as one byte stream)
--       [expectError=A|B]  the handshake must fail with an error containing A (or B)
--       [resume=1]         each client after the first offers the session the one
--                          before it got (one at a time); prints "reused K yes|no"
--                          per client and "resumed R of M" before the last line
--       [serial=1]         send each line only once the one before is echoed
--       [connectionId=N]   RFC 9146: ask the server for N-byte CIDs
--       [minVersion=DTLSv1|DTLSv1.2] [maxVersion=...]
--       [timeout=MS]       give up after MS in all (default 20000)
--       [renegotiate=N]    socket:renegotiate() once N lines are echoed, sending the
--                          rest at once (while it runs); close only after its
--                          callback, which must report success
--       [pause=1]          with renegotiate=N: send the rest only after the callback
--                          (OpenSSL 3.0 ends a session with unexpected_record when
--                          application data comes while it renegotiates)
--       [allowRenegotiation=0|1] [renegotiationInterval=S] [allowLegacyServer=0|1]
--       [expectRenegotiated=1]  fail unless a renegotiation completed (e.g. one the
--                          server asked for with a HelloRequest)
-- Progress goes to stdout: "secure N CIPHER", "protocol N PROTOCOL" and
-- "etm N yes|no" per handshake, "error N MESSAGE" per error, "renegotiated
-- N CIPHER" per renegotiation, and a last line "ok ..." or "FAIL ...".
local dtls = require "dtls"

io.stdout:setvbuf("line")

local opt = {}
for _, a in ipairs(arg or {}) do
  local k, v = a:match("^([%w]+)=(.*)$")
  if not k then
    io.stderr:write("echo_client.lua: arguments are key=value, got '", a, "'\n")
    os.exit(2)
  end
  opt[k] = v
end

local function num(name, default)
  local v = opt[name]
  if v == nil then return default end
  return tonumber(v) or error(name .. ": expected a number, got '" .. v .. "'")
end

local port = num("port") or error("port=N is required")
local address = opt.address or "127.0.0.1"
local nclients, parallel = num("clients", 1), num("parallel", 1)
local resend, tries = num("resend", 0), num("tries", 0)
local expect_error = opt.expectError
local resume, serial = opt.resume == "1", opt.serial == "1"
if resume then parallel = 1 end
local session, reused_count = nil, 0

local function fail(msg)
  io.stdout:write("FAIL ", msg, "\n")
  io.stderr:write("echo_client.lua: ", msg, "\n")
  os.exit(1)
end

local input_lines
if opt.input then
  local f = assert(io.open(opt.input, "rb"))
  local text = f:read("a")
  f:close()
  input_lines = {}
  for line in text:gmatch("[^\n]*\n") do input_lines[#input_lines + 1] = line end
  if #input_lines == 0 then fail("input " .. opt.input .. " holds no complete line") end
end

-- The lines client k sends: the input file, or generated ones that name the
-- client and the line, so that a stray echo can never pass for another.
local function lines_for(k)
  if input_lines then return input_lines end
  local t, size = {}, num("size", 40)
  for i = 1, num("lines", 3) do
    local head = string.format("client %d line %d ", k, i)
    local pad = size - #head - 1
    t[i] = head .. string.rep(string.char(97 + (k + i) % 26), pad > 0 and pad or 0) .. "\n"
  end
  return t
end

local base = { type = address:find(":", 1, true) and "udp6" or "udp4", port = port, address = address }
base.ca, base.servername = opt.ca, opt.servername
if opt.rejectUnauthorized then base.rejectUnauthorized = opt.rejectUnauthorized == "1" end
base.cert, base.key, base.ciphers = opt.cert, opt.key, opt.ciphers
base.mtu, base.handshakeTimeout = num("mtu"), num("handshakeTimeout")
base.retransmitTimeout, base.maxRetransmitTimeout = num("retransmitTimeout"), num("maxRetransmitTimeout")
base.connectionId = num("connectionId")
base.minVersion, base.maxVersion = opt.minVersion, opt.maxVersion
base.renegotiationInterval = num("renegotiationInterval")
if opt.allowRenegotiation then base.allowRenegotiation = opt.allowRenegotiation == "1" end
if opt.allowLegacyServer then base.allowLegacyServer = opt.allowLegacyServer == "1" end
local renegotiate_after, expect_renegotiated = num("renegotiate"), opt.expectRenegotiated == "1"
local pause = opt.pause == "1"
if opt.psk then
  local identity, hexkey = opt.psk:match("^([^:]*):(.*)$")
  base.psk = { identity = identity, key = assert(dtls.hex(hexkey or "")) }
end

local started, finished, resends, live = 0, 0, 0, {}

local guard = dtls.setTimeout(num("timeout", 20000), function()
  local waiting = {}
  for k, st in pairs(live) do
    waiting[#waiting + 1] = string.format("client %d (%s, %d of %d lines echoed)", k,
                                          st.secure and "connected" or "handshaking", st.echoed, #st.lines)
  end
  table.sort(waiting)
  fail(string.format("timed out: %d of %d clients done; waiting for %s", finished, nclients,
                     table.concat(waiting, ", ")))
end)

local start_next

local function done(k)
  local st = live[k]
  live[k] = nil
  if st.resend_timer then dtls.clearTimer(st.resend_timer) end
  finished = finished + 1
  if finished == nclients then
    dtls.clearTimer(guard)
    if resume then print(string.format("resumed %d of %d", reused_count, nclients - 1)) end
    print(string.format("ok %d %s%s", nclients, expect_error and "failed handshakes" or "handshakes",
                        resend > 0 and string.format(", %d lines resent", resends) or ""))
  else
    start_next()
  end
end

local function start(k)
  local st = { lines = lines_for(k), echoed = 0, pending = {}, buffer = "" }
  live[k] = st
  local options = {}
  for key, v in pairs(base) do options[key] = v end
  if resume then options.session = session end
  local c, err = dtls.connect(options)
  if not c then fail("dtls.connect: " .. tostring(err)) end
  st.socket = c

  -- renegotiate=N: lines after the Nth wait until the renegotiation starts.
  local function held(i)
    return renegotiate_after and i > renegotiate_after
      and not (pause and st.renegotiated or not pause and st.reneg_started)
  end

  local function maybe_close()
    if renegotiate_after and not st.renegotiated then return end -- the callback closes
    c:close()
  end

  local function send_pending()
    for i, line in ipairs(st.lines) do
      if held(i) then break end
      local p = st.pending[i]
      if p and serial and i > st.echoed + 1 then break end
      if p and not (resend == 0 and p.sent > 0) then
        if p.sent >= math.max(tries, 1) then
          fail(string.format("client %d: line %d not echoed after %d sends", k, i, p.sent))
        end
        if p.sent > 0 then resends = resends + 1 end
        p.sent = p.sent + 1
        local ok, e = c:send(line)
        if not ok then fail(string.format("client %d: send: %s", k, tostring(e))) end
      end
    end
  end

  c:on("secureConnect", function()
    st.secure = true
    print(string.format("secure %d %s", k, tostring(c.cipher)))
    print(string.format("protocol %d %s", k, tostring(c.protocol)))
    print(string.format("etm %d %s", k, c.encryptThenMac and "yes" or "no"))
    if resume then
      print(string.format("reused %d %s", k, c:isSessionReused() and "yes" or "no"))
      if c:isSessionReused() then reused_count = reused_count + 1 end
    end
    if expect_error then
      fail(string.format("client %d: handshake succeeded, expected an error with '%s'", k, expect_error))
    end
    for i in ipairs(st.lines) do st.pending[i] = { sent = 0 } end
    send_pending()
    if resend > 0 then st.resend_timer = dtls.setInterval(resend, send_pending) end
  end)

  c:on("message", function(msg)
    if resend > 0 then
      -- Lossy path: each echo is one of our lines; a line sent twice may come back twice.
      for i, line in ipairs(st.lines) do
        if msg == line then
          if st.pending[i] then
            st.pending[i] = nil
            st.echoed = st.echoed + 1
          end
          if st.echoed == #st.lines then c:close() end
          return
        end
      end
      fail(string.format("client %d: unexpected message %q", k, msg))
    end
    -- Loopback: the echoes, concatenated, must be the lines, in order.
    st.buffer = st.buffer .. msg
    local want = table.concat(st.lines)
    if want:sub(1, #st.buffer) ~= st.buffer then
      fail(string.format("client %d: echo differs: expected %q, got %q", k, want:sub(1, #st.buffer), st.buffer))
    end
    st.echoed = 0
    local len = 0
    for _, line in ipairs(st.lines) do
      len = len + #line
      if len <= #st.buffer then st.echoed = st.echoed + 1 end
    end
    if renegotiate_after and not st.reneg_started and st.echoed >= renegotiate_after then
      st.reneg_started = true
      local ok, e = c:renegotiate(function(rerr)
        if rerr then fail(string.format("client %d: renegotiation failed: %s", k, tostring(rerr))) end
        st.renegotiated = true
        if #st.buffer == #want then c:close() elseif pause then send_pending() end
      end)
      if not ok then fail(string.format("client %d: renegotiate: %s", k, tostring(e))) end
      send_pending()
    end
    if #st.buffer == #want then maybe_close() elseif serial then send_pending() end
  end)

  c:on("error", function(e)
    e = tostring(e)
    print(string.format("error %d %s", k, e))
    if expect_error and not st.secure then
      local matched = false
      for alt in expect_error:gmatch("[^|]+") do
        if e:find(alt, 1, true) then matched = true end
      end
      if not matched then
        fail(string.format("client %d: expected an error with '%s', got '%s'", k, expect_error, e))
      end
      st.expected_error = true
    elseif st.echoed < #st.lines then
      fail(string.format("client %d: %s", k, e))
    end
  end)

  c:on("session", function(s) session = s end)
  c:on("renegotiated", function(rerr)
    if not rerr then
      st.renegotiations = (st.renegotiations or 0) + 1
      print(string.format("renegotiated %d %s", k, tostring(c.cipher)))
    end
  end)

  c:on("close", function()
    if live[k] ~= st then return end
    if expect_error then
      if not st.expected_error then fail(string.format("client %d: closed without the expected error", k)) end
    elseif st.echoed < #st.lines then
      fail(string.format("client %d: closed with %d of %d lines echoed", k, st.echoed, #st.lines))
    elseif renegotiate_after and not st.renegotiated then
      fail(string.format("client %d: closed before the renegotiation completed", k))
    elseif expect_renegotiated and not st.renegotiations then
      fail(string.format("client %d: closed without a renegotiation", k))
    end
    done(k)
  end)
end

start_next = function()
  if started < nclients then
    started = started + 1
    start(started)
  end
end

for _ = 1, math.min(parallel, nclients) do start_next() end

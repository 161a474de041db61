-- errors_spec.lua — errors a new user can act on: event names checked,
-- method errors that name the method (and the '.'-for-':' slip), close
-- reasons, error objects for failed handshakes, empty sends, PSK tables
-- checked at createServer, log levels by name, dtls.setLogHandler,
-- dtls.exit, and dtlsrun --log-format json.
local dtls = require "dtls"
local H = require "helpers"

local function psk_options(extra)
  local o = { type = "udp4", psk = { ["sensor-17"] = dtls.hex("00112233445566778899aabbccddeeff") } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("event names", function()
  it("an unknown one is refused, and the valid ones are listed", function()
    local server = assert(dtls.createServer(H.server_options()))
    local ok, err = pcall(server.on, server, "mesage", print)
    assert.is_false(ok)
    assert.matches("unknown event 'mesage' (dtls.server events: listening, secureConnection, " ..
                   "clientError, error, close, keylog)", err, 1, true)
    ok, err = pcall(server.off, server, "conection")
    assert.is_false(ok)
    assert.matches("unknown event 'conection'", err, 1, true)
    local c = assert(dtls.connect(H.client_options(4433)))
    ok, err = pcall(c.on, c, "secureConnection", print)
    assert.is_false(ok)
    assert.matches("(dtls.socket events: secureConnect, message, error, close, keylog, session, rinfo, " ..
                   "renegotiated)", err, 1, true)
    c:close()
    server:close()
    assert.is_true(H.run(2000))
  end)
end)

describe("method errors", function()
  it("name the method, and hint at ':' when '.' was used", function()
    local server = assert(dtls.createServer(H.server_options()))
    local ok, err = pcall(function() server.bind(4433) end)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'bind' (dtls.server expected, got number; " ..
                   "call it with a colon: server:bind(...))", err, 1, true)
    err = select(2, pcall(function() server:bind("x") end))
    assert.matches("bad argument #1 to 'bind' (number expected, got string)", err, 1, true)
    local c = assert(dtls.connect(H.client_options(4433)))
    err = select(2, pcall(function() c.send("x") end))
    assert.matches("to 'send' (dtls.socket expected, got string; call it with a colon: socket:send(...))",
                   err, 1, true)
    c:close()
    server:close()
    assert.is_true(H.run(2000))
  end)
end)

describe("send", function()
  it("refuses an empty message with a clear error, never an empty record", function()
    local server, port = H.listen(H.server_options(), function(s)
      s:on("message", function(m) s:send(m) end)
    end)
    local err, echoed
    local c = assert(dtls.connect(H.client_options(port)))
    c:on("secureConnect", function()
      err = select(2, pcall(function() return c:send("") end))
      local ok2, err2 = pcall(function() return c:send("abc", 3) end)
      assert(not ok2 and err2:find("empty message", 1, true))
      c:send("x")
    end)
    c:on("message", function(m) echoed = m; c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.matches("bad argument #1 to 'send' (empty message: nothing to send", err, 1, true)
    assert.equal("x", echoed)
  end)
end)

describe("close reasons", function()
  it("local on the side that closed, close_notify on the other", function()
    local server_reason, client_reason
    local server, port
    server, port = H.listen(H.server_options(), function(s)
      s:on("close", function(reason) server_reason = reason; server:close() end)
    end)
    local c = assert(dtls.connect(H.client_options(port), function(s) s:close() end))
    c:on("close", function(reason) client_reason = reason end)
    assert.is_true(H.run(5000))
    assert.equal("local", client_reason)
    assert.equal("close_notify", server_reason)
  end)

  it("shutdown when the server closes, idle after idleTimeout", function()
    local reasons = { server_sockets = {} }
    local server, port = H.listen(H.server_options({ idleTimeout = 100 }), function(s)
      s:on("close", function(reason) table.insert(reasons.server_sockets, reason) end)
    end)
    local c = assert(dtls.connect(H.client_options(port)))
    c:on("close", function(reason)
      reasons.client = reason
      local c2 = assert(dtls.connect(H.client_options(port)))
      c2:on("secureConnect", function() server:close() end)
      c2:on("close", function(r) reasons.c2 = r end)
    end)
    assert.is_true(H.run(10000))
    -- the server went quiet first: its socket was idle, the client heard close_notify
    assert.equal("close_notify", reasons.client)
    assert.same({ "idle", "shutdown" }, reasons.server_sockets)
    assert.equal("close_notify", reasons.c2)
  end)

  it("alert: <name> for a failed handshake, and the close is logged at INFO", function()
    local lines = {}
    dtls.setLogHandler(function(level, msg, who)
      lines[#lines + 1] = level .. " " .. tostring(who) .. " " .. msg
    end)
    local server, port = H.listen(H.server_options({ cert = H.cert("server-untrusted.pem"),
                                                     key = H.cert("server-untrusted.key") }))
    local reason
    local c = assert(dtls.connect(H.client_options(port)))
    c:on("error", function() end)
    c:on("close", function(r) reason = r; server:close() end)
    assert.is_true(H.run(5000))
    dtls.setLogHandler(nil)
    assert.equal("alert: unknown_ca", reason)
    local logged = false
    for _, l in ipairs(lines) do
      if l:match("^INFO 127%.0%.0%.1:%d+ closed %(alert: unknown_ca%)$") then logged = true end
    end
    assert.is_true(logged, table.concat(lines, "\n"))
  end)
end)

describe("handshake failures", function()
  it("carry { alert, reason, identity, rinfo } that reads as the old message", function()
    local client_error, rinfo_arg
    local server, port = H.listen(psk_options())
    server:on("clientError", function(e, rinfo) client_error, rinfo_arg = e, rinfo end)
    local err
    local c = assert(dtls.connect(H.client_options(port, {
      ca = nil, psk = { identity = "stranger", key = "0123456789abcdef" } })))
    c:on("error", function(e) err = e end)
    c:on("close", function() server:close() end)
    assert.is_true(H.run(5000))
    -- the client's side
    assert.is_table(err)
    assert.equal("unknown_psk_identity", err.alert)
    assert.equal("unknown_psk_identity alert received", err.reason)
    assert.equal("unknown_psk_identity alert received", tostring(err))
    assert.equal("127.0.0.1", err.rinfo.address)
    assert.equal(port, err.rinfo.port)
    -- what scripts did with string errors still works
    assert.equal("unknown_psk_identity", err:match("^(%S+)"))
    assert.equal("error: unknown_psk_identity alert received", "error: " .. err)
    -- the server's side
    assert.is_table(client_error)
    assert.equal("unknown_psk_identity", client_error.alert)
    assert.equal("unknown_psk_identity alert sent", tostring(client_error))
    assert.equal("stranger", client_error.identity)
    assert.equal("127.0.0.1", client_error.rinfo.address)
    assert.same(client_error.rinfo, rinfo_arg)
  end)
end)

describe("PSK tables", function()
  it("are checked at createServer", function()
    local s, err = dtls.createServer(psk_options({ psk = { a = "" } }))
    assert.is_nil(s)
    assert.equal("psk: the key of 'a' is 0 bytes (1-64)", err)
    s, err = dtls.createServer(psk_options({ psk = { a = string.rep("k", 65) } }))
    assert.is_nil(s)
    assert.equal("psk: the key of 'a' is 65 bytes (1-64)", err)
    s, err = dtls.createServer(psk_options({ psk = { [""] = "key" } }))
    assert.is_nil(s)
    assert.equal("psk: identity '' is 0 bytes (1-128)", err)
    s, err = dtls.createServer(psk_options({ psk = { [string.rep("i", 129)] = "key" } }))
    assert.is_nil(s)
    assert.matches("is 129 bytes (1-128)", err, 1, true)
    s = assert(dtls.createServer(psk_options({ psk = { [string.rep("i", 128)] = string.rep("k", 64) } })))
    s:close()
    assert.is_true(H.run(2000))
  end)
end)

describe("logging", function()
  it("takes level names wherever it takes levels", function()
    local got = {}
    dtls.setLogHandler(function(level, msg) got[#got + 1] = level .. ":" .. msg end)
    dtls.log("WARN", "by name")
    dtls.log("info", "any case")
    dtls.log(dtls.logLevel.SEVERE, "by number")
    dtls.log("FINEST", "below the level: not logged")
    dtls.setLogHandler(nil)
    assert.same({ "WARN:by name", "INFO:any case", "SEVERE:by number" }, got)
    assert.has_error(function() dtls.log("LOUD", "x") end)
    assert.has_error(function() dtls.log(9, "x") end)
  end)

  it("a log handler that raises does not lose the line", function()
    local script = H.script([[
      local dtls = require "dtls"
      dtls.setLogHandler(function() error("handler broke") end)
      dtls.log("WARN", "still here")
    ]])
    local rc, _, err = H.execute(H.q(H.bin) .. " " .. H.q(script))
    os.remove(script)
    assert.equal(0, rc)
    assert.matches("handler broke", err, 1, true)
    assert.matches("WARN still here", err, 1, true)
  end)

  it("dtlsrun --log-format json writes one JSON object per line", function()
    local script = H.script([[
      local dtls = require "dtls"
      dtls.log("WARN", 'quote " backslash \\ control \1 newline\nbyte \255')
      local server = assert(dtls.createServer({ type = "udp4", cert = arg[1], key = arg[2] }))
      assert(server:bind(0, "127.0.0.1"))
      server:close()
    ]])
    local rc, out, err = H.execute(H.q(H.bin) .. " --log-format json " .. H.q(script) .. " " ..
      H.q(H.cert("server-ec256.pem")) .. " " .. H.q(H.cert("server-ec256.key")) ..
      " 2>&1 >/dev/null | " .. H.python .. " -c " .. H.q([[
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    assert set(o) <= {"time", "level", "peer", "msg"}, o
    print(o["level"], repr(o["msg"]), o["time"][-5:-4] == "." and o["time"].endswith("Z"))
]]))
    os.remove(script)
    assert.equal(0, rc, err)
    assert.matches("WARN 'quote \" backslash \\\\ control \\x01 newline\\nbyte \u{ff}' True\n", out, 1, true)
    assert.matches("INFO 'listening on 127.0.0.1:%d+' True\n", out)
  end)
end)

describe("dtls.exit", function()
  local script
  setup(function()
    script = H.script([[
      local dtls = require "dtls"
      local server = assert(dtls.createServer({ type = "udp4", cert = arg[1], key = arg[2] }))
      assert(server:bind(0, "127.0.0.1"))
      local c = assert(dtls.connect(server:address().port, "127.0.0.1", "udp4",
                                    { ca = arg[3] }, function() dtls.exit(7) end))
      c:on("close", function(reason) io.write("client: ", reason, "\n") end)
      if arg[4] == "run" then
        dtls.run()
        print("not reached: dtls.exit ends the process")
      end
    ]])
  end)
  teardown(function() os.remove(script) end)

  local function args()
    return H.q(script) .. " " .. H.q(H.cert("server-ec256.pem")) .. " " ..
           H.q(H.cert("server-ec256.key")) .. " " .. H.q(H.cert("ca.pem"))
  end

  it("closes every session, then dtlsrun exits with the code", function()
    local rc, out, err = H.execute("timeout 20 " .. H.q(H.bin) .. " " .. args())
    assert.equal(7, rc, err)
    assert.matches("client: shutdown", out, 1, true)
  end)

  it("ends plain lua5.4 with the code", function()
    local rc, out, err = H.execute("timeout 20 " .. H.q(H.lua) .. " " .. args() .. " run")
    assert.equal(7, rc, err)
    assert.equal("client: shutdown\n", out)
  end)
end)

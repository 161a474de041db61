-- api_spec.lua — the dtls module's surface: functions, constants, timers,
-- hex helpers, and every option/bind error path (nil, message naming the
-- option, or a raised argument error for wrong argument types).
local dtls = require "dtls"
local H = require "helpers"

describe("dtls module", function()
  it("exposes the documented functions and log levels", function()
    for _, name in ipairs({ "createServer", "connect", "setLogLevel", "getLogLevel", "setTimeout",
                            "setInterval", "clearTimer", "run", "stop", "shutdown", "hex",
                            "tohex", "log" }) do
      assert.is_function(dtls[name], name)
    end
    assert.same({ FINEST = 0, FINER = 1, FINE = 2, INFO = 3, WARN = 4, SEVERE = 5 }, dtls.logLevel)
  end)

  it("sets the log level by number or name and rejects others", function()
    local old = dtls.getLogLevel()
    dtls.setLogLevel(dtls.logLevel.WARN)
    assert.equal(dtls.logLevel.WARN, dtls.getLogLevel())
    dtls.setLogLevel("fine")
    assert.equal(dtls.logLevel.FINE, dtls.getLogLevel())
    assert.has_error(function() dtls.setLogLevel(42) end)
    assert.has_error(function() dtls.setLogLevel("LOUD") end)
    assert.has_error(function() dtls.setLogLevel({}) end)
    dtls.setLogLevel(old)
  end)

  it("converts hex both ways, binary safe", function()
    assert.equal("\0\1\171\255", dtls.hex("0001abFF"))
    assert.equal("0001abff", dtls.tohex("\0\1\171\255"))
    assert.equal("", dtls.hex(""))
    local v, err = dtls.hex("abc")
    assert.is_nil(v); assert.matches("odd", err)
    v, err = dtls.hex("zz")
    assert.is_nil(v); assert.matches("bad digit", err)
    local bytes = H.random_bytes(300)
    assert.equal(bytes, dtls.hex(dtls.tohex(bytes)))
  end)

  it("refuses to run the loop from inside the loop", function()
    local err
    dtls.setTimeout(0, function() err = select(2, pcall(dtls.run)) end)
    assert.is_true(H.run(2000))
    assert.matches("already running", err)
  end)
end)

describe("timers", function()
  it("fire in order, once for timeouts, and pass the timer", function()
    local order = {}
    local t2 = dtls.setTimeout(30, function() order[#order + 1] = "b" end)
    dtls.setTimeout(10, function(t) order[#order + 1] = "a"; assert.is_false(t:active()) end)
    dtls.setTimeout(0, function() order[#order + 1] = "0" end)
    assert.is_true(t2:active())
    assert.is_true(H.run(2000))
    assert.same({ "0", "a", "b" }, order)
  end)

  it("repeat until cleared, also from inside their callback", function()
    local n = 0
    dtls.setInterval(5, function(t)
      n = n + 1
      if n == 3 then dtls.clearTimer(t) end
    end)
    assert.is_true(H.run(2000))
    assert.equal(3, n)
  end)

  it("can be cleared before firing, and clearTimer(nil) is harmless", function()
    local fired = false
    local t = dtls.setTimeout(10, function() fired = true end)
    dtls.clearTimer(t)
    dtls.clearTimer(nil)
    t:clear()
    assert.is_true(H.run(2000))
    assert.is_false(fired)
  end)

  it("keep the loop going after a callback raises", function()
    local after = false
    dtls.setTimeout(1, function() error("boom in timer") end)
    dtls.setTimeout(20, function() after = true end)
    assert.is_true(H.run(2000))
    assert.is_true(after)
  end)

  it("unref'ed timers do not keep the loop alive", function()
    local fired = false
    dtls.setTimeout(5000, function() fired = true end):unref()
    local t0 = os.clock()
    dtls.run()
    assert.is_false(fired)
    assert.is_true(os.clock() - t0 < 1)
  end)

  it("reject bad arguments", function()
    assert.has_error(function() dtls.setTimeout("x", function() end) end)
    assert.has_error(function() dtls.setTimeout(10) end)
    assert.has_error(function() dtls.setTimeout(-1, function() end) end)
    assert.has_error(function() dtls.clearTimer({}) end)
  end)
end)

describe("createServer options", function()
  local function fails(options, pattern)
    local server, err = dtls.createServer(options)
    assert.is_nil(server)
    assert.is_string(err)
    assert.matches(pattern, err)
  end

  it("requires a table", function()
    assert.has_error(function() dtls.createServer() end)
    assert.has_error(function() dtls.createServer("udp4") end)
    assert.has_error(function() dtls.createServer({ type = "udp4" }, "not a function") end)
  end)

  it("requires type udp4 or udp6", function()
    fails({}, "^type: .*required")
    fails({ type = "tcp" }, "^type: must be")
    fails({ type = 4 }, "^type: expected a string")
  end)

  it("names unknown options (typos)", function()
    fails(H.server_options({ rejectUnauthorised = false }), "unknown option 'rejectUnauthorised'")
  end)

  it("checks option types", function()
    fails(H.server_options({ key = 12 }), "^key: expected a string")
    fails(H.server_options({ requestCert = "yes" }), "^requestCert: expected a boolean")
    fails(H.server_options({ mtu = "big" }), "^mtu: expected an integer")
    fails(H.server_options({ mtu = 10 }), "^mtu: 10 is out of range")
    fails(H.server_options({ maxConnections = 0 }), "^maxConnections:")
    fails(H.server_options({ retransmitTimeout = 5 }), "^retransmitTimeout: 5 is out of range")
    fails(H.server_options({ maxRetransmitTimeout = 700000 }), "^maxRetransmitTimeout: 700000 is out of range")
    fails(H.server_options({ retransmitTimeout = 5000, maxRetransmitTimeout = 4000 }),
          "^retransmitTimeout: 5000 ms is above maxRetransmitTimeout %(4000 ms%)")
    fails(H.server_options({ psk = 5 }), "^psk: expected a table")
    fails(H.server_options({ psk = { id = 5 } }), "^psk: the table maps")
    fails(H.server_options({ ciphers = { 1 } }), "^ciphers:")
  end)

  it("reports unreadable and mismatched credentials", function()
    fails(H.server_options({ key = "/nonexistent/key.pem" }), "^key: cannot read '/nonexistent/key.pem'")
    fails(H.server_options({ cert = "/nonexistent/cert.pem" }), "^cert: cannot read")
    fails({ type = "udp4", cert = H.cert("server-ec256.pem") }, "^key: a cert was given without its key")
    fails({ type = "udp4", key = H.cert("server-ec256.key") }, "^cert: a key was given without")
    fails(H.server_options({ key = H.cert("server-rsa.key") }), "key")
    fails(H.server_options({ ca = "/nonexistent/ca.pem" }), "^ca: cannot read")
    fails(H.server_options({ cert = "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n" }), "^cert:")
  end)

  it("rejects unknown cipher suites", function()
    fails(H.server_options({ ciphers = "NOT-A-SUITE" }), "^ciphers:")
  end)

  it("takes legacy CBC and RSA suites only when named, and they must fit the key", function()
    -- named, with a certificate they can use: accepted
    local server = assert(dtls.createServer(H.server_options({ ciphers = "ECDHE-ECDSA-AES128-SHA" })))
    server:close()
    assert.is_true(H.run(2000))
    -- RSA key transport needs an RSA key
    fails(H.server_options({ ciphers = "TLS_RSA_WITH_AES_128_CBC_SHA" }), "no usable cipher suite")
  end)

  it("checks minVersion and maxVersion", function()
    fails(H.server_options({ minVersion = "DTLSv1.3" }), '^minVersion: must be "DTLSv1" or "DTLSv1.2"')
    fails(H.server_options({ maxVersion = "TLSv1.2" }), '^maxVersion: must be "DTLSv1" or "DTLSv1.2"')
    fails(H.server_options({ minVersion = 1 }), "^minVersion: expected a string")
    fails(H.server_options({ minVersion = "DTLSv1.2", maxVersion = "DTLSv1" }), "^maxVersion: older than minVersion")
    -- DTLS 1.0 only runs CBC suites, which must be named
    fails(H.server_options({ maxVersion = "DTLSv1", minVersion = "DTLSv1" }), "no usable cipher suite")
    local c, err = dtls.connect(H.client_options(1, { minVersion = "DTLSv2" }))
    assert.is_nil(c)
    assert.matches('^minVersion: must be', err)
  end)

  it("accepts PEM text as well as file paths", function()
    local server = assert(dtls.createServer({ type = "udp4", cert = H.read(H.cert("server-ec256.pem")),
                                              key = H.read(H.cert("server-ec256.key")) }))
    server:close()
    assert.is_true(H.run(2000))
  end)

  it("accepts a cipher list as a table", function()
    local server = assert(dtls.createServer(H.server_options({
      ciphers = { "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256" } })))
    server:close()
    assert.is_true(H.run(2000))
  end)
end)

describe("server:bind", function()
  it("reports a port in use, naming the address", function()
    local a, port = H.listen()
    local b = assert(dtls.createServer(H.server_options()))
    local ok, err = b:bind(port, "127.0.0.1")
    assert.is_nil(ok)
    assert.matches("127.0.0.1:" .. port, err, 1, true)
    assert.matches("in use", err)
    a:close(); b:close()
    assert.is_true(H.run(2000))
  end)

  it("reports a bad address, naming the option", function()
    local s = assert(dtls.createServer(H.server_options()))
    local ok, err = s:bind(0, "not-an-address")
    assert.is_nil(ok)
    assert.matches("^address: 'not%-an%-address'", err)
    ok, err = s:bind(0, "::1")
    assert.is_nil(ok)
    assert.matches("IPv4", err)
    s:close()
    assert.is_true(H.run(2000))
  end)

  it("raises for wrong argument types and ports out of range", function()
    local s = assert(dtls.createServer(H.server_options()))
    assert.has_error(function() s:bind("x") end)
    assert.has_error(function() s:bind(70000) end)
    assert.has_error(function() s:bind(0, "127.0.0.1", 5) end)
    assert.has_error(function() s.bind({}, 0) end)
    s:close()
    assert.is_true(H.run(2000))
  end)

  it("emits listening (bind callback and listener), address() works", function()
    local s = assert(dtls.createServer(H.server_options()))
    assert.is_nil(s:address())
    local events = {}
    s:on("listening", function() events[#events + 1] = "listener" end)
    assert.equal(s, s:bind(0, "127.0.0.1", function() events[#events + 1] = "callback" end))
    local addr = s:address()
    assert.equal("127.0.0.1", addr.address)
    assert.equal("IPv4", addr.family)
    assert.is_true(addr.port > 0)
    assert.same({}, events) -- emitted from the loop, not inside bind
    local ok, err = s:bind(0)
    assert.is_nil(ok); assert.matches("already bound", err)
    dtls.setTimeout(20, function() s:close() end)
    assert.is_true(H.run(2000))
    table.sort(events)
    assert.same({ "callback", "listener" }, events)
  end)

  it("off removes one listener or all of an event", function()
    local s = assert(dtls.createServer(H.server_options()))
    local calls = {}
    local function a() calls[#calls + 1] = "a" end
    local function b() calls[#calls + 1] = "b" end
    s:on("listening", a):on("listening", b):on("listening", a)
    assert.equal(s, s:off("listening", a))
    s:on("close", a)
    s:off("close")
    assert(s:bind(0, "127.0.0.1"))
    dtls.setTimeout(10, function() s:close() end)
    assert.is_true(H.run(2000))
    assert.same({ "b" }, calls)
    assert.has_error(function() s:on("listening", "not a function") end)
    assert.has_error(function() s:on({}, a) end)
  end)

  it("closes a server held in a <close> variable at the end of its scope", function()
    local closed = false
    do
      local s <close> = H.listen()
      s:on("close", function() closed = true end)
    end
    assert.is_true(H.run(2000))
    assert.is_true(closed)
  end)

  it("binds udp6 on ::1", function()
    local s = assert(dtls.createServer(H.server_options({ type = "udp6" })))
    assert(s:bind(0, "::1"))
    assert.equal("IPv6", s:address().family)
    assert.equal("::1", s:address().address)
    s:close()
    assert.is_true(H.run(2000))
  end)

  it("close emits close once, with the callback, and is idempotent", function()
    local s = H.listen()
    local closes = 0
    s:on("close", function() closes = closes + 1 end)
    assert.is_true(s:close(function() closes = closes + 1 end))
    assert.is_true(s:close())
    assert.is_true(H.run(2000))
    assert.equal(2, closes)
    local ok, err = s:bind(0)
    assert.is_nil(ok); assert.matches("closed", err)
    assert.is_nil(s:address())
  end)

  it("lets an unreferenced, unbound server be collected", function()
    do local _ = dtls.createServer(H.server_options()) end
    collectgarbage(); collectgarbage()
    assert.is_true(H.run(2000))
  end)
end)

describe("dtls.connect arguments", function()
  it("checks types and options", function()
    assert.has_error(function() dtls.connect() end)
    assert.has_error(function() dtls.connect("x", "127.0.0.1", "udp4") end)
    assert.has_error(function() dtls.connect(4433, "127.0.0.1", "udp4", 5) end)
    local c, err = dtls.connect(4433, "127.0.0.1", "tcp")
    assert.is_nil(c); assert.matches("^type:", err)
    c, err = dtls.connect(4433, "nowhere.invalid", "udp4")
    assert.is_nil(c); assert.matches("^address:", err)
    c, err = dtls.connect({ type = "udp4", address = "127.0.0.1" })
    assert.is_nil(c); assert.matches("^port:", err)
    c, err = dtls.connect({ type = "udp4", port = 1, psk = "x" })
    assert.is_nil(c); assert.matches("^psk:", err)
    c, err = dtls.connect({ type = "udp4", port = 1, psk = { identity = "a" } })
    assert.is_nil(c); assert.matches("^psk:", err)
    c, err = dtls.connect({ type = "udp4", port = 1, ca = "/nonexistent" })
    assert.is_nil(c); assert.matches("^ca: cannot read", err)
    c, err = dtls.connect({ type = "udp4", port = 1, retransmitTimeout = 2.5 })
    assert.is_nil(c); assert.matches("^retransmitTimeout: expected an integer", err)
    c, err = dtls.connect({ type = "udp4", port = 1, maxRetransmitTimeout = 500, retransmitTimeout = 600 })
    assert.is_nil(c); assert.matches("^retransmitTimeout: 600 ms is above", err)
    c, err = dtls.connect({ type = "udp4", port = 1, bogus = 1 })
    assert.is_nil(c); assert.matches("unknown option 'bogus'", err)
  end)
end)

-- events_spec.lua — events and their error paths end to end over loopback:
-- socket fields, close from either side and from inside handlers, handlers
-- that raise, send after close, alerts as 'error' + 'close', client
-- certificates, PSK tables and functions, handshake timeouts, GC safety.
local dtls = require "dtls"
local H = require "helpers"

-- Connects a client; records its events in the returned log table.
local function client_with_log(options)
  local log = { events = {}, errors = {} }
  local c = assert(dtls.connect(options))
  c:on("secureConnect", function() log.events[#log.events + 1] = "secureConnect" end)
  c:on("error", function(e) log.errors[#log.errors + 1] = e end)
  c:on("close", function() log.events[#log.events + 1] = "close" end)
  return c, log
end

describe("sockets", function()
  it("carry rinfo, cipher, protocol and certificate details", function()
    local seen = {}
    local server, port = H.listen(nil, function(s)
      seen.rinfo, seen.cipher, seen.protocol = s.rinfo, s.cipher, s.protocol
      seen.peer_cert, seen.psk = s.peerCertificate, s.pskIdentity
      seen.servername = s.servername
      seen.local_addr = s:address()
      s.name = "custom field"
      seen.custom = s.name
      seen.tostring = tostring(s)
    end)
    local c = assert(dtls.connect(H.client_options(port)))
    c:on("secureConnect", function()
      seen.client_cert = c.peerCertificate
      seen.client_cipher = c.cipher
      seen.client_local = c:address()
      c:close(); server:close()
    end)
    assert.equal(port, c.rinfo.port)
    assert.is_nil(c.cipher) -- not before the handshake
    assert.is_true(H.run(5000))
    assert.equal("127.0.0.1", seen.rinfo.address)
    assert.equal("IPv4", seen.rinfo.family)
    assert.equal(seen.client_local.port, seen.rinfo.port)
    assert.equal(port, seen.local_addr.port)
    assert.matches("^ECDHE%-ECDSA%-", seen.cipher)
    assert.equal(seen.cipher, seen.client_cipher)
    assert.equal("DTLSv1.2", seen.protocol)
    assert.is_nil(seen.peer_cert)
    assert.is_nil(seen.psk)
    assert.equal("localhost", seen.servername) -- the client's server_name (RFC 6066)
    assert.equal("custom field", seen.custom)
    assert.matches("dtls.socket %(127.0.0.1:%d+%)", seen.tostring)
    assert.matches("CN=localhost", seen.client_cert.subject)
    assert.matches("^%x%x:%x%x:", seen.client_cert.fingerprint256)
    assert.equal(32 * 3 - 1, #seen.client_cert.fingerprint256)
    assert.matches("^%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-\n", seen.client_cert.pem)
    assert.equal(H.read(H.cert("server-ec256.pem")):match("%-%-%-%-%-BEGIN.-END CERTIFICATE%-%-%-%-%-\n"),
                 seen.client_cert.pem)
  end)

  it("say DTLSv1 and encryptThenMac with DTLS 1.0 and a CBC suite, when both enable them", function()
    local seen = {}
    local legacy = { minVersion = "DTLSv1", ciphers = "ECDHE-ECDSA-AES128-SHA" }
    local server, port = H.listen(H.server_options(legacy), function(s)
      seen.protocol, seen.cipher, seen.etm = s.protocol, s.cipher, s.encryptThenMac
    end)
    local c = assert(dtls.connect(H.client_options(port, { minVersion = "DTLSv1", maxVersion = "DTLSv1",
                                                          ciphers = "ECDHE-ECDSA-AES128-SHA" })))
    c:on("secureConnect", function()
      seen.client_protocol, seen.client_etm = c.protocol, c.encryptThenMac
      c:close(); server:close()
    end)
    assert.is_true(H.run(5000))
    assert.equal("DTLSv1", seen.protocol)
    assert.equal("DTLSv1", seen.client_protocol)
    assert.equal("ECDHE-ECDSA-AES128-SHA", seen.cipher)
    assert.is_true(seen.etm)
    assert.is_true(seen.client_etm)
  end)

  it("refuse DTLS 1.0 by default: a DTLSv1-only client gets protocol_version", function()
    local server_err
    local server, port = H.listen(H.server_options({ ciphers = "ECDHE-ECDSA-AES128-SHA" }))
    server:on("clientError", function(e) server_err = tostring(e) end)
    local c, log = client_with_log(H.client_options(port, { minVersion = "DTLSv1", maxVersion = "DTLSv1",
                                                            ciphers = "ECDHE-ECDSA-AES128-SHA" }))
    c:on("close", function() server:close() end)
    assert.is_true(H.run(5000))
    assert.equal(1, #log.errors)
    assert.matches("protocol_version", tostring(log.errors[1]))
    assert.matches("protocol_version", server_err)
  end)

  it("close from the client reaches the server socket (close_notify)", function()
    local events = {}
    local server, port
    server, port = H.listen(nil, function(s)
      s:on("close", function() events[#events + 1] = "server socket close"; server:close() end)
      s:on("error", function(e) events[#events + 1] = "server socket error " .. e end)
    end)
    local c, log = client_with_log(H.client_options(port))
    c:on("secureConnect", function() c:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
    assert.same({}, log.errors)
    assert.same({ "server socket close" }, events)
  end)

  it("a handler may close its own socket; sending after close is an error, not a crash", function()
    local after = {}
    local server, port = H.listen(nil, function(s)
      s:on("message", function(msg)
        s:close()
        after.send = { s:send(msg) }
        after.closed = s:isClosed()
        after.close_again = s:close()
        after.address = { s:address() }
      end)
      s:on("close", function() after.server_close = true end)
    end)
    local c, log = client_with_log(H.client_options(port))
    c:on("secureConnect", function() c:send("bye") end)
    c:on("close", function()
      after.client_send = { c:send("x") }
      server:close()
    end)
    assert.is_true(H.run(5000))
    assert.same({ nil, "socket is closed" }, after.send)
    assert.is_true(after.closed)
    assert.is_true(after.close_again)
    assert.same({ nil, "socket is closed" }, after.address)
    assert.is_true(after.server_close)
    assert.same({ "secureConnect", "close" }, log.events)
    assert.same({ nil, "socket is closed" }, after.client_send)
  end)

  it("a handler may close the whole server", function()
    local closes = {}
    local server, port
    server, port = H.listen(nil, function(s)
      s:on("message", function() server:close() end)
      s:on("close", function() closes[#closes + 1] = "socket" end)
    end)
    server:on("close", function() closes[#closes + 1] = "server" end)
    local c1, log1 = client_with_log(H.client_options(port))
    local c2, log2 = client_with_log(H.client_options(port))
    local ready = 0
    local function go()
      ready = ready + 1
      if ready == 2 then c1:send("close the server") end
    end
    c1:on("secureConnect", go)
    c2:on("secureConnect", go)
    assert.is_true(H.run(5000))
    assert.same({ "socket", "socket", "server" }, closes)
    -- both clients got close_notify
    assert.same({ "secureConnect", "close" }, log1.events)
    assert.same({ "secureConnect", "close" }, log2.events)
    assert.same({}, log1.errors)
    assert.is_nil(c2:send("x"))
  end)

  it("a raising handler is reported as 'error' on the server and others keep going", function()
    local server_errors = {}
    local server, port = H.listen(nil, function(s)
      s:on("message", function(msg)
        if msg == "raise" then error("handler failed on purpose") end
        s:send(msg)
      end)
    end)
    server:on("error", function(e) server_errors[#server_errors + 1] = e end)
    local c1 = assert(dtls.connect(H.client_options(port)))
    local c2 = assert(dtls.connect(H.client_options(port)))
    local got = {}
    c1:on("secureConnect", function() c1:send("raise"); c1:send("after the error") end)
    c1:on("message", function(m) got[#got + 1] = "c1 " .. m; c2:send("other session") end)
    c2:on("message", function(m)
      got[#got + 1] = "c2 " .. m
      c1:close(); c2:close(); server:close()
    end)
    assert.is_true(H.run(5000))
    assert.equal(1, #server_errors)
    assert.matches("handler failed on purpose", server_errors[1])
    assert.same({ "c1 after the error", "c2 other session" }, got)
  end)

  it("an 'error' listener that raises is only logged", function()
    local server, port = H.listen(nil, function() error("first") end)
    server:on("error", function() error("second") end)
    local c = assert(dtls.connect(H.client_options(port)))
    local ok = false
    c:on("secureConnect", function() ok = true; c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.is_true(ok)
  end)

  it("a raising client handler is reported as 'error' on the client socket", function()
    local server, port = H.listen(nil, function(s) s:on("message", function(m) s:send(m) end) end)
    local c, log = client_with_log(H.client_options(port))
    c:on("secureConnect", function() c:send("x") end)
    c:on("message", function() error("client handler failed") end)
    c:on("message", function() c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.equal(1, #log.errors)
    assert.matches("client handler failed", log.errors[1])
  end)

  it("keeps working when Lua drops its references mid-session", function()
    -- the server is not kept in a local: Lua holds no reference to it
    local port = select(2, H.listen(nil, function(s) s:on("message", function(m) s:send(m) end) end))
    local got = 0
    do
      local c = assert(dtls.connect(H.client_options(port)))
      c:on("secureConnect", function()
        collectgarbage(); collectgarbage()
        c:send("gc")
      end)
      c:on("message", function()
        got = got + 1
        collectgarbage()
        c:close()
      end)
    end
    collectgarbage(); collectgarbage()
    dtls.setTimeout(500, function() dtls.shutdown() end)
    assert.is_true(H.run(5000))
    assert.equal(1, got)
    collectgarbage(); collectgarbage()
  end)
end)

describe("alerts and failures", function()
  it("an untrusted server certificate fails with an alert on both sides", function()
    local client_errors = {}
    local server, port = H.listen(H.server_options({ cert = H.cert("server-untrusted.pem"),
                                                     key = H.cert("server-untrusted.key") }))
    server:on("clientError", function(e, rinfo)
      client_errors[#client_errors + 1] = e
      assert.equal("127.0.0.1", rinfo.address)
    end)
    local c, log = client_with_log(H.client_options(port))
    c:on("close", function() dtls.setTimeout(50, function() server:close() end) end)
    assert.is_true(H.run(5000))
    assert.same({ "close" }, log.events)
    assert.equal(1, #log.errors)
    assert.matches("unknown_ca", log.errors[1])
    assert.matches("unknown_ca", client_errors[1] or "")
  end)

  it("rejectUnauthorized = false accepts it", function()
    local server, port = H.listen(H.server_options({ cert = H.cert("server-untrusted.pem"),
                                                     key = H.cert("server-untrusted.key") }))
    local c, log = client_with_log(H.client_options(port, { rejectUnauthorized = false }))
    c:on("secureConnect", function() c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
  end)

  it("a servername that does not match fails", function()
    local server, port = H.listen()
    local c, log = client_with_log(H.client_options(port, { servername = "wrong.example" }))
    c:on("close", function() server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "close" }, log.events)
    assert.equal(1, #log.errors)
    -- RFC 5246 7.2.2 leaves the choice: bad_certificate or certificate_unknown
    assert.is_truthy(log.errors[1]:match("bad_certificate") or log.errors[1]:match("certificate_unknown"))
  end)

  it("an empty servername is refused, naming the option (RFC 6066 3)", function()
    local c, err = dtls.connect(H.client_options(4433, { servername = "" }))
    assert.is_nil(c)
    assert.matches("servername: must not be empty", err, 1, true)
    assert.matches("checkServerIdentity = false", err, 1, true)
    c, err = dtls.connect(H.client_options(4433, { checkServerIdentity = "no" }))
    assert.is_nil(c)
    assert.matches("checkServerIdentity: expected a boolean", err, 1, true)
  end)

  it("checkServerIdentity = false accepts any name the chain vouches for", function()
    local server, port = H.listen()
    local c, log = client_with_log(H.client_options(port, { servername = "wrong.example",
                                                            checkServerIdentity = false }))
    c:on("secureConnect", function() c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
  end)

  it("without a servername the address is the name, checked against the IP SANs", function()
    local server, port = H.listen()
    local options = H.client_options(port)
    options.servername = nil -- the address, 127.0.0.1: in the test certificate's SANs
    local c, log = client_with_log(options)
    c:on("secureConnect", function() c:close() end)
    local wrong, wrong_log = client_with_log(H.client_options(port, { servername = "10.1.2.3" }))
    local closed = 0
    local function one_closed() closed = closed + 1; if closed == 2 then server:close() end end
    c:on("close", one_closed)
    wrong:on("close", one_closed)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
    assert.same({ "close" }, wrong_log.events)
    assert.matches("certificate_unknown", wrong_log.errors[1] or "", 1, true)
  end)

  it("a handshake with a silent peer times out", function()
    local port, sink = H.silent_udp()
    assert(port, "python3 is needed for a silent UDP peer (scripts/setup installs it)")
    local c, log = client_with_log(H.client_options(port, { handshakeTimeout = 1200 }))
    local reason
    c:on("close", function(r) reason = r end)
    assert.is_true(H.run(8000))
    sink:cleanup()
    assert.same({ "close" }, log.events)
    assert.matches("time", log.errors[1] or "")
    assert.equal("timeout", reason)
    assert.is_true(c:isClosed())
  end)
end)

describe("client certificates", function()
  it("requestCert: the server sees the client's certificate", function()
    local seen
    local server, port = H.listen(H.server_options({ requestCert = true, ca = H.cert("ca.pem") }),
                                  function(s) seen = s.peerCertificate end)
    local c, log = client_with_log(H.client_options(port, { cert = H.cert("client.pem"),
                                                             key = H.cert("client.key") }))
    c:on("secureConnect", function() c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
    assert.is_table(seen)
    assert.matches("CN=", seen.subject)
    assert.matches("^%x%x:", seen.fingerprint256)
    assert.matches("BEGIN CERTIFICATE", seen.pem)
  end)

  it("requestCert: a client without a certificate is refused", function()
    local server, port = H.listen(H.server_options({ requestCert = true, ca = H.cert("ca.pem") }))
    local c, log = client_with_log(H.client_options(port))
    c:on("close", function() server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "close" }, log.events)
    assert.equal(1, #log.errors)
    assert.matches("_", log.errors[1]) -- an alert name
  end)
end)

describe("pre-shared keys", function()
  local key = dtls.hex("00112233445566778899aabbccddeeff")

  local function psk_client(port, identity, k)
    return client_with_log({ type = "udp4", port = port, address = "127.0.0.1",
                             psk = { identity = identity, key = k } })
  end

  it("a PSK table serves a PSK-only server; pskIdentity names the peer", function()
    local seen
    local server, port = H.listen({ type = "udp4", psk = { device1 = key }, pskHint = "hint" },
                                  function(s) seen = { s.pskIdentity, s.cipher, s.peerCertificate } end)
    local c, log = psk_client(port, "device1", key)
    c:on("secureConnect", function() c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
    assert.equal("device1", seen[1])
    assert.matches("PSK", seen[2])
    assert.is_nil(seen[3])
  end)

  it("fields first read after close come from the closed session", function()
    local kept, seen, client_port = {}, {}, nil
    local server, port
    server, port = H.listen({ type = "udp4", psk = { device1 = key } }, function(s)
      kept[1] = s -- read nothing now
      s:on("close", function()
        seen.in_close = s.pskIdentity
        server:close()
      end)
    end)
    local c, log = psk_client(port, "device1", key)
    c:on("secureConnect", function() client_port = c:address().port; c:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "secureConnect", "close" }, log.events)
    local s = kept[1]
    assert.is_true(s:isClosed())
    assert.equal("device1", seen.in_close)
    assert.equal("127.0.0.1", s.rinfo.address)
    assert.equal(client_port, s.rinfo.port)
    assert.equal("IPv4", s.rinfo.family)
    assert.matches("PSK", s.cipher)
    assert.equal("DTLSv1.2", s.protocol)
    assert.equal("device1", s.pskIdentity)
    assert.is_nil(s.servername)
    assert.is_nil(s.peerCertificate)
    assert.is_true(s.authorized)
    assert.is_nil(s.authorizationError)
  end)

  it("a PSK function gets identity and rinfo", function()
    local calls = {}
    local server, port = H.listen({ type = "udp4", psk = function(identity, rinfo)
      calls[#calls + 1] = { identity, rinfo.address }
      if identity == "known" then return key end
      return nil
    end })
    local c1, log1 = psk_client(port, "known", key)
    c1:on("secureConnect", function()
      local c2, log2 = psk_client(port, "stranger", key)
      c2:on("close", function()
        calls.log2 = log2
        c1:close(); server:close()
      end)
    end)
    assert.is_true(H.run(5000))
    assert.same({ "known", "127.0.0.1" }, calls[1])
    assert.same({ "secureConnect", "close" }, log1.events)
    assert.same({ "close" }, calls.log2.events)
    assert.matches("unknown_psk_identity", calls.log2.errors[1] or "")
  end)

  it("a wrong key fails the handshake", function()
    local server, port = H.listen({ type = "udp4", psk = { device1 = key } })
    local c, log = psk_client(port, "device1", dtls.hex("ffeeddccbbaa99887766554433221100"))
    c:on("close", function() server:close() end)
    assert.is_true(H.run(5000))
    assert.same({ "close" }, log.events)
    assert.equal(1, #log.errors)
  end)

  it("a raising PSK function fails that handshake only, reported on the server", function()
    local server_errors = {}
    local server, port = H.listen({ type = "udp4", psk = function(identity)
      if identity == "bad" then error("lookup exploded") end
      return key
    end })
    server:on("error", function(e) server_errors[#server_errors + 1] = e end)
    local bad, bad_log = psk_client(port, "bad", key)
    bad:on("close", function()
      local good, good_log = psk_client(port, "good", key)
      good:on("secureConnect", function()
        server_errors.good = good_log
        good:close(); server:close()
      end)
    end)
    assert.is_true(H.run(5000))
    assert.same({ "close" }, bad_log.events)
    assert.matches("lookup exploded", server_errors[1] or "")
    assert.same({ "secureConnect", "close" }, server_errors.good.events)
  end)

  it("a server may offer certificate and PSK suites at once", function()
    local server, port = H.listen(H.server_options({ psk = { id = key } }))
    local c1, log1 = psk_client(port, "id", key)
    local c2, log2 = client_with_log(H.client_options(port))
    local n = 0
    local function done() n = n + 1; if n == 2 then c1:close(); c2:close(); server:close() end end
    c1:on("secureConnect", done)
    c2:on("secureConnect", done)
    assert.is_true(H.run(5000))
    assert.matches("PSK", c1.cipher)
    assert.matches("ECDSA", c2.cipher)
    assert.same({ "secureConnect", "close" }, log1.events)
    assert.same({ "secureConnect", "close" }, log2.events)
  end)
end)

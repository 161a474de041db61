-- session_spec.lua — sessions and Connection IDs through the Lua API, over
-- loopback between a dtlsrun server and dtlsrun clients in one process:
-- 'session' events, getSession (also after close), isSessionReused on both
-- sides, identity kept by a resumed socket, shared ticketKeys across two
-- servers, the options' errors, and CIDs negotiated from Lua.
local dtls = require "dtls"
local H = require "helpers"

-- Connects with extra client options, echoes `probe`, closes; calls done(rec)
-- with: secure, reused, echoed, session (from the 'session' event),
-- after_close (getSession after close), errors.
local function visit(port, extra, done, probe)
  local rec = { errors = {} }
  local c = assert(dtls.connect(H.client_options(port, extra)))
  c:on("secureConnect", function()
    rec.secure, rec.reused = true, c:isSessionReused()
    c:send(probe or "ping")
  end)
  c:on("session", function(s) rec.session = s end)
  c:on("message", function(m) rec.echoed = m; c:close() end)
  c:on("error", function(e) rec.errors[#rec.errors + 1] = tostring(e) end)
  c:on("close", function()
    rec.after_close = c:getSession()
    rec.reused_after_close = c:isSessionReused()
    done(rec)
  end)
end

local function echo_server(extra)
  local seen = {}
  local server, port = H.listen(H.server_options(extra), function(s)
    seen[#seen + 1] = { reused = s:isSessionReused(), cipher = s.cipher, cert = s.peerCertificate,
                        identity = s.pskIdentity }
    s:on("message", function(m) s:send(m) end)
  end)
  return server, port, seen
end

-- visits in sequence: each offers the session the one before ended with.
local function chain(port, n, extra, on_all)
  local recs = {}
  local function step(i, session)
    if i > n then return on_all(recs) end
    local opts = {}
    for k, v in pairs(extra or {}) do opts[k] = v end
    opts.session = session
    visit(port, opts, function(rec)
      recs[i] = rec
      step(i + 1, rec.after_close or session)
    end)
  end
  step(1, nil)
end

describe("session resumption", function()
  it("resumes by ticket, both sides say so, and the echo is intact", function()
    local server, port, seen = echo_server()
    local recs
    chain(port, 3, nil, function(r) recs = r; server:close() end)
    assert.is_true(H.run(10000))
    assert.equals(3, #recs)
    assert.is_false(recs[1].reused)
    assert.is_string(recs[1].session)        -- the 'session' event
    assert.equals(recs[1].session, recs[1].after_close)
    for i = 2, 3 do
      assert.is_true(recs[i].reused, "client " .. i)
      assert.is_true(recs[i].reused_after_close)
      assert.equals("ping", recs[i].echoed)
      assert.is_true(seen[i].reused, "server socket " .. i)
      assert.equals(seen[1].cipher, seen[i].cipher)
    end
    assert.is_false(seen[1].reused)
  end)

  it("resumes from the session-ID cache with tickets off", function()
    local server, port, seen = echo_server({ tickets = false })
    local recs
    chain(port, 2, nil, function(r) recs = r; server:close() end)
    assert.is_true(H.run(10000))
    assert.is_true(recs[2].reused)
    assert.is_true(seen[2].reused)
  end)

  it("offers nothing when the server keeps no sessions", function()
    local server, port, seen = echo_server({ tickets = false, sessionCacheSize = 0 })
    local recs
    chain(port, 2, nil, function(r) recs = r; server:close() end)
    assert.is_true(H.run(10000))
    assert.is_nil(recs[1].session)
    assert.is_nil(recs[1].after_close)
    assert.is_false(recs[2].reused)
    assert.is_false(seen[2].reused)
  end)

  it("keeps the client certificate on the resumed server socket", function()
    local server, port, seen = echo_server({ ca = H.cert("ca.pem"), requestCert = true })
    local recs
    chain(port, 2, { cert = H.cert("client.pem"), key = H.cert("client.key") },
          function(r) recs = r; server:close() end)
    assert.is_true(H.run(10000))
    assert.is_true(recs[2].reused)
    assert.is_table(seen[2].cert)
    assert.equals(seen[1].cert.fingerprint256, seen[2].cert.fingerprint256)
  end)

  it("resumes at another server that shares the ticketKeys", function()
    local keys = string.rep("k", 48) .. string.rep("o", 48)
    local a, port_a = echo_server({ ticketKeys = keys:sub(49) }) -- the older key only
    local b, port_b, seen_b = echo_server({ ticketKeys = keys }) -- a newer key first
    local first, second
    visit(port_a, nil, function(rec)
      first = rec
      visit(port_b, { session = rec.after_close }, function(r2)
        second = r2
        a:close()
        b:close()
      end)
    end)
    assert.is_true(H.run(10000))
    assert.is_string(first.after_close)
    assert.is_true(second.reused)
    assert.is_true(seen_b[1].reused)
  end)

  it("serves handshakes with a shared cookieSecret", function()
    local a, port_a = echo_server({ cookieSecret = string.rep("c", 32) })
    local rec
    visit(port_a, nil, function(r) rec = r; a:close() end)
    assert.is_true(H.run(10000))
    assert.is_true(rec.secure)
    assert.equals("ping", rec.echoed)
  end)

  it("falls back to a full handshake with a session of another server", function()
    local a, port_a = echo_server()
    local b, port_b, seen_b = echo_server({ tickets = false })
    local second
    visit(port_a, nil, function(rec)
      visit(port_b, { session = rec.after_close }, function(r2)
        second = r2
        a:close()
        b:close()
      end)
    end)
    assert.is_true(H.run(10000))
    assert.is_true(second.secure)
    assert.is_false(second.reused)
    assert.equals("ping", second.echoed)
    assert.is_false(seen_b[1].reused)
  end)

  it("refuses bad session options with a message naming the option", function()
    local s, err = dtls.createServer(H.server_options({ ticketKeys = "short" }))
    assert.is_nil(s)
    assert.matches("ticketKeys: must be one or more keys of 48 bytes %(5 given%)", err)
    s, err = dtls.createServer(H.server_options({ cookieSecret = string.rep("c", 31) }))
    assert.is_nil(s)
    assert.matches("cookieSecret: must be 32 to 64 bytes %(31 given%)", err)
    s, err = dtls.createServer(H.server_options({ cookieSecret = 42 }))
    assert.is_nil(s)
    assert.matches("cookieSecret: expected a %(binary%) string", err)
    s, err = dtls.createServer(H.server_options({ sessionTimeout = 0 }))
    assert.is_nil(s)
    assert.matches("sessionTimeout", err)
    s, err = dtls.createServer(H.server_options({ sessionCacheSize = -1 }))
    assert.is_nil(s)
    assert.matches("sessionCacheSize", err)
    s, err = dtls.createServer(H.server_options({ tickets = "no" }))
    assert.is_nil(s)
    assert.matches("tickets: expected a boolean", err)
    local c
    c, err = dtls.connect(H.client_options(4433, { session = "not a session" }))
    assert.is_nil(c)
    assert.matches("session: not a session from getSession", err)
    c, err = dtls.connect(H.client_options(4433, { session = 42 }))
    assert.is_nil(c)
    assert.matches("session: expected a %(binary%) string", err)
  end)

  it("has no session to give on a server socket", function()
    local server, port = H.listen(H.server_options(), function(s)
      local none, why = s:getSession()
      assert.is_nil(none)
      assert.matches("only a client socket", why)
      s:on("message", function(m) s:send(m) end)
    end)
    visit(port, nil, function() server:close() end)
    assert.is_true(H.run(10000))
  end)
end)

describe("connection IDs", function()
  it("are negotiated from Lua options and carry the echo", function()
    local server, port = echo_server({ connectionId = 8 })
    local rec
    visit(port, { connectionId = 0 }, function(r) rec = r; server:close() end, "over a CID")
    assert.is_true(H.run(10000))
    assert.equals("over a CID", rec.echoed)
  end)

  it("refuses lengths out of range", function()
    local s, err = dtls.createServer(H.server_options({ connectionId = 21 }))
    assert.is_nil(s)
    assert.matches("connectionId: 21 is out of range %(0%-20%)", err)
    local c
    c, err = dtls.connect(H.client_options(4433, { connectionId = -1 }))
    assert.is_nil(c)
    assert.matches("connectionId", err)
  end)
end)

-- renegotiation_spec.lua — socket:renegotiate(cb) through the Lua API,
-- between a dtlsrun server and a dtlsrun client in one process over
-- loopback: started by either side with data flowing both ways while it
-- runs, a new session each time, refused without allowRenegotiation or
-- sooner than renegotiationInterval, and the options' errors.
local dtls = require "dtls"
local H = require "helpers"

-- A server that echoes and tells the spec about its sockets; a client that
-- sends a numbered message every 5 ms and counts the echoes that come
-- back intact. `drive(client, server_socket, finish)` starts the
-- renegotiation(s); finish(result) stops everything.
local function session(server_extra, client_extra, drive)
  local r = { sent = 0, echoed = 0, server_got = 0, sessions = 0, errors = {}, events = {} }
  local server_socket
  local server, port = H.listen(H.server_options(server_extra), function(s)
    server_socket = s
    s:on("message", function(m) r.server_got = r.server_got + 1; s:send(m) end)
    s:on("renegotiated", function(e) r.events[#r.events + 1] = "server " .. tostring(e) end)
    s:on("error", function(e) r.errors[#r.errors + 1] = "server: " .. tostring(e) end)
  end)
  local c = assert(dtls.connect(H.client_options(port, client_extra)))
  local ticker
  local function finish(result)
    r.result = result
    if ticker then dtls.clearTimer(ticker) end
    c:close()
    server:close()
  end
  c:on("session", function() r.sessions = r.sessions + 1 end)
  c:on("renegotiated", function(e) r.events[#r.events + 1] = "client " .. tostring(e) end)
  c:on("error", function(e) r.errors[#r.errors + 1] = "client: " .. tostring(e) end)
  local expected = {}
  c:on("message", function(m)
    if expected[m] then r.echoed = r.echoed + 1; expected[m] = nil end
  end)
  c:on("secureConnect", function()
    r.first_session = c:getSession()
    ticker = dtls.setInterval(5, function()
      r.sent = r.sent + 1
      local m = string.format("message %05d", r.sent)
      expected[m] = true
      c:send(m)
    end)
    dtls.setTimeout(30, function() drive(c, server_socket, finish) end)
  end)
  return r, c
end

describe("renegotiation", function()
  it("client-initiated: completes, data flows both ways during it, a new session", function()
    local r, c
    r, c = session({ allowRenegotiation = true, renegotiationInterval = 0 }, nil,
      function(client, _, finish)
        local sent_at_start = r.sent
        assert.is_true(client:renegotiate(function(err)
          r.cb_err = err
          r.sent_during = r.sent - sent_at_start
          r.new_session = client:getSession()
          -- keep talking in the new epoch for a while
          dtls.setTimeout(60, function() finish("done") end)
        end))
        local again, why = client:renegotiate()
        r.second = { again, why }
      end)
    assert.is_true(H.run(10000))
    assert.are.equal("done", r.result)
    assert.is_nil(r.cb_err)
    assert.is_nil(r.second[1])
    assert.matches("already under way", r.second[2])
    assert.are.same({}, r.errors)
    assert.are.same({ "client nil", "server nil" }, (function() table.sort(r.events); return r.events end)())
    assert.is_true(r.echoed > 5)
    assert.is_true(r.echoed >= r.sent - 2, "echoes lost: " .. r.echoed .. "/" .. r.sent)
    assert.are.equal(2, r.sessions) -- the first handshake's and the renegotiation's
    assert.are_not.equal(r.first_session, r.new_session)
    assert.are.equal("ECDHE-ECDSA-AES128-GCM-SHA256", c.cipher)
  end)

  it("server-initiated (HelloRequest): completes with the client allowing it", function()
    local r
    r = session(nil, { allowRenegotiation = true, renegotiationInterval = 0 },
      function(_, server_socket, finish)
        assert.is_true(server_socket:renegotiate(function(err)
          r.cb_err = err
          dtls.setTimeout(60, function() finish("done") end)
        end))
      end)
    assert.is_true(H.run(10000))
    assert.are.equal("done", r.result)
    assert.is_nil(r.cb_err)
    assert.are.same({}, r.errors)
    assert.is_true(r.echoed >= r.sent - 2 and r.echoed > 5)
    assert.are.equal(2, r.sessions)
  end)

  it("is refused without allowRenegotiation: cb gets no_renegotiation, the session goes on", function()
    local r
    r = session(nil, nil, function(client, _, finish)
      assert.is_true(client:renegotiate(function(err)
        r.cb_err = err
        dtls.setTimeout(40, function() finish("done") end)
      end))
    end)
    assert.is_true(H.run(10000))
    assert.are.equal("done", r.result)
    assert.are.equal("no_renegotiation", r.cb_err.alert)
    assert.matches("refused", tostring(r.cb_err))
    assert.is_true(r.echoed >= r.sent - 2 and r.echoed > 5)
    assert.are.equal(1, r.sessions)
  end)

  it("is refused sooner than renegotiationInterval after the last handshake", function()
    local r
    r = session({ allowRenegotiation = true, renegotiationInterval = 3600 }, nil,
      function(client, _, finish)
        client:renegotiate(function(err) r.cb_err = err; finish("done") end)
      end)
    assert.is_true(H.run(10000))
    assert.are.equal("no_renegotiation", r.cb_err and r.cb_err.alert)
  end)

  it("checks its options", function()
    local ok, err = dtls.createServer(H.server_options({ allowRenegotiation = 1 }))
    assert.is_nil(ok)
    assert.matches("allowRenegotiation: expected a boolean", err)
    ok, err = dtls.createServer(H.server_options({ renegotiationInterval = -1 }))
    assert.is_nil(ok)
    assert.matches("renegotiationInterval", err)
    ok, err = dtls.createServer(H.server_options({ allowLegacyServer = true }))
    assert.is_nil(ok)
    assert.matches("allowLegacyServer", err)
  end)
end)

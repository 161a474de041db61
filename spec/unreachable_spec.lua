-- unreachable_spec.lua — a client whose server is not there hears it at
-- once: its socket is connected (uv_udp_connect), so the ICMP port
-- unreachable that answers its ClientHello comes back as ECONNREFUSED and
-- ends the handshake, instead of a 60 s handshake timeout.
local dtls = require "dtls"
local H = require "helpers"

-- A port on 127.0.0.1 that nobody listens on any more.
local function closed_port(family)
  local server = assert(dtls.createServer(H.server_options({ type = family })))
  assert(server:bind(0, family == "udp6" and "::1" or "127.0.0.1"))
  local port = server:address().port
  server:close()
  assert.is_true(H.run(2000))
  return port
end

describe("a client with nobody at the server's port", function()
  it("fails at once with a clear error, not after handshakeTimeout", function()
    local port = closed_port("udp4")
    local err, reason, secure
    -- the default handshakeTimeout (60 s) is far beyond the run's bound
    local c = assert(dtls.connect(H.client_options(port)))
    c:on("secureConnect", function() secure = true end)
    c:on("error", function(e) err = e end)
    c:on("close", function(r) reason = r end)
    assert.is_true(H.run(20000), "the client waited for its handshake timeout")
    assert.is_nil(secure)
    assert.equal("unreachable", reason)
    assert.is_table(err)
    assert.is_nil(err.alert)
    assert.equal("connection refused: nothing answers at 127.0.0.1:" .. port ..
                 " (ICMP port unreachable)", tostring(err))
    assert.equal(port, err.rinfo.port)
    assert.is_true(c:isClosed())
  end)

  it("fails at once over IPv6 too", function()
    local ok, port = pcall(closed_port, "udp6")
    if not ok then
      print("SKIPPED: no IPv6 loopback here (" .. tostring(port) .. ")")
      return
    end
    local reason
    local c = assert(dtls.connect(H.client_options(port, { type = "udp6", address = "::1" })))
    c:on("error", function() end)
    c:on("close", function(r) reason = r end)
    assert.is_true(H.run(20000))
    assert.equal("unreachable", reason)
  end)

  it("still talks to a server that is there (the socket is connected to it)", function()
    local server, port
    server, port = H.listen(H.server_options(), function(s)
      s:on("message", function(m) s:send(m) end)
    end)
    local got
    local c = assert(dtls.connect(H.client_options(port), function(s) s:send("ping") end))
    c:on("message", function(m) got = m; c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.equal("ping", got)
  end)
end)

-- association_spec.lua — how the runtime manages associations: a peer that
-- restarts on the same address and port (RFC 6347 4.2.8), the connection
-- cap, and dtls.shutdown closing every session with close_notify.
local dtls = require "dtls"
local H = require "helpers"

local function free_udp_port()
  local probe, port = H.listen()
  probe:close()
  assert(H.run(2000))
  return port
end

describe("a peer restarting on the same address and port (RFC 6347 4.2.8)", function()
  it("gets a new association, which replaces the old one once its handshake is done", function()
    local client_port = free_udp_port()
    local sockets, log = {}, {}
    local proc
    local server, port
    server, port = H.listen(nil, function(s)
      sockets[#sockets + 1] = s
      local n = #sockets
      log[#log + 1] = "secure " .. n
      s:on("message", function(m)
        log[#log + 1] = "message " .. n .. " " .. m
        if n == 1 then
          -- The first client vanishes without close_notify...
          proc:kill("KILL")
          proc:wait_for(function(p) return p:status() end, 5)
          -- ...and a new one starts from the very same address and port.
          local c = assert(dtls.connect(H.client_options(port, { localPort = client_port })))
          c:on("secureConnect", function() c:send("second") end)
          c:on("message", function(echo)
            log[#log + 1] = "echo " .. echo
            c:close()
          end)
        else
          s:send(m)
        end
      end)
      s:on("close", function()
        log[#log + 1] = "close " .. n
        if n == 2 then server:close() end
      end)
    end)
    local script = H.tmpname() .. ".lua"
    local f = assert(io.open(script, "w"))
    f:write(([[
      local dtls = require "dtls"
      local c = assert(dtls.connect({ type = "udp4", port = %d, address = "127.0.0.1",
        localPort = %d, rejectUnauthorized = false }))
      c:on("secureConnect", function() c:send("first") end)
    ]]):format(port, client_port))
    f:close()
    proc = H.spawn("exec " .. H.q(H.bin) .. " " .. H.q(script))
    local ok = H.run(15000)
    proc:cleanup()
    os.remove(script)
    assert.is_true(ok, table.concat(log, ", "))
    assert.same({ "secure 1", "message 1 first", "close 1", "secure 2", "message 2 second",
                  "echo second", "close 2" }, log)
  end)
end)

describe("the front door", function()
  it("keeps no state for garbage datagrams and still serves real peers", function()
    local server, port = H.listen(nil, function(s) s:on("message", function(m) s:send(m) end) end)
    local result = {}
    dtls.setTimeout(1, function()
      -- Random bytes, an empty-ish datagram, and something shaped like a
      -- handshake record header, from many source ports.
      local target = "/dev/udp/127.0.0.1/" .. port
      local rc = H.execute("bash -c " .. H.q(
        "for i in $(seq 1 50); do head -c $((i * 20)) /dev/urandom > " .. target ..
        "; printf '\\026\\376\\375\\000\\000\\000\\000\\000\\000\\000\\000\\000\\001x' > " .. target ..
        "; done"))
      result.sent = rc
      dtls.setTimeout(100, function()
        result.after_garbage = server:connections()
        local c = assert(dtls.connect(H.client_options(port)))
        c:on("secureConnect", function() c:send("real") end)
        c:on("message", function(m) result.echo = m; c:close(); server:close() end)
      end)
    end)
    assert.is_true(H.run(10000))
    assert.equal(0, result.sent)
    assert.equal(0, result.after_garbage)
    assert.equal("real", result.echo)
  end)
end)

describe("caps", function()
  it("maxConnections: peers beyond the cap get no association", function()
    local server, port = H.listen(H.server_options({ maxConnections = 1 }))
    local first = assert(dtls.connect(H.client_options(port)))
    local result = {}
    first:on("secureConnect", function()
      assert.equal(1, server:connections())
      local second = assert(dtls.connect(H.client_options(port, { handshakeTimeout = 1500 })))
      second:on("error", function(e) result.error = e end)
      second:on("close", function()
        result.second_closed = true
        result.count = server:connections()
        first:close(); server:close()
      end)
    end)
    assert.is_true(H.run(10000))
    assert.is_true(result.second_closed)
    assert.matches("time", result.error or "")
    assert.equal(1, result.count)
  end)
end)

describe("maxHandshakesPerAddress", function()
  -- The proof that a flood from one address leaves room for another is the
  -- runtime test unit.test_rt_budget: a spec has only 127.0.0.1 and ::1, and
  -- one server socket sees only one of them.
  it("is checked, and peers of one address beyond it wait their turn", function()
    local bad, err = dtls.createServer(H.server_options({ maxHandshakesPerAddress = 0 }))
    assert.is_nil(bad)
    assert.matches("maxHandshakesPerAddress: 0 is out of range", err, 1, true)
    local server, port = H.listen(H.server_options({ maxHandshakesPerAddress = 1 }),
      function(s) s:on("message", function(m) s:send(m) end) end)
    local echoed, n = 0, 5
    for i = 1, n do
      local c = assert(dtls.connect(H.client_options(port, { retransmitTimeout = 100 })))
      c:on("secureConnect", function() c:send("hello " .. i) end)
      c:on("message", function()
        echoed = echoed + 1
        c:close()
        if echoed == n then server:close() end
      end)
    end
    assert.is_true(H.run(10000))
    assert.equal(n, echoed)
  end)
end)

describe("maxReassemblyBytes", function()
  -- What the cap does when spent (fragments dropped, their peers resend,
  -- nobody else's memory taken, each handshake's reserve) is shown by the
  -- engine's test_hostile (test_reassembly_server_budget) and, through a
  -- server, by unit.test_rt_reassembly (many ::1 sources, which a spec
  -- cannot make); here: the option's checks, and a real fragmented
  -- handshake through a server at the minimum.
  it("is checked: at least 65536 bytes, an integer", function()
    local bad, err = dtls.createServer(H.server_options({ maxReassemblyBytes = 65535 }))
    assert.is_nil(bad)
    assert.matches("maxReassemblyBytes: 65535 is out of range (65536-", err, 1, true)
    bad, err = dtls.createServer(H.server_options({ maxReassemblyBytes = "1M" }))
    assert.is_nil(bad)
    assert.matches("maxReassemblyBytes: expected an integer", err, 1, true)
  end)

  it("at its minimum still takes a client certificate sent in fragments", function()
    local server_socket
    local server, port = H.listen(H.server_options({ maxReassemblyBytes = 65536, requestCert = true,
                                                     ca = H.cert("ca.pem") }),
      function(s) server_socket = s end)
    -- at MTU 256 the client's Certificate (a 423-byte certificate) comes in fragments
    local c = assert(dtls.connect(H.client_options(port, { mtu = 256, cert = H.cert("client.pem"),
                                                           key = H.cert("client.key") })))
    c:on("secureConnect", function() c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.is_not_nil(server_socket, "the handshake did not complete")
    assert.is_true(server_socket.authorized)
    assert.equal("CN=dtlsrun-test-client", server_socket.peerCertificate.subject)
  end)
end)

describe("idleTimeout", function()
  it("takes 0 for never (the server default is 10 minutes), not a negative", function()
    local never = assert(dtls.createServer(H.server_options({ idleTimeout = 0 })))
    never:close()
    local bad, err = dtls.createServer(H.server_options({ idleTimeout = -1 }))
    assert.is_nil(bad)
    assert.matches("idleTimeout: -1 is out of range", err, 1, true)
    assert.is_true(H.run(2000))
  end)

  it("closes an association that stays silent, with close_notify", function()
    local events = {}
    local server, port
    server, port = H.listen(H.server_options({ idleTimeout = 300 }), function(s)
      s:on("close", function() events[#events + 1] = "server socket"; server:close() end)
    end)
    local c = assert(dtls.connect(H.client_options(port)))
    local t0
    c:on("secureConnect", function() t0 = os.time(); c:send("one message, then silence") end)
    c:on("error", function(e) events[#events + 1] = "error " .. e end)
    c:on("close", function() events[#events + 1] = "client" end)
    assert.is_true(H.run(5000))
    assert.same({ "server socket", "client" }, events)
    assert.is_true(os.time() - t0 <= 2)
  end)

  it("leaves an active association alone", function()
    local server, port = H.listen(H.server_options({ idleTimeout = 1000 }), function(s)
      s:on("message", function(m) s:send(m) end)
    end)
    local c = assert(dtls.connect(H.client_options(port)))
    local echoes, closed_early = 0, false
    -- a ping every 50 ms for 50 echoes: the association lives over 2.5
    -- idle timeouts, each gap a twentieth of one, so the loop may run up
    -- to 950 ms late on a loaded machine before the idle timer could pass
    -- a ping (the client and the server share this process's loop; 300 ms
    -- with a 300 ms timeout was too little beside ctest -j2 and fuzzers)
    c:on("secureConnect", function()
      dtls.setInterval(50, function(t)
        if echoes >= 50 then dtls.clearTimer(t); c:close(); server:close() return end
        c:send("ping")
      end)
    end)
    c:on("message", function() echoes = echoes + 1 end)
    c:on("close", function() closed_early = echoes < 50 end)
    assert.is_true(H.run(10000))
    assert.is_false(closed_early)
    assert.is_true(echoes >= 50)
  end)
end)

describe("dtls.shutdown", function()
  it("closes every session with close_notify, every server and timer, and run returns", function()
    local events = {}
    local server, port = H.listen(nil, function(s)
      s:on("close", function() events[#events + 1] = "server socket" end)
    end)
    server:on("close", function() events[#events + 1] = "server" end)
    local interval = dtls.setInterval(10, function() end)
    local c = assert(dtls.connect(H.client_options(port)))
    c:on("secureConnect", function() dtls.setTimeout(20, dtls.shutdown) end)
    c:on("error", function(e) events[#events + 1] = "error " .. e end)
    c:on("close", function() events[#events + 1] = "client" end)
    assert.is_true(H.run(5000))
    table.sort(events)
    assert.same({ "client", "server", "server socket" }, events)
    assert.is_false(interval:active())
    -- and the loop works again afterwards
    local fired = false
    dtls.setTimeout(1, function() fired = true end)
    assert.is_true(H.run(2000))
    assert.is_true(fired)
  end)
end)

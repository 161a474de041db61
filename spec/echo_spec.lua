-- echo_spec.lua — an in-process DTLS server and client in one lua5.4
-- process over real UDP on loopback: 1,000 messages of 1 to 1,200 bytes
-- echoed with every byte compared, and the send() variants.
local dtls = require "dtls"
local H = require "helpers"

local function echo_server(extra)
  return H.listen(H.server_options(extra), function(socket)
    socket:on("message", function(msg) assert(socket:send(msg)) end)
  end)
end

describe("in-process echo", function()
  it("echoes 1,000 messages of 1 to 1,200 bytes, byte for byte", function()
    math.randomseed(12345)
    local server, port = echo_server()
    local total, sent, received, mismatches = 1000, {}, 0, {}
    local client = assert(dtls.connect(H.client_options(port)))
    local function send_next()
      local i = #sent + 1
      local len = (i == 1) and 1 or (i == 2) and 1200 or math.random(1, 1200)
      sent[i] = H.random_bytes(len)
      assert(client:send(sent[i]))
    end
    client:on("secureConnect", send_next)
    client:on("message", function(msg)
      received = received + 1
      if msg ~= sent[received] then mismatches[#mismatches + 1] = received end
      if received < total then send_next() else client:close(); server:close() end
    end)
    assert.is_true(H.run(30000), "timed out")
    assert.equal(total, received)
    assert.same({}, mismatches)
  end)

  it("sends a slice with offset and length, and calls the send callback", function()
    local server, port = echo_server()
    local client = assert(dtls.connect(H.client_options(port)))
    local got, done = {}, {}
    client:on("secureConnect", function()
      assert.is_true(client:send("0123456789", 2, 3, function(err) done[#done + 1] = err or "ok" end))
      assert.is_true(client:send("abcdef", 4))
      assert.is_true(client:send("\0\0zero\0", function(err) done[#done + 1] = err or "ok" end))
    end)
    client:on("message", function(msg)
      got[#got + 1] = msg
      if #got == 3 then client:close(); server:close() end
    end)
    assert.is_true(H.run(5000))
    assert.same({ "234", "ef", "\0\0zero\0" }, got)
    assert.same({ "ok", "ok" }, done)
  end)

  it("rejects bad slices and oversized messages without closing", function()
    local server, port = echo_server()
    local client = assert(dtls.connect(H.client_options(port)))
    local results = {}
    client:on("secureConnect", function()
      results.offset = not pcall(client.send, client, "abc", 5)
      results.length = not pcall(client.send, client, "abc", 1, 5)
      results.cb = not pcall(client.send, client, "abc", "not a function")
      results.data = not pcall(client.send, client, {})
      results.big = { client:send(string.rep("x", 20000)) }
      results.after = client:send("still open")
    end)
    client:on("message", function(msg)
      results.echo = msg
      client:close(); server:close()
    end)
    assert.is_true(H.run(5000))
    assert.is_true(results.offset and results.length and results.cb and results.data)
    assert.is_nil(results.big[1]); assert.matches("too long", results.big[2])
    assert.is_true(results.after)
    assert.equal("still open", results.echo)
  end)

  it("works over IPv6 with the node-dtls connect form", function()
    local server = assert(dtls.createServer(H.server_options({ type = "udp6" })))
    server:on("secureConnection", function(s) s:on("message", function(m) s:send(m) end) end)
    assert(server:bind(0, "::1"))
    local port = server:address().port
    -- connect(port, address, type, cb): verification needs a ca, so this
    -- one goes through the options form with rejectUnauthorized = false.
    local client = assert(dtls.connect({ type = "udp6", port = port, address = "::1",
                                         rejectUnauthorized = false }))
    local got
    client:on("secureConnect", function() client:send("v6") end)
    client:on("message", function(m) got = m; client:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.equal("v6", got)
  end)

  it("serves several clients at once", function()
    local server, port = echo_server()
    local n, done = 5, 0
    for i = 1, n do
      local c = assert(dtls.connect(H.client_options(port)))
      c:on("secureConnect", function() c:send("client " .. i) end)
      c:on("message", function(m)
        assert.equal("client " .. i, m)
        done = done + 1
        c:close()
        if done == n then server:close() end
      end)
    end
    assert.is_true(H.run(10000))
    assert.equal(n, done)
  end)
end)

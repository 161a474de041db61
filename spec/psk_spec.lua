-- psk_spec.lua — pre-shared keys end to end over loopback, beyond the basics
-- in events_spec.lua ("pre-shared keys"): every PSK suite through `ciphers`
-- on either side, binary identities and keys, what a psk function may return,
-- pskHint, failures seen on both sides while the server keeps serving others,
-- a raising psk function logged by dtlsrun, and who may connect to PSK-only,
-- certificate-only and mixed servers.
local dtls = require "dtls"
local H = require "helpers"

local KEY = dtls.hex("00112233445566778899aabbccddeeff")
local KEY2 = dtls.hex("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0")

local PSK_SUITES = {
  "PSK-AES128-CCM8", "PSK-AES128-CCM", "PSK-AES128-GCM-SHA256", "PSK-AES256-GCM-SHA384",
  "ECDHE-PSK-CHACHA20-POLY1305", "ECDHE-PSK-AES128-GCM-SHA256",
}

local function psk_options(port, identity, key, extra)
  local o = { type = "udp4", port = port, address = "127.0.0.1", psk = { identity = identity, key = key } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- Connects; on secureConnect sends `probe` and expects it echoed. The returned
-- record fills in: local_port, secure, cipher, echoed, errors, closed.
local function attempt(options, probe, on_done)
  local rec = { errors = {} }
  local c, err = dtls.connect(options)
  assert(c, err)
  rec.socket = c
  local here = c:address()
  rec.local_port = here and here.port
  local function done()
    if rec.finished then return end
    rec.finished = true
    if on_done then on_done(rec) end
  end
  c:on("secureConnect", function()
    rec.secure, rec.cipher = true, c.cipher
    c:send(probe or "ping")
  end)
  c:on("message", function(m)
    rec.echoed = m
    c:close()
  end)
  c:on("error", function(e) rec.errors[#rec.errors + 1] = e end)
  c:on("close", function() rec.closed = true; done() end)
  return rec
end

-- An echoing server that records what it saw: secure sockets and clientErrors.
local function echo_server(options)
  local seen = { secure = {}, client_errors = {}, errors = {} }
  local server, port = H.listen(options, function(s)
    seen.secure[#seen.secure + 1] = { identity = s.pskIdentity, cipher = s.cipher, port = s.rinfo.port,
                                      cert = s.peerCertificate }
    s:on("message", function(m) s:send(m) end)
  end)
  server:on("clientError", function(e) seen.client_errors[#seen.client_errors + 1] = e end)
  server:on("error", function(e) seen.errors[#seen.errors + 1] = e end)
  return server, port, seen
end

-- Runs the clients made by start(port, finished) until all `n` are done, then closes the server.
local function run_clients(server, n, start)
  local left = n
  start(function()
    left = left - 1
    if left == 0 then server:close() end
  end)
  assert.is_true(H.run(10000), "the clients did not finish in time")
end

describe("every PSK suite", function()
  for _, suite in ipairs(PSK_SUITES) do
    it(suite .. ", chosen by the client's ciphers and by the server's", function()
      local server, port, seen = echo_server({ type = "udp4", psk = { device1 = KEY } })
      local restricted_server, rport, rseen = echo_server({ type = "udp4", psk = { device1 = KEY },
                                                            ciphers = suite })
      local a, b
      local left = 2
      local function finished()
        left = left - 1
        if left == 0 then server:close(); restricted_server:close() end
      end
      a = attempt(psk_options(port, "device1", KEY, { ciphers = suite }), "over " .. suite, finished)
      b = attempt(psk_options(rport, "device1", KEY), "to a server restricted to " .. suite, finished)
      assert.is_true(H.run(10000))
      for _, r in ipairs({ a, b }) do
        assert.same({}, r.errors)
        assert.equal(suite, r.cipher)
        assert.is_true(r.closed)
      end
      assert.equal("over " .. suite, a.echoed)
      assert.equal("to a server restricted to " .. suite, b.echoed)
      assert.same({ identity = "device1", cipher = suite, port = a.local_port }, seen.secure[1])
      assert.equal(suite, rseen.secure[1].cipher)
      assert.equal("device1", rseen.secure[1].identity)
    end)
  end

  it("IANA names work in ciphers and the OpenSSL name is reported", function()
    local server, port = echo_server({ type = "udp4", psk = { device1 = KEY },
                                       ciphers = { "TLS_PSK_WITH_AES_128_CCM_8" } })
    local r
    run_clients(server, 1, function(done)
      r = attempt(psk_options(port, "device1", KEY, { ciphers = "TLS_PSK_WITH_AES_128_CCM_8" }), "x", done)
    end)
    assert.equal("PSK-AES128-CCM8", r.cipher)
    assert.equal("x", r.echoed)
  end)

  it("ECDHE-ECDSA-AES128-CCM8, CoAP's certificate suite", function()
    local server, port = echo_server(H.server_options({ ciphers = "ECDHE-ECDSA-AES128-CCM8" }))
    local r
    run_clients(server, 1, function(done)
      r = attempt(H.client_options(port, { ciphers = "ECDHE-ECDSA-AES128-CCM8" }), "cert mode", done)
    end)
    assert.same({}, r.errors)
    assert.equal("ECDHE-ECDSA-AES128-CCM8", r.cipher)
    assert.equal("cert mode", r.echoed)
  end)
end)

describe("psk tables and functions", function()
  it("a table with several identities: each gets its own key, binary identities and keys work", function()
    local bin_id, bin_key = "dev\0\255\1ice", "\0\0\0\255" .. string.rep("\0", 12)
    local one_byte, long_key = "k", string.rep("\171", 64)
    local server, port, seen = echo_server({ type = "udp4", psk = {
      device1 = KEY, device2 = KEY2, [bin_id] = bin_key, tiny = one_byte, long = long_key } })
    local recs = {}
    local clients = { { "device1", KEY }, { "device2", KEY2 }, { bin_id, bin_key }, { "tiny", one_byte },
                      { "long", long_key } }
    run_clients(server, #clients, function(done)
      for i, c in ipairs(clients) do
        recs[i] = attempt(psk_options(port, c[1], c[2]), "client " .. i, done)
      end
    end)
    local identities = {}
    for i, r in ipairs(recs) do
      assert.same({}, r.errors)
      assert.equal("client " .. i, r.echoed)
    end
    for _, s in ipairs(seen.secure) do identities[#identities + 1] = s.identity end
    table.sort(identities)
    local want = { "device1", "device2", bin_id, "tiny", "long" }
    table.sort(want)
    assert.same(want, identities)
  end)

  it("identities up to 128 bytes and keys up to 64 bytes; connect refuses longer ones", function()
    local long_id, long_key = string.rep("i", 128), string.rep("\90", 64)
    local server, port, seen = echo_server({ type = "udp4", psk = { [long_id] = long_key } })
    local r
    run_clients(server, 1, function(done) r = attempt(psk_options(port, long_id, long_key), "long", done) end)
    assert.equal("long", r.echoed)
    assert.equal(long_id, seen.secure[1].identity)
    for _, bad in ipairs({ { long_id .. "i", KEY }, { "id", long_key .. "k" } }) do
      local c, err = dtls.connect(psk_options(1, bad[1], bad[2]))
      assert.is_nil(c)
      assert.matches("^psk:", err)
    end
  end)

  it("a function gets the identity (binary safe) and the peer; pskIdentity names the peer", function()
    local calls = {}
    local weird = "id\0with\nbytes\255"
    local server, port, seen = echo_server({ type = "udp4", psk = function(identity, rinfo)
      calls[#calls + 1] = { identity = identity, address = rinfo.address, port = rinfo.port,
                            family = rinfo.family }
      return identity == weird and KEY2 or nil
    end })
    local r
    run_clients(server, 1, function(done) r = attempt(psk_options(port, weird, KEY2), "hi", done) end)
    assert.same({}, r.errors)
    assert.equal(1, #calls)
    assert.same({ identity = weird, address = "127.0.0.1", port = r.local_port, family = "IPv4" },
                calls[1])
    assert.equal(weird, seen.secure[1].identity)
    assert.is_nil(seen.secure[1].cert)
  end)

  it("nil and false mean unknown identity; other non-keys fail that handshake only (internal_error)", function()
    local answers = {
      ["nil"] = function() return nil end,
      ["false"] = function() return false end,
      number = function() return 42 end,
      table = function() return {} end,
      empty = function() return "" end,
      too_long = function() return string.rep("k", 65) end,
      good = function() return KEY end,
    }
    local server, port, seen = echo_server({ type = "udp4", psk = function(identity)
      return answers[identity]()
    end })
    local recs = {}
    local names = { "nil", "false", "number", "table", "empty", "too_long", "good" }
    run_clients(server, #names, function(done)
      for _, name in ipairs(names) do recs[name] = attempt(psk_options(port, name, KEY), name, done) end
    end)
    assert.equal("good", recs.good.echoed)
    assert.same({}, recs.good.errors)
    for _, name in ipairs({ "nil", "false" }) do
      assert.is_nil(recs[name].secure, name)
      assert.matches("unknown_psk_identity", recs[name].errors[1] or "", 1, true)
    end
    for _, name in ipairs({ "number", "table", "empty", "too_long" }) do
      assert.is_nil(recs[name].secure, name)
      assert.equal(1, #recs[name].errors, name)
      assert.matches("internal_error", recs[name].errors[1], 1, true)
    end
    assert.equal(1, #seen.secure)
    assert.equal("good", seen.secure[1].identity)
    assert.equal(6, #seen.client_errors)
  end)
end)

describe("pskHint", function()
  -- The client does not show the hint to Lua; on the wire it is checked by
  -- spec/interop/coap_*.sh, where libcoap picks its identity by the hint.
  for _, case in ipairs({
    { "PSK-AES128-CCM8", "dtlsrun-hint" },       -- plain PSK: the hint makes a ServerKeyExchange
    { "PSK-AES128-CCM8", nil },                  -- ... and without one there is none
    { "ECDHE-PSK-CHACHA20-POLY1305", "dtlsrun-hint" },
    { "ECDHE-PSK-CHACHA20-POLY1305", nil },      -- ECDHE-PSK always sends one, hint empty
    { "PSK-AES256-GCM-SHA384", string.rep("h", 128) },
  }) do
    local suite, hint = case[1], case[2]
    it(string.format("%s with %s", suite, hint and #hint .. "-byte hint" or "no hint"), function()
      local server, port = echo_server({ type = "udp4", psk = { device1 = KEY }, pskHint = hint })
      local r
      run_clients(server, 1, function(done)
        r = attempt(psk_options(port, "device1", KEY, { ciphers = suite }), "hint", done)
      end)
      assert.same({}, r.errors)
      assert.equal(suite, r.cipher)
      assert.equal("hint", r.echoed)
    end)
  end

  it("a hint longer than 128 bytes is refused by createServer", function()
    local server, err = dtls.createServer({ type = "udp4", psk = { a = KEY }, pskHint = string.rep("h", 129) })
    assert.is_nil(server)
    assert.matches("pskHint", err)
  end)
end)

describe("failed PSK handshakes", function()
  it("an unknown identity: unknown_psk_identity on both sides, other clients keep being served", function()
    local server, port, seen = echo_server({ type = "udp4", psk = { device1 = KEY } })
    local stranger, before, after
    run_clients(server, 3, function(done)
      before = attempt(psk_options(port, "device1", KEY), "before", done)
      stranger = attempt(psk_options(port, "stranger", KEY), "x", function(rec)
        done(rec)
        after = attempt(psk_options(port, "device1", KEY), "after", done)
      end)
    end)
    assert.is_nil(stranger.secure)
    assert.equal(1, #stranger.errors)
    assert.matches("unknown_psk_identity", stranger.errors[1], 1, true)
    assert.equal(1, #seen.client_errors)
    assert.matches("unknown_psk_identity", seen.client_errors[1], 1, true)
    assert.equal("before", before.echoed)
    assert.equal("after", after.echoed)
    assert.same({}, seen.errors)
  end)

  for _, suite in ipairs({ "PSK-AES128-CCM8", "ECDHE-PSK-CHACHA20-POLY1305" }) do
    it("a wrong key (" .. suite .. ") fails on both sides, others keep being served", function()
      local server, port, seen = echo_server({ type = "udp4", psk = { device1 = KEY } })
      local wrong, good
      run_clients(server, 2, function(done)
        wrong = attempt(psk_options(port, "device1", KEY2:sub(1, 16), { ciphers = suite }), "x", done)
        good = attempt(psk_options(port, "device1", KEY, { ciphers = suite }), "good", done)
      end)
      assert.is_nil(wrong.secure)
      assert.equal(1, #wrong.errors)
      -- The server cannot decrypt the client's Finished (RFC 5246 7.4.9 / 6.2.3.3).
      assert.matches("bad_record_mac", wrong.errors[1], 1, true)
      assert.equal(1, #seen.client_errors)
      assert.matches("bad_record_mac", seen.client_errors[1], 1, true)
      assert.equal("good", good.echoed)
    end)
  end

  it("a psk function that raises fails that handshake, is reported, and a concurrent one succeeds", function()
    local server, port, seen = echo_server({ type = "udp4", psk = function(identity)
      if identity == "bad" then error("lookup exploded for " .. identity) end
      return KEY
    end })
    local bad, good
    run_clients(server, 2, function(done)
      bad = attempt(psk_options(port, "bad", KEY), "x", done)
      good = attempt(psk_options(port, "good", KEY), "good", done)
    end)
    assert.is_nil(bad.secure)
    assert.equal(1, #bad.errors)
    assert.matches("internal_error", bad.errors[1], 1, true)
    assert.equal("good", good.echoed)
    assert.equal(1, #seen.errors)
    assert.matches("lookup exploded for bad", seen.errors[1], 1, true)
  end)

  it("dtlsrun logs the raising psk function with its traceback and keeps serving", function()
    local script = H.tmpname() .. ".lua"
    local f = assert(io.open(script, "w"))
    f:write([[
      local dtls = require "dtls"
      local function lookup(identity)
        if identity == "bad" then error("psk store is down") end
        return dtls.hex("00112233445566778899aabbccddeeff")
      end
      local server = assert(dtls.createServer({ type = "udp4", psk = lookup }, function(s)
        s:on("message", function(m) s:send(m) end)
      end))
      assert(server:bind(0, "127.0.0.1"))
    ]])
    f:close()
    local proc = H.spawn("exec timeout 30 " .. H.q(H.bin) .. " --log-level INFO " .. H.q(script))
    local port = proc:wait_for(function(p) return tonumber(p:log():match("listening on 127%.0%.0%.1:(%d+)")) end)
    assert.is_number(port, proc:log())
    -- Both clients end closed, and then the loop has nothing left to run.
    local bad = attempt(psk_options(port, "bad", KEY), "x")
    local good = attempt(psk_options(port, "good", KEY), "good")
    local ok = H.run(10000)
    local log = proc:log()
    proc:kill("TERM")
    proc:wait_for(function(p) return p:status() end, 5)
    proc:cleanup()
    os.remove(script)
    assert.is_true(ok)
    assert.is_nil(bad.secure)
    assert.equal("good", good.echoed)
    assert.matches("psk store is down", log, 1, true)
    assert.matches("traceback", log, 1, true)
    assert.matches("handshake failed", log, 1, true)
  end)
end)

describe("who may connect", function()
  it("a PSK-only server has no certificate: certificate clients are refused, PSK clients served", function()
    local server, port, seen = echo_server({ type = "udp4", psk = { device1 = KEY } })
    local cert_client, psk_client
    run_clients(server, 2, function(done)
      cert_client = attempt(H.client_options(port), "x", done)
      psk_client = attempt(psk_options(port, "device1", KEY), "psk", done)
    end)
    assert.is_nil(cert_client.secure)
    assert.matches("handshake_failure", cert_client.errors[1] or "", 1, true)
    assert.equal("psk", psk_client.echoed)
    assert.is_nil(seen.secure[1].cert)
  end)

  it("a certificate-only server refuses a PSK client", function()
    local server, port = echo_server(H.server_options())
    local r
    run_clients(server, 1, function(done) r = attempt(psk_options(port, "device1", KEY), "x", done) end)
    assert.is_nil(r.secure)
    assert.matches("handshake_failure", r.errors[1] or "", 1, true)
  end)

  it("a server with certificate and PSK: the client's offer decides", function()
    local server, port, seen = echo_server(H.server_options({ psk = { device1 = KEY } }))
    local psk_ccm8, psk_any, cert, cert_by_psk_client
    run_clients(server, 4, function(done)
      psk_ccm8 = attempt(psk_options(port, "device1", KEY, { ciphers = "PSK-AES128-CCM8" }), "a", done)
      psk_any = attempt(psk_options(port, "device1", KEY), "b", done)
      cert = attempt(H.client_options(port, { ciphers = "ECDHE-ECDSA-AES128-CCM8" }), "c", done)
      -- a client holding a key that offers only a certificate suite gets that suite
      cert_by_psk_client = attempt(H.client_options(port, { psk = { identity = "device1", key = KEY },
                                                             ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256" }),
                                   "d", done)
    end)
    assert.equal("PSK-AES128-CCM8", psk_ccm8.cipher)
    assert.matches("PSK", psk_any.cipher)
    assert.equal("ECDHE-ECDSA-AES128-CCM8", cert.cipher)
    assert.equal("ECDHE-ECDSA-AES128-GCM-SHA256", cert_by_psk_client.cipher)
    for _, r in ipairs({ psk_ccm8, psk_any, cert, cert_by_psk_client }) do assert.same({}, r.errors) end
    local identities = 0
    for _, s in ipairs(seen.secure) do
      if s.identity then
        identities = identities + 1
        assert.matches("PSK", s.cipher)
      else
        assert.matches("^ECDHE%-ECDSA%-", s.cipher)
      end
    end
    assert.equal(2, identities)
  end)
end)

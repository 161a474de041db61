-- operator_spec.lua — what someone running a service needs: new
-- credentials without a restart (server:setSecureContext), a SIGHUP hook
-- (dtls.onSignal), and a dual-stack udp6 server (ipv6Only = false). Only
-- loopback addresses: the dual-stack case binds ::ffff:127.0.0.1.
local dtls = require "dtls"
local H = require "helpers"

local function echo(s) s:on("message", function(m) s:send(m) end) end

describe("server:setSecureContext", function()
  it("serves new handshakes with the new certificate; live sessions keep going", function()
    local server, port = H.listen(H.server_options({ cert = H.cert("server-untrusted.pem"),
                                                     key = H.cert("server-untrusted.key") }), echo)
    local log = {}
    -- a session on the old context (its client does not verify)
    local old = assert(dtls.connect(H.client_options(port, { rejectUnauthorized = false })))
    old:on("secureConnect", function()
      log.old_subject_issuer = old.peerCertificate.issuer
      -- a verifying client fails against the old certificate...
      local refused = assert(dtls.connect(H.client_options(port)))
      refused:on("error", function(e) log.refused = e.alert end)
      refused:on("close", function()
        -- ...then the server takes the test CA's certificate
        log.bad = select(2, server:setSecureContext({ cert = H.cert("nope.pem") }))
        log.typo = select(2, server:setSecureContext({ certificate = "x" }))
        assert(server:setSecureContext({ cert = H.cert("server-ec256.pem"), key = H.cert("server-ec256.key") }))
        local fresh = assert(dtls.connect(H.client_options(port), function(s) s:send("new") end))
        fresh:on("message", function(m)
          log.fresh = m
          log.fresh_authorized = fresh.authorized
          fresh:close()
          old:send("old")
        end)
      end)
    end)
    old:on("message", function(m) log.old = m; old:close(); server:close() end)
    assert.is_true(H.run(10000))
    assert.equal("unknown_ca", log.refused)
    assert.matches("^cert: ", log.bad)
    assert.equal("unknown option 'certificate' (setSecureContext takes cert, key, ca)", log.typo)
    assert.equal("new", log.fresh)
    assert.is_true(log.fresh_authorized)
    assert.equal("old", log.old) -- the session begun before the switch still works
    local ok, err = server:setSecureContext({ cert = H.cert("server-ec256.pem") })
    assert.is_nil(ok)
    assert.equal("server is closed", err)
  end)
end)

describe("dtls.onSignal", function()
  it("runs the function when the signal arrives", function()
    local script = H.script([[
      local dtls = require "dtls"
      local server = assert(dtls.createServer({ type = "udp4", cert = arg[1], key = arg[2] }))
      assert(server:bind(0, "127.0.0.1"))
      assert(dtls.onSignal("SIGHUP", function(name)
        print("got " .. name)
        dtls.exit(5)
      end))
    ]])
    local proc = H.spawn("exec timeout --foreground 30 " .. H.q(H.bin) .. " " .. H.q(script) .. " " ..
                         H.q(H.cert("server-ec256.pem")) .. " " .. H.q(H.cert("server-ec256.key")))
    local up = proc:wait_for(function(h) return h:log():find("listening on", 1, true) or h:status() end, 20)
    assert.is_truthy(up)
    proc:kill("HUP")
    proc:wait_for(function(h) return h:status() end, 20)
    local status, log = proc:status(), proc:log()
    proc:cleanup()
    os.remove(script)
    assert.equal(5, status, log)
    assert.matches("INFO signal 1", log, 1, true)
  end)

  it("takes SIGHUP, SIGUSR1, SIGUSR2 and nil to remove", function()
    assert.is_true(dtls.onSignal("SIGUSR1", function() end))
    dtls.onSignal("SIGUSR1", nil)
    local ok, err = pcall(dtls.onSignal, "SIGINT", print)
    assert.is_false(ok)
    assert.matches("SIGHUP, SIGUSR1 or SIGUSR2 expected, got 'SIGINT' (SIGINT and SIGTERM are the graceful shutdown)",
                   err, 1, true)
    assert.has_error(function() dtls.onSignal("SIGHUP", 5) end)
    assert.is_true(H.run(1000))
  end)
end)

describe("ipv6Only", function()
  it("false: a udp6 server also takes IPv4 peers, as ::ffff:a.b.c.d", function()
    local server = assert(dtls.createServer(H.server_options({ type = "udp6", ipv6Only = false }),
                                            function(s) echo(s) end))
    local ok, err = server:bind(0, "::ffff:127.0.0.1")
    if not ok then
      server:close()
      H.run(1000)
      print("SKIPPED: no dual-stack IPv6 here (" .. tostring(err) .. ")")
      return
    end
    local seen
    server:on("secureConnection", function(s) seen = s.rinfo end)
    local got
    local c = assert(dtls.connect(H.client_options(server:address().port),
                                  function(s) s:send("over IPv4") end))
    c:on("message", function(m) got = m; c:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.equal("over IPv4", got)
    assert.equal("::ffff:127.0.0.1", seen.address)
    assert.equal("IPv6", seen.family)
  end)

  it("is the default: a udp6 server is IPv6 only, and the option is for udp6 alone", function()
    local server = assert(dtls.createServer(H.server_options({ type = "udp6" })))
    local ok, err = server:bind(0, "::ffff:127.0.0.1")
    assert.is_nil(ok)
    assert.matches("^bind ", err)
    server:close()
    local s, err2 = dtls.createServer(H.server_options({ ipv6Only = false }))
    assert.is_nil(s)
    assert.equal('ipv6Only: only for type "udp6"', err2)
    assert.is_true(H.run(1000))
  end)
end)

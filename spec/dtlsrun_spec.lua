-- dtlsrun_spec.lua — the dtlsrun executable as a subprocess: options, the
-- arg table, script errors (file:line, exit 1), handler errors (logged, the
-- process goes on), the embedded default certificate in the state
-- directory, scripts/echo.lua driven by an in-process client and by
-- openssl s_client, and graceful SIGTERM (close_notify, exit 0).
local dtls = require "dtls"
local H = require "helpers"

local q = H.q

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local function script(text)
  return write(H.tmpname() .. ".lua", text)
end

local function dtlsrun(args, env)
  return H.execute((env or "") .. " " .. q(H.bin) .. " " .. args)
end

describe("dtlsrun", function()
  it("prints help and version", function()
    local rc, out = dtlsrun("--help")
    assert.equal(0, rc)
    assert.matches("usage: dtlsrun %[options%] script.lua", out)
    rc, out = dtlsrun("--version")
    assert.equal(0, rc)
    assert.matches("^dtlsrun %d+%.%d+%.%d+", out)
  end)

  it("rejects unknown options, bad log levels and a missing script", function()
    local rc, _, err = dtlsrun("--frobnicate x.lua")
    assert.equal(2, rc); assert.matches("unknown option", err)
    rc, _, err = dtlsrun("--log-level LOUD x.lua")
    assert.equal(2, rc); assert.matches("log%-level", err)
    rc = dtlsrun("")
    assert.equal(2, rc)
    rc, _, err = dtlsrun("/nonexistent/script.lua")
    assert.equal(1, rc); assert.matches("cannot open /nonexistent/script.lua", err)
  end)

  it("exits 1 naming file and line for a syntax error", function()
    local path = script("local x = 1\nlocal y = = 2\n")
    local rc, _, err = dtlsrun(q(path))
    assert.equal(1, rc)
    assert.matches(path:gsub("%p", "%%%0") .. ":2:", err)
    os.remove(path)
  end)

  it("exits 1 naming file and line for an error at top level", function()
    local path = script("local dtls = require 'dtls'\n\nerror('top level failure')\n")
    local rc, _, err = dtlsrun(q(path))
    assert.equal(1, rc)
    assert.matches(path:gsub("%p", "%%%0") .. ":3: top level failure", err)
    os.remove(path)
  end)

  it("passes arguments in arg and as ...", function()
    local path = script("print(arg[0], arg[1], arg[2], #arg, select('#', ...), ...)\n")
    local rc, out = dtlsrun("--log-level WARN " .. q(path) .. " one 'two words'")
    assert.equal(0, rc)
    assert.equal(path .. "\tone\ttwo words\t2\t2\tone\ttwo words\n", out)
    os.remove(path)
  end)

  it("preloads dtls and runs the loop after the script returns", function()
    local path = script([[
      local dtls = require "dtls"
      dtls.setTimeout(30, function() print("timer fired") end)
      print("script returned")
    ]])
    local rc, out = dtlsrun(q(path))
    assert.equal(0, rc)
    assert.equal("script returned\ntimer fired\n", out)
    os.remove(path)
  end)

  it("logs a raising handler with its traceback and keeps going", function()
    local path = script([[
      local dtls = require "dtls"
      dtls.setTimeout(1, function() error("handler boom") end)
      dtls.setTimeout(20, function() print("still alive") end)
    ]])
    local rc, out, err = dtlsrun(q(path))
    assert.equal(0, rc)
    assert.equal("still alive\n", out)
    assert.matches("SEVERE error in a timer callback: [^\n]*handler boom", err)
    assert.matches("stack traceback", err)
    os.remove(path)
  end)

  it("exits cleanly when the loop is stopped with sessions still open", function()
    -- lua_close then finalizes live servers, sockets and timers: every
    -- session gets close_notify and nothing is freed twice (ASan build).
    local path = script(([[
      local dtls = require "dtls"
      local server = assert(dtls.createServer({ type = "udp4",
        cert = %q, key = %q }))
      server:on("secureConnection", function(s) s:on("message", function(m) s:send(m) end) end)
      assert(server:bind(0, "127.0.0.1"))
      local c = assert(dtls.connect({ type = "udp4", port = server:address().port,
        address = "127.0.0.1", ca = %q, servername = "localhost" }))
      c:on("secureConnect", function() c:send("x") end)
      c:on("message", function() print("echoed"); dtls.setInterval(1000, function() end); dtls.stop() end)
    ]]):format(H.cert("server-ec256.pem"), H.cert("server-ec256.key"), H.cert("ca.pem")))
    local rc, out, err = dtlsrun(q(path))
    assert.equal(0, rc, err)
    assert.equal("echoed\n", out)
    os.remove(path)
  end)

  it("honours --log-level", function()
    local path = script([[
      local dtls = require "dtls"
      dtls.log(dtls.logLevel.FINE, "fine line")
      dtls.log(dtls.logLevel.WARN, "warn line")
    ]])
    local _, _, err = dtlsrun("--log-level WARN " .. q(path))
    assert.not_matches("fine line", err)
    assert.matches("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ WARN warn line", err)
    _, _, err = dtlsrun("--log-level=FINE " .. q(path))
    assert.matches("FINE fine line", err)
    os.remove(path)
  end)
end)

describe("dtlsrun scripts/echo.lua", function()
  local state, proc, port

  local function start_echo()
    state = H.tmpname()
    proc = H.spawn("DTLSRUN_STATE_DIR=" .. q(state) .. " exec " .. q(H.bin) .. " " ..
                   q(H.root .. "/scripts/echo.lua") .. " 0 127.0.0.1")
    port = proc:wait_for(function(p) return tonumber(p:log():match("listening on 127%.0%.0%.1:(%d+)")) end, 10)
    assert.is_number(port, "echo.lua did not start: " .. proc:log())
  end

  after_each(function()
    if proc then proc:cleanup() end
    if state then os.execute("rm -rf " .. q(state)) end
    proc, state = nil, nil
  end)

  it("makes the default certificate on first use, 0600 key, fingerprint logged", function()
    start_echo()
    local cert = H.read(state .. "/default-cert.pem")
    assert.matches("BEGIN CERTIFICATE", cert)
    local rc, mode = H.execute("stat -c %a " .. q(state .. "/default-key.pem"))
    assert.equal(0, rc)
    assert.equal("600", mode:match("%d+"))
    local fp = proc:log():match("created default certificate [^\n]* SHA%-256 ([%x:]+)")
    assert.is_string(fp)
    local _, out = H.execute("openssl x509 -noout -fingerprint -sha256 -in " .. q(state .. "/default-cert.pem"))
    assert.equal(out:match("=([%x:]+)"), fp)
    -- A second run reuses it.
    proc:kill("TERM")
    assert.equal(0, proc:wait_for(function(p) return p:status() end, 10))
    proc:cleanup()
    proc = H.spawn("DTLSRUN_STATE_DIR=" .. q(state) .. " exec " .. q(H.bin) .. " " ..
                   q(H.root .. "/scripts/echo.lua") .. " 0 127.0.0.1")
    assert.is_truthy(proc:wait_for(function(p) return p:log():match("using default certificate") end, 10))
    assert.equal(cert, H.read(state .. "/default-cert.pem"))
  end)

  it("echoes to an in-process client; SIGTERM sends close_notify and exits 0", function()
    start_echo()
    local c = assert(dtls.connect({ type = "udp4", port = port, address = "127.0.0.1",
                                    rejectUnauthorized = false }))
    local got, errors, closed = {}, {}, false
    c:on("secureConnect", function()
      c:send("one")
      c:send(string.rep("\0\255", 500))
    end)
    c:on("message", function(m)
      got[#got + 1] = m
      if #got == 2 then proc:kill("TERM") end
    end)
    c:on("error", function(e) errors[#errors + 1] = e end)
    c:on("close", function() closed = true end)
    assert.is_true(H.run(10000))
    assert.same({ "one", string.rep("\0\255", 500) }, got)
    assert.same({}, errors)
    assert.is_true(closed) -- the server's close_notify ended the session
    assert.equal(0, proc:wait_for(function(p) return p:status() end, 10))
    assert.matches("SIGTERM", proc:log())
  end)

  it("answers openssl s_client -dtls1_2", function()
    if H.execute("command -v openssl") ~= 0 then
      pending("openssl is not installed")
      return
    end
    start_echo()
    local _, out = H.execute("(printf 'hello from openssl\\n'; sleep 1) | " ..
                             "timeout 5 openssl s_client -dtls1_2 -quiet " ..
                              "-connect 127.0.0.1:" .. port)
    assert.matches("hello from openssl", out)
    proc:kill("INT")
    assert.equal(0, proc:wait_for(function(p) return p:status() end, 10))
  end)
end)

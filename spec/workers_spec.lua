-- workers_spec.lua — dtlsrun --workers N as a subprocess, driven by
-- in-process clients (each dtls.connect has its own source port, so the
-- kernel's reuseport hash spreads them): handshakes served by both workers,
-- a ticket issued by one resumed at the other, a worker killed with SIGKILL
-- restarted while the other keeps serving, SIGTERM ending every worker with
-- close_notify and exit 0, and a broken script failing once, with exit 1.
-- No timing assertions: every wait is a bounded poll.
local dtls = require "dtls"
local H = require "helpers"

local q = H.q

local script = H.script

-- Every message is answered with who served it: "worker=N reused=BOOL",
-- and "pid" with the worker's process id.
local WHO = ([[
  local dtls = require "dtls"
  local server = assert(dtls.createServer({ type = "udp4", cert = %q, key = %q }))
  server:on("secureConnection", function(s)
    s:on("message", function(m)
      if m == "pid" then
        local f = assert(io.open("/proc/self/stat"))
        return s:send(f:read("l"):match("^%%d+"))
      end
      s:send(("worker=%%d reused=%%s"):format(s.worker, tostring(s:isSessionReused())))
    end)
  end)
  assert(server:bind(0, "127.0.0.1"))
]]):format(H.cert("server-ec256.pem"), H.cert("server-ec256.key"))

local function children(pid)
  local rc, out = H.execute("cat /proc/" .. pid .. "/task/*/children")
  local t = {}
  if rc == 0 then for p in out:gmatch("%d+") do t[#t + 1] = tonumber(p) end end
  return t
end

describe("dtlsrun --workers", function()
  local proc, path, port

  local function start(n, extra)
    path = script(WHO)
    proc = H.spawn("exec " .. q(H.bin) .. " --workers " .. n .. " " .. (extra or "") .. " " .. q(path))
    assert.is_truthy(proc:wait_for(function(p) return p:log():match(n .. " workers started") end, 20),
                     "the workers did not start: " .. proc:log())
    port = tonumber(proc:log():match("listening on 127%.0%.0%.1:(%d+)"))
    assert.is_number(port)
  end

  after_each(function()
    if proc then proc:cleanup() end
    if path then os.remove(path) end
    proc, path = nil, nil
  end)

  -- Connects count clients one after the other (each offering session, or
  -- the session the first one got when chain is set); returns the answers.
  local function visit(count, opts)
    opts = opts or {}
    local answers, session = {}, opts.session
    local function one(i)
      if i > count then return end
      local c = assert(dtls.connect({ type = "udp4", port = port, address = "127.0.0.1",
                                      ca = H.cert("ca.pem"), servername = "localhost",
                                      session = session }))
      c:on("secureConnect", function() c:send("who") end)
      c:on("session", function(s) if opts.chain and not session then session = s end end)
      c:on("message", function(m)
        answers[#answers + 1] = m
        c:close()
        one(i + 1)
      end)
      c:on("error", function(e) answers[#answers + 1] = "error " .. tostring(e); c:close(); one(i + 1) end)
    end
    one(1)
    assert.is_true(H.run(60000))
    return answers, session
  end

  local function count(answers, pattern)
    local n = 0
    for _, a in ipairs(answers) do if a:match(pattern) then n = n + 1 end end
    return n
  end

  it("serves 200 clients from distinct ports with both workers; socket.worker says which", function()
    start(2)
    local answers = visit(200)
    assert.equal(200, #answers)
    assert.equal(200, count(answers, "^worker=[12] reused=false$"), table.concat(answers, "\n"))
    -- The kernel's hash over 200 source ports: each worker gets some (all
    -- on one would be 1 chance in 2^199); no share is asserted here
    -- (scripts/bench --workers measures the spread).
    local one, two = count(answers, "^worker=1 "), count(answers, "^worker=2 ")
    assert.is_true(one > 0 and two > 0, one .. " / " .. two)
  end)

  it("resumes a ticket issued by one worker at the other", function()
    start(2)
    -- The first client's ticket, then 15 more clients offering it.
    local answers = visit(16, { chain = true })
    assert.equal(16, #answers)
    local issuer = answers[1]:match("^worker=(%d) reused=false$")
    assert.is_string(issuer, answers[1])
    assert.equal(15, count(answers, "reused=true$"), table.concat(answers, "\n"))
    local other = issuer == "1" and "2" or "1"
    assert.is_true(count(answers, "^worker=" .. other .. " reused=true$") > 0, table.concat(answers, "\n"))
  end)

  it("restarts a worker killed with SIGKILL; the other worker's sessions carry on", function()
    start(2)
    -- 12 sessions held open; each says which worker holds it, and the
    -- first one's worker is killed. Those on the other worker must still
    -- answer once the killed one has been restarted.
    local held, worker_of, again = {}, {}, {}
    local victim, victim_pid, answered, phase = nil, nil, 0, "who"
    local function after_restart()
      phase = "again"
      for i, c in ipairs(held) do
        if worker_of[i] ~= victim then c:send("who") end
      end
    end
    local function wait_restart()
      local t
      t = dtls.setInterval(50, function()
        if proc:log():match("worker " .. victim .. " restarted") then
          dtls.clearTimer(t)
          after_restart()
        end
      end)
    end
    for i = 1, 12 do
      local c = assert(dtls.connect({ type = "udp4", port = port, address = "127.0.0.1",
                                      ca = H.cert("ca.pem"), servername = "localhost" }))
      held[i] = c
      c:on("secureConnect", function() c:send("who") end)
      c:on("error", function() end)
      c:on("message", function(m)
        if phase == "who" then
          worker_of[i] = m:match("^worker=(%d)")
          answered = answered + 1
          if answered == #held then
            victim = worker_of[1]
            phase = "pid"
            held[1]:send("pid")
          end
        elseif phase == "pid" then
          victim_pid = tonumber(m)
          os.execute("kill -KILL " .. victim_pid)
          wait_restart()
        else
          again[#again + 1] = m
          local others = 0
          for j = 1, #held do if worker_of[j] ~= victim then others = others + 1 end end
          if #again == others then
            for _, h in ipairs(held) do h:close() end
          end
        end
      end)
    end
    assert.is_true(H.run(30000), proc:log())
    assert.is_string(victim)
    local survivor = victim == "1" and "2" or "1"
    local others = 0
    for j = 1, #held do if worker_of[j] == survivor then others = others + 1 end end
    assert.equal(others, #again)
    for _, m in ipairs(again) do assert.equal("worker=" .. survivor .. " reused=false", m) end
    assert.matches("worker " .. victim .. " %(pid " .. victim_pid .. "%) was killed by signal 9", proc:log())
    local answers = visit(12)
    assert.equal(12, count(answers, "^worker=[12] reused=false$"), table.concat(answers, "\n"))
    assert.equal(2, #children(proc:pid()))
    assert.is_nil(proc:status())
  end)

  it("SIGTERM to the master closes every session in every worker and exits 0", function()
    start(2)
    local clients, closed, secure = {}, 0, 0
    for i = 1, 6 do
      local c = assert(dtls.connect({ type = "udp4", port = port, address = "127.0.0.1",
                                      ca = H.cert("ca.pem"), servername = "localhost" }))
      clients[i] = c
      c:on("secureConnect", function()
        secure = secure + 1
        if secure == #clients then proc:kill("TERM") end
      end)
      c:on("close", function() closed = closed + 1 end)
    end
    assert.is_true(H.run(30000))
    assert.equal(6, secure)
    assert.equal(6, closed) -- each by the server's close_notify
    assert.equal(0, proc:wait_for(function(p) return p:status() end, 20))
    assert.matches("SIGTERM: stopping every worker", proc:log())
    local _, n = proc:log():gsub("SIGTERM: closing every session", "")
    assert.equal(2, n)
  end)

  it("lets a worker close a server and bind its port again", function()
    -- Each worker binds port 0 (the master picks one port for all), closes
    -- that server, and binds the same port again: it gets its socket back.
    path = script(WHO .. [[
      local port = server:address().port
      server:close(function()
        local again = assert(dtls.createServer({ type = "udp4", cert = ]]
        .. ("%q"):format(H.cert("server-ec256.pem")) .. [[, key = ]]
        .. ("%q"):format(H.cert("server-ec256.key")) .. [[ }))
        again:on("secureConnection", function(s)
          s:on("message", function() s:send(("worker=%d again"):format(s.worker)) end)
        end)
        assert(again:bind(port, "127.0.0.1"))
        dtls.log(dtls.logLevel.INFO, "bound again")
      end)
    ]])
    proc = H.spawn("exec " .. q(H.bin) .. " --workers 2 " .. q(path))
    assert.is_truthy(proc:wait_for(function(p)
      local _, n = p:log():gsub("bound again", "")
      return n == 2
    end, 20), proc:log())
    port = tonumber(proc:log():match("listening on 127%.0%.0%.1:(%d+)"))
    local answers = visit(8)
    assert.equal(8, count(answers, "^worker=[12] again$"), table.concat(answers, "\n"))
  end)

  it("exits 1 once for a script that fails to load or to run", function()
    local bad = script("local x = = 1\n")
    local rc, _, err = H.execute(q(H.bin) .. " --workers 3 " .. q(bad))
    assert.equal(1, rc)
    local _, n = err:gsub(bad:gsub("%p", "%%%0") .. ":1:", "")
    assert.equal(1, n, err)
    os.remove(bad)
    bad = script("require 'dtls'\nerror('top level failure')\n")
    rc, _, err = H.execute(q(H.bin) .. " --workers 3 " .. q(bad))
    assert.equal(1, rc)
    _, n = err:gsub("top level failure", "")
    assert.equal(1, n, err)
    os.remove(bad)
  end)

  it("takes --ticket-keys and --cookie-secret from files", function()
    local keys, secret = H.tmpname(), H.tmpname()
    local f = assert(io.open(keys, "wb")); f:write(string.rep("k", 96)); f:close()
    f = assert(io.open(secret, "wb")); f:write(string.rep("s", 32)); f:close()
    start(2, "--ticket-keys " .. q(keys) .. " --cookie-secret=" .. q(secret))
    local answers = visit(6, { chain = true })
    assert.equal(5, count(answers, "reused=true$"), table.concat(answers, "\n"))
    os.remove(keys)
    os.remove(secret)
  end)

  -- Rotation without a restart (docs/deploy.md): SIGHUP to the master
  -- reaches every worker, which reads the files again. A key removed from
  -- the file no longer opens its tickets; a key kept second still does; a
  -- bad file changes nothing. No worker is restarted on the way.
  it("reads the key files again on SIGHUP to the master, in every worker", function()
    local keys, secret = H.tmpname(), H.tmpname()
    local function write(file, bytes) local f = assert(io.open(file, "wb")); f:write(bytes); f:close() end
    local function hup(times)
      proc:kill("HUP")
      assert.is_truthy(proc:wait_for(function(p)
        local _, n = p:log():gsub("SIGHUP: key files read again", "")
        local _, bad = p:log():gsub("SIGHUP: %-%-ticket%-keys [^\n]*keeping the keys in use", "")
        return n + bad >= times
      end, 20), proc:log())
    end
    write(keys, string.rep("1", 48))
    write(secret, string.rep("s", 32))
    start(2, "--ticket-keys " .. q(keys) .. " --cookie-secret " .. q(secret))
    local kids = children(proc:pid())
    local _, old = visit(1, { chain = true })
    assert.is_string(old)
    write(keys, string.rep("2", 48)) -- key 1 gone
    hup(2)
    local answers = visit(4, { session = old })
    assert.equal(4, count(answers, "reused=false$"), table.concat(answers, "\n"))
    local _, new = visit(1, { chain = true })
    assert.is_string(new)
    write(keys, string.rep("3", 48) .. string.rep("2", 48)) -- key 3 seals, key 2 still opens
    hup(4)
    answers = visit(4, { session = new })
    assert.equal(4, count(answers, "reused=true$"), table.concat(answers, "\n"))
    write(keys, string.rep("x", 47)) -- broken: the keys in use stay
    hup(6)
    assert.matches("must hold one to 16 keys of 48 bytes %(47 bytes%); keeping the keys in use", proc:log())
    answers = visit(4, { session = new })
    assert.equal(4, count(answers, "reused=true$"), table.concat(answers, "\n"))
    assert.same(kids, children(proc:pid()))
    assert.is_nil(proc:status())
    assert.matches("SIGHUP: passed to every worker", proc:log())
    os.remove(keys)
    os.remove(secret)
  end)
end)

describe("dtlsrun key files and --workers values", function()
  local function run(args)
    local path = script("print('ran')\n")
    local rc, out, err = H.execute(q(H.bin) .. " " .. args .. " " .. q(path))
    os.remove(path)
    return rc, out, err
  end

  local function file(bytes)
    local p = H.tmpname()
    local f = assert(io.open(p, "wb")); f:write(bytes); f:close()
    return p
  end

  it("refuses bad files with exit 1, naming the flag", function()
    local short, odd, long = file(string.rep("x", 31)), file(string.rep("x", 50)), file(string.rep("x", 65))
    local rc, _, err = run("--cookie-secret " .. q(short))
    assert.equal(1, rc); assert.matches("%-%-cookie%-secret .*must hold 32 to 64 bytes %(31 bytes%)", err)
    rc, _, err = run("--cookie-secret " .. q(long))
    assert.equal(1, rc); assert.matches("%-%-cookie%-secret .*must hold 32 to 64 bytes %(65 bytes%)", err)
    rc, _, err = run("--ticket-keys " .. q(odd))
    assert.equal(1, rc); assert.matches("%-%-ticket%-keys .*48 bytes %(50 bytes%)", err)
    rc, _, err = run("--ticket-keys /nonexistent/keys")
    assert.equal(1, rc); assert.matches("%-%-ticket%-keys /nonexistent/keys: No such file", err)
    local rc2, out = run("--ticket-keys " .. q(file(string.rep("k", 48))) .. " --cookie-secret " ..
                         q(file(string.rep("c", 40))))
    assert.equal(0, rc2); assert.equal("ran\n", out)
    os.remove(short); os.remove(odd); os.remove(long)
  end)

  it("refuses bad --workers values with exit 2; --workers 1 is the plain process", function()
    for _, v in ipairs({ "0", "-1", "x", "257", "2x" }) do
      local rc, _, err = run("--workers " .. v)
      assert.equal(2, rc); assert.matches("%-%-workers needs a number", err)
    end
    local rc, out = run("--workers 1")
    assert.equal(0, rc); assert.equal("ran\n", out)
    rc, out = run("--workers=auto") -- one per CPU: each prints once
    assert.equal(0, rc); assert.matches("^ran\n", out); assert.equal("", (out:gsub("ran\n", "")))
  end)
end)

-- helpers.lua — shared by the busted specs: where things are (from the
-- environment ctest sets), a time-bounded loop runner, and small process
-- helpers for driving dtlsrun as a subprocess. Never fakes a transport.
local dtls = require "dtls"

local M = {}

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

M.root = env("DTLSRUN_ROOT", ".")
M.bin = env("DTLSRUN_BIN", M.root .. "/build/bin/dtlsrun")
M.certs = env("DTLSRUN_CERTS", M.root .. "/build/certs")
M.lua = env("DTLSRUN_LUA", "lua5.4")

function M.cert(name) return M.certs .. "/" .. name end

-- Debian's python3 (scripts/setup installs it and its modules), ahead of
-- whatever other python3 comes first on PATH.
M.python = io.open("/usr/bin/python3", "r") and "/usr/bin/python3" or "python3"

-- Server options with the test PKI's EC P-256 certificate.
function M.server_options(extra)
  local o = { type = "udp4", cert = M.cert("server-ec256.pem"), key = M.cert("server-ec256.key") }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

function M.client_options(port, extra)
  local o = { type = "udp4", port = port, address = "127.0.0.1", ca = M.cert("ca.pem"),
              servername = "localhost" }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- Runs the loop until nothing is left or timeout_ms passes; on timeout
-- every session is closed (dtls.shutdown) and false is returned.
function M.run(timeout_ms)
  local timed_out = false
  local guard = assert(dtls.setTimeout(timeout_ms or 5000, function()
    timed_out = true
    dtls.shutdown()
  end))
  guard:unref()
  dtls.run()
  dtls.clearTimer(guard)
  return not timed_out
end

-- A bound server on 127.0.0.1 with an ephemeral port; returns server, port.
function M.listen(options, on_secure)
  local server = assert(dtls.createServer(options or M.server_options(), on_secure))
  assert(server:bind(0, "127.0.0.1"))
  return server, server:address().port
end

-- A UDP port on 127.0.0.1 that was free a moment ago (for a process that
-- must be told its port before it starts).
function M.free_port()
  local s = assert(dtls.createServer(M.server_options()))
  assert(s:bind(0, "127.0.0.1"))
  local port = s:address().port
  s:close()
  M.run(1000)
  return port
end

-- Reads a whole file, or nil.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

-- Writes text to a new temporary .lua file; returns its path.
function M.script(text)
  local path = M.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.q = shell_quote

-- Runs a shell command; returns exit status, stdout, stderr.
function M.execute(cmd)
  local out, err = M.tmpname(), M.tmpname()
  local ok, how, code = os.execute("{ " .. cmd .. "\n} >" .. out .. " 2>" .. err .. " </dev/null")
  local o, e = M.read(out) or "", M.read(err) or ""
  os.remove(out)
  os.remove(err)
  if how == "signal" then code = 128 + code end
  return (ok and 0) or code, o, e
end

-- A command spawned here that gets signals (kill) and runs under timeout
-- needs `timeout --foreground`: without it timeout passes each signal on
-- twice (to the child, then to its process group), and the second one can
-- land after the child's handlers are gone.
-- Starts cmd in the background. Returns a handle with :pid(), :status()
-- (exit status once it ended, else nil), :log() (its stderr so far), :kill(sig).
function M.spawn(cmd)
  local base = M.tmpname()
  local h = { rc = base .. ".rc", err = base .. ".err", pidfile = base .. ".pid" }
  os.execute("sh -c " .. shell_quote("(" .. cmd .. ") </dev/null >/dev/null 2>" .. h.err ..
             " & echo $! >" .. h.pidfile .. "; wait $!; echo $? >" .. h.rc) .. " >/dev/null 2>&1 &")
  function h:pid()
    for _ = 1, 100 do
      local p = M.read(self.pidfile)
      if p and p:match("%d+") then return tonumber(p:match("%d+")) end
      os.execute("sleep 0.02")
    end
  end
  function h:status()
    local s = M.read(self.rc)
    return s and tonumber(s:match("%d+"))
  end
  function h:log() return M.read(self.err) or "" end
  function h:kill(sig) os.execute("kill -" .. (sig or "TERM") .. " " .. self:pid() .. " 2>/dev/null") end
  -- Polls (sleeping, outside the loop) until pred(self) or timeout_s.
  function h:wait_for(pred, timeout_s)
    local deadline = os.time() + (timeout_s or 10)
    repeat
      local v = pred(self)
      if v then return v end
      os.execute("sleep 0.05")
    until os.time() > deadline
    return nil
  end
  function h:cleanup()
    if not self:status() then self:kill("KILL") end
    os.remove(self.rc); os.remove(self.err); os.remove(self.pidfile)
  end
  return h
end

-- A UDP socket on 127.0.0.1 that reads and never answers (a peer that is
-- there but silent, unlike a closed port, which ICMP reports at once).
-- Returns its port and a handle (:cleanup() ends it), or nil when python3
-- is missing.
function M.silent_udp()
  local portfile = M.tmpname()
  local h = M.spawn("exec timeout 120 " .. M.python .. " -c " .. shell_quote(
    "import socket,sys\n" ..
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" ..
    "s.bind(('127.0.0.1', 0))\n" ..
    "open(sys.argv[1] + '.tmp', 'w').write(str(s.getsockname()[1]))\n" ..
    "import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n" ..
    "while True: s.recv(65536)\n") .. " " .. shell_quote(portfile))
  local port = h:wait_for(function(self)
    local p = M.read(portfile)
    return (p and tonumber(p)) or (self:status() and -1)
  end, 20)
  os.remove(portfile)
  if not port or port < 0 then
    h:cleanup()
    return nil
  end
  return port, h
end

-- Random printable-or-not bytes.
function M.random_bytes(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

return M

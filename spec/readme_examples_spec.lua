-- readme_examples_spec.lua — every ```lua block of README.md and docs/*.md
-- runs as printed, under dtlsrun, against a server on 127.0.0.1, and what it
-- prints is compared with the ```text block marked as its output.
--
-- Markers (HTML comments, invisible on the rendered page), before a block:
--   <!-- example: NAME -->                 runs to its end on its own
--   <!-- example: NAME server -->          runs in the background until the
--                                          client examples using it are done
--   <!-- example: NAME client of SERVER --> runs while SERVER is up
--   <!-- example: NAME fragment -->        part of a table: only compiled
-- and before the expected output:
--   <!-- output: NAME -->                  then a ```text block
-- The one change made to an example: the port 4433 becomes a free one, so
-- parallel tests never collide. Each runs in a scratch directory holding
-- server.pem, server.key and ca.pem from the test PKI.
local H = require "helpers"

local function parse(path)
  local text = assert(H.read(path), "cannot read " .. path)
  local examples, by_name = {}, {}
  local pending, expecting, block, lang, first_line
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if block then
      if line:match("^```%s*$") then
        local body = table.concat(block, "\n") .. "\n"
        if lang == "lua" then
          assert(pending, ("%s:%d: a ```lua block without an <!-- example: NAME --> marker")
                            :format(path, first_line))
          pending.code, pending.line = body, first_line
          examples[#examples + 1] = pending
          pending = nil
        elseif expecting then
          assert(by_name[expecting], ("%s:%d: output for unknown example '%s'")
                                       :format(path, first_line, expecting))
          by_name[expecting].output = body
          expecting = nil
        end
        block = nil
      else
        block[#block + 1] = line
      end
    else
      local spec = line:match("^<!%-%- example: (.-) %-%->$")
      local out = line:match("^<!%-%- output: (%S+) %-%->$")
      local fence = line:match("^```(%w*)")
      if spec then
        local name, rest = spec:match("^(%S+)%s*(.-)$")
        local e = { name = name, path = path }
        if rest == "server" or rest == "fragment" then e.kind = rest
        elseif rest:match("^client of %S+$") then e.kind, e.server = "client", rest:match("(%S+)$")
        elseif rest == "" then e.kind = "standalone"
        else error(("%s:%d: bad example marker '%s'"):format(path, n, line)) end
        assert(not by_name[name], ("%s:%d: example '%s' twice"):format(path, n, name))
        by_name[name] = e
        pending = e
      elseif out then
        expecting = out
      elseif fence then
        block, lang, first_line = {}, fence, n + 1
      end
    end
  end
  return examples, by_name
end

local function scratch_dir()
  local dir = H.tmpname()
  assert(os.execute("mkdir -p " .. H.q(dir)))
  for to, from in pairs({ ["server.pem"] = "server-ec256.pem", ["server.key"] = "server-ec256.key",
                          ["ca.pem"] = "ca.pem" }) do
    assert(os.execute("cp " .. H.q(H.cert(from)) .. " " .. H.q(dir .. "/" .. to)))
  end
  return dir
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function with_port(code, port)
  return (code:gsub("4433", tostring(port)))
end

-- Runs an example to its end (bounded); returns rc, stdout, stderr.
local function run_to_end(dir, e, port)
  local file = dir .. "/" .. e.name .. ".lua"
  write(file, with_port(e.code, port))
  return H.execute("cd " .. H.q(dir) .. " && timeout 30 " .. H.q(H.bin) .. " " .. H.q(file))
end

-- Starts a server example; returns a handle with :stop() -> rc, stdout, stderr.
local function start_server(dir, e, port)
  local file = dir .. "/" .. e.name .. ".lua"
  write(file, with_port(e.code, port))
  local out, err = file .. ".out", file .. ".err"
  local h = H.spawn("cd " .. H.q(dir) .. " && exec timeout --foreground 60 " .. H.q(H.bin) .. " " ..
                    H.q(file) .. " >" .. H.q(out) .. " 2>" .. H.q(err))
  local listening = h:wait_for(function()
    return (H.read(err) or ""):find("listening on 127.0.0.1:" .. port, 1, true) or h:status()
  end, 20)
  function h:stop()
    self:kill("TERM")
    self:wait_for(function(s) return s:status() end, 20)
    local rc = self:status()
    self:cleanup()
    return rc, H.read(out) or "", H.read(err) or ""
  end
  return h, listening and not h:status()
end

local files = { H.root .. "/README.md" }
local p = io.popen("ls " .. H.q(H.root .. "/docs") .. "/*.md 2>/dev/null")
for f in p:lines() do files[#files + 1] = f end
p:close()

describe("documentation examples", function()
  local all = {}
  for _, path in ipairs(files) do
    local examples, by_name = parse(path)
    for _, e in ipairs(examples) do all[#all + 1] = { e = e, by_name = by_name } end
  end

  it("exist, and every runnable one has its expected output", function()
    assert.is_true(#all >= 6)
    for _, x in ipairs(all) do
      if x.e.kind ~= "fragment" then
        assert.is_string(x.e.output, x.e.path .. ": example '" .. x.e.name .. "' has no output block")
      end
      if x.e.kind == "client" then
        assert.is_table(x.by_name[x.e.server], x.e.name .. ": no server example " .. tostring(x.e.server))
      end
    end
  end)

  for _, x in ipairs(all) do
    local e = x.e
    local where = e.path:gsub("^.*/([^/]+/[^/]+)$", "%1") .. ":" .. e.line
    if e.kind == "fragment" then
      it(where .. " " .. e.name .. " compiles", function()
        assert(load(e.code, "=" .. e.name))
      end)
    elseif e.kind == "standalone" then
      it(where .. " " .. e.name .. " prints what the docs say", function()
        local dir = scratch_dir()
        local rc, out, err = run_to_end(dir, e, H.free_port())
        os.execute("rm -rf " .. H.q(dir))
        assert.equal(0, rc, err)
        assert.equal(e.output, out)
      end)
    elseif e.kind == "client" then
      it(where .. " " .. e.name .. " against " .. e.server .. " prints what the docs say", function()
        local server = x.by_name[e.server]
        local dir = scratch_dir()
        local port = H.free_port()
        local h, up = start_server(dir, server, port)
        local rc, out, err = -1, "", ""
        if up then rc, out, err = run_to_end(dir, e, port) end
        local src, sout, serr = h:stop()
        os.execute("rm -rf " .. H.q(dir))
        assert.is_true(up, "server example " .. server.name .. " did not start: " .. serr)
        assert.equal(0, rc, err)
        assert.equal(e.output, out)
        assert.equal(0, src, serr)
        assert.equal(server.output, sout)
      end)
    end
  end
end)

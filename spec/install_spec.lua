-- install_spec.lua — what a user gets from `cmake --install` and from
-- `luarocks make`: dtlsrun in bin, dtls.so where stock lua5.4 finds it
-- (LUA_CPATH, or Lua 5.4's default cpath under the prefix), the dtlsrun(1)
-- man page, the docs and examples; and dtlsrun putting the script's own
-- directory on package.path. Everything goes to scratch directories.
local H = require "helpers"

local build = H.bin:match("^(.*)/bin/[^/]*$")

local function sh(cmd)
  local rc, out, err = H.execute(cmd)
  return rc, out, err
end

local function exists(path) return H.read(path) ~= nil end

describe("cmake --install", function()
  local prefix

  setup(function()
    prefix = H.tmpname()
    local rc, _, err = sh("cmake --install " .. H.q(build) .. " --prefix " .. H.q(prefix))
    assert(rc == 0, "cmake --install failed: " .. err)
  end)
  teardown(function() os.execute("rm -rf " .. H.q(prefix)) end)

  it("puts dtlsrun in bin, and it runs", function()
    local rc, out = sh(H.q(prefix .. "/bin/dtlsrun") .. " --version")
    assert.equal(0, rc)
    assert.matches("^dtlsrun %d+%.%d+%.%d+ %(Lua 5%.4", out)
  end)

  it("puts dtls.so in Lua 5.4's module directory, where plain lua5.4 loads it", function()
    local dir = prefix .. "/lib/lua/5.4"
    assert.is_true(exists(dir .. "/dtls.so"))
    -- the prefix's lib/lua/5.4 is what Lua's default cpath searches under /usr/local
    local rc, out, err = sh("env LUA_CPATH=" .. H.q(dir .. "/?.so") .. " " .. H.q(H.lua) ..
                            " -e 'local d = require \"dtls\"; print(d._VERSION, type(d.createServer))'")
    assert.equal(0, rc, err)
    assert.equal("dtls 0.1\tfunction\n", out)
    local _, cpath = sh(H.q(H.lua) .. " -e 'print(package.cpath)'")
    assert.matches("/usr/local/lib/lua/5.4/?.so", cpath, 1, true)
  end)

  it("installs the dtlsrun(1) man page, which renders without warnings", function()
    local page = prefix .. "/share/man/man1/dtlsrun.1"
    assert.is_true(exists(page))
    local rc, out, err = sh("LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l " .. H.q(page))
    assert.equal(0, rc, err)
    assert.equal("", err)
    for _, section in ipairs({ "NAME", "SYNOPSIS", "OPTIONS", "PLAIN LUA", "ENVIRONMENT", "EXIT STATUS" }) do
      assert.matches("\n" .. section .. "\n", out, 1, true)
    end
    assert.matches("LUA_CPATH", out, 1, true)
  end)

  it("installs the docs and the examples, and an installed example finds its module", function()
    local doc = prefix .. "/share/doc/dtlsrun"
    for _, f in ipairs({ "README.md", "psk-coap.md", "examples/echo.lua", "examples/coap-hello.lua",
                         "examples/coap.lua" }) do
      assert.is_true(exists(doc .. "/" .. f), f)
    end
    -- coap-hello.lua requires "coap" from its own directory, from anywhere
    local probe = doc .. "/examples/probe.lua"
    local f = assert(io.open(probe, "w"))
    f:write("print(type(require('coap')))\n")
    f:close()
    local rc, out, err = sh("cd / && timeout 20 " .. H.q(prefix .. "/bin/dtlsrun") .. " " .. H.q(probe))
    assert.equal("table\n", out)
    assert.equal(0, rc, err)
  end)
end)

describe("dtlsrun", function()
  it("puts the script's directory first on package.path", function()
    local dir = H.tmpname()
    assert(os.execute("mkdir -p " .. H.q(dir .. "/lib")))
    local f = assert(io.open(dir .. "/helpermod.lua", "w"))
    f:write("return { answer = 42 }\n")
    f:close()
    f = assert(io.open(dir .. "/main.lua", "w"))
    f:write("print(require('helpermod').answer, package.path:sub(1, #arg[1]) == arg[1])\n")
    f:close()
    local rc, out, err = sh("cd / && " .. H.q(H.bin) .. " " .. H.q(dir .. "/main.lua") .. " " ..
                            H.q(dir .. "/?.lua;"))
    os.execute("rm -rf " .. H.q(dir))
    assert.equal(0, rc, err)
    assert.equal("42\ttrue\n", out)
  end)
end)

describe("luarocks make", function()
  it("builds and installs the rock from a copy of the checkout, offline", function()
    if sh("command -v luarocks") ~= 0 then
      print("SKIPPED: luarocks is not installed (Debian package luarocks)")
      return
    end
    local work = H.tmpname()
    local src, tree = work .. "/src", work .. "/tree"
    assert(os.execute("mkdir -p " .. H.q(src) .. " && cd " .. H.q(H.root) ..
      " && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T - | tar -xf - -C " ..
      H.q(src)))
    -- --lua-dir: the sanitizer build puts a lua5.4 wrapper first on PATH
    local rc, out, err = sh("cd " .. H.q(src) .. " && timeout 240 luarocks --lua-version=5.4 --lua-dir=/usr " ..
                            "make --tree " .. H.q(tree) .. " dtlsrun-scm-1.rockspec")
    local ok_module = exists(tree .. "/lib/lua/5.4/dtls.so")
    local lrc, lout = sh("env LUA_CPATH=" .. H.q(tree .. "/lib/lua/5.4/?.so") .. " " .. H.q(H.lua) ..
                         " -e 'print(require(\"dtls\")._VERSION)'")
    local brc = sh(H.q(tree .. "/bin/dtlsrun") .. " --version")
    os.execute("rm -rf " .. H.q(work))
    assert.equal(0, rc, out .. err)
    assert.is_true(ok_module)
    assert.equal(0, lrc)
    assert.equal("dtls 0.1\n", lout)
    assert.equal(0, brc)
  end)
end)

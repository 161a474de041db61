-- connect_spec.lua — dtls.connect as a new user writes it: the socket
-- handed to the secureConnect callback, an options table after the three
-- node-dtls arguments, and a client without `ca` that verifies against the
-- system trust store (OpenSSL's default paths, SSL_CERT_FILE, SSL_CERT_DIR).
local dtls = require "dtls"
local H = require "helpers"

local function echo_server()
  return H.listen(H.server_options(), function(socket)
    socket:on("message", function(msg) socket:send(msg) end)
  end)
end

describe("dtls.connect(port, address, type [, options] [, cb])", function()
  it("passes the socket to the secureConnect callback", function()
    local server, port = echo_server()
    local got, reply
    local client
    client = assert(dtls.connect(port, "127.0.0.1", "udp4", { ca = H.cert("ca.pem") },
      function(socket)
        got = socket
        socket:send("foo")
      end))
    client:on("message", function(msg)
      reply = msg
      client:close()
      server:close()
    end)
    assert.is_true(H.run(5000))
    assert.is_true(rawequal(client, got))
    assert.equal("foo", reply)
  end)

  it("passes the socket to secureConnect listeners added with on", function()
    local server, port = echo_server()
    local client = assert(dtls.connect(H.client_options(port)))
    local got
    client:on("secureConnect", function(socket) got = socket; socket:close(); server:close() end)
    assert.is_true(H.run(5000))
    assert.is_true(rawequal(client, got))
  end)

  it("reads the options table like the table form, and refuses clashes and typos", function()
    local c, err = dtls.connect(4433, "127.0.0.1", "udp4", { port = 1 })
    assert.is_nil(c); assert.matches("port: given as an argument", err)
    c, err = dtls.connect(4433, "127.0.0.1", "udp4", { type = "udp6" })
    assert.is_nil(c); assert.matches("type: given as an argument", err)
    c, err = dtls.connect(4433, "127.0.0.1", "udp4", { rejectUnauthorised = false })
    assert.is_nil(c); assert.matches("unknown option 'rejectUnauthorised'", err)
    c, err = dtls.connect(4433, "127.0.0.1", "udp4", { ca = "/nonexistent/ca.pem" })
    assert.is_nil(c); assert.matches("^ca:", err)
    assert.has_error(function() dtls.connect(4433, "127.0.0.1", "udp4", {}, 5) end)
    assert.has_error(function() dtls.connect(4433, "127.0.0.1", "udp4", "x") end)
    -- the caller's table is not changed
    local opts = { ca = H.cert("ca.pem") }
    c = assert(dtls.connect(4433, "127.0.0.1", "udp4", opts))
    c:close()
    assert.same({ ca = H.cert("ca.pem") }, opts)
  end)
end)

-- A child lua5.4 with its own environment: the trust store is read when
-- the client's configuration is built.
local child_script = [[
local dtls = require "dtls"
local port = tonumber(arg[1])
local server = assert(dtls.createServer({ type = "udp4", cert = arg[2], key = arg[3] },
  function(s) s:on("message", function(m) s:send(m) end) end))
assert(server:bind(port, "127.0.0.1"))
local client = assert(dtls.connect(server:address().port, "127.0.0.1", "udp4", function(c)
  c:send("verified")
end))
client:on("message", function(m) print(m); client:close(); server:close() end)
client:on("error", function(e) print("error: " .. tostring(e)); server:close() end)
dtls.run()
]]

describe("a client without ca", function()
  local script
  setup(function()
    script = H.script(child_script)
  end)
  teardown(function() os.remove(script) end)

  local function run_child(env)
    local cmd = " " .. H.q(script) .. " 0 " ..
                H.q(H.cert("server-ec256.pem")) .. " " .. H.q(H.cert("server-ec256.key"))
    local rc, out, err = H.execute("env " .. env .. " timeout 20 " .. H.q(H.lua) .. cmd)
    return rc, out, err
  end

  it("trusts what SSL_CERT_FILE names", function()
    local rc, out, err = run_child("SSL_CERT_FILE=" .. H.q(H.cert("ca.pem")) .. " SSL_CERT_DIR=/nonexistent")
    assert.equal(0, rc, err)
    assert.equal("verified\n", out)
  end)

  it("refuses a server the system store does not vouch for (unknown_ca)", function()
    local rc, out, err = run_child("SSL_CERT_FILE=" .. H.q(H.cert("other-ca.pem")) .. " SSL_CERT_DIR=/nonexistent")
    assert.equal(0, rc, err)
    assert.matches("^error: unknown_ca alert sent", out)
  end)

  it("trusts a hashed directory that SSL_CERT_DIR names", function()
    local dir = H.tmpname()
    assert(os.execute("mkdir -p " .. H.q(dir) .. " && cp " .. H.q(H.cert("ca.pem")) .. " " ..
                      H.q(dir) .. "/ && openssl rehash " .. H.q(dir) .. " 2>/dev/null"))
    local rc, out, err = run_child("SSL_CERT_FILE=/nonexistent SSL_CERT_DIR=" .. H.q(dir))
    os.execute("rm -rf " .. H.q(dir))
    assert.equal(0, rc, err)
    assert.equal("verified\n", out)
  end)
end)

-- keylog_spec.lua — SSLKEYLOGFILE and the 'keylog' event, proven the way
-- they are used: a loopback session captured with dumpcap, then decrypted by
-- tshark with the key log, and the plaintext found; without the key log it
-- stays hidden. Needs Debian's tshark (dumpcap and tshark) and the right to
-- capture on lo (root); skips loudly otherwise.
local H = require "helpers"

local secret = "the plaintext only the key log reveals"

local script = [[
local dtls = require "dtls"
local port = tonumber(arg[1])
local server
server = assert(dtls.createServer({ type = "udp4", cert = arg[2], key = arg[3] }, function(s)
  s:on("message", function(m) s:send("echo: " .. m) end)
end))
server:on("keylog", function(line, rinfo)
  io.write("server ", rinfo.address, " ", line)
end)
assert(server:bind(port, "127.0.0.1"))
local c = assert(dtls.connect(port, "127.0.0.1", "udp4", { ca = arg[4] }, function(s)
  s:send(arg[5])
end))
c:on("keylog", function(line) io.write("client ", line) end)
c:on("message", function(m) print(m); c:close(); server:close() end)
]]

local function have(cmd) return H.execute("command -v " .. cmd) == 0 end

-- tshark's view of the capture: "content_type<TAB>decrypted hex" per record.
local function tshark_records(pcap, port, keyfile)
  local opts = keyfile and ("-o " .. H.q("tls.keylog_file:" .. keyfile) .. " ") or ""
  local rc, out, err = H.execute("tshark -r " .. H.q(pcap) .. " " .. opts .. "-d udp.port==" .. port ..
    ",dtls -Y dtls -T fields -e dtls.record.content_type -e data.data -e dtls.handshake.random")
  assert(rc == 0, err)
  return out
end

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

describe("SSLKEYLOGFILE and the keylog event", function()
  it("decrypt a captured session in tshark, and nothing else does", function()
    if not (have("tshark") and have("dumpcap")) then
      print("SKIPPED: tshark/dumpcap not installed (Debian package tshark)")
      return
    end
    local dir = H.tmpname()
    assert(os.execute("mkdir -p " .. H.q(dir)))
    local pcap, keys, lua = dir .. "/session.pcapng", dir .. "/keys.txt", dir .. "/session.lua"
    local f = assert(io.open(lua, "w"))
    f:write(script)
    f:close()
    local port = H.free_port()

    local cap = H.spawn("exec timeout --foreground 60 dumpcap -i lo -f " .. H.q("udp port " .. port) ..
                        " -w " .. H.q(pcap))
    local capturing = cap:wait_for(function(h) return h:log():find("Capturing on", 1, true) or h:status() end, 30)
    if not capturing or cap:status() then
      local log = cap:log()
      cap:cleanup()
      os.execute("rm -rf " .. H.q(dir))
      print("SKIPPED: dumpcap cannot capture on lo here: " .. log)
      return
    end

    local rc, out, err = H.execute("env SSLKEYLOGFILE=" .. H.q(keys) .. " timeout 30 " .. H.q(H.bin) .. " " ..
      H.q(lua) .. " " .. port .. " " .. H.q(H.cert("server-ec256.pem")) .. " " ..
      H.q(H.cert("server-ec256.key")) .. " " .. H.q(H.cert("ca.pem")) .. " " .. H.q(secret))
    -- let the last datagrams reach the capture file, then stop dumpcap (by its pid)
    os.execute("sleep 0.5")
    cap:kill("INT")
    cap:wait_for(function(h) return h:status() end, 20)
    cap:cleanup()

    local keylog = H.read(keys) or ""
    local _, mode = H.execute("stat -c %a " .. H.q(keys))
    local with_keys = tshark_records(pcap, port, keys)
    local without = tshark_records(pcap, port, nil)
    os.execute("rm -rf " .. H.q(dir))

    assert.equal(0, rc, err)
    assert.matches("WARN SSLKEYLOGFILE is set", err, 1, true)
    -- the events: one NSS line per side, the same line (one session)
    local client_line = out:match("client (CLIENT_RANDOM %x+ %x+\n)")
    local server_line = out:match("server 127%.0%.0%.1 (CLIENT_RANDOM %x+ %x+\n)")
    assert.is_string(client_line, out)
    assert.equal(client_line, server_line)
    assert.matches("^CLIENT_RANDOM " .. string.rep("%x", 64) .. " " .. string.rep("%x", 96) .. "\n$",
                   client_line)
    assert.matches("echo: " .. secret, out, 1, true)
    -- the file: both sides' lines, private
    assert.equal(client_line .. client_line, keylog)
    assert.equal("600\n", mode)
    -- the client_random is the ClientHello's
    local hello_random = with_keys:match("^22\t\t(%x+)")
    assert.equal(client_line:match("^CLIENT_RANDOM (%x+)"), hello_random)
    -- with the key log, tshark finds both application records' plaintext
    local plain = {}
    for hex in with_keys:gmatch("\n23\t(%x+)") do plain[#plain + 1] = unhex(hex) end
    assert.same({ secret, "echo: " .. secret }, plain)
    -- without it, the records are there and nothing is readable
    assert.matches("\n23\t\t", without)
    assert.is_nil(without:match("\n23\t%x"))
  end)
end)

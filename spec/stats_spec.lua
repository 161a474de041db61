-- stats_spec.lua — what an operator counts: server:stats() (handshakes done
-- and failed by alert, records dropped by reason, sessions live, datagrams
-- and bytes), and the same numbers from dtlsrun --metrics ADDR:PORT in
-- Prometheus' text format, read back by the prometheus_client parser
-- (Debian python3-prometheus-client).
local dtls = require "dtls"
local H = require "helpers"

-- One session that echoes "ping" and then one handshake the client refuses
-- (it trusts another CA: unknown_ca). on_live runs while the session is up,
-- on_done once the refused one has ended.
local function traffic(port, on_live, on_done)
  local good = assert(dtls.connect(H.client_options(port), function(s) s:send("ping") end))
  good:on("message", function()
    if on_live then on_live() end
    good:close()
    local bad = assert(dtls.connect(H.client_options(port, { ca = H.cert("other-ca.pem") })))
    bad:on("error", function() end)
    bad:on("close", function() if on_done then on_done() end end)
  end)
end

describe("server:stats()", function()
  it("counts handshakes, failures by alert, sessions, datagrams and bytes", function()
    local server, port
    server, port = H.listen(H.server_options(), function(s)
      s:on("message", function(m) s:send(m) end)
    end)
    local live, after
    traffic(port, function() live = server:stats() end, function()
      -- the server learns of the refusal from the client's alert: wait for
      -- its side of the failed handshake to end too
      local function check()
        local st = server:stats()
        if st.handshaking > 0 or st.sessions > 0 then return dtls.setTimeout(10, check) end
        after = st
        server:close()
      end
      check()
    end)
    assert.is_true(H.run(10000))

    assert.equal(1, live.sessions)
    assert.equal(0, live.handshaking)
    assert.equal(1, live.handshakesDone)
    assert.equal(1, live.helloVerifyRequests) -- each handshake begins with one (RFC 6347 4.2.1)
    assert.same({}, live.handshakesFailed)
    assert.is_true(live.datagramsIn >= 4 and live.datagramsOut >= 4)
    assert.is_true(live.bytesIn > 0 and live.bytesOut > 0)

    assert.equal(0, after.sessions)
    assert.equal(0, live.reassemblyBytes) -- every message came whole
    assert.equal(0, after.reassemblyBytes)
    assert.equal(1, after.handshakesDone)
    assert.equal(2, after.helloVerifyRequests)
    assert.same({ unknown_ca = 1 }, after.handshakesFailed)
    assert.same({ malformed = 0, auth = 0, replay = 0, epoch = 0, unexpected = 0, overCapacity = 0 },
                after.dropped)
    assert.is_true(after.datagramsIn > live.datagramsIn)
    local none, err = server:stats()
    assert.is_nil(none)
    assert.equal("server is closed", err)
  end)
end)

describe("dtlsrun --metrics", function()
  it("serves the counters in Prometheus text format", function()
    if H.execute(H.python .. " -c 'import prometheus_client'") ~= 0 then
      print("SKIPPED: python3-prometheus-client is not installed")
      return
    end
    local script = H.script([[
      local dtls = require "dtls"
      local server = assert(dtls.createServer({ type = "udp4", cert = arg[1], key = arg[2] }, function(s)
        s:on("message", function(m) s:send(m) end)
      end))
      assert(server:bind(0, "127.0.0.1"))
    ]])
    local proc = H.spawn("exec timeout --foreground 60 " .. H.q(H.bin) .. " --metrics 127.0.0.1:0 " ..
                         H.q(script) .. " " ..
                         H.q(H.cert("server-ec256.pem")) .. " " .. H.q(H.cert("server-ec256.key")))
    local up = proc:wait_for(function(h)
      return h:log():match("metrics on http://127%.0%.0%.1:%d+/metrics") or h:status()
    end, 20)
    local log = proc:log()
    local port = tonumber(log:match("listening on 127%.0%.0%.1:(%d+)"))
    local mport = tonumber(log:match("metrics on http://127%.0%.0%.1:(%d+)/metrics"))
    if not (up and port and mport) then
      proc:cleanup()
      error("dtlsrun did not start: " .. log)
    end
    traffic(port)
    assert.is_true(H.run(5000))

    local rc, out, err = H.execute(H.python .. " -c " .. H.q([[
import sys, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
base = "http://127.0.0.1:" + sys.argv[1]
resp = urllib.request.urlopen(base + "/metrics", timeout=10)
assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4"), resp.headers
text = resp.read().decode()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s %s %s %g" % (family.type, s.name, labels, s.value))
try:
    urllib.request.urlopen(base + "/other", timeout=10)
except urllib.error.HTTPError as e:
    print("other", e.code)
]]) .. " " .. mport)
    proc:kill("TERM")
    proc:wait_for(function(h) return h:status() end, 20)
    local status = proc:status()
    proc:cleanup()
    os.remove(script)

    assert.equal(0, rc, err)
    local server = "server=127.0.0.1:" .. port
    local function has(line) assert.matches("\n" .. line .. "\n", "\n" .. out, 1, true) end
    has("counter dtlsrun_handshakes_total " .. server .. " 1")
    has("counter dtlsrun_hello_verify_requests_total " .. server .. " 2")
    has("counter dtlsrun_handshake_failures_total reason=unknown_ca," .. server .. " 1")
    has("counter dtlsrun_handshake_failures_total reason=timeout," .. server .. " 0")
    has("gauge dtlsrun_sessions " .. server .. " 0")
    has("gauge dtlsrun_handshakes_in_progress " .. server .. " 0")
    has("gauge dtlsrun_reassembly_bytes " .. server .. " 0")
    has("counter dtlsrun_records_dropped_total reason=auth," .. server .. " 0")
    assert.matches("counter dtlsrun_datagrams_received_total " .. server:gsub("%.", "%%.") .. " [1-9]", out)
    assert.matches("counter dtlsrun_sent_bytes_total " .. server:gsub("%.", "%%.") .. " [1-9]", out)
    has("other 404")
    assert.equal(0, status)
  end)

  it("refuses a malformed ADDR:PORT", function()
    local rc, _, err = H.execute(H.q(H.bin) .. " --metrics 9464 x.lua")
    assert.equal(2, rc)
    assert.matches("--metrics needs ADDR:PORT", err, 1, true)
  end)
end)

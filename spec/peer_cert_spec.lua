-- peer_cert_spec.lua — what an operator reads about a peer, as node's tls
-- gives it: peerCertificate { subject, issuer, serialNumber, subjectaltname,
-- validFrom, validTo, fingerprint256, pem, raw } (checked against what
-- `openssl x509` says of the same file), and socket.authorized /
-- socket.authorizationError on both sides.
local dtls = require "dtls"
local H = require "helpers"

local function openssl(args)
  local rc, out, err = H.execute("openssl x509 " .. args)
  assert(rc == 0, err)
  return out
end

-- One handshake; returns the client socket and the server's socket.
local function session(server_opts, client_opts)
  local server, port, server_socket
  server, port = H.listen(server_opts, function(s) server_socket = s end)
  local c = assert(dtls.connect(H.client_options(port, client_opts)))
  c:on("secureConnect", function() c:close(); server:close() end)
  assert.is_true(H.run(5000))
  assert.is_not_nil(server_socket, "the handshake did not complete")
  return c, server_socket
end

describe("peerCertificate", function()
  it("has node's fields, as openssl x509 reads the same certificate", function()
    local c = session(H.server_options(), {})
    local pc = c.peerCertificate
    local file = H.q(H.cert("server-ec256.pem"))
    assert.equal("CN=localhost", pc.subject)
    assert.equal(openssl("-noout -issuer -nameopt RFC2253 -in " .. file):match("^issuer=(.-)\n"), pc.issuer)
    assert.equal(openssl("-noout -serial -in " .. file):match("^serial=(%x+)\n"), pc.serialNumber)
    assert.equal("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1", pc.subjectaltname)
    assert.equal(openssl("-noout -startdate -in " .. file):match("^notBefore=(.-)\n"), pc.validFrom)
    assert.equal(openssl("-noout -enddate -in " .. file):match("^notAfter=(.-)\n"), pc.validTo)
    assert.equal(openssl("-outform DER -in " .. file), pc.raw)
    assert.equal(openssl("-noout -fingerprint -sha256 -in " .. file):match("=(.-)\n"), pc.fingerprint256)
    assert.equal(openssl("-in " .. file), pc.pem)
    assert.is_true(c.authorized)
    assert.is_nil(c.authorizationError)
  end)
end)

describe("socket.authorized", function()
  it("is false, with the reason, when the client did not verify", function()
    local c = session(H.server_options({ cert = H.cert("server-untrusted.pem"),
                                         key = H.cert("server-untrusted.key") }),
                      { rejectUnauthorized = false })
    assert.is_false(c.authorized)
    assert.equal("the certificate was not verified (rejectUnauthorized = false)", c.authorizationError)
    assert.equal("CN=localhost", c.peerCertificate.subject)
  end)

  it("on the server: true for a client certificate verified against ca", function()
    local _, s = session(H.server_options({ requestCert = true, ca = H.cert("ca.pem") }),
                         { cert = H.cert("client.pem"), key = H.cert("client.key") })
    assert.is_true(s.authorized)
    assert.is_nil(s.authorizationError)
    assert.equal("CN=dtlsrun-test-client", s.peerCertificate.subject)
  end)

  it("on the server: false without a ca, and false when no certificate came", function()
    local _, s = session(H.server_options({ requestCert = true, rejectUnauthorized = false }),
                         { cert = H.cert("client.pem"), key = H.cert("client.key") })
    assert.is_false(s.authorized)
    assert.equal("no ca to verify the certificate against", s.authorizationError)
    local _, s2 = session(H.server_options({ requestCert = true, rejectUnauthorized = false,
                                             ca = H.cert("ca.pem") }), {})
    assert.is_false(s2.authorized)
    assert.equal("the peer sent no certificate", s2.authorizationError)
    assert.is_nil(s2.peerCertificate)
  end)

  it("is true for a PSK session on both sides", function()
    local key = dtls.hex("00112233445566778899aabbccddeeff")
    local c, s = session({ type = "udp4", psk = { id = key } },
                         { psk = { identity = "id", key = key } })
    assert.is_true(c.authorized)
    assert.is_true(s.authorized)
    assert.is_nil(s.authorizationError)
  end)
end)

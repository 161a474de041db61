# make_seeds.py — the hand-written seeds of dtls/fuzz/corpus/{record,reasm,session}/
# in those targets' input formats (see each target's header comment).
# Usage: python3 dtls/fuzz/make_seeds.py OUT_DIR build-fuzz/corpus/server/PSK-AES128-CCM8
import os, struct, sys
base = sys.argv[1]
def save(t, name, b):
    os.makedirs(f"{base}/{t}", exist_ok=True)
    open(f"{base}/{t}/{name}", "wb").write(bytes(b))
u16 = lambda v: list(struct.pack(">H", v))
def rec(type_, payload, move=0, d=0):
    return [type_, move] + u16(d) + u16(len(payload)) + list(payload)
def sealed(to_client, records, moved=False):
    op = 0x02 | (1 if to_client else 0) | (0x80 if moved else 0)
    return [op, len(records) - 1] + sum(records, [])
DELIVER = [0x08]
def time(ms): return [0x06] + u16(ms >> 6)
hello_request = [0, 0,0,0, 0,0, 0,0,0, 0,0,0]
# a ClientHello message from the recorded handshakes (make_corpus output)
srv = open(sys.argv[2], "rb").read()
l = struct.unpack(">H", srv[:2])[0]; dg = srv[2:2+l]
ch = list(dg[13:13+struct.unpack(">H", dg[11:13])[0]])
for v in (0, 1, 2, 3, 4, 5, 6, 8):
    save("record", f"app-{v}", [v] + sealed(False, [rec(23, b"ping")]) + DELIVER)
    save("record", f"close-{v}", [v] + sealed(False, [rec(21, [1, 0])]) + DELIVER)
    save("record", f"fatal-{v}", [v] + sealed(True, [rec(21, [2, 40])]) + DELIVER)
    save("record", f"hello-request-{v}", [v] + sealed(True, [rec(22, hello_request)]) + DELIVER)
    save("record", f"renegotiate-{v}", [v] + sealed(False, [rec(22, ch)]) + DELIVER)
    save("record", f"replay-{v}", [v] + sealed(False, [rec(23, b"a"), rec(23, b"b", 1, 1)]) + DELIVER)
    save("record", f"window-{v}", [v] + sealed(False, [rec(23, b"a", 2, 100), rec(23, b"b", 1, 70), rec(23, b"c", 1, 2)]))
    save("record", f"exhaust-{v}", [v] + sealed(False, [rec(23, b"a", 3, 1), rec(23, b"b")]) + sealed(True, [rec(23, b"x", 3, 0)]) + DELIVER)
    save("record", f"inner-type-{v}", [v] + sealed(False, [rec(99, b"zz"), rec(23, b"")]))
    save("record", f"api-{v}", [v, 0x04, 3] + list(b"abc") + DELIVER + [0x05, 2] + list(b"hi") + DELIVER + time(700000))
    save("record", f"plain-hello-{v}", [v] + sealed(False, [rec(22, ch, 4)]) + DELIVER)
    save("record", f"moved-{v}", [v] + sealed(False, [rec(23, b"m")], True) + DELIVER)
for v in (3, 4):
    cid = list(range(0xC0, 0xC8)) if v == 3 else list(range(0xC0, 0xC4))
    raw = [25, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9] + cid + u16(24) + [0] * 24
    save("record", f"raw-cid-{v}", [v, 0x00] + u16(len(raw)) + raw)
# reassembly: type, seq (2 = expected), flags, len, off, flen, bytes
def frag(t, seq, flags, ln, off, body=None, fill=None, flen=None, claimed=None):
    b = [t, seq, flags]
    if flags & 1:
        b += list(struct.pack(">I", ln)[1:]) + list(struct.pack(">I", off)[1:])
    else:
        b += u16(ln) + u16(off)
    if flags & 2:
        b += u16(flen) + [fill]
    else:
        b += u16(len(body)) + list(body)
    if flags & 4:
        b += u16(claimed)
    return b
cke = b"\x00\x07client1"
save("reasm", "psk-cke-3", [1] + frag(16, 2, 0, 9, 0, cke[:3]) + frag(16, 2, 0x80, 9, 3, cke[3:6]) + frag(16, 2, 0x80, 9, 6, cke[6:]))
save("reasm", "psk-cke-whole", [1] + frag(16, 2, 0x80, 9, 0, cke))
big = [0]
for k in range(0, 30000, 1399):
    big += frag(11, 2, 0x82, 30000, k, fill=0x30, flen=min(1399, 30000 - k))
save("reasm", "cert-30k", big)
spray = [0]
for s in range(2, 12):
    for k in range(0, 32768, 4096):
        spray += frag(11, s, 0x02 | (0x80 if k == 0 else 0), 32768, k, fill=1, flen=1)
save("reasm", "spray-1byte", spray)
save("reasm", "overlap", [0] + frag(11, 2, 0x82, 2000, 0, fill=7, flen=1000) + frag(11, 2, 0x82, 2000, 500, fill=7, flen=1000)
     + frag(11, 2, 0x82, 2000, 1999, fill=7, flen=5) + frag(11, 2, 0x83, 0xFFFFFF, 0xFFFFF0, fill=7, flen=100))
save("reasm", "rival", [0] + frag(11, 2, 0x82, 3000, 0, fill=1, flen=1000) + frag(11, 2, 0x82, 4000, 0, fill=2, flen=1000)
     + frag(12, 2, 0x82, 3000, 1000, fill=3, flen=1000) + frag(11, 2, 0xC2, 3000, 1000, fill=1, flen=2000))
save("reasm", "lie", [1] + frag(16, 2, 0x84, 9, 0, cke, claimed=100) + frag(16, 2, 0x84, 9, 0, cke, claimed=3))
save("reasm", "epoch1", [1] + frag(20, 3, 0x88, 12, 0, b"x" * 12) + frag(16, 2, 0x80, 9, 0, cke))
# sessions: mode 0 decode, 1 ticket, 2 cache
sess = [1] + u16(0xFEFD) + u16(0xC02B) + [1] + [0x5A] * 48 + list(struct.pack(">Q", 1700000000000)) + list(struct.pack(">I", 7200))
sess += [32] + [1] * 32 + [12] + list(b"fuzz.example") + [7] + list(b"client1") + u16(3) + [0x30, 1, 0]
save("session", "decode", [0, 0] + sess)
save("session", "decode-ticket", [0, 1] + sess + u16(4) + [9, 9, 9, 9])
save("session", "ticket", [1, 0, 0, 0])
save("session", "ticket-flip", [1, 0, 0, 0, 0, 40, 0x80])
save("session", "ticket-trunc", [1, 2 | (16 << 2), 0, 0])
save("session", "ticket-late", [1, 0, 0x10, 0x00])
save("session", "ticket-raw", [1, 1, 0, 0] + [0] * 60)
put = lambda i, salt, exp: [(i << 2) | 0, salt] + u16(exp)
get = lambda i: [(i << 2) | 1]
rm = lambda i: [(i << 2) | 2]
save("session", "cache", [2, 4] + put(0, 1, 5000) + put(1, 2, 5000) + get(0) + rm(0) + get(0) + get(1)
     + put(2, 3, 10) + [3, 200] + get(2) + put(3, 4, 9000) + put(4, 5, 9000) + put(5, 6, 9000) + get(1) + [0x20 | 2, 8])

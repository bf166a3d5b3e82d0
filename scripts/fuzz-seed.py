#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ for the cargo-fuzz targets in fuzz/ (see docs/fuzzing.md).

Copies at seed time, never committed (fuzz/corpus is git-ignored): captures/*.pcap, the
sv-dev conformance captures (first 64 KB each), rules/*.rules, the sv-dev test rules and a
fixed sample of ET Open rules (one rule per file), configs/*.toml. Derives the decode seeds
(one frame each, link-type selector byte first) and defrag seeds (length-prefixed IP
fragment sequences) from the captures, plus a few synthetic fragment sequences.

Usage: scripts/fuzz-seed.py [--shared ../shared] [--rules-sample 300]
Files already present (same content hash name) are left alone; inputs found by fuzzing stay.
"""
import argparse
import glob
import hashlib
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK_TYPES = [0, 1, 9, 12, 14, 101, 104, 108, 113, 228, 229, 276]
MAX_CAPTURE = 64 * 1024


def put(target, data, counts):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1


def frames(data):
    """(linktype, frame) pairs of a classic pcap or pcapng file; stops quietly at damage."""
    out = []
    if len(data) < 24:
        return out
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        lt = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + "I", data[off + 8 : off + 12])[0]
            if incl > 262144 or off + 16 + incl > len(data):
                break
            out.append((lt, data[off + 16 : off + 16 + incl]))
            off += 16 + incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        ifaces, off = [], 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack(e + "II", data[off : off + 8])
            if blen < 12 or off + blen > len(data):
                break
            body = data[off + 8 : off + blen - 4]
            if btype == 1 and len(body) >= 2:
                ifaces.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, _, _, cap = struct.unpack(e + "IIII", body[:16])
                if iface < len(ifaces):
                    out.append((ifaces[iface], body[20 : 20 + cap]))
            elif btype == 3 and len(body) >= 4 and ifaces:
                out.append((ifaces[0], body[4:]))
            off += blen
    return out


def ip_start(lt, f):
    """Offset of the IP header in a frame, or None."""
    if lt in (101, 12, 14, 228, 229):
        return 0
    if lt in (0, 108):
        return 4
    if lt == 113:
        return 16
    if lt == 276:
        return 20
    if lt == 1:
        off, et = 14, f[12:14]
        while et in (b"\x81\x00", b"\x88\xa8", b"\x91\x00") and len(f) >= off + 4:
            et, off = f[off + 2 : off + 4], off + 4
        return off if et in (b"\x08\x00", b"\x86\xdd") else None
    return None


def is_fragment(ip):
    if len(ip) >= 20 and ip[0] >> 4 == 4:
        fo = struct.unpack(">H", ip[6:8])[0]
        return fo & 0x3FFF != 0
    if len(ip) >= 48 and ip[0] >> 4 == 6:
        return ip[6] == 44  # Fragment header first (the common case)
    return False


def lp(frames_):
    return b"".join(struct.pack(">H", len(f)) + f for f in frames_)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v4_frags(payload, cuts, ident=0x1234, proto=17):
    out = []
    bounds = [0] + cuts + [len(payload)]
    for a, b in zip(bounds, bounds[1:]):
        mf = 0x2000 if b < len(payload) else 0
        h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + b - a, ident, mf | (a // 8), 64, proto, 0,
                        bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        h = h[:10] + struct.pack(">H", csum(h)) + h[12:]
        out.append(h + payload[a:b])
    return out


def v6_frags(payload, cuts, ident=0xBEEF, nh=17):
    out = []
    bounds = [0] + cuts + [len(payload)]
    src, dst = bytes(15) + b"\x01", bytes(15) + b"\x02"
    for a, b in zip(bounds, bounds[1:]):
        m = 1 if b < len(payload) else 0
        fh = struct.pack(">BBHI", nh, 0, a | m, ident)
        h = struct.pack(">IHBB16s16s", 0x60000000, 8 + b - a, 44, 64, src, dst)
        out.append(h + fh + payload[a:b])
    return out


def synthetic_defrag(counts):
    udp = struct.pack(">HHHH", 5353, 53, 8 + 40, 0) + bytes(range(40))
    f4 = v4_frags(udp, [16, 32])
    put("defrag", lp(f4), counts)
    put("defrag", lp(list(reversed(f4))), counts)
    put("defrag", lp([f4[0], f4[1], f4[1], f4[2]]), counts)  # duplicate
    ovl = v4_frags(udp, [24])
    put("defrag", lp(f4[:2] + ovl[1:]), counts)  # overlap
    put("defrag", lp(v4_frags(udp, [8, 16, 24, 32, 40], ident=7) + f4), counts)
    tcp = struct.pack(">HHIIBBHHH", 1234, 80, 1, 0, 0x50, 0x02, 1024, 0, 0) + b"GET /a.exe HTTP/1.0\r\n\r\n"
    put("defrag", lp(v4_frags(tcp, [8], proto=6)), counts)
    f6 = v6_frags(udp, [16, 32])
    put("defrag", lp(f6), counts)
    put("defrag", lp(list(reversed(f6)) + f4), counts)


def pcapng_of(lt, frs):
    """A minimal little-endian pcapng file (SHB, one IDB, EPBs)."""
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", t, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", lt, 0, 65535))
    for i, f in enumerate(frs):
        out += block(6, struct.pack("<IIIII", 0, 0, 1_000_000 * (i + 1), len(f), len(f)) + f)
    return out


def synthetic_stream(counts):
    """Segment sequences for the stream target: [flags, dir, seq delta, ack delta, len] + bytes."""
    def rec(flags, to_client, dseq, dack, payload=b""):
        return struct.pack(">BBhhB", flags, 1 if to_client else 0, dseq, dack, len(payload)) + payload
    head = bytes([0, 0]) + struct.pack(">I", 0xFFFFFF00)
    hs = rec(0x02, 0, 0, 0) + rec(0x12, 1, 100, 0) + rec(0x10, 0, 0, 101)
    # seq deltas are multiplied by 7 in the target; payloads of 7 bytes keep segments adjacent
    inorder = b"".join(rec(0x18, 0, i, 101, b"ABCDEFG") for i in range(0, 6))
    ooo = rec(0x18, 0, 3, 101, b"DDDDDDD") + rec(0x18, 0, 1, 101, b"BBBBBBB") + rec(0x18, 0, 0, 101, b"AAAAAAAAAAAAAA")
    acks = rec(0x10, 1, 101, 7) + rec(0x10, 1, 101, 40)
    close = rec(0x11, 0, 7, 101) + rec(0x11, 1, 101, 8) + rec(0x10, 0, 8, 102)
    for body in (hs + inorder + acks + close, hs + ooo + acks + close, hs + ooo + rec(0x14, 1, 101, 3)):
        put("stream", head + body, counts)
    put("stream", bytes([1, 3]) + struct.pack(">I", 5) + rec(0x18, 0, 0, 0, b"midstream data") + rec(0x10, 1, 0, 3), counts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--rules-sample", type=int, default=300)
    a = ap.parse_args()
    counts = {}

    caps = sorted(glob.glob(os.path.join(ROOT, "captures", "*.pcap*")))
    caps += sorted(glob.glob(os.path.join(a.shared, "conformance", "suites", "sv-dev", "*", "*.pcap*")))
    decode_seen = 0
    for c in caps:
        with open(c, "rb") as f:
            data = f.read(MAX_CAPTURE)
        put("pcap_reader", data, counts)
        put("replay", data, counts)
        frs = frames(data)
        if frs and os.path.basename(os.path.dirname(c)) in ("captures",):
            ng = pcapng_of(frs[0][0], [f for _, f in frs])
            put("pcap_reader", ng, counts)
            put("replay", ng, counts)
        frags = []
        for lt, f in frs:
            if lt in LINK_TYPES and decode_seen < 3000:
                put("decode", bytes([LINK_TYPES.index(lt)]) + f[:4096], counts)
                decode_seen += 1
            s = ip_start(lt, f)
            if s is not None and is_fragment(f[s:]):
                frags.append(f[s:])
        if frags:
            put("defrag", lp(frags[:64]), counts)
    synthetic_defrag(counts)
    synthetic_stream(counts)

    rule_files = sorted(glob.glob(os.path.join(ROOT, "rules", "*.rules")))
    rule_files += sorted(glob.glob(os.path.join(a.shared, "conformance", "suites", "sv-dev", "*", "*.rules")))
    for rf in rule_files:
        with open(rf, "rb") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith(b"#"):
                    put("rule_parse", line, counts)
    et = []
    for rf in sorted(glob.glob(os.path.join(a.shared, "corpus", "et-open", "*.rules"))):
        with open(rf, "rb") as f:
            et += [l.strip() for l in f if l.strip().startswith((b"alert", b"drop", b"pass", b"reject"))]
    rng = random.Random(1)
    for line in rng.sample(et, min(a.rules_sample, len(et))):
        put("rule_parse", line, counts)

    for cf in sorted(glob.glob(os.path.join(ROOT, "configs", "*.toml"))):
        with open(cf, "rb") as f:
            put("config", f.read(), counts)
    for s in (b"", b"[runtime]\nworkers = 2\n", b"[defrag]\npolicy = \"linux\"\nmemcap_bytes = 131072\n",
              b"[vars.address]\nHOME_NET = \"[10.0.0.0/8]\"\n", b"[capture]\nchecksum_validation = \"none\"\n"):
        put("config", s, counts)

    # metrics_http: first byte = read size - 1, then what a client sends to the metrics port.
    for step, req in ((255, b"GET /metrics HTTP/1.1\r\nHost: sensor:9842\r\nAccept: */*\r\n\r\n"),
                      (3, b"GET /healthz HTTP/1.0\r\n\r\n"), (0, b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
                      (7, b"GET /metrics?name[]=x HTTP/1.1\r\nX: " + b"a" * 200 + b"\r\n\r\n"),
                      (63, b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(40)) + b"\r\n"),
                      (1, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")):
        put("metrics_http", bytes([step]) + req, counts)

    # app_parsers: first byte = protocol (registry order, modulo their number), second = split
    # size and direction pattern (0x80 alternates), then the session's bytes.
    sessions = (
        b"USER anonymous\r\n220 ready\r\nPASS x\r\n230 ok\r\nPASV\r\n227 Entering (10,0,0,2,4,1)\r\nRETR a.txt\r\n150 go\r\n",
        b"PORT 10,0,0,1,200,10\r\n200 ok\r\nSTOR up.bin\r\n150 ok\r\n226 done\r\nEPRT |1|10.0.0.1|6000|\r\n",
        b"SSH-2.0-OpenSSH_8.9\r\n\x00\x00\x00\x2c\x06\x14" + b"\x00" * 16 + b"\x00\x00\x00\x04kexa\x00\x00\x00\x01b" + b"\x00" * 12,
        b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--q--\r\n.\r\n",
    )
    for proto in range(24):
        for sel, sess in zip((0x80 | 7, 0x40 | 31, 0x80 | 0x20 | 3, 1), sessions):
            put("app_parsers", bytes([proto, sel]) + sess, counts)

    # rdp: first byte = split size and direction pattern, then a Connection Request (cookie,
    # negotiation request) and a Connection Confirm (negotiation response).
    cr = b"\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=user\r\n\x01\x08\x08\x00\x03\x00\x00\x00"
    cc = b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x08\x00\x00\x00"
    for sel in (0x80 | 63, 0x80 | 1, 0):
        put("rdp", bytes([sel]) + cr + cc, counts)

    # report: EVE files. Three records of each event type of Suricata's reference EVE (every
    # default record type), one file per type and one with all of them.
    ref = os.path.join(a.shared, "corpus", "reference-mix-eve.json.xz")
    if os.path.exists(ref):
        import json
        import lzma
        by_type = {}
        with lzma.open(ref, "rb") as f:
            for line in f:
                t = json.loads(line).get("event_type")
                if len(by_type.setdefault(t, [])) < 3:
                    by_type[t].append(line)
        for lines in by_type.values():
            put("report", b"".join(lines), counts)
        put("report", b"".join(l for lines in by_type.values() for l in lines), counts)
    put("report", b'{"event_type":"alert","alert":{"signature_id":1,"signature":"<s>\\u0000"},"src_ip":"10.0.0.1"}\n', counts)

    # datasets: byte 0 picks the type (bits 0-2: string, md5, sha256, ipv4, ip), a memcap (bit 3),
    # the JSON keys (bits 4-5), remove_key (bit 6) and whether a state header is sealed (bit 7).
    b64 = __import__("base64").b64encode
    put("datasets", b"\x00" + b"\n".join(b64(d) for d in (b"a.example", b"b.example", b"a.example")) + b"\r\nbad\n", counts)
    put("datasets", b"\x03" + b"10.0.0.1,5\n10.0.0.2,70\n10.0.0.1,9\n", counts)
    put("datasets", b"\x04" + b"10.0.0.1\n::1\n::ffff:10.0.0.3\nx\n", counts)
    put("datasets", b"\x01" + b"d41d8cd98f00b204e9800998ecf8427e\n" * 2, counts)
    put("datasets", b'\x00[{"v":"a.example","n":1},{"v":"b.example"},{"x":1},{"v":2}]', counts)
    put("datasets", b'\x20{"list":[{"v":"a.example"}]}', counts)
    put("datasets", b'\x50{"a":{"b":"a.example"},"c":[1]}\n{"a":{"b":"c.example"}}\nnot json\n', counts)
    hdr = b"PKTDSET\x00" + struct.pack("<IB3x", 1, 1) + struct.pack("<QQQQQQ", 7, 11, 2, 6, 0, 0) + b"\x00" * 16
    put("datasets", b"\x80" + hdr + b"abcdef" + struct.pack("<IIII", 3, 0, 3, 5), counts)

    for t in ("decode", "pcap_reader", "rule_parse", "defrag", "replay", "config", "stream", "metrics_http", "report", "datasets"):
        d = os.path.join(ROOT, "fuzz", "corpus", t)
        os.makedirs(d, exist_ok=True)
        print("fuzz-seed: %-12s %4d new, %5d in corpus" % (t, counts.get(t, 0), len(os.listdir(d))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes captures/demo.pcap: a small, synthetic capture for the Quick start.

Traffic (all addresses from documentation ranges): an HTTP request/response over a full TCP
session, a DNS query and answer, a ping, a VLAN-tagged syslog datagram, an IPv6 TCP session and
an SSH banner. Deterministic: running it again gives the same bytes.
"""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(src, dst, proto, payload, ident=1):
    s = bytes(map(int, src.split("."))); d = bytes(map(int, dst.split(".")))
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, s, d)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h, s, d


def l4sum(src, dst, proto, seg):
    return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    seg = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    h, s, d = ip4(src, dst, 6, seg)
    seg = seg[:16] + struct.pack("!H", l4sum(s, d, 6, seg)) + seg[18:]
    return h + seg


def udp(src, dst, sp, dp, data):
    seg = struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data
    h, s, d = ip4(src, dst, 17, seg)
    seg = seg[:6] + struct.pack("!H", l4sum(s, d, 17, seg)) + seg[8:]
    return h + seg


def icmp(src, dst, typ, ident, seq, data):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    h, _, _ = ip4(src, dst, 1, m)
    return h + m


def tcp6(src, dst, sp, dp, seq, ack, flags, data=b""):
    import ipaddress
    s = ipaddress.IPv6Address(src).packed; d = ipaddress.IPv6Address(dst).packed
    seg = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    ph = s + d + struct.pack("!I3xB", len(seg), 6)
    seg = seg[:16] + struct.pack("!H", csum(ph + seg)) + seg[18:]
    return struct.pack("!IHBB", 6 << 28, len(seg), 6, 64) + s + d + seg


MAC_C = b"\x02\x00\x00\x00\x00\x01"
MAC_S = b"\x02\x00\x00\x00\x00\x02"


def eth(ip, et=0x0800, vlan=None, to_server=True):
    a, b = (MAC_S, MAC_C) if to_server else (MAC_C, MAC_S)
    if vlan is not None:
        return a + b + struct.pack("!HHH", 0x8100, vlan, et) + ip
    return a + b + struct.pack("!H", et) + ip


def session(frames, t, c, s, cp, sp, req, resp, six=False):
    mk = tcp6 if six else tcp
    et = 0x86DD if six else 0x0800
    ci, si = 1000, 5000
    steps = [
        (True, ci, 0, 0x02, b""), (False, si, ci + 1, 0x12, b""), (True, ci + 1, si + 1, 0x10, b""),
        (True, ci + 1, si + 1, 0x18, req), (False, si + 1, ci + 1 + len(req), 0x18, resp),
        (True, ci + 1 + len(req), si + 1 + len(resp), 0x11, b""),
        (False, si + 1 + len(resp), ci + 2 + len(req), 0x11, b""),
        (True, ci + 2 + len(req), si + 2 + len(resp), 0x10, b""),
    ]
    for i, (up, seq, ack, fl, data) in enumerate(steps):
        pkt = mk(c, s, cp, sp, seq, ack, fl, data) if up else mk(s, c, sp, cp, seq, ack, fl, data)
        frames.append((t + i * 0.01, eth(pkt, et, to_server=up)))


def main(path):
    frames = []
    t0 = 1_700_000_000.0
    http_req = (b"GET /download/update.exe HTTP/1.1\r\nHost: updates.example.com\r\n"
                b"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0)\r\nAccept: */*\r\n\r\n")
    http_resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 32\r\n\r\n"
                 b"MZ\x90\x00This program cannot be run")
    session(frames, t0, "192.0.2.10", "198.51.100.20", 49152, 80, http_req, http_resp)
    dns_q = bytes.fromhex("abcd01000001000000000000") + b"\x07example\x03com\x00\x00\x01\x00\x01"
    dns_r = bytes.fromhex("abcd81800001000100000000") + b"\x07example\x03com\x00\x00\x01\x00\x01" \
        + bytes.fromhex("c00c000100010000012c0004c0000222")
    frames.append((t0 + 1.0, eth(udp("192.0.2.10", "198.51.100.53", 53000, 53, dns_q))))
    frames.append((t0 + 1.02, eth(udp("198.51.100.53", "192.0.2.10", 53, 53000, dns_r), to_server=False)))
    frames.append((t0 + 2.0, eth(icmp("192.0.2.10", "198.51.100.1", 8, 7, 1, b"picket-ping"))))
    frames.append((t0 + 2.01, eth(icmp("198.51.100.1", "192.0.2.10", 0, 7, 1, b"picket-ping"), to_server=False)))
    frames.append((t0 + 3.0, eth(udp("192.0.2.30", "198.51.100.40", 514, 514, b"<13>demo: login failed for root"),
                                 vlan=42)))
    session(frames, t0 + 4.0, "2001:db8::10", "2001:db8::20", 50000, 22, b"SSH-2.0-OpenSSH_8.9\r\n",
            b"SSH-2.0-OpenSSH_7.4\r\n", six=True)
    frames.sort(key=lambda f: f[0])
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in frames:
            sec = int(ts); usec = int(round((ts - sec) * 1e6))
            out.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)) + fr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "captures/demo.pcap")

#!/usr/bin/env python3
# Usage (needs dpkt): replay with pcap-log, carve, then compare:
#   picket replay --rules ET --set output.log_dir=D --set output.pcap_log.mode=alerts \
#     --set output.pcap_log.limit=2000000 --eve D/eve.json mix.pcap
#   picket carve --alerts D/eve.json --out carved.pcap mix.pcap
#   scripts/pcap-log-check.py D/eve.json mix.pcap D carved.pcap 64
"""Issue 19 acceptance 3 on a real capture: pcap-log (alerts mode) against the capture itself
and against `picket carve`. For each alerting flow (by 5-tuple, either direction): its packets
up to its first alert (at most ring_packets of them) must be in the pcap-log files."""
import dpkt, glob, json, socket, sys, collections
eve, capture, logdir, carved, ring = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def key(buf, linktype=1):
    try:
        eth = dpkt.ethernet.Ethernet(buf)
        ip = eth.data
        while isinstance(ip, (dpkt.ethernet.Ethernet,)):
            ip = ip.data
        if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
            return None
        fam = socket.AF_INET if isinstance(ip, dpkt.ip.IP) else socket.AF_INET6
        l4 = ip.data
        sp = getattr(l4, 'sport', 0); dp = getattr(l4, 'dport', 0)
        a = (socket.inet_ntop(fam, ip.src), sp); b = (socket.inet_ntop(fam, ip.dst), dp)
        proto = ip.p if fam == socket.AF_INET else ip.nxt
        return (proto,) + tuple(sorted([a, b]))
    except Exception:
        return None

PROTO = {'TCP': 6, 'UDP': 17, 'ICMP': 1, 'IPv6-ICMP': 58, 'SCTP': 132}
first = {}
for line in open(eve):
    e = json.loads(line)
    if e.get('event_type') != 'alert' or 'pcap_cnt' not in e:
        continue
    p = PROTO.get(e.get('proto'))
    if p is None:
        continue
    k = (p,) + tuple(sorted([(e['src_ip'], e.get('src_port', 0)), (e['dest_ip'], e.get('dest_port', 0))]))
    first[k] = min(first.get(k, 1 << 62), e['pcap_cnt'])

before = collections.Counter()
with open(capture, 'rb') as f:
    for i, (_, buf) in enumerate(dpkt.pcap.Reader(f), 1):
        k = key(buf)
        if k in first and i <= first[k]:
            before[k] += 1

def count(paths):
    c = collections.Counter()
    for path in paths:
        with open(path, 'rb') as f:
            for _, buf in dpkt.pcap.Reader(f):
                c[key(buf)] += 1
    return c

logged = count(sorted(glob.glob(logdir + '/log.pcap*')))
carve = count([carved])
ok = sum(1 for k in first if logged[k] >= min(before[k], ring))
print(f"alerting flows {len(first)} (by 5-tuple); their packets up to the first alert (at most {ring}) "
      f"in the pcap-log files: {ok} of {len(first)}")
missing = [k for k in first if logged[k] < min(before[k], ring)][:5]
print("examples missing:", [(k, before[k], logged[k]) for k in missing])
fl, fc = {k for k in logged if k in first}, {k for k in carve if k in first}
print(f"flows in pcap-log {len(fl)}, in carve {len(fc)}, same set: {fl == fc}; "
      f"pcap-log files: {len(glob.glob(logdir + '/log.pcap*'))}")

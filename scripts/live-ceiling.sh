#!/usr/bin/env bash
# The live ceiling of Picket and of Suricata on the same wire (issue 22, acceptance 3): each
# sensor captures on one end of a veth pair (in a network namespace of its own) with 2 workers
# and the same ring memory, while scripts/veth-send.c sends a capture into the other end at a
# given rate (or as fast as the kernel takes it). For every rate, each sensor is started afresh
# (rules loaded and ready before the first frame), the capture is sent once, the sensor is
# stopped, and its kernel counters say what it saw and dropped. Rates go up until both drop;
# the zero-drop rate is the highest rate without a kernel drop.
#
#   scripts/live-ceiling.sh [PCAP] [RATES...]       # rates in Mbit/s or "top"
#   INPUT=/work/lead-tmp/mix8.pcap scripts/live-ceiling.sh "" 250 500 750 1000 top
#
# Environment: SHARED (../shared), RULES (ET Open), WORKERS (2), SENSORS ("picket suricata"),
# KEEP (set: keep the work folder with every sensor's output), LOOPS (1: times the capture is
# sent back to back in one run, so that a rate is held longer than the rings can absorb; the
# replay comparison of alerts is made only with LOOPS=1, as a resent capture repeats its flows).
# Also compares Picket's live alerts at each zero-drop rate with `picket replay` of the frames
# the sender could send (those up to 9014 bytes: a BPF length filter in replay). Needs root,
# iproute2, a C compiler and libpcap-dev; the anchor Suricata (../shared/anchors/build-suricata).
# Run it on an otherwise idle machine: sender and sensor share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
RULES=${RULES:-$SHARED/corpus/et-open}
WORKERS=${WORKERS:-2}
SENSORS=${SENSORS:-picket suricata}
pcap=${1:-}
pcap=${pcap:-${INPUT:-$SHARED/corpus/traffic/mix.pcap}}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(250 500 750 1000 1500 top)
bin=target/release/picket
suricata=${SURICATA:-/opt/suricata-anchor/bin/suricata}
suricata_cfg=${SURICATA_CFG:-/opt/suricata-anchor/etc/suricata/alerts-only.yaml}
MAX_FRAME=9014
RING_MB=64 # per worker, both sensors
LOOPS=${LOOPS:-1}

mkdir -p target
cc -O2 -Wall -o target/veth-send scripts/veth-send.c -lpcap
cargo build --release --locked --quiet
"$bin" rules check --rules "$RULES" >/dev/null || true # warm the prefilter cache
work=$(mktemp -d /var/tmp/live-ceiling.XXXXXX)
chmod 0777 "$work" # the daemon drops privileges after opening its sockets
ns=picket-ceil-$$ a=pca$$ b=pcb$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
# (The sensors are started with `ip netns exec` itself, not through x: `x ... &` would fork a
# subshell and the TERM meant for the sensor would stop only the subshell.)
x() { ip netns exec "$ns" "$@"; }
x sysctl -qw net.ipv6.conf.all.disable_ipv6=1
x sysctl -qw net.ipv6.conf.default.disable_ipv6=1
x ip link add name "$a" type veth peer name "$b"
for i in "$a" "$b"; do x ip link set "$i" mtu $((MAX_FRAME - 14)); x ip link set "$i" up; done
x ip link set lo up

wait_for() { # FILE PATTERN SECONDS
  for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no '$2' in $1 after $3 s" >&2; tail -5 "$1" >&2; return 1
}

run_picket() { # RATE -> "kernel_packets kernel_drops alerts"
  local d=$work/picket-$1; mkdir -p "$d"; chmod 0777 "$d"
  ip netns exec "$ns" "$bin" run --interface "$a" --rules "$RULES" --eve "$d/eve.json" \
    --set "runtime.workers=$WORKERS" --set capture.checksum_validation=none \
    --set "capture.ring_blocks=$RING_MB" --set capture.ring_block_bytes=1048576 \
    --set metrics.listen=127.0.0.1:19998 --set "daemon.log_file=$d/log" \
    --set "daemon.control_socket=$d/control.sock" --set daemon.stats_interval_secs=0 &
  local pid=$!
  wait_for "$d/log" "capturing on" 60
  send "$1" > "$d/send"
  kill -TERM "$pid"; wait "$pid" || true
  python3 - "$d/eve.json" <<'EOF'
import json, sys
k = d = a = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") == "alert":
        a += 1
    elif e.get("event_type") == "stats":
        c = e["stats"].get("capture", {})
        k, d = c.get("kernel_packets", 0), c.get("kernel_drops", 0)
print(k, d, a)
EOF
}

run_suricata() { # RATE -> "kernel_packets kernel_drops alerts"
  local d=$work/suricata-$1; mkdir -p "$d"
  # Ring memory as Picket's: block_nr = ring-size / frames-per-block + 1 (Suricata's
  # AFPComputeRingParamsV3), frames of snaplen MTU+14 plus headers, about 9,104 bytes.
  local frames_per_block=$((1048576 / 9104))
  ip netns exec "$ns" "$suricata" -c "$suricata_cfg" -S "$work/all.rules" -l "$d" -k none -vv --runmode workers \
    --af-packet="$a" --set "af-packet.0.interface=$a" --set "af-packet.0.threads=$WORKERS" \
    --set af-packet.0.cluster-type=cluster_flow --set af-packet.0.tpacket-v3=yes \
    --set af-packet.0.block-size=1048576 \
    --set "af-packet.0.ring-size=$(((RING_MB - 1) * frames_per_block))" > "$d/out" 2>&1 &
  local pid=$!
  wait_for "$d/out" "Engine started" 120
  send "$1" > "$d/send"
  kill -TERM "$pid"; wait "$pid" || true
  # One exit line per capture thread: "IFACE: (W#01-IFACE) kernel: Packets N, dropped M"
  local kd
  kd=$(grep -o "kernel: Packets [0-9]*, dropped [0-9]*" "$d/out" | tr -d , | awk '{p+=$3; d+=$5} END {print p+0, d+0}')
  echo "$kd $(grep -c '"event_type":"alert"' "$d/eve.json" 2>/dev/null || echo 0)"
}

send() { # RATE
  if [ "$1" = top ]; then x target/veth-send "$b" "$pcap" --max-frame $MAX_FRAME --loops "$LOOPS"
  else x target/veth-send "$b" "$pcap" --max-frame $MAX_FRAME --loops "$LOOPS" --mbps "$1"; fi
}

# Suricata takes one rule file (-S): the folder's files in one, as compare-suricata.py does.
if [ -d "$RULES" ]; then cat "$RULES"/*.rules > "$work/all.rules"; else cp "$RULES" "$work/all.rules"; fi
echo "input $pcap x $LOOPS, rules $RULES, $WORKERS workers, ${RING_MB} MiB ring per worker, $(date -u +%FT%TZ)"
printf '%-9s %-6s %10s %12s %10s %8s %8s\n' sensor rate sent_gbps kernel_pkts drops drop% alerts
for rate in "${rates[@]}"; do
  for s in $SENSORS; do
    read -r kp kd al < <(run_$s "$rate")
    sent=$(grep -o "gbps=[0-9.]*" "$work/$s-$rate/send" | cut -d= -f2 || echo "-")
    pct=$(awk -v k="$kp" -v d="$kd" 'BEGIN {t = k + 0; printf "%.3f", t ? 100 * d / t : 0}')
    printf '%-9s %-6s %10s %12s %10s %8s %8s\n' "$s" "$rate" "$sent" "$kp" "$kd" "$pct" "$al"
  done
done
[ "$LOOPS" = 1 ] || exit 0
# Alerts Picket gives in replay of what the sender sends (frames up to MAX_FRAME bytes).
"$bin" replay -q --rules "$RULES" --workers "$WORKERS" --set capture.checksum_validation=none \
  --set "capture.bpf_filter=len <= $MAX_FRAME" --eve "$work/replay.json" "$pcap" || true
echo "picket replay of the sendable frames: $(grep -c '"event_type":"alert"' "$work/replay.json") alerts"
# Each Picket run without a kernel drop against replay, per sid.
python3 - "$work" <<'EOF'
import collections, glob, json, os, sys
def per_sid(path):
    c, drops = collections.Counter(), None
    for line in open(path):
        e = json.loads(line)
        if e.get("event_type") == "alert":
            c[e["alert"]["signature_id"]] += 1
        elif e.get("event_type") == "stats":
            drops = e["stats"].get("capture", {}).get("kernel_drops")
    return c, drops
want, _ = per_sid(os.path.join(sys.argv[1], "replay.json"))
for d in sorted(glob.glob(os.path.join(sys.argv[1], "picket-*"))):
    got, drops = per_sid(os.path.join(d, "eve.json"))
    if drops != 0:
        continue
    diff = {s: (got[s], want[s]) for s in set(got) | set(want) if got[s] != want[s]}
    rate = os.path.basename(d).split("-", 1)[1]
    print(f"picket live at {rate}: alerts per sid equal to replay's" if not diff else
          f"picket live at {rate}: {len(diff)} sid(s) differ (live, replay): {dict(sorted(diff.items()))}")
EOF

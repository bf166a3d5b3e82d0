#!/usr/bin/env bash
# Peak RSS of rule reloads in a running daemon (issue 22: at most 1.3x the running RSS).
#
#   scripts/reload-rss.sh [PCAP] [RELOADS]
#
# Starts `picket run` with ET Open (RULES) on one end of a veth pair in a network namespace (2
# workers, 64 MiB ring per worker, as scripts/live-ceiling.sh), sends PCAP (default mix.pcap)
# through the other end at the sender's top speed, then asks for RELOADS (default 3) reloads
# over the control socket, one after the other. Prints for each reload the daemon's own
# figures (RSS before, the peak sampled while the new engine was built, RSS after; see
# `detect.reload_peak_rss_bytes`) and the ratio peak / running, plus VmRSS and VmHWM read from
# /proc/PID/status before the first and after the last reload. Needs root (netns, veth).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
RULES=${RULES:-$SHARED/corpus/et-open}
WORKERS=${WORKERS:-2}
BIN=${BIN:-target/release/picket}
pcap=${1:-$SHARED/corpus/traffic/mix.pcap}
reloads=${2:-3}
RING_MB=64

mkdir -p target
[ -x target/veth-send ] || cc -O2 -Wall -o target/veth-send scripts/veth-send.c -lpcap
"$BIN" rules check --rules "$RULES" >/dev/null || true # warm the prefilter cache
work=$(mktemp -d /var/tmp/reload-rss.XXXXXX)
chmod 0777 "$work" # the daemon drops privileges after opening its sockets
ns=picket-rl-$$ a=rla$$ b=rlb$$
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
x() { ip netns exec "$ns" "$@"; }
x ip link add name "$a" type veth peer name "$b"
for i in "$a" "$b"; do x ip link set "$i" mtu 9000; x ip link set "$i" up; done
x ip link set lo up
wait_for() { # FILE PATTERN SECONDS [COUNT]
  for _ in $(seq $(($3 * 10))); do
    local n; n=$(grep -c "$2" "$1" 2>/dev/null || true)
    [ "${n:-0}" -ge "${4:-1}" ] && return 0
    sleep 0.1
  done
  echo "no '$2' in $1 after $3 s" >&2; tail -5 "$1" >&2; return 1
}
status() { awk '/VmRSS|VmHWM/ {printf "%s %.1f MB  ", $1, $2 / 1024}' "/proc/$pid/status"; echo; }

# Not through x(): $! must be the daemon itself (ip netns exec execs it).
ip netns exec "$ns" "$BIN" run --interface "$a" --rules "$RULES" --eve "$work/eve.json" \
  --set "runtime.workers=$WORKERS" --set capture.checksum_validation=none \
  --set "capture.ring_blocks=$RING_MB" --set capture.ring_block_bytes=1048576 \
  --set metrics.listen=127.0.0.1:19997 --set "daemon.log_file=$work/log" \
  --set "daemon.control_socket=$work/control.sock" --set daemon.stats_interval_secs=0 &
pid=$!
wait_for "$work/log" "capturing on" 60
x target/veth-send "$b" "$pcap" --max-frame 9014 > "$work/send"
sleep 2 # let the workers drain the ring
echo "running, before the first reload: $(status)"
for i in $(seq "$reloads"); do
  "$BIN" ctl --socket "$work/control.sock" reload-rules > "$work/ctl-$i"
  wait_for "$work/log" "rules reloaded" 120 "$i"
  grep "rules reloaded" "$work/log" | tail -1 | grep -o "RSS .*" | python3 -c '
import re, sys
t = sys.stdin.read()
b, p, n = (float(x) for x in re.findall(r"([0-9.]+) MB", t)[:3])
print(f"reload '"$i"': RSS {b:.1f} MB before, peak {p:.1f} MB, {n:.1f} MB after: peak / running {p / b:.3f}")'
done
echo "after the last reload: $(status)"

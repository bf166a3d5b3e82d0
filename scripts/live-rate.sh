#!/usr/bin/env bash
# Measures `picket run` on a veth pair: sends a capture with tcpreplay into one end (in a
# network namespace of its own), captures on the other, and compares the alerts with
# `picket replay` of the same capture. Needs root, iproute2 and tcpreplay (make deps).
#
#   scripts/live-rate.sh RULES PCAP WORKERS [MBPS|top] [METHOD]
#
# Prints: rate, packets seen by the kernel socket, kernel drops, live alerts, replay alerts.
set -euo pipefail
rules=$1 pcap=$2 workers=$3 rate=${4:-top} method=${5:-afpacket}
bin=${PICKET_BIN:-target/release/picket}
ns=picket-rate-$$ a=pra$$ b=prb$$
dir=$(mktemp -d)
chmod 0777 "$dir" # the daemon drops privileges after opening its sockets
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ip netns add "$ns"
x() { ip netns exec "$ns" "$@"; }
x sysctl -qw net.ipv6.conf.all.disable_ipv6=1
x sysctl -qw net.ipv6.conf.default.disable_ipv6=1
x ip link add name "$a" type veth peer name "$b"
for i in "$a" "$b"; do x ip link set "$i" mtu 9000; x ip link set "$i" up; done
x ip link set lo up
ip netns exec "$ns" "$bin" run --interface "$a" --rules "$rules" --eve "$dir/live.json" \
  --set "runtime.workers=$workers" --set "capture.method=$method" \
  --set metrics.listen=127.0.0.1:19999 --set "daemon.log_file=$dir/log" \
  --set "daemon.control_socket=$dir/control.sock" &
pid=$!
for _ in $(seq 100); do grep -q "capturing" "$dir/log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
# tcpreplay exits non-zero when libpcap rejects a record (mix.pcap has three): not fatal
if [ "$rate" = top ]; then x tcpreplay -q --topspeed -i "$b" "$pcap" >/dev/null || true
else x tcpreplay -q --mbps="$rate" -i "$b" "$pcap" >/dev/null || true; fi
sleep 2
metrics=$(x bash -c 'exec 3<>/dev/tcp/127.0.0.1/19999 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3')
sum() { echo "$metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s+=$2} END {print s+0}'; }
kill -TERM "$pid"; wait "$pid" || true # SIGTERM: drain, end every flow, flush
live=$(grep -c '"event_type":"alert"' "$dir/live.json" || true)
"$bin" replay -q --rules "$rules" --eve "$dir/replay.json" "$pcap"
replay=$(grep -c '"event_type":"alert"' "$dir/replay.json" || true)
echo "rate=$rate workers=$workers method=$method kernel_packets=$(sum picket_capture_kernel_packets_total) kernel_drops=$(sum picket_capture_kernel_drops_total) queue_drops=$(sum picket_pipeline_queue_full_drops_total) alerts_live=$live alerts_replay=$replay"

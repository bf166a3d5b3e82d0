#!/usr/bin/env bash
# Forwarding throughput and its cost to the packet path (issue 21, acceptance 4), side by side
# in one run, against Debian's nats-server (`make deps`): one local node, or with NODES=3 a
# 3-node cluster on loopback and a stream with 3 replicas.
#
#   [NODES=1|3] [PART=all|forward|replay] [BATCH=64] scripts/fleet-bench.sh [PCAP] [RULES] [COPIES] [RUNS]
#
# 1. Throughput: a queue of COPIES x the EVE of PCAP (segments copied, so every line has its
#    own position and message id) is forwarded by `picket fleet forward --once` into a fresh
#    stream, RUNS times (`output.nats.batch_events` as configured: BATCH, default 64); prints
#    events and messages and events/s per run (from the start of the process until the last
#    event is acknowledged: connecting and creating the stream included) and the median.
# 2. Packet path: `picket replay` of PCAP writing its queue, without and with [output.nats]
#    (alternating, RUNS each); prints each replay's wall time (its summary's), the medians and
#    their ratio. With forwarding, for each priority of PRIORITIES (default `idle`; `idle
#    normal` alternates both): the servers' threads are set to it (`chrt --all-tasks --idle`
#    or `--other`, as a systemd drop-in `CPUSchedulingPolicy=idle` would) and the forwarder
#    thread runs at `output.nats.cpu_priority` = it.
set -euo pipefail
pcap=${1:-../shared/corpus/traffic/mix.pcap}
rules=${2:-rules}
copies=${3:-8}
runs=${4:-5}
nodes=${NODES:-1}
part=${PART:-all}
bin=${PICKET_BIN:-target/release/picket}
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
base_port=$((20000 + RANDOM % 20000))
routes=""
for i in $(seq "$nodes"); do routes+="${routes:+, }nats-route://127.0.0.1:$((base_port + 100 + i))"; done
servers=""
for i in $(seq "$nodes"); do
  port=$((base_port + i)); http=$((base_port + 200 + i))
  mkdir -p "$dir/n$i"
  {
    echo "server_name: n$i"; echo "listen: 127.0.0.1:$port"; echo "http: 127.0.0.1:$http"
    echo "jetstream { store_dir: \"$dir/n$i\" }"
    [ "$nodes" -gt 1 ] && echo "cluster { name: bench, listen: 127.0.0.1:$((base_port + 100 + i)), routes: [$routes] }"
  } >"$dir/n$i.conf"
  "$nats" -c "$dir/n$i.conf" >"$dir/n$i.log" 2>&1 &
  pids+=($!)
  servers+="${servers:+, }\"nats://127.0.0.1:$port\""
done
healthz() { (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && cat <&3) 2>/dev/null || true; }
# Ready when every node's /healthz says ok (JetStream up, the cluster formed).
for i in $(seq "$nodes"); do
  for t in $(seq 300); do
    healthz "$((base_port + 200 + i))" | grep -q '"ok"' && break
    [ "$t" = 300 ] && { echo "node n$i not healthy:"; cat "$dir/n$i.log"; exit 1; }
    sleep 0.1
  done
done
cat >"$dir/c.toml" <<TOML
[sensor]
name = "bench"
[output]
spool_dir = "$dir/q"
spool_segment_bytes = 1073741824
spool_retention_bytes = 17179869184
[output.nats]
servers = [$servers]
replicas = $nodes
batch_events = ${BATCH:-64}
TOML
# CPU ticks of every node so far.
server_cpu() { for p in "${pids[@]}"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# A queue of COPIES replays' events.
if [ "$part" != replay ]; then
"$bin" replay -q --workers 1 --rules "$rules" --set "output.spool_dir=$dir/base" "$pcap"
base=$(ls "$dir/base"/segment-*.json | head -1)
events=$(wc -l <"$base")
echo "queue: $copies x $events events ($(du -b "$base" | cut -f1) bytes each)"
: >"$dir/rates"
for r in $(seq "$runs"); do
  rm -rf "$dir/q"; mkdir -p "$dir/q"
  for i in $(seq "$copies"); do cp "$base" "$dir/q/$(printf 'segment-%020d.json' "$i")"; done
  c0=$(server_cpu)
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$dir/cpu" "$bin" fleet forward --once --config "$dir/c.toml" --set "output.nats.stream=BENCH$r" --set "output.nats.subject_prefix=bench$r" 2>"$dir/fwd.log"
  t1=$(now)
  acked=$(sed -n 's/.* \([0-9]*\) acknowledged.*/\1/p' "$dir/fwd.log")
  [ "$acked" -eq $((copies * events)) ] || { echo "run $r: $acked acknowledged, expected $((copies * events))"; exit 1; }
  msgs=$(sed -n 's/.*(\([0-9]*\) messages).*/\1/p' "$dir/fwd.log")
  rate=$(echo "$acked / ($t1 - $t0)" | bc -l)
  c1=$(server_cpu)
  printf 'forward run %d: %d events (%d messages) in %.2f s = %.0f events/s (CPU: picket %.2f s, nats-server %.2f s)\n' "$r" "$acked" "$msgs" \
    "$(echo "$t1 - $t0" | bc -l)" "$rate" "$(awk '{print $1 + $2}' "$dir/cpu")" "$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)"
  echo "$rate" >>"$dir/rates"
done
printf 'forwarding median (%d node(s), %d replica(s)): %.0f events/s\n' "$nodes" "$nodes" "$(med <"$dir/rates")"
fi
[ "$part" = forward ] && exit 0

# The packet path without and with forwarding (same queue settings), alternated.
prios=${PRIORITIES:-idle}
modes="off"; for p in $prios; do modes+=" $p"; : >"$dir/$p"; done
: >"$dir/off"
for r in $(seq "$runs"); do
  for mode in $modes; do
    rm -rf "$dir/q"
    if [ "$mode" = off ]; then
      sed '/^\[output.nats\]/,$d' "$dir/c.toml" >"$dir/off.toml"; cfg="$dir/off.toml"; set_nats=()
    else
      cfg="$dir/c.toml"
      set_nats=(--set "output.nats.stream=REPLAY$r$mode" --set "output.nats.subject_prefix=replay$r$mode"
        --set "output.nats.cpu_priority=$mode")
      policy=--other; [ "$mode" = idle ] && policy=--idle
      for p in "${pids[@]}"; do chrt --all-tasks "$policy" --pid 0 "$p"; done
    fi
    # The replay's own wall time (reading to last event written), from its summary: with
    # forwarding, the wait for the last acknowledgements after it is not the packet path's.
    "$bin" replay --workers 1 --rules "$rules" --config "$cfg" "${set_nats[@]}" "$pcap" 2>"$dir/replay.log"
    sed -n 's/.*; \([0-9.]*\) s wall.*/\1/p' "$dir/replay.log" >>"$dir/$mode"
  done
done
off=$(med <"$dir/off")
echo "replay without forwarding: $(tr '\n' ' ' <"$dir/off")"
for p in $prios; do
  on=$(med <"$dir/$p")
  echo "replay with forwarding, servers and forwarder at $p priority: $(tr '\n' ' ' <"$dir/$p")"
  printf 'replay medians (%s): %.3f s without, %.3f s with forwarding (ratio %.3f)\n' "$p" "$off" "$on" "$(echo "$on / $off" | bc -l)"
done

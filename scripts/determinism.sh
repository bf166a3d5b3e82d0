#!/usr/bin/env bash
# Same captures and rules, same alerts (issue 19, acceptance 4), and what the ordering costs.
#
#   scripts/determinism.sh            # alerts of mix8 + ET Open for 1, 2 and 4 workers, both
#                                     # engines, RUNS runs each: every run must give the same
#                                     # alert records (sid, flow 5-tuple, packet number)
#   MODE=cost scripts/determinism.sh  # replay time with and without the ordered stage
#                                     # (runtime.ordered), PAIRS alternated pairs, medians
#
# Environment: SHARED (../shared), INPUT (/tmp/mix8.pcap, made from mix.pcap by expand-pcap when
# missing), PICKET (target/release/picket), RUNS (3), PAIRS (5), WORKERS ("1 2 4"),
# ENGINES ("hyperscan aho-corasick"), OUT (a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
INPUT=${INPUT:-/tmp/mix8.pcap}
PICKET=${PICKET:-target/release/picket}
RUNS=${RUNS:-3}
PAIRS=${PAIRS:-5}
WORKERS=${WORKERS:-1 2 4}
ENGINES=${ENGINES:-hyperscan aho-corasick}
MODE=${MODE:-alerts}
OUT=${OUT:-$(mktemp -d)}
RULES=$SHARED/corpus/et-open

if [ ! -s "$INPUT" ]; then
    echo "making $INPUT from mix.pcap (8 copies)" >&2
    python3 "$SHARED/corpus/tools/expand-pcap" "$SHARED/corpus/traffic/mix.pcap" "$INPUT.tmp$$" 8
    mv "$INPUT.tmp$$" "$INPUT"
fi
echo "input $INPUT ($(stat -c %s "$INPUT") bytes), rules $RULES, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"

# (sid, proto, src, sport, dst, dport, pcap_cnt) of every alert, sorted, one a line.
records() {
    python3 - "$1" <<'EOF'
import json, sys
rows = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") != "alert":
        continue
    rows.append((e["alert"]["signature_id"], e.get("proto"), e.get("src_ip"), e.get("src_port"),
                 e.get("dest_ip"), e.get("dest_port"), e.get("pcap_cnt")))
rows.sort(key=lambda r: tuple(str(x) for x in r))
for r in rows:
    print(*r)
EOF
}

# Seconds of replay (reading, inspection and output; rule loading not included) from the summary.
replay_secs() {
    sed -n 's/.* \([0-9.]*\) s wall.*/\1/p' "$1" | tail -1
}

if [ "$MODE" = alerts ]; then
    first=""
    fail=0
    for run in $(seq 1 "$RUNS"); do
        for engine in $ENGINES; do
            for w in $WORKERS; do
                eve=$OUT/eve-$engine-$w-$run.json
                rm -f "$eve"
                "$PICKET" replay --rules "$RULES" --workers "$w" --set capture.checksum_validation=none \
                    --set "detect.engine=$engine" --eve "$eve" "$INPUT" 2>"$OUT/err-$engine-$w-$run.txt"
                records "$eve" >"$OUT/rec-$engine-$w-$run.txt"
                n=$(wc -l <"$OUT/rec-$engine-$w-$run.txt")
                sum=$(sha256sum <"$OUT/rec-$engine-$w-$run.txt" | cut -c1-16)
                [ -z "$first" ] && first=$OUT/rec-$engine-$w-$run.txt
                if cmp -s "$first" "$OUT/rec-$engine-$w-$run.txt"; then same=same; else same=DIFFERENT; fail=1; fi
                printf '%-13s workers %s run %s: %5d alerts, records %s (%s)\n' "$engine" "$w" "$run" "$n" "$sum" "$same"
                rm -f "$eve"
            done
        done
    done
    if [ $fail = 0 ]; then echo "all runs gave the same alert records"; else echo "runs differ (see $OUT)"; fi
    exit $fail
fi

# MODE=cost: alternated pairs, ordered stage on and off, 2 workers, alerts only.
w=${WORKERS##* }
[ "$WORKERS" = "1 2 4" ] && w=2
on=()
off=()
for pair in $(seq 1 "$PAIRS"); do
    for ordered in true false; do
        eve=$OUT/cost.json
        rm -f "$eve"
        "$PICKET" replay --rules "$RULES" --workers "$w" --set capture.checksum_validation=none \
            --set "runtime.ordered=$ordered" --eve "$eve" "$INPUT" 2>"$OUT/cost-$ordered.txt"
        s=$(replay_secs "$OUT/cost-$ordered.txt")
        n=$(grep -c '"event_type":"alert"' "$eve" || true)
        echo "pair $pair ordered=$ordered: $s s, $n alerts (load $(cut -d' ' -f1 /proc/loadavg))"
        if [ "$ordered" = true ]; then on+=("$s"); else off+=("$s"); fi
    done
done
rm -f "$OUT/cost.json"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mon=$(median "${on[@]}")
moff=$(median "${off[@]}")
echo "median replay time: ordered $mon s, unordered $moff s, cost $(awk -v a="$mon" -v b="$moff" 'BEGIN {printf "%.1f%%", (a/b-1)*100}')"

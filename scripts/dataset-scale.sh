#!/usr/bin/env bash
# Acceptance 2 of the indicators work (issue 20): a dataset of N (default 10 million) domains.
# Generates the dataset file (Suricata's string format: base64 a line) with one real domain of
# the capture among synthetic ones, then measures with /usr/bin/time -v:
#   1. load: `picket rules check` of one rule loading the set (CPU seconds, max RSS), against
#      the same check without the set (the difference is the set's own cost): from the text
#      (binary copies off), then from the binary copy in data/cache/ that a first load wrote;
#   2. load from saved state: the same set as a `state` file written by picket (replay of an
#      empty capture saves it, text and binary state), loaded again;
#   3. an alert: a replay of the capture with the dataset rule alerts on the DNS query;
#   4. throughput: ET Open vs ET Open + the dataset rule on the capture, in alternated runs:
#      CPU time (`perf stat -e task-clock`, all threads; wall time depends on what else the
#      machine runs) of the replay minus that of loading the same rules, medians printed.
# Heavy (a ~300 MB file, GBs of RAM at peak): not part of the test suite.
#
# Usage: scripts/dataset-scale.sh [-n COUNT] [-p PCAP] [-r ET_OPEN_DIR] [-d DOMAIN] [-k PAIRS] [-w WORKERS] [-o DIR]
#        [-t: throughput only] [-l: load only]
set -euo pipefail

N=10000000
PCAP=/work/lead-tmp/mix8.pcap
ET=../shared/corpus/et-open
DOMAIN=upload.wikimedia.org
PAIRS=3
WORKERS=2
OUT=${TMPDIR:-/tmp}/picket-dataset-scale
PICKET=${PICKET_BIN:-target/release/picket}
ONLY=
while getopts "n:p:r:d:k:w:o:tl" o; do
  case $o in
    n) N=$OPTARG ;; p) PCAP=$OPTARG ;; r) ET=$OPTARG ;; d) DOMAIN=$OPTARG ;;
    k) PAIRS=$OPTARG ;; w) WORKERS=$OPTARG ;; o) OUT=$OPTARG ;; t) ONLY=throughput ;; l) ONLY=load ;;
    *) sed -n 2,16p "$0"; exit 2 ;;
  esac
done
PICKET=$(realpath "$PICKET"); ET=$(realpath "$ET"); PCAP=$(realpath "$PCAP")
mkdir -p "$OUT/data"
cd "$OUT"

if [ ! -s "domains-$N.lst" ]; then
  echo "generating $N domains ..."
  python3 - "$N" "$DOMAIN" > "domains-$N.lst" <<'PY'
import base64, sys
n, real = int(sys.argv[1]), sys.argv[2]
out = sys.stdout.buffer
b64 = base64.b64encode
tlds = [b"com", b"net", b"org", b"info", b"ru", b"cn", b"xyz", b"top"]
buf = []
for i in range(n - 1):
    buf.append(b64(b"h%x-%d.example-%d.%s" % (i * 2654435761 % (1 << 32), i, i % 9973, tlds[i % 8])))
    if len(buf) == 100000:
        out.write(b"\n".join(buf) + b"\n"); buf = []
buf.append(b64(real.encode()))
out.write(b"\n".join(buf) + b"\n")
PY
fi
ls -l "domains-$N.lst"

cat > set.rules <<R
alert dns any any -> any any (msg:"intel domain"; dns.query; dataset:isset,intel-domains, type string, load $OUT/domains-$N.lst; sid:9900001;)
R
cat > state.rules <<R
alert dns any any -> any any (msg:"intel domain"; dns.query; dataset:isset,intel-domains, type string, state intel-domains.lst; sid:9900001;)
R
echo 'alert dns any any -> any any (msg:"placeholder"; dns.query; content:"x"; sid:9900002;)' > none.rules
SET="detect.datasets.data_dir=$OUT/data"

timed() { # label, command...: prints wall seconds, CPU seconds (user+sys) and max RSS
  local label=$1; shift
  /usr/bin/time -v "$@" > "$label.out" 2> "$label.time" || true
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$label.time")
  cpu=$(awk -F': ' '/User time|System time/{s+=$2} END{print s}' "$label.time")
  rss=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$label.time")
  printf '%-20s wall %7.2f s   CPU %6.2f s   max RSS %6d MiB\n' "$label" "$wall" "$cpu" "$rss"
}

if [ "$ONLY" != throughput ]; then
echo "== load (rules check)"
rm -rf data/cache
timed load-without "$PICKET" rules check --rules none.rules --set "$SET"
timed load-text "$PICKET" rules check --rules set.rules --set "$SET" --set detect.datasets.binary_state_min=0
timed load-text+copy "$PICKET" rules check --rules set.rules --set "$SET"
ls -l data/cache/
timed load-binary "$PICKET" rules check --rules set.rules --set "$SET"
grep -h "binary state" load-binary.time || true

echo "== load from saved state"
# A replay of no packets with the state rule saves the set: copy the loaded file as the state
# picket would write (same format), then let picket rewrite it at the end of a replay.
cp "domains-$N.lst" data/intel-domains.lst
head -c 24 "$PCAP" > empty.pcap
"$PICKET" replay -q --rules state.rules --set "$SET" --eve /dev/null empty.pcap > /dev/null 2>&1 || true
timed load-from-state "$PICKET" rules check --rules state.rules --set "$SET"

echo "== alert on a DNS query for $DOMAIN"
rm -f alert.json
"$PICKET" replay -q --rules set.rules --workers "$WORKERS" --set "$SET" --set capture.checksum_validation=none \
  --eve alert.json "$PCAP" > /dev/null 2>&1 || true
echo "alerts of sid 9900001: $(grep -c '"signature_id":9900001' alert.json || true)"
fi
[ "$ONLY" = load ] && exit 0
head -c 24 "$PCAP" > empty.pcap

echo "== throughput: ET Open vs ET Open + the dataset rule ($PAIRS alternated runs each, $WORKERS workers)"
mkdir -p et et-set && cp "$ET"/* et/ && cp "$ET"/* et-set/ && cp set.rules et-set/zz-dataset.rules
# A first run of each makes the prefilter caches and the set's binary copy.
for v in et et-set; do
  "$PICKET" replay -q --rules "$v" --workers "$WORKERS" --set "$SET" --eve /dev/null empty.pcap > /dev/null 2>&1 || true
done
# CPU time (task-clock, all threads) of the replay minus that of loading the same rules
# (`rules check`): the set's load (under a second from its binary copy) is not throughput.
cpu_ms() { awk -F, '/task-clock/{print $1}' "$1"; }
for i in $(seq 1 "$PAIRS"); do
  for v in et et-set; do
    perf stat -x, -e task-clock -o "ld-$v-$i.perf" "$PICKET" rules check --rules "$v" --set "$SET" > /dev/null 2>&1 || true
    perf stat -x, -e task-clock -o "tp-$v-$i.perf" "$PICKET" replay --rules "$v" --workers "$WORKERS" \
      --set "$SET" --set capture.checksum_validation=none --eve /dev/null "$PCAP" > "tp-$v-$i.out" 2> "tp-$v-$i.time" || true
    l=$(cpu_ms "ld-$v-$i.perf"); r=$(cpu_ms "tp-$v-$i.perf")
    awk -v l="$l" -v r="$r" 'BEGIN{printf "%.0f\n", r - l}' > "pr-$v-$i.ms"
    printf 'run %d %-7s replay %8.0f ms CPU, rules load %7.0f ms, packets %8.0f ms  (%s)\n' "$i" "$v" "$r" "$l" \
      "$(cat "pr-$v-$i.ms")" "$(grep -o '[0-9]* alerts' "tp-$v-$i.time" | tail -1)"
  done
done
for v in et et-set; do
  med=$(cat pr-$v-*.ms | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf 'median %-7s packets %s ms CPU\n' "$v" "$med"
  eval "med_${v//-/_}=$med"
done
awk -v a="$med_et" -v b="$med_et_set" 'BEGIN{printf "with the set: packet CPU time %+.2f%%\n", (b-a)*100/a}'

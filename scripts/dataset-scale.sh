#!/usr/bin/env bash
# Acceptance 2 of the indicators work (issue 20): a dataset of N (default 10 million) domains.
# Generates the dataset file (Suricata's string format: base64 a line) with one real domain of
# the capture among synthetic ones, then measures with /usr/bin/time -v:
#   1. load: `picket rules check` of one rule loading the set (wall seconds, max RSS), against
#      the same check without the set (the difference is the set's own cost);
#   2. load from saved state: the same set as a `state` file written by picket (replay of an
#      empty capture saves it), loaded again;
#   3. an alert: a replay of the capture with the dataset rule alerts on the DNS query;
#   4. throughput: ET Open vs ET Open + the dataset rule on the capture, in alternated pairs
#      (`picket replay`, wall time and packets/s as picket reports them).
# Heavy (a ~300 MB file, GBs of RAM at peak): not part of the test suite.
#
# Usage: scripts/dataset-scale.sh [-n COUNT] [-p PCAP] [-r ET_OPEN_DIR] [-d DOMAIN] [-k PAIRS] [-w WORKERS] [-o DIR]
set -euo pipefail

N=10000000
PCAP=/work/lead-tmp/mix8.pcap
ET=../shared/corpus/et-open
DOMAIN=upload.wikimedia.org
PAIRS=3
WORKERS=2
OUT=${TMPDIR:-/tmp}/picket-dataset-scale
PICKET=${PICKET_BIN:-target/release/picket}
while getopts "n:p:r:d:k:w:o:" o; do
  case $o in
    n) N=$OPTARG ;; p) PCAP=$OPTARG ;; r) ET=$OPTARG ;; d) DOMAIN=$OPTARG ;;
    k) PAIRS=$OPTARG ;; w) WORKERS=$OPTARG ;; o) OUT=$OPTARG ;;
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

echo "== load (rules check)"
timed load-without "$PICKET" rules check --rules none.rules --set "$SET"
timed load-with-set "$PICKET" rules check --rules set.rules --set "$SET"
grep -h "time:" load-with-set.out || true

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

echo "== throughput: ET Open vs ET Open + the dataset rule ($PAIRS alternated pairs, $WORKERS workers)"
mkdir -p et et-set && cp "$ET"/* et/ && cp "$ET"/* et-set/ && cp set.rules et-set/zz-dataset.rules
for i in $(seq 1 "$PAIRS"); do
  for v in et et-set; do
    /usr/bin/time -v "$PICKET" replay --rules "$v" --workers "$WORKERS" --set "$SET" \
      --set capture.checksum_validation=none --eve /dev/null "$PCAP" > "tp-$v-$i.out" 2> "tp-$v-$i.time" || true
    kpps=$(grep -o '[0-9.]* kpps' "tp-$v-$i.time" | tail -1)
    gbps=$(grep -o '[0-9.]* Gbit/s' "tp-$v-$i.time" | tail -1)
    wall=$(grep -o '[0-9.]* s wall' "tp-$v-$i.time" | tail -1)
    printf 'pair %d %-7s %s, %s, %s\n' "$i" "$v" "$wall" "$gbps" "$kpps"
  done
done

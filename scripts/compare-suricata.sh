#!/usr/bin/env bash
# Picket against Suricata, side by side on this machine, in one run: builds (or finds) the
# reference Suricata, makes the input if missing, builds Picket, then alternates the two on the
# same capture and rules (scripts/compare-suricata.py prints every run, the medians and ratios).
#
#   scripts/compare-suricata.sh                       # mix8 (710 MB), ET Open, alerts only, 5 pairs
#   MODE=default scripts/compare-suricata.sh          # both with their default EVE records
#   INPUT=../shared/corpus/traffic/mix.pcap PAIRS=7 scripts/compare-suricata.sh --json /tmp/cmp.json
#
# Environment: SHARED (../shared), INPUT (/tmp/mix8.pcap, made from mix.pcap by expand-pcap,
# needs python3-dpkt or `pip install dpkt`), RULES (ET Open), PAIRS (5), WORKERS (2), MODE
# (alerts-only | default). Further arguments go to compare-suricata.py (--keep, --json PATH).
# Run it on an otherwise idle machine: both programs share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
INPUT=${INPUT:-/tmp/mix8.pcap}
RULES=${RULES:-$SHARED/corpus/et-open}
PAIRS=${PAIRS:-5}
WORKERS=${WORKERS:-2}
MODE=${MODE:-alerts-only}

"$SHARED/anchors/build-suricata"
if [ ! -f "$INPUT" ]; then
  python3 -c 'import dpkt' 2>/dev/null || pip install --quiet --break-system-packages dpkt
  echo "making $INPUT (mix.pcap expanded 8 times)"
  "$SHARED/corpus/tools/expand-pcap" "$SHARED/corpus/traffic/mix.pcap" "$INPUT" 8
fi
cargo build --release --locked --quiet
# Warm the page cache and Picket's prefilter cache so that neither run pays for the other's
# first read.
cat "$INPUT" > /dev/null
target/release/picket rules check --rules "$RULES" > /dev/null || true
exec python3 scripts/compare-suricata.py --input "$INPUT" --rules "$RULES" --pairs "$PAIRS" \
  --workers "$WORKERS" --mode "$MODE" "$@"

#!/usr/bin/env bash
# Fuzz smoke test: seeds the corpora, builds every cargo-fuzz target in fuzz/ and runs each
# for FUZZ_SECONDS (default 60), one after the other. Exits non-zero when any target finds a
# crash, a hang (timeout) or an out-of-memory input, after printing each input's path and
# the command that reproduces it. See docs/fuzzing.md.
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60; with 7+ targets keep it <= 60 for < 10 min)
#   FUZZ_TARGETS    space-separated subset (default: all targets)
#   FUZZ_SANITIZER  address (default) or none: passed to cargo fuzz -s
#   FUZZ_SEED       libFuzzer seed (default 1, so a CI run can be repeated exactly; 0 = random)
#   SHARED          the shared checkout with conformance captures and ET Open (default ../shared)
#   FUZZ_OPT_LEVEL  the targets' optimisation level (default: fuzz/Cargo.toml's release profile,
#                   3, with line tables). CI builds at 1 without debug info: its smoke runs 3 s a
#                   target, and the build from scratch then takes 41% less CPU (474 s against
#                   806 s of user time, 2026-12-07), the largest single step of CI
# Uses the stable toolchain with RUSTC_BOOTSTRAP=1 (libFuzzer needs nightly-only flags).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SANITIZER=${FUZZ_SANITIZER:-address}
FUZZ_SEED=${FUZZ_SEED:-1}
SHARED=${SHARED:-../shared}
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  # A debug build: cargo-fuzz only starts cargo, and its optimised build takes twice the CPU.
  echo "fuzz-smoke: installing cargo-fuzz"
  cargo install --locked --debug cargo-fuzz
fi

# Every cargo call below (build and runs) must see the same profile, or `cargo fuzz run`
# rebuilds the targets.
repro_env=""
if [ -n "${FUZZ_OPT_LEVEL:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL="$FUZZ_OPT_LEVEL" CARGO_PROFILE_RELEASE_DEBUG=0
  repro_env="CARGO_PROFILE_RELEASE_OPT_LEVEL=$FUZZ_OPT_LEVEL CARGO_PROFILE_RELEASE_DEBUG=0 "
fi

# Every target of fuzz/Cargo.toml unless a subset is given: a new target is fuzzed from the day
# it is added.
FUZZ_TARGETS=${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list | tr '\n' ' ')}

python3 scripts/fuzz-seed.py --shared "$SHARED"

echo "fuzz-smoke: building targets (sanitizer: $FUZZ_SANITIZER, opt-level: ${FUZZ_OPT_LEVEL:-profile})"
cargo fuzz build -O -s "$FUZZ_SANITIZER"
bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"
# What `cargo fuzz run` adds to the environment of an AddressSanitizer build.
if [ "$FUZZ_SANITIZER" = address ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"
fi

# The targets write their scratch files under TMPDIR; keep them in a directory of our own.
scratch=$(mktemp -d -t picket-fuzz-smoke.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

failed=0
summary=()
for t in $FUZZ_TARGETS; do
  art="fuzz/artifacts/$t"
  mkdir -p "$art" "fuzz/corpus/$t"
  before=$(find "$art" -type f | sort)
  log="$scratch/$t.log"
  echo "fuzz-smoke: $t for ${FUZZ_SECONDS}s"
  set +e
  # The binary `cargo fuzz build` made, run as `cargo fuzz run` runs it (artifacts under
  # fuzz/artifacts/<target>/) but without a cargo call per target to find it up to date.
  TMPDIR="$scratch" "$bin_dir/$t" -artifact_prefix="$art/" "fuzz/corpus/$t" \
    -max_total_time="$FUZZ_SECONDS" -seed="$FUZZ_SEED" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 || true)
  new=$(comm -13 <(echo "$before") <(find "$art" -type f | sort) | grep -v '^$' || true)
  if [ "$rc" -ne 0 ] || [ -n "$new" ]; then
    failed=1
    summary+=("$t: FAILED (exit $rc)")
    echo "fuzz-smoke: $t FAILED (exit $rc); last lines of the log:"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20 || true
    tail -n 25 "$log"
    if [ -z "$new" ]; then
      echo "fuzz-smoke: no artifact written (build or harness failure); full log above"
    fi
    for f in $new; do
      echo "fuzz-smoke: failing input: $f"
      echo "fuzz-smoke: reproduce:     ${repro_env}RUSTC_BOOTSTRAP=1 cargo fuzz run -O -s $FUZZ_SANITIZER $t $f"
      echo "fuzz-smoke: minimise:      ${repro_env}RUSTC_BOOTSTRAP=1 cargo fuzz tmin -O -s $FUZZ_SANITIZER $t $f"
    done
  else
    summary+=("$t: ok (${runs:-no stats})")
  fi
done

echo "fuzz-smoke: summary"
printf '  %s\n' "${summary[@]}"
exit "$failed"

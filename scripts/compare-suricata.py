#!/usr/bin/env python3
"""Picket against Suricata, side by side: the same capture, the same rules, in alternation.

Runs the reference Suricata (built by ../shared/anchors/build-suricata) and Picket's
`replay` on one input, PAIRS times each, alternating which goes first, and prints for every
run: processing seconds (Suricata's "time elapsed", Picket's replay "wall" that excludes rule
loading), wall seconds of the whole process (rule load included), Gbit/s of processing, peak
RSS and the alert count; then the medians, the ratios (Suricata / Picket for times, Picket /
Suricata for RSS) and the per-sid alert parity of the last pair. Only figures from one such
run are comparisons; never mix figures from different runs.

Modes (--mode):
  alerts-only  Suricata's alerts-only.yaml (EVE alert + stats) against Picket writing
               `alert,stats` (the configuration of the README's headline ratio).
  default      Suricata's installed suricata.yaml (its default EVE records: http, dns, tls,
               files, flow, anomaly, ...) against Picket's default configuration (its default
               `output.eve.types`, Suricata's list): the records-on comparison.

Both run with checksum validation off (`-k none` and `capture.checksum_validation=none`) and
the same number of worker threads (--workers; Suricata's autofp runmode with that many
detect threads). --json PATH writes every figure.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

ANCHOR = "/opt/suricata-anchor"


def run_measured(cmd, cwd=None, env=None):
    """Runs cmd, returns (rc, wall seconds, peak RSS in MB, stdout+stderr text)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return proc.returncode, wall, usage.ru_maxrss / 1024.0, text


def alerts_by_sid(eve_path):
    sids = Counter()
    try:
        with open(eve_path, "rb") as f:
            for line in f:
                if b'"event_type":"alert"' not in line:
                    continue
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                sids[ev.get("alert", {}).get("signature_id")] += 1
    except FileNotFoundError:
        pass
    return sids


def events_by_type(eve_path):
    types = Counter()
    with open(eve_path, "rb") as f:
        for line in f:
            m = re.search(rb'"event_type":"([a-z0-9_-]+)"', line)
            if m:
                types[m.group(1).decode()] += 1
    return types


def run_suricata(args, rules_file, outdir, input_bytes):
    cfg = os.path.join(ANCHOR, "etc/suricata", "alerts-only.yaml" if args.mode == "alerts-only" else "suricata.yaml")
    cmd = [
        os.path.join(ANCHOR, "bin/suricata"), "-c", cfg, "-r", args.input, "-S", rules_file,
        "-l", outdir, "-k", "none", "--runmode", "autofp",
        "--set", f"threading.detect-thread-ratio={args.workers / os.cpu_count()}",
    ]
    rc, wall, rss, text = run_measured(cmd)
    if rc != 0:
        sys.exit(f"suricata failed (exit {rc}):\n{text[-3000:]}")
    log = open(os.path.join(outdir, "suricata.log"), encoding="utf-8", errors="replace").read()
    m = re.search(r"time elapsed ([0-9.]+)s", log)
    if not m:
        sys.exit(f"no 'time elapsed' in {outdir}/suricata.log")
    proc = float(m.group(1))
    eve = os.path.join(outdir, "eve.json")
    sids = alerts_by_sid(eve)
    return {
        "processing_s": proc, "wall_s": wall, "rss_mb": rss, "gbps": input_bytes * 8 / proc / 1e9,
        "alerts": sum(sids.values()), "sids": sids, "eve": eve,
    }


def run_picket(args, outdir, input_bytes):
    eve = os.path.join(outdir, "eve.json")
    cmd = [args.picket, "replay", "--workers", str(args.workers),
           "--set", "capture.checksum_validation=none", "--eve", eve]
    for r in args.rules:
        cmd += ["--rules", r]
    if args.mode == "alerts-only":
        cmd += ["--set", "output.eve.types=alert,stats"]
    if args.picket_cache:
        cmd += ["--set", f"detect.cache_dir={args.picket_cache}"]
    cmd.append(args.input)
    rc, wall, rss, text = run_measured(cmd)
    if rc not in (0, 2):
        sys.exit(f"picket failed (exit {rc}):\n{text[-3000:]}")
    m = re.search(r"events written; ([0-9.]+) s wall", text)
    if not m:
        sys.exit(f"no summary line in picket's output:\n{text[-2000:]}")
    proc = float(m.group(1))
    sids = alerts_by_sid(eve)
    return {
        "processing_s": proc, "wall_s": wall, "rss_mb": rss, "gbps": input_bytes * 8 / proc / 1e9,
        "alerts": sum(sids.values()), "sids": sids, "eve": eve,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="the capture both read")
    ap.add_argument("--rules", action="append", required=True, help="rule file or folder (repeatable)")
    ap.add_argument("--picket", default="target/release/picket")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mode", choices=["alerts-only", "default"], default="alerts-only")
    ap.add_argument("--picket-cache", help="Picket's detect.cache_dir (default: its configured one)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--keep", action="store_true", help="keep the output folders")
    args = ap.parse_args()

    if not os.access(os.path.join(ANCHOR, "bin/suricata"), os.X_OK):
        sys.exit(f"no Suricata at {ANCHOR}: run ../shared/anchors/build-suricata first")
    input_bytes = os.path.getsize(args.input)
    work = tempfile.mkdtemp(prefix="picket-vs-suricata.")
    # Suricata takes one rule file: the same rules concatenated, in the order Picket reads
    # them (files of a folder sorted by name).
    rules_file = os.path.join(work, "all.rules")
    with open(rules_file, "wb") as out:
        for r in args.rules:
            files = [r] if os.path.isfile(r) else sorted(
                os.path.join(r, f) for f in os.listdir(r) if f.endswith(".rules"))
            for f in files:
                with open(f, "rb") as src:
                    shutil.copyfileobj(src, out)
                out.write(b"\n")

    runs = {"suricata": [], "picket": []}
    for i in range(args.pairs):
        order = ["suricata", "picket"] if i % 2 == 0 else ["picket", "suricata"]
        for who in order:
            outdir = os.path.join(work, f"{who}-{i}")
            os.makedirs(outdir)
            r = run_suricata(args, rules_file, outdir, input_bytes) if who == "suricata" else run_picket(args, outdir, input_bytes)
            runs[who].append(r)
            print(f"pair {i + 1} {who:9} processing {r['processing_s']:7.3f} s  wall {r['wall_s']:7.2f} s  "
                  f"{r['gbps']:6.2f} Gbit/s  RSS {r['rss_mb']:6.0f} MB  alerts {r['alerts']}", flush=True)
            if i < args.pairs - 1 and not args.keep:
                os.remove(r["eve"])

    def med(who, key):
        return statistics.median(r[key] for r in runs[who])

    print()
    print(f"input {args.input} ({input_bytes / 1e6:.1f} MB), rules {' '.join(args.rules)}, mode {args.mode}, "
          f"{args.workers} worker(s), {args.pairs} alternated pairs, {time.strftime('%Y-%m-%d')}")
    print(f"{'median':24} {'suricata':>10} {'picket':>10} {'ratio':>8}")
    summary = {}
    for key, label, better in [("processing_s", "processing s", "lower"), ("wall_s", "wall s (with load)", "lower"),
                               ("gbps", "Gbit/s (processing)", "higher"), ("rss_mb", "peak RSS MB", "lower")]:
        s, p = med("suricata", key), med("picket", key)
        ratio = s / p if better == "lower" else p / s
        summary[key] = {"suricata": s, "picket": p, "ratio": ratio}
        print(f"{label:24} {s:10.3f} {p:10.3f} {ratio:7.2f}x")
    # Per-sid parity of the last pair: alerts both wrote for the same sid, over the larger count.
    ss, ps = runs["suricata"][-1]["sids"], runs["picket"][-1]["sids"]
    common = sum(min(ss[k], ps[k]) for k in set(ss) | set(ps))
    total = max(sum(ss.values()), sum(ps.values()), 1)
    differing = sorted((k for k in set(ss) | set(ps) if ss[k] != ps[k]), key=lambda k: -abs(ss[k] - ps[k]))
    print(f"alerts: suricata {sum(ss.values())}, picket {sum(ps.values())}; per-sid parity {100.0 * common / total:.1f}%"
          + (f"; sids that differ (suricata/picket): "
             + ", ".join(f"{k} {ss[k]}/{ps[k]}" for k in differing[:8]) if differing else ""))
    if args.mode == "default":
        st, pt = events_by_type(runs["suricata"][-1]["eve"]), events_by_type(runs["picket"][-1]["eve"])
        print("records (last pair), suricata/picket: "
              + ", ".join(f"{t} {st[t]}/{pt[t]}" for t in sorted(set(st) | set(pt), key=lambda t: -st[t])))
    if args.json:
        for who in runs:
            for r in runs[who]:
                r["sids"] = {str(k): v for k, v in r["sids"].items()}
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "input_bytes": input_bytes, "runs": runs, "median": summary,
                       "parity_percent": 100.0 * common / total}, f, indent=1)
    if args.keep:
        print(f"outputs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

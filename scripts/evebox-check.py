#!/usr/bin/env python3
"""EveBox on Picket's output, unchanged: an opt-in check (`make evebox-check`).

Runs EveBox (SQLite mode, no Elasticsearch) on two EVE files of the same capture, mix.pcap:
Picket's own (made here with `picket replay` and ET Open) and Suricata's reference
(../shared/corpus/reference-mix-eve.json.xz). For each, through EveBox's HTTP API:

  1. every record was ingested: its event counts per type (/api/events/count) equal the
     file's, and their sum equals the number of lines;
  2. its alert groups (/api/alerts: signature id, source, destination, with a count) equal the
     groups computed from the file.

So whatever differs between the two views in EveBox is the record parity of the sensors, not
EveBox. The script then prints the two side by side (alert groups shared, per-type counts) and
fails if Picket's alert-group parity with Suricata falls below --min-group-parity.

EveBox comes from --evebox, $EVEBOX, `evebox` on PATH or target/evebox/bin/evebox; with
--install it is built with `cargo install evebox --locked` into target/evebox (measured on
the 2-core build machine: about 9 minutes of CPU, 2.2 GB of memory at the link; its build
script needs BUILD_REV outside a git checkout, set here).
"""

import argparse
import collections
import json
import lzma
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVEBOX_VERSION = "0.30.0"


def find_evebox(args):
    for cand in (args.evebox, os.environ.get("EVEBOX"), shutil.which("evebox"),
                 os.path.join(ROOT, "target/evebox/bin/evebox")):
        if cand and os.access(cand, os.X_OK):
            return cand
    if not args.install:
        sys.exit("evebox not found: give --evebox PATH, or --install to build it with cargo (about 9 CPU minutes)")
    env = dict(os.environ, BUILD_REV=f"crates.io-{EVEBOX_VERSION}")
    t0 = time.time()
    subprocess.run(
        ["cargo", "install", "evebox", "--version", EVEBOX_VERSION, "--locked", "--root", os.path.join(ROOT, "target/evebox")],
        env=env,
        check=True,
    )
    print(f"evebox {EVEBOX_VERSION} built in {time.time() - t0:.0f} s")
    return os.path.join(ROOT, "target/evebox/bin/evebox")


def file_view(path):
    """Counts per event type, line count and alert groups, from the file itself."""
    types = collections.Counter()
    groups = collections.Counter()
    lines = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            lines += 1
            d = json.loads(line)
            types[d.get("event_type")] += 1
            if d.get("event_type") == "alert":
                groups[(d["alert"]["signature_id"], d.get("src_ip"), d.get("dest_ip"))] += 1
    return {"lines": lines, "types": dict(types), "groups": dict(groups)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.loads(r.read())


def evebox_view(evebox, eve, expected_lines, workdir):
    """Starts EveBox on `eve`, waits for every line, and reads its counts and alert groups."""
    data = tempfile.mkdtemp(dir=workdir, prefix="evebox-data-")
    port = free_port()
    log = open(os.path.join(data, "server.log"), "w")
    proc = subprocess.Popen(
        [evebox, "server", "--sqlite", "--no-auth", "--no-tls", "--disable-retention", "--disable-geoip",
         "--host", "127.0.0.1", "-p", str(port), "-D", data, eve],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 600
        last = None
        while True:
            if proc.poll() is not None:
                sys.exit(f"evebox exited ({proc.returncode}); see {log.name}")
            try:
                info = get(port, "/api/sqlite/info")
                last = info.get("max_event_id")
                if last == expected_lines:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit(f"evebox ingested {last} of {expected_lines} records in 600 s")
            time.sleep(1)
        t0 = time.time()
        types = {}
        for t in file_view_types[eve]:
            types[t] = get(port, "/api/events/count", q=f"event_type:{t}")["total"]
        alerts = get(port, "/api/alerts")
        if alerts.get("timed_out"):
            sys.exit("evebox: the alert query timed out")
        groups = collections.Counter()
        for e in alerts["events"]:
            s = e["_source"]
            groups[(s["alert"]["signature_id"], s.get("src_ip"), s.get("dest_ip"))] += e["_metadata"]["count"]
        ui = None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
                ui = r.status
        except urllib.error.HTTPError as e:
            ui = e.code
        return {"types": types, "groups": dict(groups), "ingested": last, "query_secs": time.time() - t0, "ui_status": ui}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


file_view_types = {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--evebox")
    ap.add_argument("--install", action="store_true", help="build EveBox with cargo install when not found")
    ap.add_argument("--picket", default=os.path.join(ROOT, "target/release/picket"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "../shared"))
    ap.add_argument("--picket-eve", help="use this EVE instead of replaying mix.pcap")
    ap.add_argument("--min-group-parity", type=float, default=0.70,
                    help="share of Suricata's alert groups Picket must have (default 0.70)")
    ap.add_argument("--keep", help="keep the EVE files and EveBox data here")
    args = ap.parse_args()

    evebox = find_evebox(args)
    work = args.keep or tempfile.mkdtemp(prefix="picket-evebox-")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(args.shared, "corpus")

    picket_eve = args.picket_eve
    if not picket_eve:
        picket_eve = os.path.join(work, "picket-mix-eve.json")
        subprocess.run(
            [args.picket, "replay", "--quiet", "--workers", "1", "--rules", os.path.join(corpus, "et-open"),
             "--eve", picket_eve, os.path.join(corpus, "traffic/mix.pcap")],
            check=True,
        )
    ref_eve = os.path.join(work, "suricata-mix-eve.json")
    with lzma.open(os.path.join(corpus, "reference-mix-eve.json.xz")) as src, open(ref_eve, "wb") as dst:
        shutil.copyfileobj(src, dst)

    failures = []
    views = {}
    for name, eve in (("picket", picket_eve), ("suricata", ref_eve)):
        fv = file_view(eve)
        file_view_types[eve] = sorted(t for t in fv["types"] if t)
        t0 = time.time()
        ev = evebox_view(evebox, eve, fv["lines"], work)
        print(f"{name}: {fv['lines']} records ingested by EveBox in {time.time() - t0:.0f} s "
              f"(API queries {ev['query_secs']:.1f} s); web UI at /: HTTP {ev['ui_status']}")
        if ev["types"] != {t: n for t, n in fv["types"].items() if t}:
            diff = {t: (ev["types"].get(t), n) for t, n in fv["types"].items() if ev["types"].get(t) != n}
            failures.append(f"{name}: EveBox counts per type differ from the file (EveBox, file): {diff}")
        if sum(ev["types"].values()) != fv["lines"]:
            failures.append(f"{name}: EveBox holds {sum(ev['types'].values())} records of {fv['lines']}")
        if ev["groups"] != fv["groups"]:
            missing = [g for g in fv["groups"] if ev["groups"].get(g) != fv["groups"][g]]
            failures.append(f"{name}: {len(missing)} alert groups differ in EveBox, e.g. {missing[:3]}")
        views[name] = (fv, ev)

    (pf, pe), (sf, se) = views["picket"], views["suricata"]
    shared_groups = set(pe["groups"]) & set(se["groups"])
    parity = len(shared_groups) / max(1, len(se["groups"]))
    print(f"\nalert groups (sid, source, destination) through EveBox: Suricata {len(se['groups'])}, "
          f"Picket {len(pe['groups'])}, shared {len(shared_groups)} ({parity:.1%} of Suricata's)")
    print(f"alerts: Suricata {sum(se['groups'].values())}, Picket {sum(pe['groups'].values())}")
    print(f"\n{'event type':<16}{'Suricata':>10}{'Picket':>10}")
    for t in sorted(set(se["types"]) | set(pe["types"]), key=lambda t: -se["types"].get(t, 0)):
        print(f"{t:<16}{se['types'].get(t, 0):>10}{pe['types'].get(t, 0):>10}")
    if parity < args.min_group_parity:
        failures.append(f"alert-group parity {parity:.1%} is under {args.min_group_parity:.0%}")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("\nEveBox check passed: EveBox shows exactly what each EVE file holds.")


if __name__ == "__main__":
    main()

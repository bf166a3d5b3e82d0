#!/usr/bin/env python3
"""Opens a `picket report` page in headless Chromium and checks it as a reader would see it.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: file
descriptors 3 and 4, NUL-separated JSON), so no port is opened and no WebSocket library is
needed. The checks:

- no console error, no uncaught exception, no log entry of level error (a CSP violation is
  one), and no request other than the page's own file (Network.requestWillBeSent);
- the page's script ran (the tables sort and filter when used);
- the numbers in the page equal counts computed here from the EVE file(s) (--eve), with an
  implementation that shares nothing with the report's;
- screenshots (--shots DIR) of the top of the page and of the timeline are not blank, and the
  timeline shows the severity colours of the alerts it holds;
- with --hostile: no injected element or script ran (window.__pwned, extra <script>/<img>/on*
  attributes), and the hostile strings are on the page as text.

Prints a JSON summary; exits 1 with the failures listed.
"""

import argparse
import collections
import json
import lzma
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SEVERITY_RGB = [(200, 30, 45), (240, 130, 20), (40, 110, 190), (130, 130, 130)]


class Browser:
    def __init__(self, chromium, width, height):
        self.profile = tempfile.TemporaryDirectory(prefix="picket-chromium-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Chromium reads commands on fd 3 and writes answers on fd 4. Duplicate first so
            # that neither end is overwritten by the other's dup2.
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            args,
            preexec_fn=fds,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    def pump(self, seconds):
        """Collects events for a while (late console messages, late requests)."""
        end = time.time() + seconds
        os.set_blocking(self.from_chrome, False)
        try:
            while time.time() < end:
                try:
                    chunk = os.read(self.from_chrome, 1 << 16)
                except BlockingIOError:
                    time.sleep(0.05)
                    continue
                if not chunk:
                    break
                self.buf += chunk
                while b"\0" in self.buf:
                    msg, self.buf = self.buf.split(b"\0", 1)
                    self.events.append(json.loads(msg))
        finally:
            os.set_blocking(self.from_chrome, True)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.profile.cleanup()


def png_pixels(data):
    """Decodes a non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes): (w, h, rows of RGB)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x : x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def read_eve(paths):
    for p in paths:
        opener = lzma.open if p.endswith(".xz") else open
        with opener(p, "rt", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if isinstance(d, dict):
                    yield d


def shown(s, max_bytes=None):
    """How the page shows a record's text: cut at max_bytes (at a character boundary), control
    characters as \\xNN or \\u{NNNN}, invisible direction and zero-width marks as \\u{NNNN}."""
    if max_bytes is not None:
        b = s.encode("utf-8", "surrogatepass")[:max_bytes]
        s = b.decode("utf-8", "ignore")
    out = []
    for c in s:
        u = ord(c)
        if u < 0x20 or 0x7F <= u <= 0x9F:
            out.append("\\x%02x" % u)
        elif 0x200B <= u <= 0x200F or 0x2028 <= u <= 0x202E or 0x2060 <= u <= 0x2069 or u == 0xFEFF:
            out.append("\\u{%04x}" % u)
        else:
            out.append(c)
    return "".join(out)


def expected_counts(paths):
    """Counts the page must show, computed from the EVE independently of the report."""
    types = collections.Counter()
    sev = [0, 0, 0, 0]
    sids = collections.Counter()
    records = alerts = flows = 0
    last_stats = {}
    for d in read_eve(paths):
        records += 1
        et = d.get("event_type")
        types[shown(et, 64) if isinstance(et, str) else ""] += 1
        if et == "alert" and isinstance(d.get("alert"), dict):
            alerts += 1
            s = d["alert"].get("severity")
            sev[s - 1 if isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 3 else 3] += 1
            sid = d["alert"].get("signature_id")
            sids[sid if isinstance(sid, int) and sid >= 0 else 0] += 1
        elif et == "flow":
            flows += 1
        elif et == "stats":
            pk = (d.get("stats") or {}).get("decoder", {}).get("pkts")
            if isinstance(pk, int):
                last_stats[d.get("host")] = max(pk, last_stats.get(d.get("host"), 0))
    return {
        "records": records,
        "alerts": alerts,
        "flows": flows,
        "severity": sev,
        "types": dict(types),
        "sids": {str(k): v for k, v in sids.items()},
        # one EVE file per sensor run in these tests: the largest counter is the run's last
        "packets": sum(last_stats.values()) if last_stats else None,
    }


PAGE_FACTS = r"""
(() => {
  const v = (id) => { const e = document.getElementById(id); return e ? e.getAttribute("data-v") : null; };
  const types = {};
  document.querySelectorAll("#t-types tbody tr").forEach(r => {
    types[r.getAttribute("data-type")] = Number(r.cells[1].getAttribute("data-v"));
  });
  const sids = {};
  document.querySelectorAll("#t-signatures tbody tr").forEach(r => {
    const sid = r.getAttribute("data-sid");
    sids[sid] = (sids[sid] || 0) + Number(r.cells[0].getAttribute("data-v"));
  });
  const rect = (sel) => { const e = document.querySelector(sel); if (!e) return null;
    const b = e.getBoundingClientRect(); return {x: b.left + scrollX, y: b.top + scrollY, w: b.width, h: b.height}; };
  const tables = {};
  document.querySelectorAll("table").forEach(t => { tables[t.id] = t.tBodies[0] ? t.tBodies[0].rows.length : 0; });
  const onattrs = [];
  document.querySelectorAll("*").forEach(e => { for (const a of e.attributes) if (/^on/i.test(a.name)) onattrs.push(e.tagName + "." + a.name); });
  return JSON.stringify({
    ready: document.documentElement.getAttribute("data-ready"),
    title: document.title,
    records: Number(v("n-records")), alerts: Number(v("n-alerts")), flows: Number(v("n-flows")),
    packets: v("n-packets") === "" ? null : Number(v("n-packets")),
    severity: [1,2,3,4].map(i => Number(v("n-sev-" + i))),
    types, sids, tables,
    timeline: rect("#timeline-chart svg"),
    indicators: rect("#i-tls"),
    timeline_rects: document.querySelectorAll("#timeline-chart svg rect").length,
    scripts: document.scripts.length,
    images: document.images.length,
    iframes: document.querySelectorAll("iframe,object,embed,form,base,meta[http-equiv=refresh]").length,
    onattrs,
    pwned: typeof window.__pwned !== "undefined",
    text: document.body.innerText,
  });
})()
"""

INTERACT = r"""
(() => {
  const out = {};
  const t = document.getElementById("t-signatures");
  if (t && t.tBodies[0].rows.length > 1) {
    const th = t.tHead.rows[0].cells[0];
    const col = () => Array.from(t.tBodies[0].rows).map(r => Number(r.cells[0].getAttribute("data-v")));
    th.click();
    const a = col();
    th.click();
    const b = col();
    out.sorted_desc = a.every((x, i) => i === 0 || a[i - 1] >= x);
    out.sorted_asc = b.every((x, i) => i === 0 || b[i - 1] <= x);
    const f = document.querySelector('input.filter[data-table="t-signatures"]');
    const first = t.tBodies[0].rows[0].cells[3].textContent;
    f.value = first; f.dispatchEvent(new Event("input"));
    const visible = Array.from(t.tBodies[0].rows).filter(r => !r.hidden);
    out.filter_keeps_match = visible.length >= 1 && visible.every(r => r.textContent.toLowerCase().includes(first.toLowerCase()));
    out.filter_hides_others = visible.length < t.tBodies[0].rows.length || t.tBodies[0].rows.length === 1;
    f.value = ""; f.dispatchEvent(new Event("input"));
  }
  return JSON.stringify(out);
})()
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("html")
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--eve", action="append", default=[], help="EVE file(s) the report was made from")
    ap.add_argument("--shots", help="folder for the screenshots")
    ap.add_argument("--hostile", action="append", default=[], help="a string that must be on the page as text")
    args = ap.parse_args()

    failures = []
    html = os.path.abspath(args.html)
    url = "file://" + html
    b = Browser(args.chromium, 1400, 1000)
    try:
        t = b.call("Target.createTarget", {"url": "about:blank"})
        s = b.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True})["sessionId"]
        for m in ("Network.enable", "Runtime.enable", "Log.enable", "Page.enable"):
            b.call(m, session=s)
        b.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=s,
        )
        b.events.clear()
        b.call("Page.navigate", {"url": url}, session=s)
        b.wait_event("Page.loadEventFired")
        b.pump(1.0)
        facts = json.loads(b.call("Runtime.evaluate", {"expression": PAGE_FACTS, "returnByValue": True}, session=s)["result"]["value"])
        inter = json.loads(b.call("Runtime.evaluate", {"expression": INTERACT, "returnByValue": True}, session=s)["result"]["value"])
        shots = {}
        if facts["timeline"]:
            r = facts["timeline"]
            clip = {"x": r["x"], "y": r["y"], "width": r["w"], "height": r["h"], "scale": 1}
            shots["timeline"] = b.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session=s)["data"]
        shots["top"] = b.call("Page.captureScreenshot", {"format": "png"}, session=s)["data"]
        if args.shots and facts["indicators"]:
            r = facts["indicators"]
            clip = {"x": 0, "y": r["y"] - 10, "width": 1400, "height": 560, "scale": 1}
            shots["indicators"] = b.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session=s)["data"]
        b.pump(0.3)
    finally:
        b.close()

    # what the page did
    requests = [e["params"]["request"]["url"] for e in b.events if e.get("method") == "Network.requestWillBeSent"]
    others = [u for u in requests if u != url]
    if others:
        failures.append(f"requests besides the page itself: {others[:5]}")
    if url not in requests:
        failures.append("the page's own request was not seen: the network check saw nothing")
    console = [
        e["params"]
        for e in b.events
        if e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert", "warning")
    ]
    exceptions = [e["params"]["exceptionDetails"].get("text") for e in b.events if e.get("method") == "Runtime.exceptionThrown"]
    logs = [e["params"]["entry"] for e in b.events if e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") in ("error", "warning")]
    if console:
        failures.append(f"console messages: {[c.get('args') for c in console][:5]}")
    if exceptions:
        failures.append(f"exceptions: {exceptions[:5]}")
    if logs:
        failures.append(f"log entries: {[(l.get('source'), l.get('text')) for l in logs][:5]}")
    if facts["ready"] != "1":
        failures.append("the page's script did not run")
    for k, ok in inter.items():
        if not ok:
            failures.append(f"interaction failed: {k}")

    # numbers
    exp = {"alerts": 0}
    if args.eve:
        exp = expected_counts(args.eve)
        for k in ("records", "alerts", "flows", "severity", "packets"):
            if facts[k] != exp[k]:
                failures.append(f"{k}: page {facts[k]}, EVE {exp[k]}")
        if facts["types"] != exp["types"]:
            failures.append(f"records per type differ: page {facts['types']}, EVE {exp['types']}")
        if facts["sids"] != exp["sids"]:
            diff = {k: (facts["sids"].get(k), v) for k, v in exp["sids"].items() if facts["sids"].get(k) != v}
            failures.append(f"alerts per signature differ (page, EVE): {dict(list(diff.items())[:10])}")

    # what is on screen
    top_colours = 0
    sev_seen = []
    if "top" in shots:
        import base64

        w, h, rows = png_pixels(base64.b64decode(shots["top"]))
        top_colours = len({p for row in rows[::4] for p in row[::4]})
        if top_colours < 8:
            failures.append(f"the top of the page looks blank ({top_colours} colours)")
    if args.eve and exp["alerts"] > 0:
        if "timeline" not in shots:
            failures.append("no timeline on the page")
        else:
            import base64

            w, h, rows = png_pixels(base64.b64decode(shots["timeline"]))
            pixels = collections.Counter(p for row in rows for p in row)
            sev_seen = [pixels.get(rgb, 0) for rgb in SEVERITY_RGB]
            # The legend shows each colour once (a swatch of about 150 pixels); the tallest bar
            # of the commonest severity spans the chart, so its colour must cover more.
            top = max(range(4), key=lambda i: exp["severity"][i])
            if sev_seen[top] < 150 + 200:
                failures.append(f"timeline: the bars of severity {top + 1} ({exp['severity'][top]} alerts) are not visible ({sev_seen[top]} pixels)")
            # Flow bars: their colour at 80 % over white.
            flow_px = sum(n for (r, g, b_), n in pixels.items() if abs(r - 99) <= 3 and abs(g - 171) <= 3 and abs(b_ - 123) <= 3)
            if exp["flows"] > 0 and flow_px < 200:
                failures.append(f"timeline: no flow bars visible ({flow_px} pixels) though {exp['flows']} flows")
            sev_seen.append(flow_px)
            if len(pixels) < 8:
                failures.append("the timeline looks blank")
    if facts["tables"].get("t-types", 0) == 0:
        failures.append("no records table")
    if args.shots:
        import base64

        os.makedirs(args.shots, exist_ok=True)
        for k, v in shots.items():
            with open(os.path.join(args.shots, f"{k}.png"), "wb") as f:
                f.write(base64.b64decode(v))

    # hostile input
    if facts["pwned"]:
        failures.append("an injected script ran (window.__pwned is set)")
    if facts["scripts"] != 1:
        failures.append(f"{facts['scripts']} <script> elements (the page has one)")
    if facts["images"] != 0 or facts["iframes"] != 0:
        failures.append(f"injected elements: {facts['images']} images, {facts['iframes']} frames/forms/bases")
    if facts["onattrs"]:
        failures.append(f"event handler attributes: {facts['onattrs'][:5]}")
    for h in args.hostile:
        if h not in facts["text"]:
            failures.append(f"hostile text not shown as text: {h!r}")

    print(
        json.dumps(
            {
                "requests": requests,
                "console_errors": len(console),
                "exceptions": len(exceptions),
                "log_errors": len(logs),
                "records": facts["records"],
                "alerts": facts["alerts"],
                "flows": facts["flows"],
                "severity": facts["severity"],
                "tables": facts["tables"],
                "timeline_rects": facts["timeline_rects"],
                "top_colours": top_colours,
                "severity_pixels": sev_seen,
                "interaction": inter,
                "failures": failures,
            },
            indent=1,
        )
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks the shape of the crate (issue 15's acceptance points 2-4), from the sources alone.

  scripts/check-structure.py [--root DIR] [--quiet]

1. No import cycle between the modules directly under sensor/ (folders and files): every
   `use crate::X...` (use trees with braces included), `crate::X::` path, `super::` path that
   climbs to the crate root, and `picket::X` (in the binary) is an edge from the file's
   top-level module to X. Cycles are the strongly connected components of that graph; each is
   printed with the edges that close it and where each edge comes from (file:line).
2. No non-test source file over 1,000 lines. Test code does not count: files declared under
   `#[cfg(test)] mod x;` are skipped, and `#[cfg(test)]` items inside a file (the unit tests
   at its bottom, as style.md asks) are not counted in its length.
3. No function over 120 lines outside tests (from the `fn` line to its closing brace).
4. `unsafe` only under sensor/sys/, and every `unsafe` block or impl there with a
   `// SAFETY:` comment on one of the three lines above it (or on its own line).
5. Every integration test file tests/X.rs is declared `mod X;` by one of the suite roots
   (tests/suite_*.rs, the [[test]] targets of Cargo.toml with `autotests = false`): a file no
   suite declares would never be built nor run.
6. Protocol names (http, dns, tls, smb, ...) as module paths or in type names under
   sensor/detect/, sensor/runtime/, sensor/output/ (issue 15's point 4). Strings and comments
   do not count, nor paths rooted in another crate of Cargo.toml (siphasher::sip::...).
   `make test` and `make structure` pass --protocols-fail, so CI enforces it.

Exit status: 0 when 1-5 hold, 1 when any of them is violated, 2 on a usage error. Check 6
only prints, unless --protocols-fail makes a protocol name a failure too.
The script is a plain tokenizer (comments, strings, raw strings, char literals and lifetimes
are told apart), not a Rust parser: macro-generated paths are not seen.
"""

import argparse
import os
import re
import sys

MAX_FILE_LINES = 1000
MAX_FN_LINES = 120
PROTOCOL_DIRS = ("detect", "runtime", "output")
PROTOCOLS = (
    "http", "http1", "http2", "dns", "tls", "ssl", "smb", "dcerpc", "ssh", "ftp", "ftpdata", "smtp",
    "krb5", "kerberos", "quic", "nfs", "dhcp", "snmp", "sip", "rdp", "mqtt", "modbus", "dnp3", "ike",
    "ntp", "tftp", "enip", "pgsql", "rfb", "websocket", "ldap", "pop3", "imap", "telnet", "bittorrent",
)

# ---- tokenizer ---------------------------------------------------------------------------

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(src):
    """Tokens as (kind, text, line): kind is 'id', 'p' (punctuation), 'lit'. Comments dropped."""
    toks = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            line += src.count("\n", i, j)
            i = j
            continue
        # raw strings: r"..", r#".."#, br#".."#
        m = re.match(r'b?r(#*)"', src[i:i + 300]) if c in "rb" else None
        if m:
            close = '"' + m.group(1)
            j = src.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            toks.append(("lit", "", line))
            line += src.count("\n", i, j)
            i = j
            continue
        if c == '"' or (c == "b" and src.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            toks.append(("lit", "", line))
            line += src.count("\n", i, j)
            i = j
            continue
        if c == "'" or (c == "b" and src.startswith("b'", i)):
            k = i + (1 if c == "'" else 2)
            if k < n and src[k] == "\\":
                j = src.find("'", k + 2)
                j = n if j < 0 else j + 1
                toks.append(("lit", "", line))
                i = j
                continue
            if k + 1 < n and src[k + 1] == "'":
                toks.append(("lit", "", line))
                i = k + 2
                continue
            # a lifetime or label
            m = IDENT.match(src, k)
            i = m.end() if m else k
            continue
        m = IDENT.match(src, i)
        if m:
            toks.append(("id", m.group(0), line))
            i = m.end()
            continue
        if c.isdigit():
            m = re.compile(r"[0-9][0-9A-Za-z_.]*").match(src, i)
            toks.append(("lit", "", line))
            i = m.end()
            continue
        if src.startswith("::", i):
            toks.append(("p", "::", line))
            i += 2
            continue
        toks.append(("p", c, line))
        i += 1
    return toks


def matching(toks, i):
    """Index of the token closing the bracket at toks[i]."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    op, cl, depth = toks[i][1], pairs[toks[i][1]], 0
    for j in range(i, len(toks)):
        t = toks[j][1] if toks[j][0] == "p" else None
        if t == op:
            depth += 1
        elif t == cl:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def item_end(toks, i):
    """Index of the last token of the item starting at toks[i] (ends at `;` or a block)."""
    j = i
    while j < len(toks):
        k, t, _ = toks[j]
        if k == "p" and t in "([":
            j = matching(toks, j) + 1
            continue
        if k == "p" and t == "{":
            return matching(toks, j)
        if k == "p" and t == ";":
            return j
        j += 1
    return len(toks) - 1


def is_test_cfg(args):
    """`#[cfg(...)]` arguments (identifier list) that mean test-only code."""
    if not args:
        return False
    if args[0] == "test":
        return True
    if args[0] == "all":
        return "test" in args and "not" not in args
    return False


def analyse(src):
    """Tokens, the test regions (token index ranges), test submodules declared, test fns."""
    toks = tokenize(src)
    regions, test_mods = [], []
    i = 0
    while i < len(toks):
        if toks[i][1] == "#" and i + 1 < len(toks) and toks[i + 1][1] == "[":
            close = matching(toks, i + 1)
            inner = [t[1] for t in toks[i + 2:close] if t[0] == "id"]
            test = (inner[:1] == ["cfg"] and is_test_cfg(inner[1:])) or inner == ["test"]
            if test:
                start = i
                j = close + 1
                while j < len(toks) and toks[j][1] == "#" and j + 1 < len(toks) and toks[j + 1][1] == "[":
                    j = matching(toks, j + 1) + 1
                end = item_end(toks, j)
                # `mod name;` declared for tests only
                ids = [t[1] for t in toks[j:end + 1] if t[0] == "id"]
                if "mod" in ids and toks[end][1] == ";":
                    test_mods.append(ids[ids.index("mod") + 1])
                regions.append((start, end))
                i = end + 1
                continue
            i = close + 1
            continue
        i += 1
    return toks, regions, test_mods


def in_regions(regions, idx):
    return any(a <= idx <= b for a, b in regions)


# ---- the crate's files -------------------------------------------------------------------


def crate_files(root):
    """(path, module path as a list, is_test) for every .rs file reachable under root."""
    out = []

    def walk(path, modpath, test):
        try:
            src = open(path, encoding="utf-8").read()
        except OSError:
            return
        toks, regions, test_mods = analyse(src)
        out.append((path, modpath, test, src, toks, regions))
        d = os.path.dirname(path)
        base = os.path.basename(path)
        here = d if base in ("mod.rs", "lib.rs", "main.rs") else os.path.join(d, base[:-3])
        for i in range(len(toks) - 2):
            if toks[i][1] == "mod" and toks[i + 1][0] == "id" and toks[i + 2][1] == ";":
                if i > 0 and toks[i - 1][1] == "::":
                    continue
                name = toks[i + 1][1]
                sub_test = test or name in test_mods
                for cand in (os.path.join(here, name + ".rs"), os.path.join(here, name, "mod.rs")):
                    if os.path.exists(cand):
                        walk(cand, modpath + [name], sub_test)
                        break

    walk(os.path.join(root, "lib.rs"), [], False)
    if os.path.exists(os.path.join(root, "main.rs")):
        walk(os.path.join(root, "main.rs"), ["main"], False)
    return out


def parse_use_tree(toks, i, prefix, out):
    """Parses a use tree starting at toks[i]; appends full paths to out; returns next index."""
    path = list(prefix)
    while i < len(toks):
        k, t, _ = toks[i]
        if k == "id":
            if t == "as":
                i += 2
                continue
            path.append(t)
            i += 1
        elif t == "::":
            i += 1
        elif t == "{":
            i += 1
            while i < len(toks) and toks[i][1] != "}":
                i = parse_use_tree(toks, i, path, out)
                if i < len(toks) and toks[i][1] == ",":
                    i += 1
            return i + 1
        elif t == "*":
            i += 1
        else:
            break
    out.append(path)
    return i


def resolve(modpath, path, crate_name):
    """Absolute path (list) of a path as written in module `modpath`, or None if external."""
    if not path:
        return None
    head = path[0]
    if head in ("crate", "$crate"):
        return path[1:]
    if head == crate_name:
        return path[1:]
    if head == "self":
        return modpath + path[1:]
    if head == "super":
        cur = list(modpath)
        rest = list(path)
        while rest and rest[0] == "super":
            if not cur:
                return None
            cur.pop()
            rest.pop(0)
        return cur + rest
    return None


def edges_of(files, crate_name, top_modules):
    """{(from, to): [where, ...]} between top-level modules, test code excluded."""
    edges = {}
    for path, modpath, test, _src, toks, regions in files:
        if test or not modpath:
            continue
        src_top = modpath[0]
        uses = set()
        i = 0
        while i < len(toks):
            if in_regions(regions, i):
                i += 1
                continue
            k, t, line = toks[i]
            found = []
            if k == "id" and t == "use" and (i == 0 or toks[i - 1][1] != "::"):
                paths = []
                j = parse_use_tree(toks, i + 1, [], paths)
                found = [(p, line) for p in paths]
                i = j
            elif k == "id" and t in ("crate", "super", "self", crate_name) and i + 1 < len(toks) and toks[i + 1][1] == "::":
                if i > 0 and toks[i - 1][1] == "::":
                    i += 1
                    continue
                p, j = [], i
                while j < len(toks) and toks[j][0] == "id":
                    p.append(toks[j][1])
                    if j + 1 < len(toks) and toks[j + 1][1] == "::":
                        j += 2
                    else:
                        break
                found = [(p, line)]
                i = j + 1
            else:
                i += 1
            for p, ln in found:
                # `$crate` comes as `$` + `crate`
                absp = resolve(modpath if modpath[0] != "main" else [], p, crate_name)
                if modpath[0] == "main" and p and p[0] != crate_name:
                    absp = None
                if not absp:
                    continue
                dst = absp[0]
                if dst in top_modules and dst != src_top:
                    edges.setdefault((src_top, dst), []).append(f"{path}:{ln} ({'::'.join(p)})")
    return edges


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    adj = {n: sorted({b for (a, b) in edges if a == n}) for n in nodes}
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for n in nodes:
        if n not in index:
            strong(n)
    return out


# ---- functions and sizes -----------------------------------------------------------------


def long_functions(path, toks, regions):
    out = []
    for i, (k, t, line) in enumerate(toks):
        if k != "id" or t != "fn" or in_regions(regions, i):
            continue
        if i + 1 >= len(toks) or toks[i + 1][0] != "id":
            continue
        name = toks[i + 1][1]
        j = i + 2
        while j < len(toks) and toks[j][1] not in ("{", ";"):
            if toks[j][1] in ("(", "["):
                j = matching(toks, j)
            j += 1
        if j >= len(toks) or toks[j][1] == ";":
            continue
        end = matching(toks, j)
        length = toks[end][2] - line + 1
        if length > MAX_FN_LINES:
            out.append((path, line, name, length))
    return out


def non_test_lines(src, toks, regions):
    total = src.count("\n") + (0 if src.endswith("\n") else 1)
    test = 0
    for a, b in regions:
        test += toks[b][2] - toks[a][2] + 1
    return total - test


# Names of the crates Cargo.toml depends on (filled by main): a path rooted in one of them is
# another crate's, whatever its segments are called.
EXTERNAL_CRATES = set()


def load_external_crates(root):
    try:
        import tomllib

        with open(os.path.join(root, "Cargo.toml"), "rb") as f:
            manifest = tomllib.load(f)
    except (OSError, ValueError, ImportError):
        return set()
    names = set()
    for section in ("dependencies", "dev-dependencies", "build-dependencies"):
        for name in manifest.get(section, {}):
            names.add(name.replace("-", "_"))
    return names


def external_path(toks, i):
    """True when token i is a segment of a path whose first segment is a crate of Cargo.toml's
    dependencies (`siphasher::sip::SipHasher13`): such names are another crate's, not ours."""
    j = i
    while j >= 2 and toks[j - 1][1] == "::" and toks[j - 2][0] == "id":
        j -= 2
    if j == i and not (i + 1 < len(toks) and toks[i + 1][1] == "::"):
        return False
    return toks[j][1] in EXTERNAL_CRATES


def protocol_mentions(path, toks, regions):
    out = []
    camel = re.compile(r"(?:^|(?<=[a-z0-9]))(" + "|".join(p.capitalize() for p in PROTOCOLS) + r")(?=[A-Z0-9_]|$)")
    for i, (k, t, line) in enumerate(toks):
        if k != "id" or in_regions(regions, i):
            continue
        if external_path(toks, i):
            continue  # another crate's path (e.g. siphasher::sip::SipHasher13), not a protocol of ours
        as_path = t in PROTOCOLS and (
            (i + 1 < len(toks) and toks[i + 1][1] == "::") or (i > 0 and toks[i - 1][1] == "::")
        )
        as_mod = t in PROTOCOLS and i > 0 and toks[i - 1][1] == "mod"
        as_type = t[:1].isupper() and camel.search(t) is not None
        if as_path or as_mod or as_type:
            out.append((path, line, t))
    return out


def unsafe_uses(path, src, toks, regions):
    """(line, why) for each `unsafe` outside sensor/sys/ or without a SAFETY comment."""
    out = []
    lines = src.split("\n")
    in_sys = os.sep + "sys" + os.sep in path or path.startswith("sensor" + os.sep + "sys" + os.sep)
    for i, (k, t, line) in enumerate(toks):
        if k != "id" or t != "unsafe":
            continue
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if nxt == "fn" or (nxt == "extern"):
            continue  # declarations: the calls are what must be justified
        if not in_sys:
            out.append((line, "unsafe outside sensor/sys/"))
            continue
        window = lines[max(0, line - 4):line]
        if not any("SAFETY:" in w for w in window):
            out.append((line, "no `// SAFETY:` comment above it"))
    return out


def orphan_test_files(tests):
    """tests/*.rs files that no tests/suite_*.rs declares as a module."""
    if not os.path.isdir(tests):
        return []
    names = sorted(f for f in os.listdir(tests) if f.endswith(".rs"))
    declared = set()
    for f in names:
        if f.startswith("suite_"):
            with open(os.path.join(tests, f), encoding="utf-8") as fh:
                declared |= set(re.findall(r"^\s*mod\s+([a-z0-9_]+)\s*;", fh.read(), re.M))
    return [os.path.join("tests", f) for f in names if not f.startswith("suite_") and f[:-3] not in declared]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sensor"))
    ap.add_argument("--quiet", action="store_true", help="print violations only")
    ap.add_argument("--protocols-fail", action="store_true", help="a protocol name under detect/runtime/output fails the check")
    a = ap.parse_args()
    root = os.path.normpath(a.root)
    EXTERNAL_CRATES.update(load_external_crates(os.path.dirname(root)))
    if not os.path.exists(os.path.join(root, "lib.rs")):
        print(f"{root}: no lib.rs", file=sys.stderr)
        return 2
    rel = lambda p: os.path.relpath(p, os.path.dirname(root))
    files = crate_files(root)
    files = [(rel(p), m, t, s, k, r) for (p, m, t, s, k, r) in files]
    tops = sorted({m[0] for (_, m, t, _, _, _) in files if m and not t and m[0] != "main"})
    edges = edges_of(files, "picket", set(tops))
    failed = False

    cycles = [c for c in sccs(tops, edges) if len(c) > 1]
    print(f"== import graph: {len(tops)} top-level modules, {len(edges)} edges")
    if not a.quiet:
        for n in tops:
            outs = sorted(b for (x, b) in edges if x == n)
            print(f"  {n} -> {', '.join(outs) if outs else '(nothing)'}")
    if cycles:
        failed = True
        for c in cycles:
            print(f"CYCLE between {', '.join(c)}:")
            for (x, y), where in sorted(edges.items()):
                if x in c and y in c:
                    print(f"  {x} -> {y}: {where[0]}" + (f" (+{len(where) - 1} more)" if len(where) > 1 else ""))
    else:
        print("  no cycle")

    print(f"== files over {MAX_FILE_LINES} lines (test code not counted)")
    big = []
    for p, m, t, s, k, r in files:
        if t:
            continue
        n = non_test_lines(s, k, r)
        if n > MAX_FILE_LINES:
            big.append((n, p))
    for n, p in sorted(big, reverse=True):
        print(f"  TOO LONG {p}: {n} lines")
    failed |= bool(big)
    if not big:
        print("  none")

    print(f"== functions over {MAX_FN_LINES} lines (outside tests)")
    longf = []
    for p, m, t, s, k, r in files:
        if not t:
            longf += long_functions(p, k, r)
    for p, line, name, length in sorted(longf, key=lambda x: -x[3]):
        print(f"  TOO LONG {p}:{line} fn {name}: {length} lines")
    failed |= bool(longf)
    if not longf:
        print("  none")

    print("== unsafe code (only in sensor/sys/, each with a SAFETY line)")
    bad = []
    for p, m, t, s, k, r in files:
        bad += [(p, ln, why) for ln, why in unsafe_uses(p, s, k, r)]
    for p, ln, why in bad:
        print(f"  UNSAFE {p}:{ln}: {why}")
    failed |= bool(bad)
    if not bad:
        print("  ok")

    print("== integration test files declared by a suite (tests/suite_*.rs)")
    orphans = orphan_test_files(os.path.join(os.path.dirname(root), "tests"))
    for p in orphans:
        print(f"  NOT IN A SUITE {p}: add `mod {os.path.basename(p)[:-3]};` to a tests/suite_*.rs")
    failed |= bool(orphans)
    if not orphans:
        print("  ok")

    print("== protocol names under " + ", ".join(f"sensor/{d}/" for d in PROTOCOL_DIRS) + " (report only)")
    mentions = []
    for p, m, t, s, k, r in files:
        if t or not m or m[0] not in PROTOCOL_DIRS:
            continue
        mentions += protocol_mentions(p, k, r)
    by_file = {}
    for p, line, name in mentions:
        by_file.setdefault(p, []).append(f"{name}@{line}")
    for p in sorted(by_file):
        v = by_file[p]
        print(f"  {p}: {len(v)}: {' '.join(v[:12])}{' ...' if len(v) > 12 else ''}")
    if not mentions:
        print("  none")
    elif a.protocols_fail:
        failed = True

    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

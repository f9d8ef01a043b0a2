#!/usr/bin/env python3
"""Assemble $EGPU_RESULTS/kunit.tap from one vm.py run (DEVELOPERS.md contract).

Usage: kunit_tap.py --out FILE.tap [--vm-tap VM.tap --console CONSOLE.log]
                    [--name PREFIX] [--pre 'ok|not ok<TAB>name<TAB>diag' ...]

Input: the TAP vm.py wrote for guest/kunit.sh (its lines are named
"PREFIX: kunit: <desc>"; the test cases are "suite.case", read in the guest
from /sys/kernel/debug/kunit/<suite>/results), and the console log.
Output lines:
  --pre lines (kernel build, module build), then
  one line per test case "suite.case" (+ insmod/rmmod, "suites ran"),
  vm.py's timeout / boot failure lines, and
  "no KASAN/UBSAN/lockdep/kmemleak reports": vm.py's console scan and the
  guest's kmemleak report after unloading, merged.
When the guest never printed a suite's results (a test hung until the host
timeout, or crashed the guest), the suite's finished cases are recovered from
the KTAP on the console and the unfinished one is reported "not ok".
Exit status: 0 when every line is ok (skips count as ok), else 1.
"""
import argparse
import re
import sys

TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(not ok|ok)\b(?:\s+\d+)?(?:\s*-)?\s*(.*)$")
K_SUBTEST = re.compile(r"^    # Subtest: (\S+)")
K_CASE = re.compile(r"^    (ok|not ok) (\d+) (\S+)(?:\s*#\s*(SKIP)\b\s*(.*))?$")
K_SUITE_END = re.compile(r"^(ok|not ok) \d+ (\S+)")

SANITIZER = "no KASAN/UBSAN/lockdep/kmemleak reports"


def read_lines(path):
    if not path:
        return []
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def parse_vm_tap(lines):
    """[(verdict, desc, directive, [diag])] from a vm.py TAP file."""
    out = []
    for raw in lines:
        line = raw.rstrip()
        m = RESULT.match(line)
        if m:
            verdict, rest = m.groups()
            desc, directive = rest, ""
            # vm.py escapes '#' in descriptions as '\#'.
            parts = re.split(r"(?<!\\)#", rest, maxsplit=1)
            if len(parts) == 2:
                desc, directive = parts[0].strip(), parts[1].strip()
            out.append([verdict, desc.replace("\\#", "#"), directive, []])
        elif line.startswith("#") and out:
            out[-1][3].append(line[1:].strip())
    return out


def console_ktap(lines):
    """(cases, unfinished) from KUnit's KTAP on the console.

    cases: [(suite, case, verdict, directive, diag)]; unfinished: {suite:
    number of its last finished case} for suites whose closing line never came.
    """
    cases, unfinished, suite, diag = [], {}, None, []
    for raw in lines:
        line = TS.sub("", raw.rstrip("\r\n"))
        m = K_SUBTEST.match(line)
        if m:
            suite, diag = m.group(1), []
            unfinished[suite] = 0
            continue
        if suite is None:
            continue
        m = K_CASE.match(line)
        if m:
            verdict, num, name, skip, reason = m.groups()
            directive = f"SKIP {reason or ''}".strip() if skip else ""
            cases.append((suite, name, verdict, directive, diag))
            unfinished[suite] = int(num)
            diag = []
            continue
        m = K_SUITE_END.match(line)
        if m and m.group(2) == suite:
            unfinished.pop(suite, None)
            suite = None
            continue
        body = line.strip()
        if line.startswith("    ") and body and not body.startswith(
                ("KTAP version", "# module:")) and not re.match(r"^\d+\.\.\d+$", body):
            diag.append(body)
    return cases, unfinished


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vm-tap")
    ap.add_argument("--console")
    ap.add_argument("--name", default="kunit")
    ap.add_argument("--pre", action="append", default=[])
    a = ap.parse_args()

    rows = []  # (verdict, desc, directive, diag)
    for p in a.pre:
        verdict, name, diag = (p.split("\t") + ["", ""])[:3]
        rows.append((verdict, name, "", [diag] if diag else []))

    if a.vm_tap is not None:
        vm = parse_vm_tap(read_lines(a.vm_tap))
        if not vm:
            rows.append(("not ok", "guest run", "", [f"vm.py wrote no results to {a.vm_tap}"]))
        script = f"{a.name}: kunit: "
        san_ok, san_diag = True, []
        suites_seen = set()
        finished = False
        scanned = False
        for verdict, desc, directive, diag in vm:
            if desc.startswith(script):
                desc = desc[len(script):]
            elif desc.startswith(f"{a.name}: "):
                desc = desc[len(a.name) + 2:]
            if desc == "no kernel error reports":
                san_ok &= verdict == "ok"
                san_diag += diag
                finished = True
                continue
            if desc == "no kmemleak reports after unloading":
                scanned = True
                san_ok &= verdict == "ok"
                san_diag += [f"kmemleak: {d}" for d in diag]
                continue
            if "." in desc and " " not in desc:
                suites_seen.add(desc.split(".", 1)[0])
            rows.append((verdict, desc, directive, diag))
        if not finished:
            san_ok = False
            san_diag.append("vm.py did not scan the console")
        if not scanned:
            san_ok = False
            san_diag.append("kmemleak was never scanned: the guest did not get past the tests")
        # A hung or crashing test: recover what the console saw.
        if any(v != "ok" and ("timeout" in d or "guest stopped" in d or "did not run" in d)
               for v, d, _, _ in rows):
            cases, unfinished = console_ktap(read_lines(a.console))
            for suite, case, verdict, directive, diag in cases:
                if suite not in suites_seen:
                    rows.append((verdict, f"{suite}.{case}", directive,
                                 ["(from the console: the guest never printed the debugfs results)"]
                                 + (diag if verdict != "ok" else [])))
            for suite, last in unfinished.items():
                if suite not in suites_seen:
                    rows.append(("not ok", f"{suite}.case_{last + 1}", "",
                                 [f"no result after case {last} of {suite}: "
                                  "the test hung or crashed the guest"]))
        rows.append(("ok" if san_ok else "not ok", SANITIZER, "", san_diag[:100]))

    failed = 0
    lines = []
    for n, (verdict, desc, directive, diag) in enumerate(rows, 1):
        line = f"{verdict} {n} - {desc}"
        if directive:
            line += f" # {directive}"
        lines.append(line)
        lines += ["# " + d for d in diag]
        if verdict != "ok" and not directive.upper().startswith("TODO"):
            failed += 1
    with open(a.out + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    import os
    os.replace(a.out + ".tmp", a.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

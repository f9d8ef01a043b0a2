#!/bin/sh
# egpuctl unit tests (`make check-unit`): configure and build userspace/ into
# $EGPU_BUILD/userspace, run egpuctl_tests (GoogleTest) and write one TAP line
# per test case to $EGPU_RESULTS/unit.tap ("ok N - Suite.Test").  A failed
# build, or a test binary that dies, is a `not ok` line of its own.
# Exit status: 0 when everything passed, 1 otherwise.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${EGPU_BUILD:-$top/build}
results=${EGPU_RESULTS:-$build/results}
out=$build/userspace
tap=$results/unit.tap
log=$results/unit-build.log
json=$out/egpuctl_tests.json
mkdir -p "$results" "$out"

echo "unit: building userspace/ in $out (log: $log)"
if ! { cmake -S "$top/userspace" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
	cmake --build "$out" -j2; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	printf '1..1\nnot ok 1 - unit: build of userspace/ failed (see %s)\n' "$log" >"$tap"
	echo "unit: build failed" >&2
	exit 1
fi

rm -f "$json"
timeout 600 "$out/egpuctl_tests" --gtest_output="json:$json" --gtest_brief=1
rc=$?

python3 - "$json" "$rc" "$tap" "$out/egpuctl_tests" <<'PY'
import json, pathlib, subprocess, sys

path, rc, tap = pathlib.Path(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3])
binary = sys.argv[4]
lines, failed = [], 0


def add(ok, desc):
    global failed
    lines.append(f"{'ok' if ok else 'not ok'} {len(lines) + 1} - {desc}")
    failed += 0 if ok else 1



def one_by_one():
    """The binary died before writing its report: run each test alone."""
    listing = subprocess.run([binary, "--gtest_list_tests"], capture_output=True, text=True,
                             timeout=60).stdout
    suite = None
    for raw in listing.splitlines():
        if not raw.strip() or raw.startswith("Running main()"):
            continue
        if not raw.startswith(" "):
            suite = raw.split("#")[0].strip()
            continue
        name = suite + raw.split("#")[0].strip()
        try:
            r = subprocess.run([binary, f"--gtest_filter={name}"], capture_output=True,
                               text=True, timeout=120)
            status = r.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
        if status == 0:
            add(True, name)
        else:
            add(False, f"{name} (died: exit status {status})")


try:
    report = json.loads(path.read_text())
except (OSError, ValueError) as e:
    report = None
    add(False, f"unit: egpuctl_tests died without a report (exit status {rc}); "
               "ran each test alone")
    one_by_one()
if report is not None:
    for suite in report.get("testsuites", []):
        for case in suite.get("testsuite", []):
            name = f"{suite['name']}.{case['name']}"
            if case.get("failures"):
                add(False, name)
            elif case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                lines.append(f"ok {len(lines) + 1} - {name} # SKIP")
            else:
                add(True, name)
    if rc != 0 and failed == 0:
        add(False, f"unit: egpuctl_tests exited with status {rc}")
    if not lines:
        add(False, "unit: egpuctl_tests ran no tests")
tap.write_text(f"1..{len(lines)}\n" + "".join(line + "\n" for line in lines))
print(f"unit: {len(lines) - failed} of {len(lines)} ok, TAP in {tap}")
sys.exit(1 if failed else 0)
PY

#!/bin/bash
# tests/vm/selftest.sh [BZIMAGE]  - test the runner itself (not part of
# `make check`): boots guest scripts from tests/vm/selftest/ that misbehave
# on purpose (exit status, signal, no results, missed plan, directives,
# printk flood, QMP errors, kernel warning, bad taint, hang, panic) and
# checks vm.py's TAP says so. Prints TAP; exit 0 when vm.py did everything
# right. BZIMAGE defaults to the bookworm-6.1 kernel of tests/kernels/fetch.sh.
# About 1-2 min (three boots, one runs into its 60 s timeout).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
S=$HERE/selftest
K=${1:-}
if [ -z "$K" ]; then
	KDIR=$("$REPO/tests/kernels/fetch.sh" bookworm-6.1 | tail -n 1) || { echo "selftest: fetch failed" >&2; exit 2; }
	K=$KDIR/vmlinuz
fi
W=$(mktemp -d /tmp/vm-selftest.XXXXXX)
trap 'rm -rf "$W"' EXIT

n=0
fails=0
check() { # check DESC FILE ERE: one TAP line per expectation
	n=$((n + 1))
	if grep -Eq -- "$3" "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "#   expected /$3/ in $2:"
		sed 's/^/#   | /' "$2"
		fails=$((fails + 1))
	fi
}
check_rc() { # check_rc DESC GOT WANT
	n=$((n + 1))
	if [ "$2" -eq "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1 (exit $2, want $3)"; fails=$((fails + 1)); fi
}
plan_ok() { # the plan matches the number of result lines
	local plan res
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$1")
	res=$(grep -cE '^(not )?ok [0-9]+ ' "$1")
	n=$((n + 1))
	if [ -n "$plan" ] && [ "$plan" -eq "$res" ]; then echo "ok $n - $2: plan 1..$plan matches"; else
		echo "not ok $n - $2: plan '$plan' vs $res results"; fails=$((fails + 1)); fi
}

VM=(python3 "$HERE/vm.py" --kernel "$K" --name st)

# --- boot A: everything but the crash ---------------------------------------
A=$W/a.tap
"${VM[@]}" --tap "$A" --timeout 60 \
	--script "$S/exit3.sh" --script "$S/signal.sh" --script "$S/empty.sh" \
	--script "$S/plan.sh" --script "$S/directives.sh" --script "$S/flood.sh" \
	--script "$S/qmp.sh" --script "$S/inject.sh" --script "$S/hang.sh" 2>/dev/null
check_rc "A: vm.py exits 1 when a test failed" $? 1
plan_ok "$A" A
check "A: a passing line is kept and renamed" "$A" '^ok [0-9]+ - st: exit3: fine$'
check "A: exit status without a failure is reported" "$A" '^not ok [0-9]+ - st: exit3 \(exit status 3 without a failed test\)$'
check "A: death by signal is reported" "$A" '^not ok [0-9]+ - st: signal \(killed by signal 9\)$'
check "A: a script without results fails" "$A" '^not ok [0-9]+ - st: empty \(no test results\)$'
check "A: a missed plan fails" "$A" '^not ok [0-9]+ - st: plan \(planned 3 tests, ran 2\)$'
check "A: '#' in a description is escaped" "$A" '^ok [0-9]+ - st: directives: issue \\#5 fixed$'
check "A: SKIP directive kept" "$A" '^ok [0-9]+ - st: directives: skipped # SKIP no device$'
check "A: TODO directive kept" "$A" '^not ok [0-9]+ - st: directives: todo one # TODO later$'
check "A: diagnostics kept" "$A" '^# a diagnostic$'
n=$((n + 1))
if [ "$(grep -cE '^ok [0-9]+ - st: flood: line [0-9]+ of 100 intact$' "$A")" -eq 100 ]; then
	echo "ok $n - A: 100 TAP lines intact during a printk flood"
else
	echo "not ok $n - A: 100 TAP lines intact during a printk flood ($(grep -c 'st: flood:' "$A") seen)"
	fails=$((fails + 1))
fi
check "A: flood printk is on the console" "$W/a.console.log" 'selftest flood 299'
n=$((n + 1))
if grep -q 'selftest flood' "$A"; then
	echo "not ok $n - A: no printk line in the TAP"
	fails=$((fails + 1))
else
	echo "ok $n - A: no printk line in the TAP"
fi
check "A: QMP command answered" "$A" '^ok [0-9]+ - st: qmp: query-status answers$'
check "A: QMP error answered as error" "$A" '^ok [0-9]+ - st: qmp: QMP error comes back as an error$'
check "A: malformed QMP request answered" "$A" '^ok [0-9]+ - st: qmp: malformed request is answered with an error$'
check "A: QMP event wait is bounded" "$A" '^ok [0-9]+ - st: qmp: missing event times out$'
check "A: hang -> timeout line" "$A" '^not ok [0-9]+ - st: hang \(timeout after 60 s\)$'
check "A: kernel warning flagged" "$A" '^not ok [0-9]+ - st: no kernel error reports$'
check "A: the warning line is a diagnostic" "$A" '^# console: .*WARNING: CPU: 0 PID: 1 at selftest/fake.c'
check "A: a foreign taint message is flagged" "$A" "^# console: .*license 'Proprietary' taints kernel"

# --- boot B: panic -----------------------------------------------------------
B=$W/b.tap
"${VM[@]}" --tap "$B" --timeout 90 --script "$S/panic.sh" --script "$S/after.sh" 2>/dev/null
check_rc "B: vm.py exits 1" $? 1
plan_ok "$B" B
check "B: guest stop reported at the crashing script" "$B" '^not ok [0-9]+ - st: panic \(guest stopped before poweroff'
check "B: later script reported as not run" "$B" '^not ok [0-9]+ - st: after \(did not run\)$'
check "B: panic flagged" "$B" '^# console: .*Kernel panic - not syncing: sysrq triggered crash'

# --- boot C: a clean run, plus the expected out-of-tree taint allowed ---------
C=$W/c.tap
"${VM[@]}" --tap "$C" --timeout 90 --script "$S/after.sh" 2>/dev/null
check_rc "C: vm.py exits 0 on a clean run" $? 0
check "C: clean console" "$C" '^ok [0-9]+ - st: no kernel error reports$'

# --- setup error ---------------------------------------------------------------
D=$W/d.tap
python3 "$HERE/vm.py" --kernel /nonexistent --script "$S/after.sh" --tap "$D" --name st 2>/dev/null
check_rc "D: setup error exits 2" $? 2
check "D: setup error is a not ok line" "$D" '^not ok 1 - st: vm setup \(kernel image /nonexistent not found\)$'

echo "1..$n"
[ $fails -eq 0 ]

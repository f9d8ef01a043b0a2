#!/bin/sh
# egpuctl fuzzing: build the libFuzzer harnesses (userspace/ with
# -DEGPUCTL_FUZZ=ON: clang, ASan, UBSan) into $EGPU_BUILD/fuzz and run each
# on a working copy of its seed corpus (tests/fuzz/corpus/NAME; the committed
# corpus is never changed), with the dictionary tests/fuzz/NAME.dict if there
# is one.  Two modes:
#   `make check-fuzz` (default): reproducible.  Every committed seed and
#     reproducer is replayed, then FUZZ_RUNS (default 100000) mutations from
#     the fixed FUZZ_SEED (default 1), with address randomization off: the
#     same build gives the same verdict on every run (1-2 min per harness).
#   `make fuzz` (FUZZ_SECONDS set): exploration for FUZZ_SECONDS per harness
#     from a random seed.  A finding there is a bug: fix it and commit its
#     reproducer to tests/fuzz/corpus/NAME/regress-*, which turns it into a
#     check of `make check-fuzz`.
# Writes $EGPU_RESULTS/fuzz.tap: one line for the build, one per harness
# ("ok N - fuzz: egpuctl_policy_fuzz: 100000 runs from seed 1, no finding");
# a finding is a `not ok` naming the reproducer kept in $EGPU_RESULTS/fuzz-NAME/
# and the log $EGPU_RESULTS/fuzz-NAME.log.
# Reproduce: $EGPU_BUILD/fuzz/egpuctl_NAME_fuzz FILE
# Exit status: 0 when everything passed, 1 otherwise.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${EGPU_BUILD:-$top/build}
results=${EGPU_RESULTS:-$build/results}
seconds=${FUZZ_SECONDS:-}
runs=${FUZZ_RUNS:-100000}
seed=${FUZZ_SEED:-1}
norand=""
if [ -n "$seconds" ]; then
	budget="-max_total_time=$seconds -seed=0" # 0: libFuzzer picks a random seed
	what="$seconds s, random seed"
	cap=$((seconds + 120))
else
	# -reload=0: no rereading of the corpus directory on a timer; setarch -R:
	# no address randomization (the policy harness's coverage depends on
	# addresses).  Both are needed for the same mutations on every run.
	budget="-runs=$runs -seed=$seed -reload=0"
	what="$runs runs from seed $seed"
	cap=900 # a safety net only; 100000 runs take 1-2 min
	if setarch "$(uname -m)" -R true 2>/dev/null; then
		norand="setarch $(uname -m) -R"
	else
		what="$what (address randomization could not be turned off: not reproducible)"
	fi
fi
out=$build/fuzz
tap=$results/fuzz.tap
log=$results/fuzz-build.log
mkdir -p "$results" "$out"
lines=""
n=0
failed=0
add() { # add ok|"not ok" DESCRIPTION
	n=$((n + 1))
	[ "$1" = ok ] || failed=$((failed + 1))
	lines="$lines$1 $n - $2
"
}
finish() {
	printf '1..%s\n%s' "$n" "$lines" >"$tap"
	echo "fuzz: $((n - failed)) of $n ok, TAP in $tap"
	[ "$failed" -eq 0 ]
	exit $?
}

echo "fuzz: building the harnesses in $out (log: $log)"
if ! command -v clang++ >/dev/null 2>&1; then
	add "not ok" "fuzz: build: clang++ not found (make deps installs clang)"
	finish
fi
if ! { CXX=clang++ cmake -S "$top/userspace" -B "$out" -DEGPUCTL_FUZZ=ON -DEGPUCTL_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo &&
	cmake --build "$out" -j2 --target egpuctl_policy_fuzz egpuctl_decode_fuzz; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	add "not ok" "fuzz: build of the harnesses failed (see $log)"
	finish
fi
add ok "fuzz: build egpuctl_policy_fuzz, egpuctl_decode_fuzz (clang, ASan, UBSan)"

for name in policy decode; do
	bin=$out/egpuctl_${name}_fuzz
	work=$out/corpus-$name
	findings=$results/fuzz-$name
	flog=$results/fuzz-$name.log
	rm -rf "$findings" "$work" # a fresh copy of the seeds: the same start every run
	mkdir -p "$work" "$findings"
	cp "$top/tests/fuzz/corpus/$name/"* "$work/"
	echo "fuzz: $name: $what"
	start=$(date +%s)
	dict=""
	[ -f "$top/tests/fuzz/$name.dict" ] && dict="-dict=$top/tests/fuzz/$name.dict"
	# -timeout: one input may take at most 10 s; -rss_limit_mb: memory bound.
	# shellcheck disable=SC2086 # $norand, $budget and $dict: words or nothing
	timeout "$cap" $norand "$bin" $budget $dict -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
		"$work" >"$flog" 2>&1
	rc=$?
	done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$flog" | tail -n 1)
	used=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		add ok "fuzz: egpuctl_${name}_fuzz: $what, ${done_runs:-?} runs in $used s, no finding"
		rmdir "$findings" 2>/dev/null
	else
		found=$(ls "$findings" 2>/dev/null | head -n 1)
		add "not ok" "fuzz: egpuctl_${name}_fuzz: $what: finding after ${done_runs:-?} runs (exit $rc): $findings/${found:-?}, log $flog"
		grep -m 5 -E 'ERROR|round trip|runtime error' "$flog" | sed 's/^/# /' >&2
	fi
done
finish

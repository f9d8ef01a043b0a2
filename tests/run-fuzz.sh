#!/bin/sh
# egpuctl fuzzing (`make check-fuzz`, `make fuzz`): build the libFuzzer
# harnesses (userspace/ with -DEGPUCTL_FUZZ=ON: clang, ASan, UBSan) into
# $EGPU_BUILD/fuzz and run each for FUZZ_SECONDS (default 30) on a working
# copy of its seed corpus (tests/fuzz/corpus/NAME; the committed corpus is
# never changed).  Writes $EGPU_RESULTS/fuzz.tap: one line for the build, one
# per harness ("ok N - fuzz: egpuctl_policy_fuzz: 30 s, 123456 runs, no
# finding"); a finding is a `not ok` naming the reproducer kept in
# $EGPU_RESULTS/fuzz-NAME/ and the log $EGPU_RESULTS/fuzz-NAME.log.
# Reproduce: $EGPU_BUILD/fuzz/egpuctl_NAME_fuzz FILE
# Exit status: 0 when everything passed, 1 otherwise.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${EGPU_BUILD:-$top/build}
results=${EGPU_RESULTS:-$build/results}
seconds=${FUZZ_SECONDS:-30}
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
	rm -rf "$findings"
	mkdir -p "$work" "$findings"
	cp "$top/tests/fuzz/corpus/$name/"* "$work/"
	echo "fuzz: $name: $seconds s"
	# -timeout: one input may take at most 10 s; -rss_limit_mb: memory bound.
	timeout $((seconds + 120)) "$bin" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
		"$work" >"$flog" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$flog" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		add ok "fuzz: egpuctl_${name}_fuzz: $seconds s, ${runs:-?} runs, no finding"
		rmdir "$findings" 2>/dev/null
	else
		what=$(ls "$findings" 2>/dev/null | head -n 1)
		add "not ok" "fuzz: egpuctl_${name}_fuzz: finding after ${runs:-?} runs (exit $rc): $findings/${what:-?}, log $flog"
		grep -m 5 -E 'ERROR|round trip|runtime error' "$flog" | sed 's/^/# /' >&2
	fi
done
finish

#!/bin/bash
# tests/kernels/check-build.sh ID...
#
# For each kernel ID (default: $KERNELS, else the whole matrix): fetch it,
# prepare its build environment, and build kmod/ plus every tests/kmod/*/
# that has a Makefile, with W=1 and warnings fatal (build-module.sh), into
# $EGPU_BUILD/modules/ID/ (*.ko; build.log for kmod, build-NAME.log for the
# test modules; kmod's Module.symvers, which the test modules are linked
# against with KBUILD_EXTRA_SYMBOLS).
#
# Writes one TAP line per (ID, module dir) to $EGPU_RESULTS/build.tap, with
# the warnings/errors as "# " lines after a "not ok", and the plan "1..N"
# last; prints a table with timings. One kernel failing does not stop the
# others. Exit status: 0 if everything built, 1 otherwise.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

: "${EGPU_BUILD:=$KREPO/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
ids=("$@")
if [ ${#ids[@]} -eq 0 ]; then
	# shellcheck disable=SC2206
	ids=(${KERNELS:-$KERNEL_IDS})
fi

# module directories, relative to the repository
mods=(kmod)
for d in "$KREPO"/tests/kmod/*/; do
	[ -f "$d/Makefile" ] && mods+=("tests/kmod/$(basename "$d")")
done

mkdir -p "$EGPU_RESULTS"
TAP=$EGPU_RESULTS/build.tap
: >"$TAP"
n=0 failed=0 finished=""
TABLE=$(mktemp)

on_exit() {
	local rc=$?
	if [ -z "$finished" ]; then
		n=$((n + 1))
		echo "not ok $n - check-build aborted (exit status $rc) # see the output of tests/kernels/check-build.sh" >>"$TAP"
		echo "1..$n" >>"$TAP"
	fi
	stop_prep
	rm -f "$TABLE"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

tap() { # STATUS NAME [DIAGFILE]
	n=$((n + 1))
	echo "$1 $n - $2" >>"$TAP"
	if [ "$1" != ok ]; then
		failed=$((failed + 1))
		[ -z "${3:-}" ] || sed 's/^/# /' "$3" >>"$TAP"
	fi
}

# diag LOG OUT: the interesting lines of a build log (warnings, errors)
diag() {
	{ grep -v '^# ' "$1" | grep -iE 'warning:|error:|\*\*\*|undefined|not found' | head -n 30; } >"$2" || true
	[ -s "$2" ] || grep -v '^# build-module:' "$1" | tail -n 10 >"$2" || true
}

row() { printf '%-18s %-24s %-22s %-6s %8s\n' "$@" >>"$TABLE"; }
row KERNEL RELEASE MODULE RESULT SECONDS

total0=$(know)

# Cold runs: prepare the next kernels (downloads, chroots, header installs;
# mostly network and disk) in one background chain while the foreground
# builds; the locks in fetch.sh/buildenv.sh make the foreground wait for
# what is still being prepared. EGPU_PREFETCH=0 disables it.
PREP_LOG=$EGPU_RESULTS/build-prepare.log
: >"$PREP_LOG"
prep_pids=()
if [ "${EGPU_PREFETCH:-1}" != 0 ] && [ ${#ids[@]} -gt 1 ]; then
	chroots=""
	for id in "${ids[@]}"; do
		kid "$id" 2>/dev/null || continue
		[ -z "$KID_CHROOT" ] || case " $chroots " in *" $KID_CHROOT "*) ;; *) chroots="$chroots $KID_CHROOT" ;; esac
	done
	# chain 1: the chroots (debootstrap is the longest cold step)
	if [ -n "$chroots" ]; then
		(
			for c in $chroots; do
				"$here/buildenv.sh" --chroot "$c" 2>>"$PREP_LOG" || echo "(background) creating the $c chroot failed; the foreground retries" >>"$PREP_LOG"
			done
		) &
		prep_pids+=($!)
	fi
	# chain 2: kernels and headers, in the order of the builds
	(
		for id in "${ids[@]}"; do
			kid "$id" 2>/dev/null || continue
			"$here/buildenv.sh" "$id" >/dev/null 2>>"$PREP_LOG" || echo "(background) preparing $id failed; the foreground retries" >>"$PREP_LOG"
		done
	) &
	prep_pids+=($!)
fi
stop_prep() {
	local p
	for p in "${prep_pids[@]}"; do
		# our own background chains: their children by parent pid, then the subshell
		pkill -TERM -P "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	prep_pids=()
}

for id in "${ids[@]}"; do
	out=$EGPU_BUILD/modules/$id
	errf=$(mktemp)
	rel="?"
	# 1. fetch + build environment (timed separately from the builds)
	t0=$(know)
	envok=1
	if ! kid "$id" 2>"$errf"; then
		envok=0
	elif ! "$here/fetch.sh" "$id" >/dev/null 2>"$errf"; then
		envok=0
	else
		rel=$(cat "$EGPU_CACHE/kernels/$id/release")
		tf=$(kelapsed "$t0")
		t1=$(know)
		"$here/buildenv.sh" "$id" >/dev/null 2>>"$errf" || envok=0
		te=$(kelapsed "$t1")
	fi
	# progress and timings of the (cold) preparation steps
	cat "$errf" >&2
	if [ $envok = 1 ]; then
		row "$id" "$rel" "(fetch)" ok "$tf"
		row "$id" "$rel" "(build env)" ok "$te"
	else
		row "$id" "$rel" "(fetch/env)" FAIL "$(kelapsed "$t0")"
	fi
	rm -rf "$out"
	mkdir -p "$out"
	for m in "${mods[@]}"; do
		name="build $m on $id ($rel) W=1 -Werror"
		if [ $envok = 0 ]; then
			tap "not ok" "$name" "$errf"
			row "$id" "$rel" "$m" FAIL -
			continue
		fi
		if [ "$m" = kmod ]; then log=$out/build.log; else log=$out/build-${m##*/}.log; fi
		stage=$out/.stage-${m//\//_}
		t0=$(know)
		rc=0
		vars=()
		# test modules link against egpu_gate.ko's exports
		if [ "$m" != kmod ] && [ -f "$out/Module.symvers" ]; then
			vars+=("KBUILD_EXTRA_SYMBOLS=$out/Module.symvers")
		fi
		"$here/build-module.sh" "$id" "$KREPO/$m" "$stage" "${vars[@]}" >/dev/null 2>"$stage.err" || rc=$?
		secs=$(kelapsed "$t0")
		if [ -f "$stage/build.log" ]; then
			mv "$stage/build.log" "$log"
		else
			cp "$stage.err" "$log"
		fi
		find "$stage" -maxdepth 1 -name '*.ko' -exec mv {} "$out/" \; 2>/dev/null || true
		if [ "$m" = kmod ] && [ -f "$stage/Module.symvers" ]; then mv "$stage/Module.symvers" "$out/"; fi
		cached=""
		grep -q '(cached)' "$stage.err" && cached=" (cached)"
		if [ $rc = 0 ]; then
			tap ok "$name"
			row "$id" "$rel" "$m" "ok" "$secs$cached"
		else
			d=$(mktemp)
			diag "$log" "$d"
			[ -s "$d" ] || cp "$stage.err" "$d"
			echo "full log: $log" >>"$d"
			tap "not ok" "$name" "$d"
			rm -f "$d"
			row "$id" "$rel" "$m" FAIL "$secs$cached"
		fi
		rm -rf "$stage" "$stage.err"
	done
	rm -f "$errf"
done
echo "1..$n" >>"$TAP"
finished=1
stop_prep

echo
echo "check-build: kernel matrix, W=1 -Werror (TAP: $TAP)"
cat "$TABLE"
if [ -s "$PREP_LOG" ]; then
	echo "check-build: background preparation (cold steps):"
	sed 's/^/  /' "$PREP_LOG"
fi
echo "check-build: $((n - failed)) of $n built in $(kelapsed "$total0")s"
[ "$failed" = 0 ]

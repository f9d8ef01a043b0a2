#!/bin/bash
# make check-kunit: run kmod's KUnit suites in the debug test kernel under QEMU.
#
#   tests/testkernel/check-kunit.sh
#
# 1. tests/testkernel/build.sh (cached test kernel, KDIR = <cache>/build)
# 2. builds a copy of kmod/ against it: make KDIR=... EGPU_KUNIT=1 W=1 KCFLAGS=-Werror
# 3. boots it with tests/vm/vm.py (QEMU TCG, busybox initramfs) running
#    guest/kunit.sh: the suites run when egpu_gate.ko loads; each case's
#    verdict comes from /sys/kernel/debug/kunit/<suite>/results (KTAP, never
#    from insmod's exit status); then the module is unloaded and kmemleak
#    scanned
# 4. writes $EGPU_RESULTS/kunit.tap (kunit_tap.py): one line per test case
#    (suite.case), plus build / guest lines and one
#    "no KASAN/UBSAN/lockdep/kmemleak reports" line (console + kmemleak).
#
# Environment:
#   EGPU_RESULTS         results dir (default <repo>/build/results)
#   EGPU_BUILD           work dir root (default <repo>/build); work in $EGPU_BUILD/kunit
#   EGPU_KUNIT_KMOD      module source dir to test (default <repo>/kmod; its
#                        ../dkms.conf is copied along when present)
#   EGPU_KUNIT_MODULES   modules to load, in order (default: egpu_gate)
#   EGPU_KUNIT_TIMEOUT   host-side VM timeout in seconds (default 1200, a bound: an idle run takes ~5 min, a loaded 2-core host 8+)
#   EGPU_KUNIT_INSMOD_TIMEOUT  seconds the guest lets one insmod (= its suites) run
#                        before reporting a hung test case (default 600)
#   EGPU_KUNIT_MEM       guest memory (default 1G: kmemleak scans grow with it)
# Needs tests/vm/vm.py (the shared QEMU runner).
# Exit status: 0 when every TAP line is ok.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$top/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
export EGPU_CACHE
kmod_src=${EGPU_KUNIT_KMOD:-$top/kmod}
modules=${EGPU_KUNIT_MODULES:-egpu_gate}
vm_timeout=${EGPU_KUNIT_TIMEOUT:-1200}
insmod_timeout=${EGPU_KUNIT_INSMOD_TIMEOUT:-600}
mem=${EGPU_KUNIT_MEM:-1G}
work=$EGPU_BUILD/kunit
tap=$EGPU_RESULTS/kunit.tap

say() { echo "check-kunit: $*" >&2; }
mkdir -p "$EGPU_RESULTS" "$work"
rm -f "$tap" "$work"/vm.tap "$work"/console.log "$work"/guest.log
pre=()

finish() {  # finish [vm]: write the TAP file and exit with its verdict
	local rc=0 vm=()
	[ "${1:-}" != vm ] || vm=(--vm-tap "$work/vm.tap" --console "$work/console.log")
	python3 "$here/kunit_tap.py" --out "$tap" --name kunit "${vm[@]}" "${pre[@]}" || rc=$?
	grep -E '^not ok' "$tap" >&2 || true
	say "$(grep -cE '^ok' "$tap") ok, $(grep -cE '^not ok' "$tap") not ok -> $tap"
	exit "$rc"
}

# --- 1. the test kernel ---------------------------------------------------------
t0=$(date +%s)
if kdir_root=$("$here/build.sh" | tail -n1) && [ -e "$kdir_root/.complete" ]; then
	pre+=(--pre "ok	test kernel build	")
else
	pre+=(--pre "not ok	test kernel build	see $EGPU_CACHE/testkernel/*/build.log")
	finish
fi
kdir=$kdir_root/build
say "test kernel $(cat "$kdir_root/release") ($(( $(date +%s) - t0 )) s)"

# --- 2. the module(s) -------------------------------------------------------------
[ -d "$kmod_src" ] || { pre+=(--pre "not ok	module build (W=1 -Werror)	no module source at $kmod_src"); finish; }
rm -rf "$work/src"
mkdir -p "$work/src"
# A private copy: the developers' tree and other kernels' builds stay untouched.
cp -a "$kmod_src" "$work/src/kmod"
find "$work/src/kmod" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
	-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \) -delete
[ ! -e "$kmod_src/../dkms.conf" ] || cp "$kmod_src/../dkms.conf" "$work/src/"
if make -C "$work/src/kmod" KDIR="$kdir" EGPU_KUNIT=1 W=1 KCFLAGS=-Werror -j2 \
	>"$work/kmod-build.log" 2>&1; then
	pre+=(--pre "ok	module build (W=1 -Werror)	")
else
	tail -n 30 "$work/kmod-build.log" >&2
	err=$(grep -m1 -E 'error:|Error [0-9]' "$work/kmod-build.log" || true)
	pre+=(--pre "not ok	module build (W=1 -Werror)	${err:+$err; }see $work/kmod-build.log")
	finish
fi

# --- 3. boot: tests/vm/vm.py runs guest/kunit.sh ---------------------------------
echo "$modules" > "$work/kunit-modules"
echo "$insmod_timeout" > "$work/kunit-insmod-timeout"
kos=()
for m in $modules; do
	ko=$(find "$work/src/kmod" -name "$m.ko" | head -n1)
	if [ -z "$ko" ]; then
		pre+=(--pre "not ok	module build (W=1 -Werror)	$m.ko not produced")
		finish
	fi
	kos+=(--ko "$ko")
done
say "booting $(cat "$kdir_root/release") under TCG (timeout ${vm_timeout}s)"
t1=$(date +%s)
vmrc=0
# vm.py bounds the VM itself (--timeout); the outer timeout only guards vm.py.
timeout --kill-after=10 $((vm_timeout + 120)) python3 "$top/tests/vm/vm.py" \
	--kernel "$kdir_root/bzImage" --release "$(cat "$kdir_root/release")" \
	"${kos[@]}" --file "$work/kunit-modules:/etc/kunit-modules" \
	--file "$work/kunit-insmod-timeout:/etc/kunit-insmod-timeout" \
	--script "$here/guest/kunit.sh" --name kunit \
	--tap "$work/vm.tap" --console "$work/console.log" --guest-log "$work/guest.log" \
	--timeout "$vm_timeout" --mem "$mem" --allow-taint OEN \
	--append "loglevel=7 no_hash_pointers" || vmrc=$?
say "VM done in $(( $(date +%s) - t1 )) s (vm.py exit $vmrc); console $work/console.log"
finish vm

#!/bin/bash
# tests/vm/check-vm.sh ID...  - the `make check-vm` step.
#
# For each kernel ID (see DEVELOPERS.md): fetch the kernel
# (tests/kernels/fetch.sh), take the module built for it
# ($EGPU_BUILD/modules/ID/egpu_gate.ko; built with
# tests/kernels/build-module.sh when missing or older than kmod/), and boot it
# in QEMU with tests/vm/vm.py running tests/vm/guest/foundation.sh and
# hotplug.sh and policy.sh (egpuctl policy apply vs the module), with egpuctl
# and the uAPI test binary in the guest; then boots
# it again for the reset scenario (reset.sh, reset-ctl.sh, reset-ctl-sysfs.sh,
# reset-busy.sh: the ftrace hook with the stand-in family of
# tests/kmod/standin, egpuctl's gpu commands over netlink and over sysfs)
# -> vm-reset-ID.tap.
#
# Writes $EGPU_RESULTS/vm-ID.tap (+ vm-ID.console.log, vm-ID.guest.log) per
# kernel and vm-setup.tap (egpuctl and uAPI test builds). A kernel whose fetch
# or module build fails gets a "not ok" line; the others still run.
#
# Environment: EGPU_BUILD (default REPO/build), EGPU_RESULTS (default
# $EGPU_BUILD/results), EGPU_CACHE, EGPU_VM_TIMEOUT (per kernel, default 180 s),
# EGPU_FETCH_TIMEOUT (default 3600 s), EGPU_BUILD_TIMEOUT (default 1800 s),
# VM_ARGS (extra vm.py arguments, e.g. "--verbose").
# Exit status: 0 when every kernel passed, 1 otherwise, 2 usage.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${EGPU_BUILD:=$REPO/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
: "${EGPU_VM_TIMEOUT:=180}"
: "${EGPU_FETCH_TIMEOUT:=3600}"
: "${EGPU_BUILD_TIMEOUT:=1800}"
export EGPU_BUILD EGPU_RESULTS

[ $# -ge 1 ] || { echo "usage: $0 ID...  (e.g. bookworm-6.1 trixie-6.12)" >&2; exit 2; }
mkdir -p "$EGPU_RESULTS" "$EGPU_BUILD/vm"

say() { echo "check-vm: $*" >&2; }
# newer_than FILE DIR: true if a source file in DIR is newer than FILE
newer_than() {
	[ -n "$(find "$2" \( -name '*.[ch]' -o -name '*.cc' -o -name Kbuild -o -name Makefile \
		-o -name CMakeLists.txt -o -name '*.in' \) -newer "$1" -print -quit 2>/dev/null)" ]
}
# tap_one FILE VERDICT DESC [DIAG...]: a one-test TAP file
tap_one() {
	local f=$1 v=$2 d=$3
	shift 3
	{
		echo "TAP version 13"
		echo "1..1"
		echo "$v 1 - $d"
		for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
	} >"$f"
}

setup_tap=()
setup_add() { setup_tap+=("$1"); }

# --- egpuctl (once) ---------------------------------------------------------
EGPUCTL=$EGPU_BUILD/userspace/egpuctl
if [ ! -x "$EGPUCTL" ] || newer_than "$EGPUCTL" "$REPO/userspace"; then
	say "building egpuctl"
	# the binary only: check-unit builds and runs the unit tests
	if out=$({ cmake -S "$REPO/userspace" -B "$EGPU_BUILD/userspace" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
		timeout "$EGPU_BUILD_TIMEOUT" cmake --build "$EGPU_BUILD/userspace" -j2 --target egpuctl; } 2>&1) &&
		[ -x "$EGPUCTL" ]; then
		setup_add "ok - vm: build egpuctl"
	else
		setup_add "not ok - vm: build egpuctl (cmake --build --target egpuctl failed; guests run without it)"
		setup_add "$(printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /')"
	fi
else
	setup_add "ok - vm: egpuctl up to date"
fi
BIN_ARGS=()
[ -x "$EGPUCTL" ] && BIN_ARGS+=(--bin "$EGPUCTL")

# --- uAPI test binary (once) --------------------------------------------------
UAPI=$EGPU_BUILD/uapi/egpu_uapi_test
if [ -f "$REPO/tests/uapi/Makefile" ]; then
	if out=$(timeout "$EGPU_BUILD_TIMEOUT" make -C "$REPO/tests/uapi" --no-print-directory \
		OUT="$EGPU_BUILD/uapi" 2>&1) && [ -x "$UAPI" ]; then
		setup_add "ok - vm: build egpu_uapi_test"
		BIN_ARGS+=(--bin "$UAPI")
	else
		setup_add "not ok - vm: build egpu_uapi_test"
		setup_add "$(printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /')"
	fi
else
	setup_add "ok - vm: build egpu_uapi_test # SKIP tests/uapi/Makefile does not exist"
fi
# --- vfio_reset helper of the reset scenario (once) ---------------------------
VFIO_RESET=$EGPU_BUILD/vm/vfio_reset
if out=$(make -C "$REPO/tests/kmod/standin" --no-print-directory OUT="$EGPU_BUILD/vm" vfio_reset 2>&1) &&
	[ -x "$VFIO_RESET" ]; then
	setup_add "ok - vm: build vfio_reset"
else
	setup_add "not ok - vm: build vfio_reset"
	setup_add "$(printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /')"
fi

{
	echo "TAP version 13"
	n=$(printf '%s\n' "${setup_tap[@]}" | grep -c -E '^(not )?ok')
	echo "1..$n"
	i=0
	for l in "${setup_tap[@]}"; do
		case $l in
		ok*|not\ ok*) i=$((i + 1)); echo "$l" | sed -E "s/^(not ok|ok) -/\1 $i -/" ;;
		*) echo "$l" ;;
		esac
	done
} >"$EGPU_RESULTS/vm-setup.tap"

# --- per kernel ---------------------------------------------------------------
status=0
for ID in "$@"; do
	TAP=$EGPU_RESULTS/vm-$ID.tap
	t0=$(date +%s)
	say "$ID: fetching the kernel"
	if ! out=$(timeout "$EGPU_FETCH_TIMEOUT" "$REPO/tests/kernels/fetch.sh" "$ID" 2>&1); then
		tap_one "$TAP" "not ok" "$ID: fetch kernel (tests/kernels/fetch.sh $ID failed)" \
			"$(printf '%s\n' "$out" | tail -n 15)"
		say "$ID: fetch failed"
		status=1
		continue
	fi
	KDIR=$(printf '%s\n' "$out" | tail -n 1)
	if [ ! -s "$KDIR/vmlinuz" ] || [ ! -d "$KDIR/modroot" ]; then
		tap_one "$TAP" "not ok" "$ID: fetch kernel (no vmlinuz/modroot in '$KDIR')"
		status=1
		continue
	fi

	MODDIR=$EGPU_BUILD/modules/$ID
	KO=$MODDIR/egpu_gate.ko
	if [ ! -f "$KO" ] || newer_than "$KO" "$REPO/kmod"; then
		say "$ID: building the module"
		if [ ! -x "$REPO/tests/kernels/build-module.sh" ]; then
			tap_one "$TAP" "not ok" "$ID: build module ($KO missing and tests/kernels/build-module.sh does not exist)"
			status=1
			continue
		fi
		if ! out=$(timeout "$EGPU_BUILD_TIMEOUT" "$REPO/tests/kernels/build-module.sh" "$ID" \
			"$REPO/kmod" "$MODDIR" 2>&1) || [ ! -f "$KO" ]; then
			tap_one "$TAP" "not ok" "$ID: build module (tests/kernels/build-module.sh $ID failed)" \
				"$(printf '%s\n' "$out" | tail -n 20)"
			say "$ID: module build failed"
			status=1
			continue
		fi
	fi

	# The debug test kernel (ID kunit: KASAN, lockdep, kmemleak) runs several
	# times slower under TCG, and has what the tests need built in (no pci-stub).
	# Guest scripts read their waits from /etc/vm-test.conf (WAIT, seconds):
	# a hot-plug that takes 2 s on a stock kernel can take more than 10 s on
	# the debug kernel under load.
	vmopts=(--timeout "$EGPU_VM_TIMEOUT")
	resetmods="vfio_pci vfio_iommu_type1 pci_stub"
	mkdir -p "$EGPU_BUILD/vm/$ID"
	vmconf=$EGPU_BUILD/vm/$ID/vm-test.conf
	: >"$vmconf"
	if [ "$ID" = kunit ]; then
		vmopts=(--timeout "$((EGPU_VM_TIMEOUT * 5))" --mem 2048)
		resetmods="vfio_pci vfio_iommu_type1"
		echo "WAIT=60" >"$vmconf"
	fi
	vmopts+=(--file "$vmconf:/etc/vm-test.conf")

	say "$ID: booting $(cat "$KDIR/release" 2>/dev/null)"
	# shellcheck disable=SC2086
	python3 "$HERE/vm.py" --kernel "$KDIR/vmlinuz" --modroot "$KDIR/modroot" \
		--ko "$KO" "${BIN_ARGS[@]}" \
		--script "$HERE/guest/foundation.sh" --script "$HERE/guest/hotplug.sh" \
		--script "$HERE/guest/policy.sh" \
		--name "$ID" "${vmopts[@]}" \
		--tap "$TAP" --console "$EGPU_RESULTS/vm-$ID.console.log" \
		--guest-log "$EGPU_RESULTS/vm-$ID.guest.log" ${VM_ARGS:-}
	rc=$?
	[ $rc -eq 0 ] || status=1
	say "$ID: $(grep -c '^ok' "$TAP") ok, $(grep -c '^not ok' "$TAP") not ok ($(($(date +%s) - t0)) s) -> $TAP"

	# Reset scenario: the ftrace hook and the stand-in family on a hot-plugged
	# two-function edu device (tests/vm/guest/reset.sh, reset-ctl.sh,
	# reset-ctl-sysfs.sh, reset-busy.sh); a virtio-gpu (a display function with
	# FLR, not hot-pluggable) on a fifth root port for the sysfs side of
	# egpuctl's gpu commands.
	t0=$(date +%s)
	RTAP=$EGPU_RESULTS/vm-reset-$ID.tap
	STANDIN=$MODDIR/egpu_standin.ko
	if [ ! -f "$STANDIN" ] || newer_than "$STANDIN" "$REPO/tests/kmod/standin" ||
		newer_than "$STANDIN" "$REPO/kmod"; then
		say "$ID: building the stand-in modules"
		if ! out=$(timeout "$EGPU_BUILD_TIMEOUT" "$REPO/tests/kernels/build-module.sh" "$ID" \
			"$REPO/tests/kmod/standin" "$MODDIR" "KBUILD_EXTRA_SYMBOLS=$MODDIR/Module.symvers" 2>&1) ||
			[ ! -f "$STANDIN" ]; then
			tap_one "$RTAP" "not ok" "$ID: build stand-in modules (tests/kmod/standin)" \
				"$(printf '%s\n' "$out" | tail -n 20)"
			status=1
			continue
		fi
	fi
	# shellcheck disable=SC2086
	python3 "$HERE/vm.py" --kernel "$KDIR/vmlinuz" --modroot "$KDIR/modroot" \
		--ko "$KO" --ko "$STANDIN" --ko "$MODDIR/egpu_ipmodify_blocker.ko" \
		--bin "$VFIO_RESET" "${BIN_ARGS[@]}" --modules "$resetmods" \
		--script "$HERE/guest/reset.sh" --script "$HERE/guest/reset-ctl.sh" \
		--script "$HERE/guest/reset-ctl-sysfs.sh" \
		--script "$HERE/guest/reset-busy.sh" \
		--qemu-arg=-device --qemu-arg=pcie-root-port,id=rp5,bus=pcie.0,chassis=5,slot=5,addr=0x8 \
		--qemu-arg=-device --qemu-arg=virtio-gpu-pci,bus=rp5 \
		--name "$ID" "${vmopts[@]}" \
		--tap "$RTAP" --console "$EGPU_RESULTS/vm-reset-$ID.console.log" \
		--guest-log "$EGPU_RESULTS/vm-reset-$ID.guest.log" ${VM_ARGS:-}
	[ $? -eq 0 ] || status=1
	say "$ID: reset: $(grep -c '^ok' "$RTAP") ok, $(grep -c '^not ok' "$RTAP") not ok ($(($(date +%s) - t0)) s) -> $RTAP"
done
exit $status

#!/bin/bash
# tests/vm/check-tb.sh ID...  - the `make check-tb` step: Thunderbolt
# policy scenarios of egpu_gate on tbsim (the simulated Thunderbolt domain
# of tests/kmod/tbsim).
#
# For each kernel ID (DEVELOPERS.md; "kunit" is the debug test kernel):
# fetch the kernel, build egpu_gate.ko, tbsim.ko and the stand-in modules
# (tests/kernels/build-module.sh, W=1 -Werror), build egpu_tb_tool
# (tests/uapi, raw netlink client), boot QEMU with two pci-testdev (the
# fake NHIs) and run the guest scripts in $TB_SCRIPTS order:
#   tb-policy.sh   discovery, rules, authorization, events, netlink
# -> $EGPU_RESULTS/tb-ID.tap (+ .console.log, .guest.log). A failed fetch
# or build gives a "not ok" line; the other kernels still run.
#
# Environment: EGPU_BUILD, EGPU_RESULTS, EGPU_CACHE, EGPU_VM_TIMEOUT (per
# kernel, default 600 s; x3 for kunit), VM_ARGS (extra vm.py arguments).
# Exit status: 0 when every kernel passed, 1 otherwise, 2 usage.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$REPO/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
: "${EGPU_VM_TIMEOUT:=600}"
export EGPU_CACHE EGPU_BUILD EGPU_RESULTS
# guest scripts, in order (tests/vm/guest/)
TB_SCRIPTS="tb-policy.sh"

[ $# -ge 1 ] || { echo "usage: $0 ID...  (e.g. bookworm-6.1 trixie-bpo-7.3 kunit)" >&2; exit 2; }
mkdir -p "$EGPU_RESULTS"

not_ok() { # TAP DESC DIAG
	{ echo "1..1"; echo "not ok 1 - $2"; printf '%s\n' "$3" | tail -n 20 | sed 's/^/# /'; } >"$1"
}

UAPI_OUT=$EGPU_BUILD/uapi
uapi_log=$(make -C "$REPO/tests/uapi" --no-print-directory OUT="$UAPI_OUT" "$UAPI_OUT/egpu_tb_tool" 2>&1)
uapi_rc=$?

status=0
for id in "$@"; do
	tap=$EGPU_RESULTS/tb-$id.tap
	t0=$(date +%s)
	if [ $uapi_rc -ne 0 ]; then
		not_ok "$tap" "$id: tb: build egpu_tb_tool (tests/uapi)" "$uapi_log"
		status=1
		continue
	fi
	if ! k=$("$REPO/tests/kernels/fetch.sh" "$id" 2>&1); then
		not_ok "$tap" "$id: tb: fetch kernel" "$k"
		status=1
		continue
	fi
	k=$(printf '%s\n' "$k" | tail -n1)
	mod=$EGPU_BUILD/tb/$id
	if ! log=$("$REPO/tests/kernels/build-module.sh" "$id" "$REPO/kmod" "$mod" 2>&1) ||
		[ ! -f "$mod/egpu_gate.ko" ]; then
		not_ok "$tap" "$id: tb: build egpu_gate W=1 -Werror" "$log"
		status=1
		continue
	fi
	# tbsim in its own directory: its Module.symvers must not replace
	# egpu_gate's, which the stand-in modules link against
	if ! log=$("$REPO/tests/kernels/build-module.sh" "$id" "$REPO/tests/kmod/tbsim" "$mod/tbsim" 2>&1) ||
		[ ! -f "$mod/tbsim/tbsim.ko" ]; then
		not_ok "$tap" "$id: tb: build tbsim W=1 -Werror" "$log"
		status=1
		continue
	fi
	if ! log=$("$REPO/tests/kernels/build-module.sh" "$id" "$REPO/tests/kmod/standin" "$mod" \
		"KBUILD_EXTRA_SYMBOLS=$mod/Module.symvers" 2>&1) || [ ! -f "$mod/egpu_standin.ko" ]; then
		not_ok "$tap" "$id: tb: build stand-in modules" "$log"
		status=1
		continue
	fi
	vmopts=(--timeout "$EGPU_VM_TIMEOUT")
	conf=$mod/tbsim-test.conf
	: >"$conf"
	if [ "$id" = kunit ]; then
		# KASAN + lockdep under TCG: everything several times slower
		vmopts=(--timeout "$((EGPU_VM_TIMEOUT * 3))" --mem 2048)
		echo "WAIT=60" >"$conf"
	fi
	scripts=()
	for s in $TB_SCRIPTS; do scripts+=(--script "$HERE/guest/$s"); done
	# shellcheck disable=SC2086
	python3 "$HERE/vm.py" --kernel "$k/vmlinuz" --modroot "$k/modroot" \
		--modules "vfio_pci vfio_iommu_type1" \
		--ko "$mod/egpu_gate.ko" --ko "$mod/tbsim/tbsim.ko" --ko "$mod/egpu_standin.ko" \
		--bin "$UAPI_OUT/egpu_tb_tool" \
		--file "$conf:/etc/tbsim-test.conf" \
		--file "$HERE/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh" \
		--qemu-arg=-device --qemu-arg=pci-testdev \
		--qemu-arg=-device --qemu-arg=pci-testdev \
		"${scripts[@]}" --name "$id" "${vmopts[@]}" --tap "$tap" \
		--console "$EGPU_RESULTS/tb-$id.console.log" \
		--guest-log "$EGPU_RESULTS/tb-$id.guest.log" ${VM_ARGS:-} || status=1
	echo "check-tb: $id: $(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok ($(($(date +%s) - t0)) s) -> $tap" >&2
done
exit $status

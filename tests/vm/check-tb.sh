#!/bin/bash
# tests/vm/check-tb.sh ID...  - the `make check-tb` step: Thunderbolt
# policy scenarios of egpu_gate on tbsim (the simulated Thunderbolt domain
# of tests/kmod/tbsim) with the stand-in GPU (QEMU edu 1234:11e8, claimed
# by tests/kmod/standin's egpu_standin.ko).
#
# For each kernel ID (DEVELOPERS.md; "kunit" is the debug test kernel):
# fetch the kernel, build egpu_gate.ko, tbsim.ko and the stand-in modules
# (tests/kernels/build-module.sh, W=1 -Werror), build the raw netlink
# clients of tests/uapi (egpu_tb_tool: TB commands and events; egpu_tdctl:
# teardown plan/run, TB_DEAUTHORIZE), and run every guest script of
# $TB_SCRIPTS (default: every tests/vm/guest/tb-*.sh) in a VM of its own
# (QEMU with two pci-testdev as the fake NHIs, vfio_pci available), so
# each starts from a fresh boot and ends with the guest's poweroff, which
# runs the reboot notifiers:
#   tb-policy.sh          discovery, rules, authorization, events, netlink
#   tb-teardown.sh        PCI binding, teardown plan/run, hanging
#                         de-authorization, unplug, deauthorization=0
#   tb-teardown-chain.sh  shutdown teardown of a chain, a hanging step
#   tb-egpuctl.sh         egpuctl's tb commands, monitor, shutdown-plan,
#                         doctor over sysfs and the module
#   tb-pve.sh             egpuctl pve-hook on a Proxmox tree in the guest
#                         (stock-only)
#   tb-egpuctl-rules.sh   egpuctl tb rules/allow/deny against the module
#                         (every option), persistence, --no-persist
# A script with the header line "# check-tb: stock-only" tests egpuctl
# (userspace) rather than kernel paths and is not run on the debug kernel
# (kunit): its TAP there is one SKIP line (saves minutes of TCG per script).
# When tests/vm/guest/NAME.host exists, it runs on the host afterwards with
# the console log as $1 and prints TAP lines: assertions on what only the
# console shows (the teardown at poweroff); they join the script's results.
# -> $EGPU_RESULTS/tb-ID-NAME.tap (+ .console.log, .guest.log). A failed
# fetch or build gives a "not ok" line; the other kernels still run.
#
# Environment: EGPU_BUILD, EGPU_RESULTS, EGPU_CACHE, EGPU_VM_TIMEOUT (per
# VM, default 600 s; x3 for kunit), TB_SCRIPTS ("tb-policy tb-teardown"),
# VM_ARGS (extra vm.py arguments).
# Exit status: 0 when every kernel passed, 1 otherwise, 2 usage.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$REPO/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
: "${EGPU_VM_TIMEOUT:=600}"
export EGPU_CACHE EGPU_BUILD EGPU_RESULTS

[ $# -ge 1 ] || { echo "usage: $0 ID...  (e.g. bookworm-6.1 trixie-bpo-7.3 kunit)" >&2; exit 2; }
mkdir -p "$EGPU_RESULTS"

scripts=()
if [ -n "${TB_SCRIPTS:-}" ]; then
	for s in $TB_SCRIPTS; do scripts+=("$HERE/guest/${s%.sh}.sh"); done
else
	scripts=("$HERE"/guest/tb-*.sh)
fi

not_ok() { # TAP DESC DIAG
	{ echo "1..1"; echo "not ok 1 - $2"; printf '%s\n' "$3" | tail -n 20 | sed 's/^/# /'; } >"$1"
}

# Append the assertions of SCRIPT's .host file (run on CONSOLE) to TAP,
# renumbered, with the plan fixed.
host_checks() { # SCRIPT TAP CONSOLE ID
	local hs=${1%.sh}.host name
	[ -x "$hs" ] || return 0
	name=$(basename "${1%.sh}")
	{
		grep -E '^(not )?ok|^#' "$2"
		"$hs" "$3" 2>&1 | grep -E '^(not )?ok|^#' |
			sed -E "s/^(not )?ok( [0-9]+)? - /\\1ok - $4: $name (host): /"
	} | awk '/^(not )?ok/ { n++; sub(/^ok( [0-9]+)?/, "ok " n); sub(/^not ok( [0-9]+)?/, "not ok " n) }
		{ l[NR] = $0 } END { print "1.." n; for (i = 1; i <= NR; i++) print l[i] }' >"$2.new"
	mv "$2.new" "$2"
}

UAPI_OUT=$EGPU_BUILD/uapi
tools=()
for t in egpu_tb_tool egpu_tdctl; do
	[ -f "$REPO/tests/uapi/$t.c" ] && tools+=("$UAPI_OUT/$t")
done
uapi_log=$(make -C "$REPO/tests/uapi" --no-print-directory OUT="$UAPI_OUT" "${tools[@]}" 2>&1)
uapi_rc=$?
bins=()
for t in "${tools[@]}"; do bins+=(--bin "$t"); done
# egpuctl, for tb-egpuctl.sh (which reports its absence itself)
# (the binary only: check-unit builds and runs the unit tests)
{ cmake -S "$REPO/userspace" -B "$EGPU_BUILD/userspace" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
	cmake --build "$EGPU_BUILD/userspace" -j2 --target egpuctl; } >"$EGPU_RESULTS/tb-egpuctl-build.log" 2>&1
[ -x "$EGPU_BUILD/userspace/egpuctl" ] && bins+=(--bin "$EGPU_BUILD/userspace/egpuctl")

status=0
for id in "$@"; do
	tap1=$EGPU_RESULTS/tb-$id.tap	# setup failures of this kernel
	rm -f "$tap1"
	if [ $uapi_rc -ne 0 ]; then
		not_ok "$tap1" "$id: tb: build egpu_tb_tool, egpu_tdctl (tests/uapi)" "$uapi_log"
		status=1
		continue
	fi
	if ! k=$("$REPO/tests/kernels/fetch.sh" "$id" 2>&1); then
		not_ok "$tap1" "$id: tb: fetch kernel" "$k"
		status=1
		continue
	fi
	k=$(printf '%s\n' "$k" | tail -n1)
	mod=$EGPU_BUILD/tb/$id
	if ! log=$("$REPO/tests/kernels/build-module.sh" "$id" "$REPO/kmod" "$mod" 2>&1) ||
		[ ! -f "$mod/egpu_gate.ko" ]; then
		not_ok "$tap1" "$id: tb: build egpu_gate W=1 -Werror" "$log"
		status=1
		continue
	fi
	if ! log=$("$REPO/tests/kernels/build-module.sh" "$id" "$REPO/tests/kmod/tbsim" "$mod" 2>&1) ||
		[ ! -f "$mod/tbsim.ko" ]; then
		not_ok "$tap1" "$id: tb: build tbsim W=1 -Werror" "$log"
		status=1
		continue
	fi
	if ! log=$("$REPO/tests/kernels/build-module.sh" "$id" "$REPO/tests/kmod/standin" "$mod" \
		"KBUILD_EXTRA_SYMBOLS=$mod/Module.symvers" 2>&1) || [ ! -f "$mod/egpu_standin.ko" ]; then
		not_ok "$tap1" "$id: tb: build stand-in modules" "$log"
		status=1
		continue
	fi
	vmopts=(--timeout "$EGPU_VM_TIMEOUT")
	# pci_stub: a driver other than vfio-pci for tb-pve.sh (stock-only)
	vmmods="vfio_pci vfio_iommu_type1 pci_stub"
	conf=$mod/tbsim-test.conf
	: >"$conf"
	if [ "$id" = kunit ]; then
		# KASAN + lockdep under TCG: everything several times slower
		vmopts=(--timeout "$((EGPU_VM_TIMEOUT * 3))" --mem 2048)
		vmmods="vfio_pci vfio_iommu_type1"
		echo "WAIT=60" >"$conf"
	fi
	for s in "${scripts[@]}"; do
		name=$(basename "${s%.sh}")
		tap=$EGPU_RESULTS/tb-$id-$name.tap
		con=$EGPU_RESULTS/tb-$id-$name.console.log
		t0=$(date +%s)
		if [ ! -f "$s" ]; then
			not_ok "$tap" "$id: tb: no guest script $s" ""
			status=1
			continue
		fi
		if [ "$id" = kunit ] && grep -q '^# check-tb: stock-only$' "$s"; then
			printf '1..1\nok 1 - %s: %s # SKIP stock-only (egpuctl; runs on the stock kernels)\n' \
				"$id" "$name" >"$tap"
			echo "check-tb: $id: $name: skipped (stock-only)" >&2
			continue
		fi
		# shellcheck disable=SC2086
		python3 "$HERE/vm.py" --kernel "$k/vmlinuz" --modroot "$k/modroot" \
			--modules "$vmmods" \
			--ko "$mod/egpu_gate.ko" --ko "$mod/tbsim.ko" --ko "$mod/egpu_standin.ko" \
			"${bins[@]}" \
			--file "$conf:/etc/tbsim-test.conf" \
			--file "$HERE/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh" \
			--qemu-arg=-device --qemu-arg=pci-testdev \
			--qemu-arg=-device --qemu-arg=pci-testdev \
			--script "$s" --name "$id" "${vmopts[@]}" --tap "$tap" \
			--console "$con" --guest-log "$EGPU_RESULTS/tb-$id-$name.guest.log" \
			${VM_ARGS:-} || status=1
		host_checks "$s" "$tap" "$con" "$id"
		grep -q '^not ok' "$tap" && status=1
		echo "check-tb: $id: $name: $(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok ($(($(date +%s) - t0)) s) -> $tap" >&2
	done
done
exit $status

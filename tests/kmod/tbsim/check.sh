#!/bin/bash
# tests/kmod/tbsim/check.sh [ID...]   (default: $KERNELS or the whole matrix)
#
# Build tbsim.ko for each kernel ID (tests/kernels/build-module.sh, W=1
# -Werror) and run tests/vm/guest/tbsim.sh, tbsim-runbook.sh and
# tbsim-kmemleak.sh on it in QEMU (tests/vm/vm.py, with two of QEMU's pci-testdev
# as the fake NHI). ID "kunit" is the debug test kernel of
# tests/testkernel/build.sh (KASAN, lockdep, UBSAN, kmemleak), booted as
# its ELF vmlinux. Writes $EGPU_RESULTS/tbsim-ID.tap per kernel (a
# "not ok" line when the kernel, the build or the VM fails). Exit status 0
# when all passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$top/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
: "${EGPU_VM_TIMEOUT:=400}"
export EGPU_CACHE EGPU_BUILD EGPU_RESULTS
[ $# -gt 0 ] || set -- ${KERNELS:-bookworm-6.1 bookworm-bpo-6.12 trixie-6.12 trixie-bpo-7.3 sid-7.2}
mkdir -p "$EGPU_RESULTS"

not_ok() { # TAP DESC DIAG
	{ echo "1..1"; echo "not ok 1 - $2"; printf '%s\n' "$3" | tail -n 20 | sed 's/^/# /'; } >"$1"
}

status=0
for id in "$@"; do
	tap=$EGPU_RESULTS/tbsim-$id.tap
	out=$EGPU_BUILD/tbsim/$id
	if [ "$id" = kunit ]; then
		if ! k=$("$top/tests/testkernel/build.sh" 2>&1) || [ ! -e "$(printf '%s\n' "$k" | tail -n1)/.complete" ]; then
			not_ok "$tap" "kunit: tbsim: test kernel (tests/testkernel/build.sh)" "$k"
			status=1
			continue
		fi
		k=$(printf '%s\n' "$k" | tail -n1)
		rm -rf "$out" && mkdir -p "$out/src"
		cp "$here"/Kbuild "$here"/Makefile "$here"/*.[ch] "$out/src/"
		if ! log=$(timeout 900 make -C "$out/src" KDIR="$k/build" W=1 KCFLAGS=-Werror 2>&1) ||
			[ ! -f "$out/src/tbsim.ko" ] || printf '%s\n' "$log" | grep -q 'warning:'; then
			not_ok "$tap" "kunit: tbsim: build W=1 -Werror" "$log"
			status=1
			continue
		fi
		cp "$out/src/tbsim.ko" "$out/"
		echo "WAIT=60" >"$out/tbsim-test.conf"	# KASAN+lockdep under TCG: slow
		# the ELF vmlinux: vm.py cannot unpack a gzip bzImage (yet)
		python3 "$top/tests/vm/vm.py" --kernel "$k/build/vmlinux" --release "$(cat "$k/release")" \
			--ko "$out/tbsim.ko" --file "$out/tbsim-test.conf:/etc/tbsim-test.conf" \
			--file "$top/tests/vm/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh" \
			--qemu-arg=-device --qemu-arg=pci-testdev \
			--qemu-arg=-device --qemu-arg=pci-testdev \
			--script "$top/tests/vm/guest/tbsim.sh" \
			--script "$top/tests/vm/guest/tbsim-runbook.sh" \
			--script "$top/tests/vm/guest/tbsim-kmemleak.sh" \
			--name kunit --timeout 1500 --mem 2048 --allow-taint OEN --tap "$tap" \
			--console "$EGPU_RESULTS/tbsim-$id.console.log" \
			--guest-log "$EGPU_RESULTS/tbsim-$id.guest.log" || status=1
		echo "tbsim: $id: $(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok -> $tap"
		continue
	fi
	if ! k=$("$top/tests/kernels/fetch.sh" "$id" 2>&1); then
		not_ok "$tap" "$id: tbsim: fetch kernel" "$k"
		status=1
		continue
	fi
	k=$(printf '%s\n' "$k" | tail -n1)
	if ! log=$("$top/tests/kernels/build-module.sh" "$id" "$here" "$out" 2>&1) || [ ! -f "$out/tbsim.ko" ]; then
		not_ok "$tap" "$id: tbsim: build W=1 -Werror" "$log"
		status=1
		continue
	fi
	python3 "$top/tests/vm/vm.py" --kernel "$k/vmlinuz" --modroot "$k/modroot" \
		--ko "$out/tbsim.ko" \
		--file "$top/tests/vm/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh" \
		--qemu-arg=-device --qemu-arg=pci-testdev \
		--qemu-arg=-device --qemu-arg=pci-testdev \
		--script "$top/tests/vm/guest/tbsim.sh" \
		--script "$top/tests/vm/guest/tbsim-runbook.sh" \
		--script "$top/tests/vm/guest/tbsim-kmemleak.sh" \
		--name "$id" --timeout "$EGPU_VM_TIMEOUT" --tap "$tap" \
		--console "$EGPU_RESULTS/tbsim-$id.console.log" \
		--guest-log "$EGPU_RESULTS/tbsim-$id.guest.log" || status=1
	echo "tbsim: $id: $(grep -c '^ok' "$tap") ok, $(grep -c '^not ok' "$tap") not ok -> $tap"
done
exit $status

#!/bin/sh
# make bench, part (a): what egpu_gate's hook adds to the kernel's reset
# path of a PCI device it does not handle. One VM, one kernel, one device:
# a single-function edu (1234:11e8, no stand-in family loaded, so nothing
# claims it) on rp1, whose only reset method is the kernel's "bus".
#
# Three phases: without egpu_gate, with it loaded (ftrace hook installed
# on pci_dev_specific_reset), after rmmod. In each, reset_timer times
#   reset   N_RESET writes of "1" to the device's sysfs reset (a full
#           pci_reset_function(): every method in reset_method; the
#           device_specific probe goes through the hook when loaded)
#   probe   N_PROBE writes of "default" to its reset_method (the kernel
#           probes every method again, pci_dev_specific_reset() once: the
#           hook's cost without the bus reset's sleeps around it)
# and prints "# bench: phase=P op=O n=... mean_us=..." lines that
# bench/run.sh turns into a table. Never judges a timing.
#
# Needs: --ko egpu_gate.ko --bin reset_timer --file CONF:/etc/bench.conf
# (CONF: "N_RESET=10 N_PROBE=2000").
# shellcheck source=../../tests/vm/guest/lib.sh
. /usr/lib/vm/lib.sh

N_RESET=10
N_PROBE=2000
# shellcheck disable=SC1091
[ -r /etc/bench.conf ] && . /etc/bench.conf
KO=/lib/modules/extra
DEV=/sys/bus/pci/devices
X=0000:01:00.0

# shellcheck disable=SC2317 # called through vm_wait
present() { [ -e "$DEV/$1" ]; }

measure() {	# measure PHASE
	for op in reset probe; do
		case $op in
		reset) out=$(reset_timer "$DEV/$X/reset" 1 "$N_RESET" 1 2>&1) ;;
		probe) out=$(reset_timer "$DEV/$X/reset_method" default "$N_PROBE" 20 2>&1) ;;
		esac
		case $out in
		n=*) vm_pass "$1: $op x$(echo "$out" | sed 's/^n=\([0-9]*\).*/\1/') timed"
		     echo "# bench: phase=$1 op=$op $out" ;;
		*) vm_fail "$1: $op timed" "$out" ;;
		esac
	done
}

vm_check "hot-plug X (edu on rp1, not handled by egpu_gate)" vm_device_add bx edu rp1
if ! vm_wait 10 present $X; then
	vm_fail "X appears as $X" "$(ls $DEV)"
	exit 1
fi
vm_diag "X reset_method '$(cat $DEV/$X/reset_method)'"

measure unhooked-before

vm_check "insmod egpu_gate.ko" insmod $KO/egpu_gate.ko || exit 1
if dmesg | grep -q "egpu_gate: hooked pci_dev_specific_reset"; then
	vm_pass "hook installed on pci_dev_specific_reset"
else
	vm_fail "hook installed on pci_dev_specific_reset" "$(dmesg | grep egpu_gate | tail -n 5)"
fi
case " $(cat $DEV/$X/reset_method) " in
*" device_specific "*) vm_fail "X not claimed" "$(cat $DEV/$X/reset_method)" ;;
*) vm_pass "X not claimed ($(cat $DEV/$X/reset_method))" ;;
esac
measure hooked

vm_check "rmmod egpu_gate" rmmod egpu_gate
measure unhooked-after

vm_device_del bx >/dev/null
exit 0

#!/bin/sh
# The reset hook needs pci_dev_specific_reset() to itself: with another
# ftrace user that may change the instruction pointer (a livepatch,
# vendor-reset; here tests/kmod/standin's egpu_ipmodify_blocker.ko, a kprobe
# with a post handler) egpu_gate must refuse to load and say why, and load
# once the other user is gone.
#
# Needs: --ko egpu_gate.ko --ko egpu_ipmodify_blocker.ko
. /usr/lib/vm/lib.sh

KO=/lib/modules/extra
BLOCKER=$KO/egpu_ipmodify_blocker.ko
[ -e "$BLOCKER" ] || BLOCKER=/opt/egpu/egpu_ipmodify_blocker.ko

vm_check "insmod egpu_ipmodify_blocker.ko" insmod $BLOCKER || exit 1
if insmod $KO/egpu_gate.ko 2>/dev/null; then
	vm_fail "egpu_gate refuses to load while another IPMODIFY user holds pci_dev_specific_reset"
	rmmod egpu_gate
elif dmesg | grep -q "egpu_gate: cannot hook pci_dev_specific_reset: another ftrace user .*(-EBUSY)"; then
	vm_pass "egpu_gate refuses to load while another IPMODIFY user holds pci_dev_specific_reset, naming the reason"
else
	vm_fail "egpu_gate refuses to load, naming the reason" "$(dmesg | grep egpu_gate | tail -n 3)"
fi
[ -e /sys/module/egpu_gate ] && vm_fail "no egpu_gate left after the failed load" ||
	vm_pass "no egpu_gate left after the failed load"
vm_check "rmmod egpu_ipmodify_blocker" rmmod egpu_ipmodify_blocker
vm_check "insmod egpu_gate.ko once the other user is gone" insmod $KO/egpu_gate.ko
if insmod $BLOCKER 2>/dev/null; then
	vm_fail "the other user cannot take the function while egpu_gate holds it"
	rmmod egpu_ipmodify_blocker
else
	vm_pass "the other user cannot take the function while egpu_gate holds it"
fi
vm_check "rmmod egpu_gate" rmmod egpu_gate
exit 0

#!/bin/sh
# The reset hook needs pci_dev_specific_reset() to itself: with another
# ftrace user that may change the instruction pointer (a livepatch,
# vendor-reset; here tests/kmod/standin's egpu_ipmodify_blocker.ko, a kprobe
# with a post handler) egpu_gate must refuse to load and say why, and load
# once the other user is gone.
#
# If the other user can still be added while egpu_gate holds the function
# (kprobes may fall back to a breakpoint), resets must still be redirected.
#
# Needs: --ko egpu_gate.ko --ko egpu_ipmodify_blocker.ko --ko egpu_standin.ko
#        (tests/kernels/build-module.sh ID tests/kmod/standin OUT builds both)
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh

KO=/lib/modules/extra
DEV=/sys/bus/pci/devices
BLOCKER=$KO/egpu_ipmodify_blocker.ko
[ -e "$BLOCKER" ] || BLOCKER=/opt/egpu/egpu_ipmodify_blocker.ko
STANDIN=$KO/egpu_standin.ko
[ -e "$STANDIN" ] || STANDIN=/opt/egpu/egpu_standin.ko
E=0000:04:00.0
# shellcheck disable=SC2317 # called through vm_wait
present() { [ -e "$DEV/$1" ]; }
vm_check "hot-plug an edu on rp4" vm_device_add ebusy edu rp4
vm_wait 10 present $E || vm_fail "edu appears as $E" "$(ls $DEV)"

vm_check "insmod egpu_ipmodify_blocker.ko" insmod $BLOCKER || exit 1
if insmod $KO/egpu_gate.ko 2>/dev/null; then
	vm_fail "egpu_gate refuses to load while another IPMODIFY user holds pci_dev_specific_reset"
	rmmod egpu_gate
elif dmesg | grep -q "egpu_gate: cannot hook pci_dev_specific_reset: another ftrace user .*(-EBUSY)"; then
	vm_pass "egpu_gate refuses to load while another IPMODIFY user holds pci_dev_specific_reset, naming the reason"
else
	vm_fail "egpu_gate refuses to load, naming the reason" "$(dmesg | grep egpu_gate | tail -n 3)"
fi
if [ -e /sys/module/egpu_gate ]; then
	vm_fail "no egpu_gate left after the failed load"
else
	vm_pass "no egpu_gate left after the failed load"
fi
vm_check "rmmod egpu_ipmodify_blocker" rmmod egpu_ipmodify_blocker
vm_check "insmod egpu_gate.ko once the other user is gone" insmod $KO/egpu_gate.ko
vm_check "insmod egpu_standin.ko" insmod $STANDIN
if insmod $BLOCKER 2>/dev/null; then
	vm_diag "the other user was added while egpu_gate holds the function: $(dmesg | grep egpu_ipmodify_blocker | tail -n 1)"
	runs=$(cat /sys/module/egpu_standin/parameters/runs)
	vm_check "echo 1 > $E/reset with the other user present" sh -c "echo 1 > $DEV/$E/reset"
	if [ "$(cat /sys/module/egpu_standin/parameters/runs)" -eq $((runs + 1)) ]; then
		vm_pass "the hook still redirects with the other user present"
	else
		vm_fail "the hook still redirects with the other user present" "$(dmesg | tail -n 5)"
	fi
	rmmod egpu_ipmodify_blocker
else
	vm_pass "the other user cannot take the function while egpu_gate holds it"
fi
runs=$(cat /sys/module/egpu_standin/parameters/runs)
vm_check "echo 1 > $E/reset" sh -c "echo 1 > $DEV/$E/reset"
if [ "$(cat /sys/module/egpu_standin/parameters/runs)" -eq $((runs + 1)) ]; then
	vm_pass "the hook redirects"
else
	vm_fail "the hook redirects"
fi
vm_check "rmmod egpu_standin egpu_gate" sh -c "rmmod egpu_standin && rmmod egpu_gate"
vm_device_del ebusy >/dev/null
# shellcheck disable=SC2317 # called through vm_wait
gone() { [ ! -e "$DEV/$E" ]; }
if vm_wait 10 gone; then
	vm_pass "edu on rp4 unplugged"
else
	vm_fail "edu on rp4 unplugged"
fi
exit 0

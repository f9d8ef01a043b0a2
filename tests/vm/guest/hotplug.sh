#!/bin/sh
# Hot-plug proof: the guest asks the host (QMP through vm.py) to device_add
# QEMU's edu device (1234:11e8) on root port rp1, sees it appear in
# /sys/bus/pci/devices within a bounded wait, with an IOMMU group, then
# device_del and sees it go. Twice, so the id and slot are reusable. Then a
# two-function device on rp2.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh

WAIT=10
# shellcheck disable=SC1091
[ -r /etc/vm-test.conf ] && . /etc/vm-test.conf
RP1=/sys/devices/pci0000:00/0000:00:02.0	# rp1 is addr 2.0 (vm.py)

present() { vm_pci_find 1234 11e8 >/dev/null; }
absent() { ! present; }

if [ -d "$RP1" ]; then
	vm_pass "root port rp1 present at 0000:00:02.0"
else
	vm_fail "root port rp1 present at 0000:00:02.0" "$(ls /sys/bus/pci/devices)"
fi
if absent; then
	vm_pass "no edu device before device_add"
else
	vm_fail "no edu device before device_add" "$(vm_pci_find 1234 11e8)"
fi

for round in 1 2; do
	t0=$(vm_uptime)
	if out=$(vm_device_add edu0 edu rp1); then
		vm_pass "round $round: QMP device_add edu on rp1 ($(vm_elapsed "$t0") s)"
	else
		vm_fail "round $round: QMP device_add edu on rp1" "$out"
		continue
	fi
	if vm_wait $WAIT present; then
		bdf=$(vm_pci_find 1234 11e8 | head -n1)
		vm_pass "round $round: 1234:11e8 appears as $bdf after $(vm_elapsed "$t0") s"
		path=$(readlink -f "/sys/bus/pci/devices/$bdf")
		case "$path" in
		"$RP1"/*) vm_pass "round $round: $bdf sits below rp1" ;;
		*) vm_fail "round $round: $bdf sits below rp1" "path $path" ;;
		esac
		if [ -e "/sys/bus/pci/devices/$bdf/iommu_group" ]; then
			vm_pass "round $round: $bdf has IOMMU group $(basename "$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")")"
		else
			vm_fail "round $round: $bdf has an IOMMU group"
		fi
	else
		vm_fail "round $round: 1234:11e8 appears within $WAIT s" "$(ls /sys/bus/pci/devices)"
	fi
	t0=$(vm_uptime)
	if out=$(vm_device_del edu0); then
		vm_pass "round $round: QMP device_del edu0"
	else
		vm_fail "round $round: QMP device_del edu0" "$out"
		continue
	fi
	if vm_wait $WAIT absent; then
		vm_pass "round $round: 1234:11e8 gone after $(vm_elapsed "$t0") s"
	else
		vm_fail "round $round: 1234:11e8 gone within $WAIT s" "$(vm_pci_find 1234 11e8)"
	fi
	if out=$(vm_qmp_event DEVICE_DELETED $WAIT edu0); then
		vm_pass "round $round: QEMU reports DEVICE_DELETED for edu0"
	else
		vm_fail "round $round: QEMU reports DEVICE_DELETED for edu0" "$out"
	fi
done

# A two-function device (the shape of a GPU with its HDMI audio function):
# both functions appear; deleting function 0 removes the whole slot.
two() { [ "$(vm_pci_find 1234 11e8 | wc -l)" -eq 2 ]; }
t0=$(vm_uptime)
if out=$(vm_device_add_2fn gpu0 edu rp2); then
	if vm_wait $WAIT two; then
		vm_pass "two-function device on rp2: $(vm_pci_find 1234 11e8 | tr '\n' ' ')after $(vm_elapsed "$t0") s"
	else
		vm_fail "two-function device on rp2: both functions appear within $WAIT s" "$(vm_pci_find 1234 11e8)"
	fi
	t0=$(vm_uptime)
	if out=$(vm_device_del gpu0) && vm_wait $WAIT absent; then
		vm_pass "two-function device: device_del of function 0 removes both after $(vm_elapsed "$t0") s"
	else
		vm_fail "two-function device: device_del of function 0 removes both" "$out" "$(vm_pci_find 1234 11e8)"
	fi
	vm_qmp_event DEVICE_DELETED $WAIT gpu0 >/dev/null
	vm_qmp_event DEVICE_DELETED $WAIT gpu0_f1 >/dev/null
else
	vm_fail "two-function device on rp2: QMP device_add" "$out"
fi

# A QMP error must come back as an error, not hang the guest.
if out=$(vm_qmp '{"execute": "device_del", "arguments": {"id": "no-such-device"}}' 10); then
	vm_fail "QMP error is reported to the guest" "$out"
elif [ $? -eq 1 ]; then
	vm_pass "QMP error is reported to the guest"
else
	vm_fail "QMP error is reported to the guest" "no answer in 10 s"
fi

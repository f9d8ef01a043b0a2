#!/bin/sh
# Reset hook and core, end to end, with the stand-in family for QEMU's edu
# device (tests/kmod/standin: egpu_standin.ko, vfio_reset helper).
#
# Needs: --ko egpu_gate.ko --ko egpu_standin.ko --bin vfio_reset
#        --modules "vfio_pci vfio_iommu_type1" (pci_stub optional).
#        Build: tests/kernels/build-module.sh ID tests/kmod/standin OUT
#        (egpu_standin.ko has no link-time dependency on egpu_gate);
#        vfio_reset: make -C tests/kmod/standin vfio_reset (static).
#
#  A = two-function edu on rp1 (01:00.0 + 01:00.1, like a GPU and its HDMI
#      audio), hot-plugged before the modules load: claimed at load.
#  B = single-function edu on rp2, hot-plugged with the modules loaded:
#      claimed at hot-add.
#  T = pci-testdev on rp3: not ours, must keep the kernel's own methods.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh

WAIT=10
# shellcheck disable=SC1091
[ -r /etc/vm-test.conf ] && . /etc/vm-test.conf
KO=/lib/modules/extra
STANDIN=$KO/egpu_standin.ko
[ -e "$STANDIN" ] || STANDIN=/opt/egpu/egpu_standin.ko
SP=/sys/module/egpu_standin/parameters
DEV=/sys/bus/pci/devices

rm_of() { cat "$DEV/$1/reset_method" 2>/dev/null; }
first_method() { rm_of "$1" | cut -d' ' -f1; }
param() { cat "$SP/$1"; }
# first 64 bytes of config space (header: BARs, command, interrupt line)
cfg() { od -An -tx1 -N64 "$DEV/$1/config" | tr -s ' \n' ' '; }
# write the 16-bit command register (little endian) through sysfs config
set_cmd() {
	# shellcheck disable=SC2059 # the format is the two bytes, as octal escapes
	printf "\\$(printf '%03o' $(($2 & 255)))\\$(printf '%03o' $(($2 >> 8)))" |
		dd of="$DEV/$1/config" bs=1 seek=4 count=2 conv=notrunc 2>/dev/null
}
get_cmd() { od -An -tx2 -j4 -N2 "$DEV/$1/config" | tr -d ' '; }
# shellcheck disable=SC2317 # called through vm_wait
present() { [ -e "$DEV/$1" ]; }

# --- A: two functions, before the modules ----------------------------------
A0=0000:01:00.0 A1=0000:01:00.1
vm_check "hot-plug A function 1 (edu on rp1 00.1)" vm_device_add ea1 edu rp1 '"addr": "00.1"'
vm_check "hot-plug A function 0 (edu on rp1 00.0, multifunction)" \
	vm_device_add ea0 edu rp1 '"addr": "00.0", "multifunction": "on"'
# Hot-plug itself is hotplug.sh's subject: should the slow debug kernel miss
# the second function's event, a rescan (bounded) lets the reset tests run.
if ! { vm_wait $WAIT present $A0 && vm_wait $WAIT present $A1; }; then
	vm_diag "A not complete after ${WAIT} s ($(cd $DEV && echo *)); rescanning"
	echo 1 >/sys/bus/pci/rescan
fi
if vm_wait 20 present $A0 && vm_wait 20 present $A1; then
	vm_pass "A appears as $A0 + $A1"
else
	vm_fail "A appears as $A0 + $A1" "$(ls $DEV)"
	exit 1
fi
A0_RM=$(rm_of $A0)
vm_diag "before load: $A0 reset_method '$A0_RM', $A1 '$(rm_of $A1)'"

# --- load -------------------------------------------------------------------
vm_check "insmod egpu_gate.ko" insmod $KO/egpu_gate.ko || exit 1
if dmesg | grep -q "egpu_gate: hooked pci_dev_specific_reset"; then
	vm_pass "hook installed on pci_dev_specific_reset"
else
	vm_fail "hook installed on pci_dev_specific_reset" "$(dmesg | grep egpu_gate | tail -n 5)"
fi
vm_check "insmod egpu_standin.ko" insmod $STANDIN || exit 1
if [ "$(first_method $A0)" = device_specific ]; then
	vm_pass "A fn0 reset_method has device_specific first after load ('$(rm_of $A0)')"
else
	vm_fail "A fn0 reset_method has device_specific first after load" "reset_method '$(rm_of $A0)'"
fi
case " $(rm_of $A1) " in
*" device_specific "*) vm_fail "A fn1 (companion) not claimed" "reset_method '$(rm_of $A1)'" ;;
*) vm_pass "A fn1 (companion) not claimed ('$(rm_of $A1)')" ;;
esac
if rmmod egpu_gate 2>/dev/null; then
	vm_fail "egpu_gate cannot be removed while egpu_standin uses it"
	insmod $KO/egpu_gate.ko
else
	vm_pass "egpu_gate cannot be removed while egpu_standin uses it"
fi

# --- B: hot-added with the modules loaded ------------------------------------
B=0000:02:00.0
vm_check "hot-plug B (edu on rp2)" vm_device_add eb edu rp2
if vm_wait $WAIT present $B && vm_wait 5 sh -c "[ \"\$(cut -d' ' -f1 $DEV/$B/reset_method)\" = device_specific ]"; then
	vm_pass "B reset_method has device_specific first at hot-add, no udev rule ('$(rm_of $B)')"
else
	vm_fail "B reset_method has device_specific first at hot-add" "reset_method '$(rm_of $B)'" "$(ls $DEV)"
fi

# --- echo 1 > reset on A ----------------------------------------------------
set_cmd $A0 0x0106	# memory + bus master + SERR: mastering must be seen off
set_cmd $A1 0x0106
c0=$(cfg $A0) c1=$(cfg $A1) cmd0=$(get_cmd $A0)
runs=$(param runs)
vm_check "echo 1 > $A0/reset" sh -c "echo 1 > $DEV/$A0/reset"
if [ "$(param runs)" -eq $((runs + 1)) ]; then
	vm_pass "sysfs reset ran the stand-in reset once"
else
	vm_fail "sysfs reset ran the stand-in reset once" "runs $runs -> $(param runs)"
fi
if [ "$(param master_off)" = Y ]; then
	vm_pass "bus mastering was off during the reset (command before: $cmd0)"
else
	vm_fail "bus mastering was off during the reset" "master_off $(param master_off)"
fi
if [ "$(param checks_ok)" = Y ]; then
	vm_pass "BAR0 mapped: edu ident, liveness, factorial checks passed"
else
	vm_fail "BAR0 mapped: edu ident, liveness, factorial checks passed" "$(dmesg | grep standin | tail -n 3)"
fi
if [ "$(cfg $A0)" = "$c0" ]; then
	vm_pass "fn0 config space restored"
else
	vm_fail "fn0 config space restored" "before $c0" "after  $(cfg $A0)"
fi
if [ "$(cfg $A1)" = "$c1" ]; then
	vm_pass "fn1 config space restored (scribbled by the reset)"
else
	vm_fail "fn1 config space restored (scribbled by the reset)" "before $c1" "after  $(cfg $A1)"
fi

# A failing family result reaches the writer.
echo -5 >$SP/result
if sh -c "echo 1 > $DEV/$A0/reset" 2>/dev/null; then
	vm_fail "a family error (-EIO) fails the sysfs reset"
else
	vm_pass "a family error (-EIO) fails the sysfs reset"
fi
echo 0 >$SP/result

# --- power state after a successful reset (egpu_gate reset_leave_d0) ---------------
GP=/sys/module/egpu_gate/parameters
# edu has no PM capability, so D3hot cannot be reached: the reset must still
# succeed and the refusal be logged (a GPU goes to D3hot).
if [ -e "$DEV/$B/power_state" ]; then
	echo 0 >$GP/reset_leave_d0
	vm_check "reset_leave_d0=0: reset succeeds" sh -c "echo 1 > $DEV/$B/reset"
	ps=$(cat $DEV/$B/power_state)
	if [ "$ps" = D3hot ] || dmesg | grep -q "$B: standin-edu reset: cannot put the device in D3hot"; then
		vm_pass "reset_leave_d0=0: D3hot requested afterwards (power_state $ps)"
	else
		vm_fail "reset_leave_d0=0: D3hot requested afterwards" "power_state $ps"
	fi
	echo 1 >$GP/reset_leave_d0
	vm_check "reset with reset_leave_d0=1" sh -c "echo 1 > $DEV/$B/reset"
	if [ "$(cat $DEV/$B/power_state)" = D0 ]; then
		vm_pass "reset_leave_d0=1 (default): B in D0"
	else
		vm_fail "reset_leave_d0=1 (default): B in D0" "power_state $(cat $DEV/$B/power_state)"
	fi
else
	vm_skip "power state after a reset" "no power_state attribute"
fi

# --- VFIO_DEVICE_RESET on A ---------------------------------------------------
# modules on Debian kernels, built in on the test kernel
if { modprobe vfio_pci 2>/dev/null || [ -d /sys/bus/pci/drivers/vfio-pci ]; } &&
	{ modprobe vfio_iommu_type1 2>/dev/null || [ -d /sys/module/vfio_iommu_type1 ]; } &&
	vm_pci_bind_vfio $A1 && vm_pci_bind_vfio $A0; then
	vm_pass "A fn0 and fn1 bound to vfio-pci"
	out=$(vfio_reset $A0 $SP/runs 2>&1)
	rc=$?
	before=$(echo "$out" | sed -n 's/.*before=\([0-9-]*\).*/\1/p')
	after=$(echo "$out" | sed -n 's/.*after=\([0-9-]*\).*/\1/p')
	if [ $rc -eq 0 ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
		vm_pass "VFIO_DEVICE_RESET returns 0 and runs the stand-in reset ($out)"
	else
		vm_fail "VFIO_DEVICE_RESET returns 0 and runs the stand-in reset" "exit $rc" "$out"
	fi
	if [ "$(param master_off)" = Y ] && [ "$(param checks_ok)" = Y ]; then
		vm_pass "VFIO reset: mastering off, BAR0 checks passed"
	else
		vm_fail "VFIO reset: mastering off, BAR0 checks passed" "master_off $(param master_off) checks_ok $(param checks_ok)"
	fi
	vm_pci_unbind $A0
	vm_pci_unbind $A1
else
	vm_fail "A fn0 and fn1 bound to vfio-pci" "driver: $(readlink "$DEV/$A0/driver")"
fi

# --- a driver other than vfio-pci: refused ------------------------------------
if modprobe pci_stub 2>/dev/null; then
	echo pci-stub >"$DEV/$B/driver_override"
	echo $B >/sys/bus/pci/drivers_probe
	runs=$(param runs)
	if sh -c "echo 1 > $DEV/$B/reset" 2>/dev/null; then
		vm_fail "reset refused while bound to pci-stub"
	elif [ "$(param runs)" -eq "$runs" ] && dmesg | grep -q "refusing standin-edu device-specific reset: bound to driver pci-stub"; then
		vm_pass "reset refused while bound to pci-stub, with a log line"
	else
		vm_fail "reset refused while bound to pci-stub, with a log line" "$(dmesg | tail -n 3)"
	fi
	vm_pci_unbind $B
else
	vm_skip "reset refused while bound to another driver" "no pci_stub module"
fi

# --- T: not ours -----------------------------------------------------------------
T=0000:03:00.0
vm_check "hot-plug T (pci-testdev on rp3)" vm_device_add tt pci-testdev rp3
if vm_wait $WAIT present $T; then
	vm_diag "T reset_method '$(rm_of $T)'"
	case " $(rm_of $T) " in
	*" device_specific "*) vm_fail "T not claimed" "reset_method '$(rm_of $T)'" ;;
	*) vm_pass "T not claimed ('$(rm_of $T)')" ;;
	esac
	if sh -c "echo device_specific > $DEV/$T/reset_method" 2>/dev/null; then
		vm_fail "device_specific probe of T falls through to the kernel (unsupported)"
	else
		vm_pass "device_specific probe of T falls through to the kernel (unsupported)"
	fi
	runs=$(param runs)
	vm_check "echo 1 > $T/reset (kernel's own method)" sh -c "echo 1 > $DEV/$T/reset"
	if [ "$(param runs)" -eq "$runs" ]; then
		vm_pass "T's reset did not run the stand-in"
	else
		vm_fail "T's reset did not run the stand-in"
	fi
else
	vm_fail "T appears" "$(ls $DEV)"
fi

# --- a device removed while its reset runs -----------------------------------------
# ACPI hot-plug removes the device only after the guest ejects it, and the
# removal waits for the device lock the reset holds: the reset completes,
# then the device goes and egpu_gate drops it (its reference held by the
# running reset keeps everything valid until then).
D=0000:04:00.0
vm_check "hot-plug D (edu on rp4)" vm_device_add edel edu rp4
if vm_wait $WAIT present $D; then
	echo 1500 >$SP/delay_ms
	runs=$(param runs)
	(sh -c "echo 1 > $DEV/$D/reset" 2>/dev/null; echo $? >/tmp/reset-D.rc) &
	vm_wait 5 sh -c "dmesg | grep -q '$D: edu ident'"
	vm_check "device_del D while its reset runs" vm_device_del edel
	if vm_wait 15 sh -c "[ ! -e $DEV/$D ] && [ -s /tmp/reset-D.rc ]"; then
		vm_pass "D gone and its reset finished (exit $(cat /tmp/reset-D.rc), runs $runs -> $(param runs))"
	else
		vm_fail "D gone and its reset finished" "$(ls $DEV)" "$(dmesg | tail -n 5)"
	fi
	wait
	if dmesg | grep -q "$D: released by egpu_gate"; then
		vm_pass "egpu_gate released D"
	else
		vm_fail "egpu_gate released D" "$(dmesg | grep "$D" | tail -n 5)"
	fi
	echo 0 >$SP/delay_ms
else
	vm_fail "D appears" "$(ls $DEV)"
fi

# --- unload restores ------------------------------------------------------------
vm_check "rmmod egpu_standin" rmmod egpu_standin
if [ "$(rm_of $A0)" = "$A0_RM" ]; then
	vm_pass "A fn0 reset_method restored to '$A0_RM'"
else
	vm_fail "A fn0 reset_method restored to '$A0_RM'" "now '$(rm_of $A0)'"
fi
case " $(rm_of $B) " in
*" device_specific "*) vm_fail "B reset_method without device_specific after unload" "'$(rm_of $B)'" ;;
*) vm_pass "B reset_method without device_specific after unload ('$(rm_of $B)')" ;;
esac
vm_check "rmmod egpu_gate" rmmod egpu_gate
vm_check "B resets through the kernel's own method after unload" sh -c "echo 1 > $DEV/$B/reset"

# --- auto_reset_method=0 ----------------------------------------------------------
if insmod $KO/egpu_gate.ko auto_reset_method=0 && insmod $STANDIN; then
	if [ "$(rm_of $A0)" = "$A0_RM" ]; then
		vm_pass "auto_reset_method=0 leaves reset_method alone"
	else
		vm_fail "auto_reset_method=0 leaves reset_method alone" "now '$(rm_of $A0)'"
	fi
	vm_check "device_specific can still be selected by hand" sh -c "echo device_specific > $DEV/$A0/reset_method"
	vm_check "rmmod both" sh -c "rmmod egpu_standin && rmmod egpu_gate"
else
	vm_fail "reload with auto_reset_method=0"
fi
# --- leave the VM as found (later scripts may use the root ports) -------------------
# shellcheck disable=SC2317 # called through vm_wait
gone() { for d in "$@"; do [ ! -e "$DEV/$d" ] || return 1; done; }
for id in ea0 eb tt; do
	vm_device_del $id >/dev/null
done
if vm_wait $WAIT gone $A0 $A1 $B $T; then
	vm_pass "A, B and T unplugged"
else
	vm_fail "A, B and T unplugged" "$(ls $DEV)"
fi
exit 0

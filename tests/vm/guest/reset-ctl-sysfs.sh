#!/bin/sh
# egpuctl's GPU commands through sysfs (issue 5, requirement 2): with module
# egpu_gate not loaded (and not loadable), `gpu list` falls back to sysfs
# (display functions: the virtio-gpu V that check-vm.sh adds at boot on a
# fifth root port; not the edu E, class 0xff)
# and `gpu reset-method` shows and sets reset_method, refuses
# device_specific with a hint, and needs root; with the module, gpu list is
# the module's again and `gpu reset-method` sets device_specific on the GPU
# it handles.
#
# Needs: --ko egpu_gate.ko --ko egpu_standin.ko --bin egpuctl (as
# reset-ctl.sh; runs after it: rp1 free, egpu_gate not loaded), QEMU
# -device virtio-gpu-pci (1af4:1050; display devices cannot be hot-plugged).
# shellcheck disable=SC2034 # (variables used in check's eval'd conditions)
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh

WAIT=10
# shellcheck disable=SC1091
[ -r /etc/vm-test.conf ] && . /etc/vm-test.conf
KO=/lib/modules/extra
STANDIN=$KO/egpu_standin.ko
[ -e "$STANDIN" ] || STANDIN=/opt/egpu/egpu_standin.ko
DEV=/sys/bus/pci/devices
E=0000:01:00.0

# ctl ARGS...: egpuctl as root; sets rc, out, err
ctl() {
	egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}
rm_of() { cat "$DEV/$1/reset_method" 2>/dev/null; }
# shellcheck disable=SC2317 # called through vm_wait
present() { [ -e "$DEV/$1" ]; }
# shellcheck disable=SC2317 # called through vm_wait
gone() { [ ! -e "$DEV/$1" ]; }
virtio_gpu() { vm_pci_find 1af4 1050 >/dev/null 2>&1; }
# shellcheck disable=SC2317 # called through vm_wait
no_module() { rmmod egpu_gate 2>/dev/null; [ ! -d /sys/module/egpu_gate ]; }
# check DESC CONDITION...: pass when the condition (eval'd) holds; the
# variables it names are set before (hence SC2034 off in this file)
check() {
	d=$1
	shift
	if eval "$*"; then vm_pass "$d"; else vm_fail "$d" "exit $rc" "$out" "$err"; fi
}

if ! command -v egpuctl >/dev/null; then
	vm_fail "egpuctl in the guest" "missing (vm.py --bin egpuctl)"
	exit 1
fi
vm_check "hot-plug E (edu on rp1)" vm_device_add sysfs-e edu rp1
if ! vm_wait $WAIT present $E || ! virtio_gpu; then
	vm_fail "E and V appear" "$(ls $DEV)"
	exit 1
fi
V=$(vm_pci_find 1af4 1050 | head -n1)
m0=$(rm_of "$V")
vm_diag "V is $V, class $(cat "$DEV/$V/class"), reset_method '$m0'; E reset_method '$(rm_of $E)'"

# --- module unloaded and not loadable (see tb-egpuctl.sh) -------------------------
vm_check "egpu_gate not loaded" vm_wait $WAIT no_module
mv $KO/egpu_gate.ko /tmp/egpu_gate.ko.hidden
ctl gpu list
check "gpu list without the module: exit 0, says it uses sysfs" \
	'[ $rc -eq 0 ] && echo "$err" | grep -q "egpu_gate is not loaded: using sysfs (/sys)"'
vm_diag "$out"
row=$(echo "$out" | grep "^$V ")
want_rm=${m0:--}
check "gpu list: V listed as display 1af4:1050 with its reset_method ('$want_rm')" \
	'echo "$row" | grep -Eq "^$V +1af4:1050 +display +" && [ "$(echo "$row" | sed "s/.*  //")" = "$want_rm" ]'
check "gpu list: E (edu, not a display function) not listed" '! echo "$out" | grep -q "^$E "'
ctl gpu list --json
check "gpu list --json without the module: valid, transport sysfs, V with class display" \
	'[ $rc -eq 0 ] && echo "$out" | vm_json_valid && echo "$out" | grep -q "\"transport\": \"sysfs\"" &&
	echo "$out" | grep -q "\"bdf\": \"$V\"" && echo "$out" | grep -q "\"class\": \"display\""'
want_show=${m0:-"- (no reset method)"}
ctl gpu reset-method "$V"
check "gpu reset-method V: shows reset_method" '[ $rc -eq 0 ] && [ "$out" = "$V: reset_method: $want_show" ]'
last=${m0##* }
if [ -n "$m0" ]; then
	ctl gpu reset-method "$V" "$last"
	check "gpu reset-method V $last: set through sysfs" \
		'[ $rc -eq 0 ] && [ "$(rm_of "$V")" = "$last" ] && [ "$out" = "$V: reset_method set: $last" ]'
	vm_run_as nobody "egpuctl gpu reset-method $V default" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out) err=$(cat /tmp/ctl.err)
	check "gpu reset-method as nobody: exit 4, unchanged" '[ $rc -eq 4 ] && [ "$(rm_of "$V")" = "$last" ]'
	ctl gpu reset-method "$V" default
	check "gpu reset-method V default: the kernel's order again ('$m0')" '[ $rc -eq 0 ] && [ "$(rm_of "$V")" = "$m0" ]'
else
	vm_skip "gpu reset-method V: set through sysfs" "V has no reset method on this kernel"
fi
e0=$(rm_of $E)
ctl gpu reset-method $E device_specific
check "gpu reset-method E device_specific without the module: exit 1, says the module is needed, unchanged" \
	'[ $rc -eq 1 ] && echo "$err" | grep -q "device_specific needs module egpu_gate loaded" && [ "$(rm_of $E)" = "$e0" ]'
vm_diag "$err"
ctl gpu reset-method 0000:00:1f.7 bus
check "gpu reset-method of a missing device: exit 1" '[ $rc -eq 1 ] && echo "$err" | grep -q "no PCI device 0000:00:1f.7"'
ctl version
check "version without the module: exit 0, says egpu_gate is unavailable" \
	'[ $rc -eq 0 ] && echo "$out" | grep -q "^egpuctl " && echo "$out" | grep -q "^egpu_gate: unavailable: "'
mv /tmp/egpu_gate.ko.hidden $KO/egpu_gate.ko

# --- with the module ---------------------------------------------------------------
vm_check "insmod egpu_gate.ko" insmod $KO/egpu_gate.ko || exit 1
vm_check "insmod egpu_standin.ko" insmod "$STANDIN" || exit 1
ctl gpu list --json
check "gpu list --json with the module: transport netlink, E listed (standin-edu)" \
	'[ $rc -eq 0 ] && [ -z "$err" ] && echo "$out" | grep -q "\"transport\": \"netlink\"" &&
	echo "$out" | grep -q "\"bdf\": \"$E\""'
ctl version --json
check "version --json with the module: module_version and kernel_release" \
	'[ $rc -eq 0 ] && echo "$out" | vm_json_valid && echo "$out" | grep -q "\"kernel_release\": \"$(uname -r)\"" &&
	echo "$out" | grep -q "\"module_error\": null"'
e1=$(rm_of $E)
ctl gpu reset-method $E
check "gpu reset-method E with the module: device_specific first ('$e1')" \
	'[ $rc -eq 0 ] && [ "$out" = "$E: reset_method: $e1" ] && [ "${e1%% *}" = device_specific ]'
ctl gpu reset-method $E bus
check "gpu reset-method E bus: device_specific taken out" '[ $rc -eq 0 ] && [ "$(rm_of $E)" = bus ]'
ctl gpu reset-method $E device_specific bus
check "gpu reset-method E device_specific bus: accepted with the module" \
	'[ $rc -eq 0 ] && [ "$(rm_of $E)" = "device_specific bus" ]'

# --- leave the VM as found ------------------------------------------------------------
vm_check "rmmod egpu_standin egpu_gate" sh -c "rmmod egpu_standin && rmmod egpu_gate"
vm_device_del sysfs-e >/dev/null
if vm_wait $WAIT gone $E; then
	vm_pass "E unplugged"
else
	vm_fail "E unplugged" "$(ls $DEV)"
fi
exit 0

#!/bin/sh
# egpuctl's gpu commands (EGPU_CMD_GPU_*) against the stand-in family on a
# hot-plugged edu: list (text, JSON, counters that follow sysfs and netlink
# resets), reset (also refused while a vfio user holds the device, --force),
# run-time IDs (netlink and the gpu_ids module parameter, at run time and at
# load), and refusal for an unprivileged user.
#
# Needs: --ko egpu_gate.ko --ko egpu_standin.ko --bin egpuctl --bin vfio_reset
#        --modules "vfio_pci vfio_iommu_type1" (as reset.sh; runs after it:
#        rp1 free, egpu_gate not loaded).
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
E=0000:01:00.0
FAMILY=standin-edu

# shellcheck disable=SC2317 # called through vm_wait
present() { [ -e "$DEV/$1" ]; }
# shellcheck disable=SC2317 # called through vm_wait
gone() { [ ! -e "$DEV/$1" ]; }
param() { cat "$SP/$1"; }
# ctl ARGS...: egpuctl as root; sets rc, out, err
ctl() {
	egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}
# list: egpuctl gpu list --json into /tmp/gpus.json; 0 when it worked and
# is valid JSON
list() { egpuctl gpu list --json >/tmp/gpus.json 2>/tmp/gpus.err && vm_json_valid /tmp/gpus.json; }
# field BDF KEY: KEY's value in BDF's entry of /tmp/gpus.json (quotes off)
field() {
	awk -v b="\"bdf\": \"$1\"" -v k="\"$2\":" '
		index($0, b) { f = 1; next }
		f && index($0, "\"bdf\":") { exit }
		f && index($0, k) { sub(/^[^:]*: */, ""); sub(/,$/, ""); gsub(/"/, ""); print; exit }
	' /tmp/gpus.json
}

if ! command -v egpuctl >/dev/null; then
	vm_fail "egpuctl in the guest" "missing (vm.py --bin egpuctl)"
	exit 1
fi
vm_check "hot-plug E (edu on rp1)" vm_device_add ectl edu rp1
if ! vm_wait $WAIT present $E; then
	vm_fail "E appears as $E" "$(ls $DEV)"
	exit 1
fi
vm_check "insmod egpu_gate.ko" insmod $KO/egpu_gate.ko || exit 1
vm_check "insmod egpu_standin.ko" insmod $STANDIN || exit 1

# --- list --------------------------------------------------------------------
if list; then
	vm_pass "egpuctl gpu list --json: valid JSON"
else
	vm_fail "egpuctl gpu list --json: valid JSON" "$(cat /tmp/gpus.err /tmp/gpus.json)"
fi
if [ "$(field $E family)" = $FAMILY ] && [ "$(field $E id)" = 1234:11e8 ] &&
	[ "$(field $E reset_method_set)" = true ]; then
	vm_pass "E listed with family $FAMILY, ID 1234:11e8, reset_method set"
else
	vm_fail "E listed with family $FAMILY, ID 1234:11e8, reset_method set" "$(cat /tmp/gpus.json)"
fi
r0=$(field $E resets)
f0=$(field $E failures)
vm_diag "E: resets '$r0', failures '$f0'"
ctl gpu list
if [ $rc -eq 0 ] && echo "$out" | grep -q "^$E  1234:11e8  $FAMILY  set  "; then
	vm_pass "egpuctl gpu list: table row for E"
else
	vm_fail "egpuctl gpu list: table row for E" "exit $rc" "$out" "$err"
fi

# --- counters follow a sysfs reset ------------------------------------------------
vm_check "echo 1 > $E/reset" sh -c "echo 1 > $DEV/$E/reset"
list
if [ -n "$r0" ] && [ "$(field $E resets)" = $((r0 + 1)) ] && [ "$(field $E last_result)" = 0 ] &&
	[ "$(field $E last_result_name)" = ok ] && [ "$(field $E failures)" = "$f0" ]; then
	vm_pass "sysfs reset counted: resets $r0 -> $(field $E resets), last result ok, $(field $E last_duration_us) us, method $(field $E last_method)"
else
	vm_fail "sysfs reset counted" "resets before '$r0'" "$(cat /tmp/gpus.json)"
fi
# a failing reset counts as a failure, with its errno name
echo -5 >$SP/result
sh -c "echo 1 > $DEV/$E/reset" 2>/dev/null
echo 0 >$SP/result
list
if [ "$(field $E failures)" = $((f0 + 1)) ] && [ "$(field $E last_result_name)" = EIO ]; then
	vm_pass "failed reset counted: failures $f0 -> $(field $E failures), last result EIO"
else
	vm_fail "failed reset counted" "$(cat /tmp/gpus.json)"
fi

# --- egpuctl gpu reset -------------------------------------------------------------
list
r1=$(field $E resets)
runs=$(param runs)
ctl gpu reset $E
if [ $rc -eq 0 ] && [ "$(param runs)" -eq $((runs + 1)) ]; then
	vm_pass "egpuctl gpu reset $E: exit 0, stand-in reset ran once ('$out')"
else
	vm_fail "egpuctl gpu reset $E: exit 0, stand-in reset ran once" "exit $rc, runs $runs -> $(param runs)" "$err"
fi
list
if [ -n "$r1" ] && [ "$(field $E resets)" = $((r1 + 1)) ] && [ "$(field $E last_result)" = 0 ]; then
	vm_pass "egpuctl gpu reset counted: resets $r1 -> $(field $E resets)"
else
	vm_fail "egpuctl gpu reset counted" "resets before '$r1'" "$(cat /tmp/gpus.json)"
fi
ctl gpu reset 0000:00:1f.7
if [ $rc -eq 1 ] && echo "$err" | grep -q "No such device"; then
	vm_pass "egpuctl gpu reset of a device egpu_gate does not handle: exit 1 ($err)"
else
	vm_fail "egpuctl gpu reset of a device egpu_gate does not handle: exit 1" "exit $rc" "$err"
fi

# --- unprivileged ------------------------------------------------------------------
runs=$(param runs)
vm_run_as nobody "egpuctl gpu list" >/tmp/ctl.out 2>/tmp/ctl.err
rc=$?
if [ $rc -eq 4 ] && grep -q "permission denied" /tmp/ctl.err; then
	vm_pass "egpuctl gpu list as nobody: exit 4"
else
	vm_fail "egpuctl gpu list as nobody: exit 4" "exit $rc" "$(cat /tmp/ctl.out /tmp/ctl.err)"
fi
vm_run_as nobody "egpuctl gpu reset $E" >/tmp/ctl.out 2>/tmp/ctl.err
rc=$?
if [ $rc -eq 4 ] && [ "$(param runs)" -eq "$runs" ]; then
	vm_pass "egpuctl gpu reset as nobody: exit 4, no reset"
else
	vm_fail "egpuctl gpu reset as nobody: exit 4, no reset" "exit $rc, runs $runs -> $(param runs)" "$(cat /tmp/ctl.err)"
fi
vm_run_as nobody "egpuctl gpu ids add 1234:11e9 $FAMILY" >/dev/null 2>&1
rc=$?
if [ $rc -eq 4 ]; then
	vm_pass "egpuctl gpu ids add as nobody: exit 4"
else
	vm_fail "egpuctl gpu ids add as nobody: exit 4" "exit $rc"
fi

# --- run-time IDs ---------------------------------------------------------------------
ctl gpu ids add 1234:11e9 nosuchfamily
if [ $rc -eq 1 ] && echo "$err" | grep -q "no such family"; then
	vm_pass "gpu ids add to an unknown family: exit 1 ($err)"
else
	vm_fail "gpu ids add to an unknown family: exit 1" "exit $rc" "$err"
fi
ctl gpu ids add 1234:11e9 $FAMILY
if [ $rc -eq 0 ]; then
	vm_pass "gpu ids add 1234:11e9 $FAMILY"
else
	vm_fail "gpu ids add 1234:11e9 $FAMILY" "exit $rc" "$err"
fi
ctl gpu ids add 1234:11e9 $FAMILY
if [ $rc -eq 1 ] && echo "$err" | grep -q "File exists"; then
	vm_pass "gpu ids add of the same ID again: exit 1 ($err)"
else
	vm_fail "gpu ids add of the same ID again: exit 1" "exit $rc" "$err"
fi
ctl gpu ids del 1234:11e9 $FAMILY
if [ $rc -eq 0 ]; then
	vm_pass "gpu ids del 1234:11e9 $FAMILY"
else
	vm_fail "gpu ids del 1234:11e9 $FAMILY" "exit $rc" "$err"
fi
ctl gpu ids del 1234:11e9 $FAMILY
if [ $rc -eq 1 ]; then
	vm_pass "gpu ids del of a removed ID: exit 1 ($err)"
else
	vm_fail "gpu ids del of a removed ID: exit 1" "exit $rc" "$err"
fi
ctl gpu ids add 1234 $FAMILY
if [ $rc -eq 2 ]; then
	vm_pass "gpu ids add with a malformed ID: usage error"
else
	vm_fail "gpu ids add with a malformed ID: usage error" "exit $rc" "$err"
fi

# --- in use by a vfio user --------------------------------------------------------------
if { modprobe vfio_pci 2>/dev/null || [ -d /sys/bus/pci/drivers/vfio-pci ]; } &&
	{ modprobe vfio_iommu_type1 2>/dev/null || [ -d /sys/module/vfio_iommu_type1 ]; } &&
	vm_pci_bind_vfio $E; then
	ctl gpu reset $E
	if [ $rc -eq 0 ]; then
		vm_pass "bound to vfio-pci, not open: egpuctl gpu reset works"
	else
		vm_fail "bound to vfio-pci, not open: egpuctl gpu reset works" "exit $rc" "$err"
	fi
	rm -f /tmp/hold.out
	VFIO_RESET_HOLD_S=30 vfio_reset $E >/tmp/hold.out 2>&1 &
	holder=$!
	if vm_wait 10 test -s /tmp/hold.out; then
		runs=$(param runs)
		ctl gpu reset $E
		if [ $rc -eq 1 ] && echo "$err" | grep -q "device in use by a running VM (vfio device open); use --force" &&
			[ "$(param runs)" -eq "$runs" ]; then
			vm_pass "vfio device open: egpuctl gpu reset refused, says use --force"
		else
			vm_fail "vfio device open: egpuctl gpu reset refused, says use --force" "exit $rc" "$err"
		fi
		ctl gpu reset --force $E
		if [ $rc -eq 0 ] && [ "$(param runs)" -eq $((runs + 1)) ]; then
			vm_pass "vfio device open: egpuctl gpu reset --force resets"
		else
			vm_fail "vfio device open: egpuctl gpu reset --force resets" "exit $rc, runs $runs -> $(param runs)" "$err"
		fi
	else
		vm_fail "vfio_reset holds E open" "$(cat /tmp/hold.out)"
	fi
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	vm_pci_unbind $E
else
	vm_skip "egpuctl gpu reset refused while a vfio user holds the device" "cannot bind E to vfio-pci"
fi

# --- the gpu_ids module parameter ------------------------------------------------------
GP=/sys/module/egpu_gate/parameters/gpu_ids
# ids_is VALUE: the parameter reads VALUE
ids_is() { [ "$(cat $GP)" = "$1" ]; }
# first_method: the first word of E's reset_method
first_method() { cut -d' ' -f1 "$DEV/$E/reset_method"; }
if echo "1234:11e9:$FAMILY" >$GP 2>/dev/null && ids_is "1234:11e9:$FAMILY"; then
	vm_pass "gpu_ids written at run time reads back (1234:11e9:$FAMILY)"
else
	vm_fail "gpu_ids written at run time reads back" "$(cat $GP)"
fi
ctl gpu ids add 1234:11ea $FAMILY
if [ $rc -eq 0 ] && ids_is "1234:11e9:$FAMILY,1234:11ea:$FAMILY"; then
	vm_pass "gpu_ids shows an ID added over netlink"
else
	vm_fail "gpu_ids shows an ID added over netlink" "exit $rc" "$err" "$(cat $GP)"
fi
if ! echo "1234:11eb:$FAMILY,12x4:11ec:$FAMILY" >$GP 2>/dev/null &&
	! echo "1234:11eb:$FAMILY,1234:11ec:nosuchfamily" >$GP 2>/dev/null &&
	ids_is "1234:11e9:$FAMILY,1234:11ea:$FAMILY"; then
	vm_pass "gpu_ids: a malformed entry or unknown family fails the write, nothing applied"
else
	vm_fail "gpu_ids: a malformed entry or unknown family fails the write, nothing applied" "$(cat $GP)"
fi
if dmesg | grep -q 'gpu_ids: malformed entry "12x4:11ec:standin-edu"' &&
	dmesg | grep -q 'gpu_ids: 1234:11ec: no family "nosuchfamily"'; then
	vm_pass "gpu_ids: the bad entries are logged"
else
	vm_fail "gpu_ids: the bad entries are logged" "$(dmesg | grep gpu_ids | tail -n 5)"
fi
if echo >$GP && ids_is ""; then
	vm_pass "gpu_ids: an empty write clears the run-time IDs"
else
	vm_fail "gpu_ids: an empty write clears the run-time IDs" "$(cat $GP)"
fi
vm_check "rmmod egpu_standin egpu_gate (for the gpu_ids load tests)" \
	sh -c "rmmod egpu_standin && rmmod egpu_gate"
m0=$(cat "$DEV/$E/reset_method")
# At load, through the same path: E (1234:11e8) handled by a built-in family.
# E is never reset here (vega10's sequence on an edu would only fail).
if insmod $KO/egpu_gate.ko gpu_ids=1234:11e8:vega10,bad-entry 2>/tmp/ins.err &&
	ids_is "" && [ "$(first_method)" != device_specific ] &&
	dmesg | grep -q 'gpu_ids: malformed entry "bad-entry"'; then
	vm_pass "insmod gpu_ids=<one bad entry>: loads, logs it, applies nothing"
else
	vm_fail "insmod gpu_ids=<one bad entry>: loads, logs it, applies nothing" \
		"$(cat /tmp/ins.err)" "$(cat $GP 2>&1)" "$(cat "$DEV/$E/reset_method")"
fi
rmmod egpu_gate 2>/dev/null
if insmod $KO/egpu_gate.ko gpu_ids=1234:11e8:vega10 2>/tmp/ins.err &&
	ids_is "1234:11e8:vega10" && [ "$(first_method)" = device_specific ] && list &&
	[ "$(field $E family)" = vega10 ]; then
	vm_pass "insmod gpu_ids=1234:11e8:vega10: E claimed by vega10 at load, device_specific first"
else
	vm_fail "insmod gpu_ids=1234:11e8:vega10: E claimed by vega10 at load, device_specific first" \
		"$(cat /tmp/ins.err)" "$(cat $GP 2>&1)" "$(cat "$DEV/$E/reset_method")" "$(cat /tmp/gpus.json)"
fi
if rmmod egpu_gate && [ "$(cat "$DEV/$E/reset_method")" = "$m0" ]; then
	vm_pass "rmmod: E's reset_method restored ($m0)"
else
	vm_fail "rmmod: E's reset_method restored ($m0)" "$(cat "$DEV/$E/reset_method")"
fi

# --- leave the VM as found (modules already unloaded above) -------------------------------
vm_device_del ectl >/dev/null
if vm_wait $WAIT gone $E; then
	vm_pass "E unplugged"
else
	vm_fail "E unplugged" "$(ls $DEV)"
fi
exit 0

#!/bin/sh
# check-tb: stock-only
# egpuctl's Thunderbolt commands on tbsim (the simulated domain, preset egpu:
# 0-1 "Blackmagic Design eGPU Pro", unauthorized, with the stand-in GPU
# hot-plugged by the relay when its tunnel opens).
#
# Part 1, module egpu_gate not loaded: the sysfs transport (tb list text,
# --tree and --json with "transport": "sysfs", tb authorize/deauthorize
# through sysfs, the GPU appearing and going), shutdown-plan and monitor
# refused with exit 3, doctor's JSON.
# Part 2, when /lib/modules/extra/egpu_gate.ko is in the guest and reports
# the feature tb_policy: the netlink transport (tb list --json with
# decisions, monitor --json --count 1 seeing the authorization, tb authorize,
# shutdown-plan --json, tb deauthorize), then the fallback to sysfs once the
# module is unloaded.  Skipped (SKIP lines) otherwise.
#
# Needs: --ko tbsim.ko --bin egpuctl --file tbsim-lib.sh, pci-testdev.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh
# shellcheck source=tbsim-lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
TB=/sys/bus/thunderbolt/devices
KO=/lib/modules/extra/egpu_gate.ko

# ctl ARGS...: egpuctl; sets rc, out, err
ctl() {
	egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}
gpu_present() { vm_pci_find 1234 11e8 >/dev/null 2>&1; }
gpu_gone() { ! gpu_present; }
auth() { cat "$TB/$1/authorized" 2>/dev/null; }
auth_is() { [ "$(auth "$1")" = "$2" ]; }
# no_module: egpu_gate unloaded and not loadable. egpuctl's lookup of the
# generic netlink family makes the kernel load the module on demand
# (MODULE_ALIAS_GENL_FAMILY), as with an installed module on a real host;
# the sysfs fallback is for a host where it is not installed, so the part
# below hides the .ko from modprobe and puts it back for part 2.
hide_module() { [ ! -e $KO ] || mv $KO /tmp/egpu_gate.ko.hidden; }
unhide_module() { [ ! -e /tmp/egpu_gate.ko.hidden ] || mv /tmp/egpu_gate.ko.hidden $KO; }
no_module() { rmmod egpu_gate 2>/dev/null; [ ! -d /sys/module/egpu_gate ]; }

if ! command -v egpuctl >/dev/null; then
	vm_fail "egpuctl in the guest" "missing (vm.py --bin egpuctl)"
	exit 1
fi
# A fresh domain: earlier scripts may have left theirs.
rmmod egpu_gate 2>/dev/null
rmmod tbsim 2>/dev/null
vm_check "tb-egpuctl: insmod tbsim.ko preset=egpu" tbsim_load preset=egpu || exit 1
tbsim_relay_start
vm_wait $WAIT test -e "$TB/0-1/authorized" || vm_fail "0-1 appears" "$(ls $TB)"

# --- part 1: sysfs ------------------------------------------------------------
hide_module
vm_check "egpu_gate unloaded" vm_wait $WAIT no_module
ctl tb list --json
if [ $rc -eq 0 ] && echo "$out" | vm_json_valid && echo "$out" | grep -q '"transport": "sysfs"' &&
	echo "$out" | grep -q '"name": "0-1"' && echo "$err" | grep -q "not loaded: using sysfs"; then
	vm_pass "tb list --json without the module: transport sysfs, 0-1 listed"
else
	vm_fail "tb list --json without the module" "exit $rc" "$out" "$err"
fi
ctl tb list
if [ $rc -eq 0 ] && echo "$out" | grep -Eq "^0-1 +0004:a153 +Blackmagic Design eGPU Pro +0 +user"; then
	vm_pass "tb list: 0-1 0004:a153 Blackmagic Design eGPU Pro, authorized 0, security user"
else
	vm_fail "tb list: row of 0-1" "exit $rc" "$out" "$err"
fi
ctl tb list --tree
[ $rc -eq 0 ] && echo "$out" | grep -q "^domain0" && vm_pass "tb list --tree" ||
	vm_fail "tb list --tree" "exit $rc" "$out" "$err"

no_module
ctl tb authorize 0-1
if [ $rc -eq 0 ] && auth_is 0-1 1 && [ "$out" = "0-1: authorized (sysfs)" ]; then
	vm_pass "tb authorize 0-1 through sysfs"
else
	vm_fail "tb authorize 0-1 through sysfs" "exit $rc, authorized $(auth 0-1)" "$out" "$err"
fi
vm_wait $WAIT gpu_present && vm_pass "GPU appears after tb authorize" ||
	vm_fail "GPU appears after tb authorize" "$(cat "$TBSIM_RELAY_LOG")"
ctl tb authorize 0-1
[ $rc -eq 0 ] && vm_pass "tb authorize of an authorized device: success" ||
	vm_fail "tb authorize of an authorized device: success" "exit $rc" "$err"
no_module
ctl tb deauthorize 0-1
if [ $rc -eq 0 ] && auth_is 0-1 0; then
	vm_pass "tb deauthorize 0-1 through sysfs"
else
	vm_fail "tb deauthorize 0-1 through sysfs" "exit $rc, authorized $(auth 0-1)" "$out" "$err"
fi
vm_wait $WAIT gpu_gone && vm_pass "GPU gone after tb deauthorize" ||
	vm_fail "GPU gone after tb deauthorize" "$(cat "$TBSIM_RELAY_LOG")"
ctl tb authorize 0-7
[ $rc -eq 1 ] && echo "$err" | grep -q "no Thunderbolt device '0-7'" &&
	vm_pass "tb authorize of an unknown device: exit 1" ||
	vm_fail "tb authorize of an unknown device: exit 1" "exit $rc" "$err"
ctl shutdown-plan
[ $rc -eq 3 ] && vm_pass "shutdown-plan without the module: exit 3" ||
	vm_fail "shutdown-plan without the module: exit 3" "exit $rc" "$out" "$err"
ctl monitor --count 1 --timeout 1
[ $rc -eq 3 ] && vm_pass "monitor without the module: exit 3" ||
	vm_fail "monitor without the module: exit 3" "exit $rc" "$out" "$err"
ctl doctor --json
if [ $rc -le 2 ] && echo "$out" | vm_json_valid && echo "$out" | grep -q '"id": "tb.security"'; then
	vm_pass "doctor --json: valid, exit $rc, Thunderbolt checks present"
else
	vm_fail "doctor --json" "exit $rc" "$out" "$err"
fi
vm_diag "$(egpuctl doctor 2>&1)"

# --- part 2: netlink ------------------------------------------------------------
no_module
unhide_module
if [ ! -e $KO ]; then
	vm_skip "tb commands through the module" "egpu_gate.ko not in this guest"
elif ! insmod $KO; then
	vm_fail "insmod egpu_gate.ko"
elif ! egpuctl status 2>/dev/null | grep -q tb_policy; then
	vm_skip "tb commands through the module" "egpu_gate has no feature tb_policy yet"
	rmmod egpu_gate
else
	vm_pass "insmod egpu_gate.ko: feature tb_policy"
	ctl tb list --json
	if [ $rc -eq 0 ] && echo "$out" | vm_json_valid && echo "$out" | grep -q '"transport": "netlink"' &&
		echo "$out" | grep -q '"decision": "' && [ -z "$err" ]; then
		vm_pass "tb list --json through the module: transport netlink, decisions"
	else
		vm_fail "tb list --json through the module" "exit $rc" "$out" "$err"
	fi
	egpuctl monitor --json --count 1 --timeout 30 >/tmp/mon.out 2>/tmp/mon.err &
	mon=$!
	sleep 1
	ctl tb authorize 0-1
	if [ $rc -eq 0 ] && auth_is 0-1 1 && [ "$out" = "0-1: authorized (netlink)" ]; then
		vm_pass "tb authorize 0-1 through the module"
	else
		vm_fail "tb authorize 0-1 through the module" "exit $rc, authorized $(auth 0-1)" "$out" "$err"
	fi
	wait $mon
	mrc=$?
	if [ $mrc -eq 0 ] && head -n1 /tmp/mon.out | vm_json_valid && grep -q '"type": *"' /tmp/mon.out; then
		vm_pass "monitor --json --count 1: $(head -c 120 /tmp/mon.out)"
	else
		vm_fail "monitor --json --count 1" "exit $mrc" "$(cat /tmp/mon.out /tmp/mon.err)"
	fi
	vm_wait $WAIT gpu_present || vm_diag "GPU did not appear: $(cat "$TBSIM_RELAY_LOG")"
	ctl shutdown-plan --json
	if [ $rc -eq 0 ] && echo "$out" | vm_json_valid && echo "$out" | grep -q '"steps"'; then
		vm_pass "shutdown-plan --json"
		ctl shutdown-plan
		vm_diag "$out"
	else
		vm_fail "shutdown-plan --json" "exit $rc" "$out" "$err"
	fi
	ctl tb deauthorize 0-1
	if [ $rc -eq 0 ] && auth_is 0-1 0; then
		vm_pass "tb deauthorize 0-1 through the module"
	else
		vm_fail "tb deauthorize 0-1 through the module" "exit $rc, authorized $(auth 0-1)" "$out" "$err"
	fi
	vm_check "rmmod egpu_gate" rmmod egpu_gate
	hide_module
	ctl tb list --json
	echo "$out" | grep -q '"transport": "sysfs"' && vm_pass "tb list falls back to sysfs once the module is unloaded" ||
		vm_fail "tb list falls back to sysfs once the module is unloaded" "$out" "$err"
	if auth_is 0-1 1; then
		ctl tb deauthorize 0-1
		[ $rc -eq 0 ] && auth_is 0-1 0 && vm_pass "tb deauthorize 0-1 through sysfs after the module" ||
			vm_fail "tb deauthorize 0-1 through sysfs after the module" "exit $rc" "$err"
	fi
fi
unhide_module
tbsim_relay_stop
rmmod tbsim 2>/dev/null
exit 0

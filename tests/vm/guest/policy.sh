#!/bin/sh
# egpuctl's persistent policy against the real module: policy check, policy
# apply --no-initramfs (into a --root tree), then `egpuctl tb rules`, the
# module parameters tb_rules and teardown_budget_ms and `policy show` must
# agree with the policy; a bad policy changes nothing; and the rendered
# /etc/modprobe.d/egpu-gate.conf, used by modprobe, loads the module with the
# same rules (the quoting of tb_rules survives).  Skips the live part when
# the module has no Thunderbolt rule commands.
#
# Needs: --ko egpu_gate.ko --bin egpuctl.  Leaves egpu_gate loaded, without
# rules.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh

KO=/lib/modules/extra/egpu_gate.ko
P=/sys/module/egpu_gate/parameters
ROOT=/tmp/policy-root
POLICY=/tmp/policy-test.toml
UUID=d1e2a3b4-0000-0000-0000-000000000001

ctl() {
	egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}
# The live rules as `egpuctl tb rules --json` lists them, ";"-joined.
live_rules() {
	egpuctl tb rules --json | sed -n 's/^ *"text": "\(.*\)",\{0,1\}$/\1/p' | paste -sd ';'
}

if ! command -v egpuctl >/dev/null; then
	vm_fail "egpuctl in the guest" "missing (vm.py --bin egpuctl)"
	exit 1
fi
[ -d /sys/module/egpu_gate ] || vm_check "insmod egpu_gate.ko" insmod $KO || exit 1

cat >$POLICY <<EOT
# test policy of tests/vm/guest/policy.sh
[[tb.rule]]
uuid = "$UUID"
bind = ["1002:687f", "1002:aaf8"]

[[tb.rule]]
vendor_name = "Razer"
device_name = "Core X"
chain = true
iommu = "optional"

[teardown]
budget_ms = 2500
EOT
WANT="uuid=$UUID,bind=1002:687f+1002:aaf8;vendor_name=Razer,device_name=Core X,iommu=optional,chain=1"

ctl policy check $POLICY
if [ $rc -eq 0 ]; then
	vm_pass "policy check accepts the test policy"
else
	vm_fail "policy check accepts the test policy" "rc=$rc $err"
fi
printf '[teardown]\nbudget_ms = 5\n' >/tmp/policy-bad.toml
ctl policy check /tmp/policy-bad.toml
case "$rc:$err" in
1:*policy-bad.toml:2:13:\ teardown.budget_ms:*) vm_pass "policy check points at the bad line" ;;
*) vm_fail "policy check points at the bad line" "rc=$rc $err" ;;
esac

ctl tb rules
if [ $rc -ne 0 ]; then
	vm_skip "apply and compare with the module" \
		"the module has no Thunderbolt rule commands ($err)"
	exit 0
fi

ctl policy apply --no-initramfs --root $ROOT $POLICY
if [ $rc -eq 0 ]; then
	vm_pass "policy apply --no-initramfs --root"
else
	vm_fail "policy apply --no-initramfs --root" "rc=$rc $out $err"
fi
live=$(live_rules)
param=$(cat $P/tb_rules)
if [ "$live" = "$WANT" ]; then
	vm_pass "egpuctl tb rules lists the policy's rules"
else
	vm_fail "egpuctl tb rules lists the policy's rules" "live '$live' want '$WANT'"
fi
if [ "$param" = "$live" ]; then
	vm_pass "tb_rules parameter agrees with egpuctl tb rules"
else
	vm_fail "tb_rules parameter agrees with egpuctl tb rules" "param '$param' live '$live'"
fi
if [ "$(cat $P/teardown_budget_ms)" = 2500 ]; then
	vm_pass "teardown_budget_ms is the policy's"
else
	vm_fail "teardown_budget_ms is the policy's" "$(cat $P/teardown_budget_ms)"
fi
if cmp -s $POLICY $ROOT/etc/egpu-gate/policy.toml; then
	vm_pass "the applied file is installed as policy.toml"
else
	vm_fail "the applied file is installed as policy.toml" "$(ls -lR $ROOT)"
fi
CONF=$ROOT/etc/modprobe.d/egpu-gate.conf
if grep -qxF "options egpu_gate tb_rules=\"$WANT\" teardown_budget_ms=2500" $CONF; then
	vm_pass "modprobe.d options line"
else
	vm_fail "modprobe.d options line" "$(cat $CONF)"
fi
ctl policy show --root $ROOT
case $out in
*"differences: none"*) vm_pass "policy show: the file is in force" ;;
*) vm_fail "policy show: the file is in force" "rc=$rc $out $err" ;;
esac

# A policy the module refuses (or egpuctl does) changes nothing.
ctl policy apply --no-initramfs --root $ROOT /tmp/policy-bad.toml
if [ $rc -eq 1 ] && [ "$(live_rules)" = "$WANT" ] && cmp -s $POLICY $ROOT/etc/egpu-gate/policy.toml; then
	vm_pass "a bad policy is refused and changes nothing"
else
	vm_fail "a bad policy is refused and changes nothing" "rc=$rc $err; live $(live_rules)"
fi

# Boot-time path: modprobe with the rendered file loads the same rules.
if rmmod egpu_gate; then
	mkdir -p /etc/modprobe.d
	cp $CONF /etc/modprobe.d/egpu-gate.conf
	if modprobe egpu_gate && [ "$(cat $P/tb_rules)" = "$WANT" ] &&
		[ "$(cat $P/teardown_budget_ms)" = 2500 ]; then
		vm_pass "modprobe with the rendered modprobe.d file loads the same rules"
	else
		vm_fail "modprobe with the rendered modprobe.d file loads the same rules" \
			"tb_rules '$(cat $P/tb_rules 2>&1)'; $(dmesg | tail -n 5)"
	fi
	rm -f /etc/modprobe.d/egpu-gate.conf
	[ -d /sys/module/egpu_gate ] || insmod $KO
else
	vm_fail "rmmod egpu_gate for the boot-time check" "$(lsmod | head)"
fi
egpuctl tb rules >/dev/null 2>&1 && ctl policy apply --no-initramfs --root /tmp/policy-empty /dev/null
if [ "$(cat $P/tb_rules)" = "" ]; then
	vm_pass "an empty policy clears the rules"
else
	vm_fail "an empty policy clears the rules" "rc=$rc $err; $(cat $P/tb_rules)"
fi

#!/bin/sh
# Shutdown teardown of a daisy chain with a hanging de-authorization:
# tbsim preset chain (0-1 dock, 0-301 eGPU Pro with the stand-in GPU,
# 0-30301 storage), all three whitelisted, the eGPU's functions bound to
# vfio-pci. The eGPU's de-authorization is made to hang 20 s with a 3 s
# budget, and the guest powers off: tb-teardown-chain.host checks on the
# console that the reboot notifier tore the chain down deepest first,
# abandoned the hanging step, stayed within the budget, and that the
# machine powered off.
#
# Needs what tb-teardown.sh needs (tests/vm/check-tb.sh).
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
KO=/lib/modules/extra
P=/sys/module/egpu_gate/parameters
TB=/sys/bus/thunderbolt/devices
DEV=/sys/bus/pci/devices
F0=0000:01:00.0 F1=0000:01:00.1
RULES="id=003d:0011;id=0004:a153,bind=1234:11e8;id=008a:0001"

drv() { basename "$(readlink "$DEV/$1/driver" 2>/dev/null)" 2>/dev/null; }
both_vfio() { [ "$(drv $F0)" = vfio-pci ] && [ "$(drv $F1)" = vfio-pci ]; }
all_auth() {
	for d in 0-1 0-301 0-30301; do
		[ "$(cat "$TB/$d/authorized" 2>/dev/null)" = 1 ] || return 1
	done
}

vm_check "insmod egpu_gate.ko tb_rules=$RULES" insmod $KO/egpu_gate.ko "tb_rules=$RULES" || exit 1
vm_check "insmod egpu_standin.ko" insmod $KO/egpu_standin.ko
vm_check "insmod tbsim.ko preset=chain" tbsim_load preset=chain || exit 1
tbsim_relay_start
if vm_wait "$WAIT" all_auth; then
	vm_pass "chain 0-1, 0-301, 0-30301 authorized by the rules"
else
	vm_fail "chain authorized" "$(for d in 0-1 0-301 0-30301; do echo "$d=$(cat "$TB/$d/authorized" 2>/dev/null)"; done; dmesg | grep egpu_gate | tail -n 8)"
fi
if vm_wait "$WAIT" both_vfio; then
	vm_pass "the eGPU's functions $F0 $F1 bound to vfio-pci"
else
	vm_fail "the eGPU's functions bound to vfio-pci" "'$(drv $F0)' '$(drv $F1)' $(cat "$TBSIM_RELAY_LOG")"
fi
want="0 deauthorize 0-30301 0-30301 domain0 deauthorization=1
1 unbind $F1 0-301 driver vfio-pci
2 unbind $F0 0-301 driver vfio-pci
3 remove $F1 0-301
4 remove $F0 0-301
5 deauthorize 0-301 0-301 domain0 deauthorization=1
6 deauthorize 0-1 0-1 domain0 deauthorization=1"
got=$(egpu_tdctl plan 2>&1)
if [ "$got" = "$want" ]; then
	vm_pass "plan: deepest device first, the eGPU's functions before it, the dock last"
else
	vm_fail "plan of the chain" "got:
$got
want:
$want"
fi
tbsim_relay_stop
echo 3000 >$P/teardown_budget_ms
vm_check "the eGPU's de-authorization hangs 20 s; budget 3 s" tbsim_ctl set 0-301 deauth_delay_ms=20000
vm_diag "powering off: tb-teardown-chain.host checks the console"

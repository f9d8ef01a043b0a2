#!/bin/sh
# The PCI side and the teardown of the Thunderbolt policy (issue 4,
# requirements 4 and 5) on tbsim with the stand-in GPU (edu 1234:11e8, two
# functions, hot-plugged on rp1 by tbsim-lib.sh's relay when the simulated
# tunnel opens; egpu_standin.ko is its reset family).
#
#  A  boot with the eGPU present: tunnel up before egpu_gate loads; the
#     rule's device is adopted, both functions bound to vfio-pci (vfio-pci
#     loaded by egpu_gate), device_specific first in reset_method
#  B  TEARDOWN_PLAN dry run, C  TEARDOWN_RUN runs exactly that plan
#  D  hot-plug of the whitelisted eGPU: bound as it appears
#  E  hanging de-authorization (tbsim deauth_delay_ms) within the budget
#  F  unplug during the teardown
#  G  domain with deauthorization=0: PCI removal only, logged;
#     TB_DEAUTHORIZE refused (EOPNOTSUPP); TB_DEAUTHORIZE of a device
#  H  left bound for the poweroff: tb-teardown.host checks the shutdown
#     teardown on the console (order, timing)
#
# Needs (tests/vm/check-tb.sh): egpu_gate.ko, tbsim.ko, egpu_standin.ko,
# egpu_tdctl, vfio_pci in the modroot, tbsim-lib.sh, two pci-testdev.
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
RULE="id=0004:a153,bind=1234:11e8"
ADD_GPU="add 0-1 vendor=0x4 device=0xa153 vendor_name='Blackmagic Design' device_name='eGPU Pro' tag=gpu"

gpu_count() { vm_pci_find 1234 11e8 2>/dev/null | wc -l; }
gpu_two() { [ "$(gpu_count)" -eq 2 ]; }
gpu_none() { [ "$(gpu_count)" -eq 0 ]; }
drv() { basename "$(readlink "$DEV/$1/driver" 2>/dev/null)" 2>/dev/null; }
both_vfio() { [ "$(drv $F0)" = vfio-pci ] && [ "$(drv $F1)" = vfio-pci ]; }
auth() { cat "$TB/$1/authorized" 2>/dev/null; }
auth_is() { [ "$(auth "$1")" = "$2" ]; }
gone() { [ ! -e "$TB/$1" ]; }
# dmesg lines after mark N (a line count)
mark() { dmesg | wc -l; }
since() { dmesg | tail -n +"$(($1 + 1))"; }
# "ACTION TARGET" of the teardown step lines after mark N
steps_since() { since "$1" | sed -n 's/.*egpu_gate: teardown step [0-9]*\/[0-9]* \([a-z]*\) \([^ ]*\) tb=.*/\1 \2/p'; }
plan_pairs() { egpu_tdctl plan | awk '{ print $2, $3 }'; }
td_end() { since "$1" | grep -q "egpu_gate: teardown end: reason=$2"; }

# bound_both DESC: both functions on vfio-pci, device_specific first
bound_both() {
	if vm_wait "$WAIT" both_vfio; then
		vm_pass "$1: $F0 and $F1 bound to vfio-pci"
	else
		vm_fail "$1: $F0 and $F1 bound to vfio-pci" "drivers '$(drv $F0)' '$(drv $F1)'; $(dmesg | grep -E 'egpu_gate|vfio' | tail -n 8)"
	fi
	rm0=$(cat "$DEV/$F0/reset_method" 2>/dev/null)
	case "$rm0" in
	device_specific*) vm_pass "$1: $F0 reset_method '$rm0' (device_specific first)" ;;
	*) vm_fail "$1: $F0 reset_method device_specific first" "reset_method '$rm0'" ;;
	esac
}

# replug: unplug 0-1 (and the GPU), plug it again; the rule authorizes it
replug() {
	tbsim_ctl remove 0-1 >/dev/null 2>&1
	vm_wait "$WAIT" gone 0-1 && vm_wait "$WAIT" gpu_none || vm_diag "replug: still present: $(ls $TB) $(gpu_count) GPU functions"
	tbsim_ctl "$ADD_GPU" >/dev/null || vm_diag "replug: add failed"
	vm_wait "$WAIT" auth_is 0-1 1 && vm_wait "$WAIT" gpu_two && vm_wait "$WAIT" both_vfio
}

if ! vm_pci_find 1b36 0005 >/dev/null; then
	vm_fail "fake NHI (pci-testdev) present" "run with --qemu-arg=-device --qemu-arg=pci-testdev"
	exit 1
fi

# --- A: boot with the eGPU present ------------------------------------------
vm_check "insmod tbsim.ko preset=egpu-boot" tbsim_load preset=egpu-boot || exit 1
tbsim_relay_start
if vm_wait "$WAIT" gpu_two; then
	vm_pass "A: tunnel up at boot, GPU present before egpu_gate ($(gpu_count) functions)"
else
	vm_fail "A: GPU present before egpu_gate" "$(cat "$TBSIM_RELAY_LOG")"
	exit 1
fi
[ -d /sys/module/vfio_pci ] && vm_diag "vfio_pci already loaded before egpu_gate"
m=$(mark)
vm_check "A: insmod egpu_gate.ko tb_rules=$RULE" insmod $KO/egpu_gate.ko "tb_rules=$RULE" || exit 1
vm_check "A: insmod egpu_standin.ko" insmod $KO/egpu_standin.ko
bound_both "A"
if [ -d /sys/module/vfio_pci ]; then vm_pass "A: vfio-pci loaded by egpu_gate (request_module)"; else vm_fail "A: vfio-pci loaded"; fi
for f in $F0 $F1; do
	if since "$m" | grep -q "egpu_gate: event pci_bound tb=0-1 .*bdf=$f"; then
		vm_pass "A: event pci_bound tb=0-1 bdf=$f"
	else
		vm_fail "A: event pci_bound tb=0-1 bdf=$f" "$(since "$m" | grep egpu_gate | tail -n 10)"
	fi
done

# --- B: the plan -------------------------------------------------------------
want="0 unbind $F1 0-1 driver vfio-pci
1 unbind $F0 0-1 driver vfio-pci
2 remove $F1 0-1
3 remove $F0 0-1
4 deauthorize 0-1 0-1 domain0 deauthorization=1"
got=$(egpu_tdctl plan 2>&1)
if [ "$got" = "$want" ]; then
	vm_pass "B: TEARDOWN_PLAN: functions (1 before 0) unbound, removed, then 0-1 de-authorized"
else
	vm_fail "B: TEARDOWN_PLAN" "got:
$got
want:
$want"
fi

# --- C: the run is the plan ---------------------------------------------------
pairs=$(plan_pairs)
m=$(mark)
t0=$(vm_uptime)
if out=$(egpu_tdctl run 2>&1); then vm_pass "C: TEARDOWN_RUN ($(vm_elapsed "$t0") s)"; else vm_fail "C: TEARDOWN_RUN" "$out"; fi
ran=$(steps_since "$m")
if [ -n "$ran" ] && [ "$ran" = "$pairs" ]; then
	vm_pass "C: the steps run are the dry run's, in its order"
else
	vm_fail "C: steps run = dry run" "ran:
$ran
plan:
$pairs"
fi
if since "$m" | grep -q "egpu_gate: teardown end: reason=netlink result=0 .* ok=5 failed=0 abandoned=0"; then
	vm_pass "C: teardown end: 5 ok"
else
	vm_fail "C: teardown end: 5 ok" "$(since "$m" | grep teardown)"
fi
vm_diag "$(since "$m" | grep 'teardown end')"
auth_is 0-1 0 && vm_pass "C: 0-1 de-authorized" || vm_fail "C: 0-1 de-authorized" "authorized=$(auth 0-1)"
gpu_none && vm_pass "C: GPU functions removed" || vm_fail "C: GPU functions removed" "$(vm_pci_find 1234 11e8)"
n=$(egpu_tdctl plan | wc -l)
[ "$n" -eq 0 ] && vm_pass "C: nothing left to tear down" || vm_fail "C: nothing left to tear down" "$(egpu_tdctl plan)"
vm_wait "$WAIT" tbsim_relay_seen '^down 0-1 deauthorize' || vm_diag "relay: no down event"

# --- D: hot-plug of the whitelisted eGPU ------------------------------------------
tbsim_ctl remove 0-1 >/dev/null
vm_wait "$WAIT" gone 0-1
m=$(mark)
t0=$(vm_uptime)
vm_check "D: plug 0-1 (eGPU Pro, whitelisted by ID)" tbsim_ctl "$ADD_GPU"
if vm_wait "$WAIT" auth_is 0-1 1; then vm_pass "D: 0-1 authorized by the rule"; else vm_fail "D: 0-1 authorized" "$(dmesg | grep egpu_gate | tail -n 5)"; fi
vm_wait "$WAIT" gpu_two || vm_diag "D: GPU not plugged: $(cat "$TBSIM_RELAY_LOG")"
bound_both "D"
vm_diag "D: plug -> both functions on vfio-pci in $(vm_elapsed "$t0") s (includes the QMP hot-plug)"
since "$m" | grep "event pci_bound" | sed 's/^/  /' | while read -r l; do vm_diag "$l"; done

# --- E: hanging de-authorization within the budget ------------------------------
echo 1500 >$P/teardown_budget_ms
tbsim_ctl set 0-1 deauth_delay_ms=6000 >/dev/null
m=$(mark)
t0=$(vm_uptime)
out=$(egpu_tdctl run 2>&1)
rc=$?
dt=$(vm_elapsed "$t0")
if [ $rc -ne 0 ] && echo "$out" | grep -q -- "-110"; then
	vm_pass "E: TEARDOWN_RUN -ETIMEDOUT with a hanging de-authorization"
else
	vm_fail "E: TEARDOWN_RUN -ETIMEDOUT" "rc $rc: $out"
fi
if awk -v t="$dt" 'BEGIN { exit !(t < 1.5 + 1.5) }'; then
	vm_pass "E: returned after $dt s (budget 1.5 s)"
else
	vm_fail "E: returned within the budget" "$dt s, budget 1.5 s"
fi
if since "$m" | grep -q "teardown step 5/5 deauthorize 0-1 tb=0-1: abandoned"; then
	vm_pass "E: the de-authorization step is abandoned and logged"
else
	vm_fail "E: de-authorization abandoned" "$(since "$m" | grep teardown)"
fi
since "$m" | grep "teardown" | while read -r l; do vm_diag "$l"; done
gpu_none && vm_pass "E: GPU functions removed before the hanging step" || vm_fail "E: GPU functions removed"
# the abandoned worker finishes when tbsim's delay ends
vm_wait $((WAIT + 6)) auth_is 0-1 0 && vm_pass "E: the abandoned de-authorization completed later" ||
	vm_fail "E: abandoned de-authorization completed" "authorized=$(auth 0-1)"
tbsim_ctl set 0-1 deauth_delay_ms=0 >/dev/null
echo 5000 >$P/teardown_budget_ms

# --- F: unplug during the teardown --------------------------------------------
if replug; then vm_pass "F: re-plugged and bound"; else vm_fail "F: re-plugged and bound" "$(dmesg | grep egpu_gate | tail -n 5)"; fi
tbsim_ctl set 0-1 deauth_delay_ms=2000 >/dev/null
m=$(mark)
egpu_tdctl run >/tmp/td-f.out 2>&1 &
pid=$!
vm_wait "$WAIT" sh -c "dmesg | tail -n +$((m + 1)) | grep -q 'teardown step 4/5'"
tbsim_ctl remove 0-1 >/dev/null 2>&1 &
upid=$!
if vm_wait $((WAIT + 5)) sh -c "! kill -0 $pid 2>/dev/null"; then
	wait $pid
	vm_pass "F: teardown ended (rc $?: $(cat /tmp/td-f.out))"
else
	vm_fail "F: teardown ended" "still running"
fi
wait $upid
vm_wait "$WAIT" gone 0-1 && vm_pass "F: 0-1 unplugged" || vm_fail "F: 0-1 unplugged" "$(ls $TB)"
td_end "$m" netlink && vm_pass "F: teardown end logged" || vm_fail "F: teardown end logged" "$(since "$m" | grep teardown)"
since "$m" | grep -E "teardown|tb_gone" | while read -r l; do vm_diag "$l"; done

# --- G: deauthorization=0 --------------------------------------------------------
tbsim_ctl domain deauthorization=0 >/dev/null || vm_diag "G: cannot set deauthorization=0"
tbsim_ctl "$ADD_GPU" >/dev/null
vm_wait "$WAIT" auth_is 0-1 1 && vm_wait "$WAIT" gpu_two && vm_wait "$WAIT" both_vfio ||
	vm_diag "G: not bound: $(dmesg | grep egpu_gate | tail -n 5)"
want="4 skip 0-1 0-1 domain0 deauthorization=0: PCI removal only"
got=$(egpu_tdctl plan 2>&1 | tail -n 1)
[ "$got" = "$want" ] && vm_pass "G: plan ends with a skip step that says why" || vm_fail "G: plan skip step" "got '$got'"
out=$(egpu_tdctl deauth 0-1 2>&1)
if echo "$out" | grep -q -- "-95"; then vm_pass "G: TB_DEAUTHORIZE refused: $out"; else vm_fail "G: TB_DEAUTHORIZE refused" "$out"; fi
gpu_two && vm_pass "G: refused TB_DEAUTHORIZE changed nothing" || vm_fail "G: refused TB_DEAUTHORIZE changed nothing"
m=$(mark)
if out=$(egpu_tdctl run 2>&1); then vm_pass "G: TEARDOWN_RUN"; else vm_fail "G: TEARDOWN_RUN" "$out"; fi
gpu_none && vm_pass "G: PCI functions removed" || vm_fail "G: PCI functions removed"
auth_is 0-1 1 && vm_pass "G: 0-1 left authorized" || vm_fail "G: 0-1 left authorized" "authorized=$(auth 0-1)"
if since "$m" | grep -q "teardown step 5/5 skip 0-1 tb=0-1: skipped ms=[0-9.]* note=domain0 deauthorization=0: PCI removal only"; then
	vm_pass "G: log says why the de-authorization was skipped"
else
	vm_fail "G: skip logged" "$(since "$m" | grep teardown)"
fi
tbsim_ctl remove 0-1 >/dev/null
vm_wait "$WAIT" gone 0-1
tbsim_ctl domain deauthorization=1 >/dev/null

# TB_DEAUTHORIZE of one device (its subtree)
if replug; then vm_pass "G: re-plugged and bound"; else vm_fail "G: re-plugged and bound"; fi
out=$(egpu_tdctl deauth 9-9 2>&1)
echo "$out" | grep -q -- "-19" && vm_pass "G: TB_DEAUTHORIZE of an unknown device: ENODEV" || vm_fail "G: unknown device" "$out"
if out=$(egpu_tdctl deauth 0-1 2>&1) && auth_is 0-1 0 && gpu_none; then
	vm_pass "G: TB_DEAUTHORIZE 0-1: functions removed, de-authorized"
else
	vm_fail "G: TB_DEAUTHORIZE 0-1" "$out; authorized=$(auth 0-1), $(gpu_count) functions"
fi

# --- H: left for the poweroff ----------------------------------------------------------
if replug; then vm_pass "H: eGPU bound, left for the shutdown teardown"; else vm_fail "H: eGPU bound for the shutdown"; fi
egpu_tdctl plan | while read -r l; do vm_diag "poweroff plan: $l"; done
tbsim_relay_stop

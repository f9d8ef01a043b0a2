#!/bin/sh
# make demo, in the VM: the runbook's three Thunderbolt scenarios and a reset
# between two "VM starts", on simulated hardware:
#  - tbsim: a Thunderbolt domain with the Blackmagic eGPU Pro (preset egpu,
#    the Radeon RX Vega 56 eGPU) at 0-1, security "user", IOMMU protection on;
#  - the stand-in GPU: QEMU's edu (1234:11e8) as two functions (GPU + its
#    HDMI audio), hot-plugged on rp1 whenever the eGPU's PCIe tunnel opens
#    (tbsim-lib.sh relay), reset by the stand-in family egpu_standin
#    registers for it, the way vega10 would reset a real 1002:687f;
#  - egpu_gate, with the policy a user would put in modprobe.d.
# Every step is checked, never assumed: what this build of egpu_gate does
# not do yet is reported as missing, and then done by hand, the runbook's
# way, so that the story can go on - and the output says so.
#
# Output on the test channel: TAP (vm.py) plus
#   # demo: TEXT                      progress (the host prints it live)
#   # demo-tl: T|WHAT|RULE|RESET      timeline (T: seconds since boot)
#   # demo-sum: SCENARIO|RESULT|DETAIL summary
#   # demo-missing: TEXT              a part missing from this build
# Needs: --ko egpu_gate.ko egpu_standin.ko tbsim.ko, --bin egpuctl vfio_reset
# egpu_teardown, --file tbsim-lib.sh, pci-testdev (fake NHI), vfio modules.
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=20
KO=/lib/modules/extra
DEV=/sys/bus/pci/devices
TB=/sys/bus/thunderbolt/devices
G=0000:01:00.0		# the stand-in GPU (relay: rp1)
A=0000:01:00.1		# its second function (the "HDMI audio")
EGPU=0-1
RULE="id=0004:a153,bind=1234:11e8"	# Blackmagic eGPU Pro -> both functions to vfio-pci
POLICY="tb_rules=$RULE"

say() { echo "# demo: $*"; }
tl() { echo "# demo-tl: ${TL_AT:-$(vm_uptime)}|$1|${2:-}|${3:-}"; }
summary() { echo "# demo-sum: $1|$2|$3"; }
missing() {
	echo "# demo-missing: $*"
	say "MISSING in this build: $*"
}
gpu_count() { vm_pci_find 1234 11e8 2>/dev/null | wc -l; }
gpu_two() { [ "$(gpu_count)" -eq 2 ]; }
gpu_none() { [ "$(gpu_count)" -eq 0 ]; }
authorized() { [ "$(cat $TB/$EGPU/authorized 2>/dev/null)" = "$1" ]; }
drv() { basename "$(readlink "$DEV/$1/driver" 2>/dev/null)" 2>/dev/null; }
both_vfio() { [ "$(drv $G)" = vfio-pci ] && [ "$(drv $A)" = vfio-pci ]; }
first_method() { cut -d' ' -f1 "$DEV/$1/reset_method" 2>/dev/null; }
# last egpu_gate event line of TYPE (console format of events.c)
event() { dmesg | grep "egpu_gate: event $1" | tail -n 1 | sed 's/^\[[^]]*\] *//'; }
rule_of() { event "$1" | sed -n 's/.* rule=\([0-9]*\).*/rule \1/p'; }
# JSON field of the GPU (egpuctl gpu list --json), quotes off
gfield() {
	egpuctl gpu list --json 2>/dev/null | awk -v k="\"$1\":" '
		index($0, k) { sub(/^[^:]*: */, ""); sub(/,$/, ""); gsub(/"/, ""); print; exit }'
}
has_rules() { [ -e /sys/module/egpu_gate/parameters/tb_rules ]; }
# the module has a Thunderbolt policy: feature bit tb_policy, or its rules
has_tb_policy() {
	f=$(dmesg | sed -n 's/.*egpu_gate: version .* loaded (features \(0x[0-9a-f]*\)).*/\1/p' | tail -n 1)
	{ [ -n "$f" ] && [ $((f & 8)) -ne 0 ]; } || has_rules
}
# how many egpu_gate events of TYPE for the eGPU / the GPU so far
nev() { dmesg | grep "egpu_gate: event $1" | grep -c -- "$2"; }
# printk time (s) of the last event of TYPE matching TEXT: timeline entries
# about what the module did carry the module's own time
evtime() { dmesg | grep "egpu_gate: event $1" | grep -- "$2" | tail -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }
# the policy's last word on the eGPU (decision reason), for messages
tb_reason() { dmesg | grep -E "egpu_gate: (tb $EGPU:|event tb_[a-z]* tb=$EGPU)" | tail -n 1 | sed 's/^\[[^]]*\] *egpu_gate: //'; }

load_gate() {	# load_gate WHEN: egpu_gate with the policy (if it can take it), the stand-in family
	# a module without tb_rules ignores it (the kernel logs "unknown parameter")
	t_load=$(vm_uptime)
	insmod $KO/egpu_gate.ko "$POLICY" || return 1
	insmod $KO/egpu_standin.ko || return 1
	TL_AT=$t_load
	tl "$1: egpu_gate loaded ($(has_tb_policy && echo "Thunderbolt policy on" || echo "no Thunderbolt policy in this build"))" \
		"$(has_rules && echo "tb_rules=$(cat /sys/module/egpu_gate/parameters/tb_rules)")"
	TL_AT=
}
unload_gate() { rmmod egpu_standin 2>/dev/null; rmmod egpu_gate 2>/dev/null; }

# authorize_step SCENARIO [firmware]: wait for egpu-gate to authorize the
# eGPU (or find it authorized by the boot firmware); else say so and
# authorize it by hand, as the runbook's udev rule / boot script does
# (N_AUTH0: tb_authorized events before the scenario's plug or load)
authorize_step() {
	w=$WAIT
	has_tb_policy || w=2	# nothing will authorize it: do not make people wait
	if vm_wait $w authorized 1; then
		if [ "${2:-}" = firmware ]; then
			tl "$1: $EGPU was authorized already (boot firmware)"
			AUTH_BY=firmware
		elif [ "$(nev tb_authorized "tb=$EGPU")" -gt "${N_AUTH0:-0}" ]; then
			TL_AT=$(evtime tb_authorized "tb=$EGPU")
			tl "$1: $EGPU authorized by egpu-gate" "$(rule_of tb_authorized) $(cat /sys/module/egpu_gate/parameters/tb_rules 2>/dev/null)"
			TL_AT=
			AUTH_BY=egpu-gate
		else
			tl "$1: $EGPU authorized, but no tb_authorized event from egpu-gate"
			AUTH_BY=unknown
		fi
		vm_pass "$1: $EGPU authorized ($AUTH_BY)"
	else
		if has_tb_policy; then
			tl "$1: egpu-gate did not authorize $EGPU within $w s: $(tb_reason)"
			vm_fail "$1: egpu-gate authorizes $EGPU" "$(tb_reason)"
			missing "authorization of $EGPU by the policy in this build ($(tb_reason)); authorizing by hand as the runbook's scripts do"
		else
			missing "Thunderbolt authorization (rules): $EGPU stays unauthorized; authorizing by hand as the runbook's scripts do"
		fi
		tbsim_write $TB/$EGPU/authorized 1 >/dev/null
		tl "$1: $EGPU authorized BY HAND (runbook's way; egpu-gate did not)"
		AUTH_BY="by hand"
		vm_pass "$1: $EGPU authorized by hand"
	fi
}

# gpu_step SCENARIO: the GPU appears, egpu-gate's reset takes it, vfio-pci binds it
gpu_step() {
	if vm_wait $WAIT gpu_two; then
		tl "$1: PCIe tunnel up, GPU $G + $A appear"
	else
		tl "$1: GPU did not appear within $WAIT s"
		vm_fail "$1: GPU appears" "$(cat "$TBSIM_RELAY_LOG")"
		return 1
	fi
	if vm_wait 5 sh -c "[ \"\$(cut -d' ' -f1 $DEV/$G/reset_method)\" = device_specific ]"; then
		tl "$1: egpu-gate claims $G for its reset (family $(gfield family))" "" "reset_method: $(cat $DEV/$G/reset_method)"
		vm_pass "$1: device_specific first in reset_method, no udev rule"
	else
		vm_fail "$1: device_specific first in reset_method" "$(cat $DEV/$G/reset_method)"
	fi
	w=10
	has_tb_policy || w=1
	if vm_wait $w both_vfio && [ "$(nev pci_bound "")" -gt "${N_BOUND0:-0}" ]; then
		TL_AT=$(evtime pci_bound "")
		tl "$1: $G + $A bound to vfio-pci by egpu-gate" "$(rule_of pci_bound)"
		TL_AT=
		BIND_BY=egpu-gate
		BOUND_AT=$(evtime pci_bound "")
	elif both_vfio; then
		BOUND_AT=$(vm_uptime)
		tl "$1: $G + $A on vfio-pci, but no pci_bound event from egpu-gate"
		BIND_BY=unknown
	else
		missing "vfio-pci binding by the policy (bind=): binding by hand as the runbook's attach script does"
		for f in $A $G; do vm_pci_bind_vfio $f >/dev/null 2>&1; done
		BOUND_AT=$(vm_uptime)
		if both_vfio; then
			tl "$1: $G + $A bound to vfio-pci BY HAND (egpu-gate did not)"
			BIND_BY="by hand"
		else
			tl "$1: binding to vfio-pci failed"
			BIND_BY=failed
		fi
	fi
	vm_pass "$1: GPU functions on vfio-pci ($BIND_BY)"
}

vm_start() {	# vm_start N: what QEMU does to the GPU when a VM starts
	before=$(gfield resets)
	TL_AT=$(vm_uptime)
	out=$(vfio_reset $G 2>&1)
	rc=$?
	after=$(gfield resets)
	if [ $rc -eq 0 ] && [ "${after:-0}" -gt "${before:-0}" ]; then
		# vfio-pci resets at open and at release too: count them all
		tl "VM start $1: vfio open, VFIO_DEVICE_RESET, close: $((after - before)) device-specific resets" "" \
			"$(gfield family) resets #$((before + 1))-#$after ok; last: method $(gfield last_method), $(gfield last_duration_us) us"
		TL_AT=
		vm_pass "VM start $1: device-specific reset ran (resets $before -> $after)"
		return 0
	fi
	tl "VM start $1: reset FAILED ($out)"
	TL_AT=
	vm_fail "VM start $1: device-specific reset" "$out" "resets $before -> $after"
	return 1
}

T_START=$(vm_uptime)
if ! vm_pci_find 1b36 0005 >/dev/null; then
	vm_fail "fake NHI (pci-testdev) present"
	exit 1
fi
modprobe vfio_pci 2>/dev/null
modprobe vfio_iommu_type1 2>/dev/null

# since T: seconds from uptime T to the binding (the module's event time
# when egpu-gate bound the functions)
since() { awk -v a="$1" -v b="${BOUND_AT:-$1}" 'BEGIN { printf "%.2f\n", b - a }'; }

# --- 1. hot-plug -----------------------------------------------------------------
say "Scenario 1: hot-plug the eGPU into a running host"
vm_check "tbsim: domain0 up (host router only)" tbsim_load || exit 1
tbsim_relay_start
unload_gate
load_gate "hot-plug" || { vm_fail "load egpu_gate"; exit 1; }
vm_pass "egpu_gate + stand-in family loaded"
tl "hot-plug: Blackmagic eGPU Pro plugged in ($EGPU, security user)"
N_AUTH0=$(nev tb_authorized "tb=$EGPU")
N_BOUND0=$(nev pci_bound "")
tbsim_ctl preset egpu >/dev/null
t1=$(vm_uptime)
authorize_step "hot-plug"
S1_AUTH=$AUTH_BY
if gpu_step "hot-plug"; then
	S1="GPU on vfio-pci $(since "$t1") s after the plug (authorized: $S1_AUTH, bound: $BIND_BY)"
else
	S1="GPU did not appear"
fi
summary "1 hot-plug" "$([ "$S1_AUTH$BIND_BY" = egpu-gateegpu-gate ] && echo OK || echo PARTLY)" "$S1"

# --- reset between two VM starts ---------------------------------------------------
say "Reset between two VM starts (QEMU opens the vfio device and resets it)"
r_ok=0
vm_start 1 && r_ok=$((r_ok + 1))
tl "VM stop 1: the guest shuts down (vfio device closed)"
vm_start 2 && r_ok=$((r_ok + 1))
summary "reset x2" "$([ $r_ok -eq 2 ] && echo OK || echo FAILED)" \
	"$r_ok of 2 VM starts reset the GPU ($(gfield family), last $(gfield last_duration_us) us, failures $(gfield failures))"

# --- 2. boot with the eGPU connected ------------------------------------------------
say "Scenario 2: boot with the eGPU connected (device there before egpu_gate loads)"
for f in $G $A; do vm_pci_unbind $f >/dev/null 2>&1; done
unload_gate
tbsim_ctl reset >/dev/null
vm_wait $WAIT gpu_none || vm_diag "GPU still present after reset"
tl "boot: eGPU connected, not authorized (security user), egpu_gate not loaded yet"
N_AUTH0=$(nev tb_authorized "tb=$EGPU")
N_BOUND0=$(nev pci_bound "")
tbsim_ctl preset egpu >/dev/null
t2=$(vm_uptime)
load_gate "boot" || { vm_fail "load egpu_gate"; exit 1; }
authorize_step "boot"
S2_AUTH=$AUTH_BY
if gpu_step "boot"; then
	S2="GPU on vfio-pci $(since "$t2") s after the load (authorized: $S2_AUTH, bound: $BIND_BY)"
else
	S2="GPU did not appear"
fi
summary "2 boot, connected" "$([ "$S2_AUTH$BIND_BY" = egpu-gateegpu-gate ] && echo OK || echo PARTLY)" "$S2"

# --- 3. reboot with the eGPU connected ------------------------------------------------
say "Scenario 3: reboot with the eGPU connected (ordered teardown, then boot)"
out=$(egpu_teardown 2>&1)
rc=$?
case $out in
*"error=0 "*)
	us=$(echo "$out" | sed -n 's/.* us=\([0-9]*\).*/\1/p')
	tl "shutdown: egpu-gate teardown done in $((us / 1000)) ms" "" "$(event teardown_done | cut -c1-80)"
	if vm_wait $WAIT gpu_none && authorized 0; then
		S3a="teardown $((us / 1000)) ms: GPU functions removed, $EGPU de-authorized"
		TD=egpu-gate
	else
		S3a="teardown returned but GPU count $(gpu_count), authorized $(cat $TB/$EGPU/authorized)"
		TD=incomplete
	fi
	;;
*"error=-95 "*)
	missing "teardown at shutdown (EGPU_CMD_TEARDOWN_RUN): the runbook's detach script would de-authorize here"
	tl "shutdown: NO teardown by egpu-gate in this build"
	S3a="no teardown in this build"
	TD=missing
	;;
*)
	tl "shutdown: teardown FAILED ($out)"
	S3a="teardown failed: $out"
	TD=failed
	;;
esac
vm_pass "shutdown step ran ($TD)"
for f in $G $A; do vm_pci_unbind $f >/dev/null 2>&1; done
unload_gate
tbsim_ctl reset >/dev/null
vm_wait $WAIT gpu_none
tl "reboot: boot firmware authorizes the connected eGPU (preset egpu-boot), tunnel up at once"
tbsim_ctl preset egpu-boot >/dev/null
vm_wait $WAIT gpu_two || vm_diag "GPU not back after the reboot"
t3=$(vm_uptime)
N_AUTH0=$(nev tb_authorized "tb=$EGPU")
N_BOUND0=$(nev pci_bound "")
load_gate "reboot" || { vm_fail "load egpu_gate"; exit 1; }
authorize_step "reboot" firmware
if gpu_step "reboot"; then
	S3b="GPU on vfio-pci $(since "$t3") s after the load (bound: $BIND_BY)"
else
	S3b="GPU did not come back"
fi
vm_start "3 (after the reboot)"
summary "3 reboot, connected" "$([ "$TD$BIND_BY" = egpu-gateegpu-gate ] && echo OK || echo PARTLY)" "$S3a; $S3b"

tbsim_relay_stop
for f in $G $A; do vm_pci_unbind $f >/dev/null 2>&1; done
unload_gate
dmesg | grep "egpu_gate: event" | sed 's/^/# demo-ev: /'
say "done in $(vm_elapsed "$T_START") s"
exit 0

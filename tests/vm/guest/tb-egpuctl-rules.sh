#!/bin/sh
# check-tb: stock-only
# egpuctl's Thunderbolt rule commands against the real module on tbsim:
# tb rules (text, JSON, empty set), tb allow (a rule from the present
# device: its UUID by default, --by id, --by name, --bind, --chain,
# --no-iommu-required; the module authorizes the device at once and again
# on the next plug), tb deny (the device's rules removed, an action=ignore
# rule put before another rule that still matches it; the next plug stays
# unauthorized), persistence into policy.toml and modprobe.d (a --root
# tree), --no-persist leaving the file untouched, the errors (unknown
# device, an allow that is already in force, no module).
#
# Needs (tests/vm/check-tb.sh): --ko egpu_gate.ko --ko tbsim.ko
#   --bin egpuctl --file tbsim-lib.sh, two pci-testdev, vfio_pci in the
#   modroot.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh
# shellcheck source=tbsim-lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
TB=/sys/bus/thunderbolt/devices
DEV=/sys/bus/pci/devices
KO=/lib/modules/extra/egpu_gate.ko
PARAM=/sys/module/egpu_gate/parameters/tb_rules
ROOT=/tmp/allow-root
POLICY=$ROOT/etc/egpu-gate/policy.toml
CONF=$ROOT/etc/modprobe.d/egpu-gate.conf
GPU_UUID=c8030000-0070-740e-83ee-b3c0a7c33e1f		# tbsim preset egpu (0-1)
OTHER_UUID=c8030000-0070-740e-83ee-000000000002
F0=0000:01:00.0 F1=0000:01:00.1
GPU_NAMES="vendor_name='Blackmagic Design' device_name='eGPU Pro'"

# ctl ARGS...: egpuctl; sets rc, out, err
ctl() {
	egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}
sim() { o=$(tbsim_ctl "$@") || vm_fail "tbsim ctl $*" "$o"; }
auth() { cat "$TB/$1/authorized" 2>/dev/null || echo "-"; }
auth_is() { [ "$(auth "$1")" = "$2" ]; }
live() { cat $PARAM; }
# line NAME: NAME's line of egpuctl tb list --tree (decision, rule)
line() { egpuctl tb list --tree 2>/dev/null | grep -E -- "-- $1  "; }
line_has() { line "$1" | grep -qE -- "$2"; }
sum() { cksum "$1" 2>/dev/null; }
drv() { basename "$(readlink "$DEV/$1/driver" 2>/dev/null)" 2>/dev/null; }
both_vfio() { [ "$(drv $F0)" = vfio-pci ] && [ "$(drv $F1)" = vfio-pci ]; }
no_gpu() { ! vm_pci_find 1234 11e8 >/dev/null 2>&1; }
# fresh [DOMAIN SETTINGS]: no device, no rule; the domain set as given
fresh() {
	sim reset
	[ $# -eq 0 ] || sim domain "$@"
	echo >$PARAM
	vm_wait $WAIT no_gpu || vm_diag "stand-in GPU still present: $(cat "$TBSIM_RELAY_LOG")"
}
plug_egpu() { sim add 0-1 vendor=0x4 device=0xa153 "vendor_name='Blackmagic Design'" "device_name='eGPU Pro'" uuid=$GPU_UUID tag=gpu; }
replug_egpu() { sim remove 0-1; vm_wait $WAIT no_gpu; plug_egpu; }
# decided NAME: the module has looked at NAME (a decision other than none/pending)
decided() { line "$1" | grep -qE "decision=(no_rule|ignored|authorized|already|denied|failed)"; }
# expect DESC NAME AUTH [TREE-REGEX]: NAME reaches authorized=AUTH (and its
# tb list --tree line matches TREE-REGEX)
# (after a rule change the module re-decides in a worker: with AUTH 0 and no
# TREE-REGEX, only "has decided" is waited for)
reached() { auth_is "$1" "$2" && { [ -z "$3" ] || line_has "$1" "$3"; }; }
expect() {
	if [ "$3" = 0 ] && [ -z "${4:-}" ]; then vm_wait $WAIT decided "$2"; else vm_wait $WAIT reached "$2" "$3" "${4:-}"; fi
	if reached "$2" "$3" "${4:-}"; then
		vm_pass "$1"
	else
		vm_fail "$1" "$2 authorized=$(auth "$2"), want $3${4:+, tree /$4/}" "$(line "$2")" \
			"rules: $(live)" "$(dmesg | grep egpu_gate | tail -n 6)"
	fi
}
# ok_if DESC CONDITION...: pass when the condition (a command) holds
ok_if() {
	d=$1
	shift
	if "$@"; then vm_pass "$d"; else vm_fail "$d" "exit $rc" "$out" "$err" "rules: $(live)"; fi
}
is() { [ "$1" = "$2" ]; }
has() { printf '%s\n' "$1" | grep -qE -- "$2"; }

if ! command -v egpuctl >/dev/null; then
	vm_fail "egpuctl in the guest" "missing (vm.py --bin egpuctl)"
	exit 1
fi
rmmod egpu_gate 2>/dev/null
rmmod tbsim 2>/dev/null
vm_check "insmod tbsim.ko" tbsim_load || exit 1
vm_check "insmod egpu_gate.ko (no rules)" insmod $KO || exit 1
if ! egpuctl status 2>/dev/null | grep -q tb_policy; then
	vm_skip "tb rules/allow/deny" "egpu_gate has no feature tb_policy"
	exit 0
fi
tbsim_relay_start
rm -rf $ROOT

# --- tb rules, the errors -------------------------------------------------------
ctl tb rules
ok_if "tb rules, no rules: says default deny" \
	is "$rc:$out" "0:no rules: egpu-gate authorizes no Thunderbolt device (default deny)"
ctl tb rules --json
ok_if "tb rules --json, no rules: []" is "$rc:$(echo "$out" | tr -d ' \n')" "0:[]"
plug_egpu
expect "plugged, no rule: 0-1 stays unauthorized (no_rule)" 0-1 0 "decision=no_rule"
ctl tb allow 0-7 --root $ROOT --no-initramfs
ok_if "tb allow of an unknown device: exit 1, says so, nothing written" \
	eval '[ $rc -eq 1 ] && has "$err" "no Thunderbolt device .0-7." && [ -z "$(live)" ] && [ ! -e $POLICY ]'
ctl tb deny 0-7 --root $ROOT --no-initramfs
ok_if "tb deny of an unknown device: exit 1" eval '[ $rc -eq 1 ] && has "$err" "no Thunderbolt device .0-7."'
ctl tb allow 0-1 --by serial
ok_if "tb allow --by serial: usage error (exit 2)" eval '[ $rc -eq 2 ] && has "$err" "give uuid, id or name"'
ctl tb allow 0-1 --bind 1234
ok_if "tb allow --bind 1234: usage error (exit 2)" eval '[ $rc -eq 2 ] && has "$err" "--bind"'

# --- tb allow DEV (by UUID), persisted -----------------------------------------------
ctl tb allow 0-1 --root $ROOT --no-initramfs
ok_if "tb allow 0-1: exit 0, rule by UUID" \
	eval '[ $rc -eq 0 ] && has "$out" "^0-1: allowed by rule: uuid=$GPU_UUID\$"'
vm_diag "$out"
expect "tb allow 0-1: the module authorizes 0-1 (decision authorized, a rule, by egpu-gate)" \
	0-1 1 "decision=authorized  rule=[0-9]+  by-egpu-gate"
ok_if "tb allow 0-1: the live rule set is the UUID rule" is "$(live)" "uuid=$GPU_UUID"
ok_if "tb allow 0-1: policy.toml has the rule, with the device in a comment" \
	eval 'grep -q "^uuid = \"$GPU_UUID\"" $POLICY && grep -q "0-1 (Blackmagic Design eGPU Pro): added by egpuctl tb allow" $POLICY'
ctl policy check $POLICY
ok_if "tb allow 0-1: the written policy.toml passes policy check" is "$rc" 0
ok_if "tb allow 0-1: modprobe.d has the rule" grep -qxF "options egpu_gate tb_rules=\"uuid=$GPU_UUID\"" $CONF
ctl tb rules
ok_if "tb rules: one row, the UUID rule, hits >= 1" \
	eval '[ $rc -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq 2 ] && has "$out" "^[0-9]+ +[1-9][0-9]* +uuid=$GPU_UUID\$"'
vm_diag "$out"
ctl tb rules --json
ok_if "tb rules --json: valid, the rule's text" \
	eval 'echo "$out" | vm_json_valid && has "$out" "\"text\": *\"uuid=$GPU_UUID\""'
# shellcheck disable=SC2034 # used in the eval'd conditions
s0=$(sum $POLICY)
ctl tb allow 0-1 --root $ROOT --no-initramfs
ok_if "tb allow 0-1 again: no duplicate (exit 0, no change, one rule, file unchanged)" \
	eval '[ $rc -eq 0 ] && has "$out" "no change needed" && [ "$(live)" = "uuid=$GPU_UUID" ] && [ "$(sum $POLICY)" = "$s0" ]'
replug_egpu
expect "next plug of 0-1: authorized by the rule" 0-1 1 "decision=authorized"

# --- tb deny DEV, persisted -------------------------------------------------------------
ctl tb deny 0-1 --root $ROOT --no-initramfs
ok_if "tb deny 0-1: exit 0, rule gone live, notes 0-1 stays authorized until unplugged" \
	eval '[ $rc -eq 0 ] && has "$out" "^0-1: no longer authorized by egpu-gate" && has "$out" "stays so until unplugged" && [ -z "$(live)" ]'
ok_if "tb deny 0-1: 0-1 stays authorized now" auth_is 0-1 1
ok_if "tb deny 0-1: the rule left policy.toml and modprobe.d" \
	eval '! grep -q "$GPU_UUID" $POLICY && ! grep -q "$GPU_UUID" $CONF'
ctl policy check $POLICY
ok_if "tb deny 0-1: policy.toml still passes policy check" is "$rc" 0
replug_egpu
expect "next plug of 0-1 after tb deny: stays unauthorized (no_rule)" 0-1 0 "decision=no_rule"

# --- --no-persist -------------------------------------------------------------------------
# shellcheck disable=SC2034 # used in the eval'd conditions
s0=$(sum $POLICY)
# shellcheck disable=SC2034 # used in the eval'd conditions
c0=$(sum $CONF)
ctl tb allow 0-1 --no-persist --root $ROOT
ok_if "tb allow 0-1 --no-persist: exit 0, says the file is not changed" \
	eval '[ $rc -eq 0 ] && has "$out" "not changed \\(--no-persist\\)" && [ "$(live)" = "uuid=$GPU_UUID" ]'
expect "tb allow 0-1 --no-persist: the module authorizes 0-1" 0-1 1 "decision=authorized"
ok_if "tb allow --no-persist: policy.toml and modprobe.d untouched" \
	eval '[ "$(sum $POLICY)" = "$s0" ] && [ "$(sum $CONF)" = "$c0" ]'
ctl tb deny 0-1 --no-persist --root $ROOT
ok_if "tb deny 0-1 --no-persist: live rule gone, files untouched" \
	eval '[ $rc -eq 0 ] && [ -z "$(live)" ] && [ "$(sum $POLICY)" = "$s0" ] && [ "$(sum $CONF)" = "$c0" ]'
replug_egpu
expect "next plug after tb deny --no-persist: stays unauthorized" 0-1 0 "decision=no_rule"

# --- --by id, and tb deny of a device another rule matches ---------------------------------------
ctl tb allow 0-1 --by id --no-persist
ok_if "tb allow 0-1 --by id: rule id=0004:a153" eval '[ $rc -eq 0 ] && [ "$(live)" = "id=0004:a153" ]'
expect "tb allow 0-1 --by id: 0-1 authorized" 0-1 1 "decision=authorized"
sim add 0-3 vendor=0x4 device=0xa153 "$GPU_NAMES" uuid=$OTHER_UUID
expect "--by id: another device with the same IDs (other UUID) authorized at plug" 0-3 1 "decision=authorized"
ctl tb deny 0-3 --no-persist
ok_if "tb deny 0-3 (the ID rule still matches it): an action=ignore rule for its UUID first" \
	eval '[ $rc -eq 0 ] && [ "$(live)" = "uuid=$OTHER_UUID,action=ignore;id=0004:a153" ]'
sim remove 0-3
sim add 0-3 vendor=0x4 device=0xa153 "$GPU_NAMES" uuid=$OTHER_UUID
expect "next plug of 0-3 after tb deny: ignored, stays unauthorized" 0-3 0 "decision=ignored"
replug_egpu
expect "next plug of 0-1: still authorized by the ID rule" 0-1 1 "decision=authorized"
sim remove 0-3

# --- --by name -------------------------------------------------------------------------------
fresh
plug_egpu
expect "fresh domain: 0-1 unauthorized" 0-1 0
ctl tb allow 0-1 --by name --no-persist
ok_if "tb allow 0-1 --by name: rule by vendor and device name" \
	eval '[ $rc -eq 0 ] && [ "$(live)" = "vendor_name=Blackmagic Design,device_name=eGPU Pro" ]'
expect "tb allow 0-1 --by name: 0-1 authorized" 0-1 1 "decision=authorized"

# --- --no-iommu-required ---------------------------------------------------------------------------
fresh iommu_dma_protection=0
plug_egpu
expect "domain without IOMMU protection, no rule: 0-1 unauthorized" 0-1 0
ctl tb allow 0-1 --no-persist
ok_if "tb allow 0-1 (IOMMU required by default): exit 0" is "$rc" 0
expect "IOMMU required, domain without protection: 0-1 stays unauthorized (denied, says IOMMU)" \
	0-1 0 "decision=denied.*[Ii][Oo][Mm][Mm][Uu]"
ctl tb allow 0-1 --no-iommu-required --no-persist
ok_if "tb allow 0-1 --no-iommu-required: replaces the rule (iommu=optional)" \
	eval '[ $rc -eq 0 ] && [ "$(live)" = "uuid=$GPU_UUID,iommu=optional" ]'
expect "tb allow --no-iommu-required: 0-1 authorized" 0-1 1 "decision=authorized"

# --- --chain ---------------------------------------------------------------------------------
fresh
sim preset chain
expect "preset chain: dock 0-1 unauthorized" 0-1 0
ctl tb allow 0-301 --no-persist
ok_if "tb allow 0-301 (no --chain): exit 0" is "$rc" 0
expect "without --chain: 0-301 waits for its parent (pending, names 0-1)" 0-301 0 "decision=pending.*\\(.*0-1([^0-9]|$)"
ok_if "without --chain: the dock 0-1 stays unauthorized" auth_is 0-1 0
ctl tb allow 0-301 --chain --no-persist
ok_if "tb allow 0-301 --chain: replaces the rule (chain=1)" \
	eval '[ $rc -eq 0 ] && has "$(live)" "^uuid=[0-9a-f-]+,chain=1\$"'
expect "tb allow --chain: the parent (dock 0-1) authorized too" 0-1 1
expect "tb allow --chain: 0-301 authorized" 0-301 1 "decision=authorized"
ok_if "tb allow --chain: 0-30301 (no rule) stays unauthorized" auth_is 0-30301 0

# --- --bind --------------------------------------------------------------------------------
fresh
plug_egpu
expect "fresh domain: 0-1 unauthorized" 0-1 0
ctl tb allow 0-1 --bind 1234:11e8 --no-persist
ok_if "tb allow 0-1 --bind 1234:11e8: rule with bind" \
	eval '[ $rc -eq 0 ] && [ "$(live)" = "uuid=$GPU_UUID,bind=1234:11e8" ]'
expect "tb allow --bind: 0-1 authorized" 0-1 1
if vm_wait $WAIT both_vfio; then
	vm_pass "tb allow --bind: both GPU functions ($F0, $F1) bound to vfio-pci"
else
	vm_fail "tb allow --bind: both GPU functions bound to vfio-pci" "drivers '$(drv $F0)' '$(drv $F1)'" \
		"$(cat "$TBSIM_RELAY_LOG")" "$(dmesg | grep -E 'egpu_gate|vfio' | tail -n 8)"
fi
if egpuctl tb list --tree 2>/dev/null | grep -q -- "-- pci $F0"; then
	vm_pass "tb list --tree shows the GPU functions below 0-1"
else
	vm_fail "tb list --tree shows the GPU functions below 0-1" "$(egpuctl tb list --tree 2>&1)"
fi

ctl doctor
ok_if "doctor with the module: exit 0..2, sees egpu_gate loaded" \
	eval '[ $rc -le 2 ] && has "$out" "egpu_gate .* loaded \\(API"'
vm_diag "$out"

# --- no module --------------------------------------------------------------------------
fresh
vm_wait $WAIT no_gpu
vm_check "rmmod egpu_gate" rmmod egpu_gate
mv $KO /tmp/egpu_gate.ko.hidden	# no load on demand (see tb-egpuctl.sh)
plug_egpu
vm_wait $WAIT test -e "$TB/0-1/authorized"
# shellcheck disable=SC2034 # used in the eval'd conditions
s0=$(sum $POLICY)
ctl tb allow 0-1 --root $ROOT --no-initramfs
ok_if "tb allow without the module: exit 3, policy.toml untouched" \
	eval '[ $rc -eq 3 ] && [ "$(sum $POLICY)" = "$s0" ]'
vm_diag "$err"
ctl tb deny 0-1 --root $ROOT --no-initramfs
ok_if "tb deny without the module: exit 3" is "$rc" 3
ctl tb rules
ok_if "tb rules without the module: exit 3" is "$rc" 3
ctl policy check $POLICY
ok_if "policy check without the module: exit 0" is "$rc" 0
ctl policy apply --no-initramfs --root /tmp/apply-nomod $POLICY
ok_if "policy apply without the module: exit 0, files written, says nothing is live" \
	eval '[ $rc -eq 0 ] && has "$out" "egpu_gate is not loaded: nothing applied live" && cmp -s $POLICY /tmp/apply-nomod/etc/egpu-gate/policy.toml && [ -s /tmp/apply-nomod/etc/modprobe.d/egpu-gate.conf ]'
mv /tmp/egpu_gate.ko.hidden $KO

sim reset
vm_wait $WAIT no_gpu
tbsim_relay_stop
rmmod tbsim 2>/dev/null
exit 0

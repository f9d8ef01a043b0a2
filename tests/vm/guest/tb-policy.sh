#!/bin/sh
# Thunderbolt policy scenarios (issue 4, requirements 1, 3, 6, 8) on tbsim:
# whitelist authorization on hot-plug, default deny, UUID vs. ID rules, the
# IOMMU requirement, daisy chains (blocking parent named; chain=1 parents
# first), boot with the device present in both load orders, contended
# domain lock, unplug during authorization, security level secure with and
# without a key, TB_AUTHORIZE, unprivileged callers refused.
#
# Needs (tests/vm/check-tb.sh): --ko egpu_gate.ko --ko tbsim.ko
#   --bin egpu_tb_tool --file tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh
#   --qemu-arg=-device --qemu-arg=pci-testdev
# Events are read from the kernel log ("egpu_gate: event TYPE tb=NAME ...",
# events.h) and, once, from the multicast group with egpu_tb_tool monitor.
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15		# s, bound of every wait
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
KO=/lib/modules/extra/egpu_gate.ko
PARAM=/sys/module/egpu_gate/parameters/tb_rules
TB=/sys/bus/thunderbolt/devices
GPU_UUID=c8030000-0070-740e-83ee-b3c0a7c33e1f		# tbsim preset egpu (0-1)
DOCK_UUID=3d000000-0011-2c36-80f1-6a05e4f1d291
STORAGE_UUID=8a000000-0001-4d52-9a3c-17b2f5a0c4e8	# preset chain: 0-30301
KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
OTHER_KEY=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100

egpu_load() { insmod "$KO" ${1:+tb_rules="$1"}; }
stays_unauth() { # DESC NAME
	settle "$2"
	if auth_is "$2" 0; then vm_pass "$1"; else vm_fail "$1" "$2 authorized=$(auth "$2")" "$(klog_show)"; fi
}
ctl() { out=$(tbsim_ctl "$@") || vm_fail "tbsim ctl $*" "$out"; }
fresh() { # RULES: empty domain, default settings, the rule set
	ctl reset
	rules "$1" >/dev/null || vm_fail "set rules '$1'" "$(klog_show 3)"
	klog_mark
}

# --- setup -------------------------------------------------------------------
vm_check "insmod tbsim" tbsim_load || exit 1
vm_check "insmod egpu_gate (tbsim already bound)" egpu_load || exit 1
if [ -w "$PARAM" ]; then vm_pass "tb_rules parameter present"; else vm_fail "tb_rules parameter present" "$PARAM"; exit 1; fi
f=$(cat /sys/module/egpu_gate/parameters/tb_rules)
[ -z "$f" ] && vm_pass "default rule set empty" || vm_fail "default rule set empty" "'$f'"
if egpu_tb_tool get | grep -q '^name=0-0 .*decision=8'; then
	vm_pass "TB_GET lists the host router (decision HOST)"
else
	vm_fail "TB_GET lists the host router" "$(egpu_tb_tool get 2>&1)"
fi

# --- 1. whitelisted hot-plug -------------------------------------------------
fresh "uuid=$GPU_UUID"
tbsim_relay_start
egpu_tb_tool monitor "$WAIT" 3 >/tmp/mon.log 2>&1 &
mon=$!
vm_wait 5 grep -q listening /tmp/mon.log
t0=$(vm_uptime)
ctl preset egpu
expect_auth "hot-plug, UUID whitelisted: 0-1 authorized" 0-1 1
vm_diag "device add -> authorized: $(vm_elapsed "$t0") s (shell-observed)"
wait_event "event tb_authorized tb=0-1 on the console" "event tb_authorized tb=0-1 uuid=$GPU_UUID rule=[0-9]+: authorized by rule"
reason_has "TB_GET: decision AUTHORIZED, by_egpu, rule" 0-1 "rule=[0-9]+ decision=4 by_egpu=1 .*reason=authorized by rule"
wait "$mon"
if grep -q "^event tb_authorized tb=0-1 rule=[0-9]*: authorized by rule" /tmp/mon.log; then
	vm_pass "event tb_authorized on the multicast group"
else
	vm_fail "event tb_authorized on the multicast group" "$(cat /tmp/mon.log)"
fi
if vm_wait "$WAIT" tbsim_relay_seen "^up 0-1 pcie"; then vm_pass "PCIe tunnel opened (relay)"; else vm_fail "PCIe tunnel opened (relay)" "$(cat "$TBSIM_RELAY_LOG")"; fi
ctl remove 0-1
wait_event "unplug: event tb_gone tb=0-1" "event tb_gone tb=0-1 "
vm_wait "$WAIT" tbsim_relay_seen "^down 0-1 unplug" || vm_diag "relay: $(cat "$TBSIM_RELAY_LOG")"
tbsim_relay_stop

# --- 2. default deny -------------------------------------------------------------
fresh ""
ctl preset egpu
stays_unauth "no rule: 0-1 stays unauthorized (default deny)" 0-1
wait_event "event tb_denied says no rule" "event tb_denied tb=0-1 .*no rule matches \\(default deny\\)"
reason_has "TB_GET: decision NO_RULE" 0-1 "decision=2 .*reason=no rule"

# --- 3. UUID rule, same vendor/device, other UUID ---------------------------------
fresh "uuid=$GPU_UUID"
ctl add 0-1 vendor=0x4 device=0xa153 "vendor_name='Blackmagic Design'" "device_name='eGPU Pro'" uuid=c8030000-0070-740e-83ee-000000000001
stays_unauth "UUID rule, other UUID with the same IDs: stays unauthorized" 0-1

# --- 4. IOMMU requirement ------------------------------------------------------------
fresh "id=0004:a153"
ctl domain iommu_dma_protection=0
ctl preset egpu
stays_unauth "ID rule, iommu_dma_protection=0: stays unauthorized" 0-1
wait_event "event tb_denied names the IOMMU requirement" "event tb_denied tb=0-1 .*iommu_dma_protection=0"
klog_mark
rules "id=0004:a153,iommu=optional"
expect_auth "ID rule with iommu=optional (rule change re-evaluates): authorized" 0-1 1

# --- 5. daisy chain ------------------------------------------------------------------
fresh "uuid=$STORAGE_UUID"
ctl preset chain
stays_unauth "chain, only the last whitelisted: 0-30301 stays unauthorized" 0-30301
if auth_is 0-1 0 && auth_is 0-301 0; then vm_pass "chain: parents left unauthorized"; else vm_fail "chain: parents left unauthorized" "0-1=$(auth 0-1) 0-301=$(auth 0-301)"; fi
wait_event "event tb_denied names the blocking parent" "event tb_denied tb=0-30301 .*parent 0-301 not authorized"
reason_has "TB_GET: decision PENDING, parent named" 0-30301 "decision=1 .*reason=.*parent 0-301"
klog_mark
rules "uuid=$STORAGE_UUID,chain=1"
expect_auth "chain=1: 0-30301 authorized" 0-30301 1
if auth_is 0-1 1 && auth_is 0-301 1; then vm_pass "chain=1: parents authorized"; else vm_fail "chain=1: parents authorized" "0-1=$(auth 0-1) 0-301=$(auth 0-301)"; fi
dmesg -c >>/tmp/klog
order=$(grep -oE "event tb_authorized tb=0-[0-9]+" /tmp/klog | sed 's/.*tb=//' | tr '\n' ' ')
if [ "$order" = "0-1 0-301 0-30301 " ]; then vm_pass "chain=1: parent before child ($order)"; else vm_fail "chain=1: parent before child" "order '$order'"; fi
reason_has "TB_GET: parent authorized by egpu-gate (torn down at shutdown)" 0-301 "decision=4 by_egpu=1 .*as a parent of 0-30301"

# --- 6. contended domain lock ------------------------------------------------------
fresh ""
ctl preset egpu
settle 0-1
klog_mark
ctl hold_lock ms=2500
t0=$(vm_uptime)
rules "uuid=$GPU_UUID"
expect_auth "contended domain lock: authorized after the release" 0-1 1
el=$(vm_elapsed "$t0")
restarts=$(tbsim_state | sed -n 's/.*restarts=\([0-9]*\).*/\1/p')
if [ "${restarts:-0}" -gt 0 ]; then vm_pass "the store restarted while the lock was held (restarts=$restarts, ${el} s)"; else vm_fail "the store restarted while the lock was held" "restarts=$restarts"; fi
wait_event "event reports the restarts" "event tb_authorized tb=0-1 .*\\([1-9][0-9]* restarts\\)"
if klog "stray pending-signal"; then vm_fail "no stray pending-signal flag" "$(klog_show)"; else vm_pass "no stray pending-signal flag"; fi
# beyond the bound (5 s): -ETIMEDOUT, then the retry (1 s later, still
# waiting for the lock until it is released at 8 s) authorizes it
fresh ""
ctl preset egpu
settle 0-1
klog_mark
ctl hold_lock ms=8000
rules "uuid=$GPU_UUID"
if vm_wait 20 klog "event error tb=0-1 .*error=-110: .*attempt 1 of 4.*next attempt in 1000 ms"; then vm_pass "lock held beyond the bound: -ETIMEDOUT reported, retry announced"; else vm_fail "lock held beyond the bound: -ETIMEDOUT reported, retry announced" "$(klog_show)"; fi
expect_auth "the retry authorizes it once the lock is free (no rule change)" 0-1 1
reason_has "TB_GET: AUTHORIZED, failures=1 auth_error=-110" 0-1 "decision=4 by_egpu=1 .*failures=1 auth_error=-110 "
ctl release_lock

# --- 7. unplug during authorization --------------------------------------------------
fresh ""
ctl preset egpu
settle 0-1
klog_mark
ctl hold_lock ms=2000
rules "uuid=$GPU_UUID"
sleep 1
ctl remove 0-1
if vm_wait "$WAIT" klog "event tb_gone tb=0-1 "; then vm_pass "unplug during authorization: tb_gone"; else vm_fail "unplug during authorization: tb_gone" "$(klog_show)"; fi
if egpu_tb_tool get | grep -q '^name=0-1 '; then vm_fail "unplug during authorization: record gone" "$(egpu_tb_tool get)"; else vm_pass "unplug during authorization: record gone"; fi
ctl preset egpu
expect_auth "the same device plugged again: authorized" 0-1 1

# --- 8. security level secure --------------------------------------------------------
fresh "uuid=$GPU_UUID"
ctl domain security=secure
ctl preset egpu
stays_unauth "secure without a key: stays unauthorized" 0-1
wait_event "event tb_denied says no key" "event tb_denied tb=0-1 .*no key stored"
klog_mark
vm_check "TB_KEY_SET stores a key" egpu_tb_tool key "$GPU_UUID" "$KEY"
expect_auth "secure, new device: key enrolled, authorized 1" 0-1 1
wait_event "event says the key was enrolled" "event tb_authorized tb=0-1 .*key enrolled"
ctl remove 0-1
klog_mark
ctl add 0-1 vendor=0x4 device=0xa153 uuid="$GPU_UUID" secure=1 devkey="$KEY"
expect_auth "secure, device holding the key: authorized 2 (challenge)" 0-1 2
ctl remove 0-1
klog_mark
ctl add 0-1 vendor=0x4 device=0xa153 uuid="$GPU_UUID" secure=1 devkey="$OTHER_KEY"
stays_unauth "secure, device holding another key: stays unauthorized" 0-1
wait_event "event says the key was rejected" "event error tb=0-1 .*rejected the stored key"
vm_check "TB_KEY_SET with an empty key deletes it" egpu_tb_tool key "$GPU_UUID" ""
rc=0; egpu_tb_tool key "$GPU_UUID" 0123 2>/dev/null || rc=$?
[ "$rc" = 22 ] && vm_pass "TB_KEY_SET: malformed key refused (EINVAL)" || vm_fail "TB_KEY_SET: malformed key refused" "exit $rc"

# --- 9. security levels without per-device authorization -------------------------------
fresh "uuid=$GPU_UUID"
ctl domain security=dponly
ctl preset egpu
settle 0-1
reason_has "dponly: reported, nothing done" 0-1 "decision=6 .*security level 'dponly'"

# --- 10. TB_AUTHORIZE ------------------------------------------------------------------
fresh ""
ctl preset egpu
settle 0-1
vm_check "TB_AUTHORIZE 0-1 (no rule needed)" egpu_tb_tool authorize 0-1
expect_auth "TB_AUTHORIZE: authorized" 0-1 1
reason_has "TB_AUTHORIZE: by_egpu, reason" 0-1 "decision=4 by_egpu=1 .*administrator"
vm_check "TB_AUTHORIZE again: success" egpu_tb_tool authorize 0-1
rc=0; egpu_tb_tool authorize 0-9 2>/dev/null || rc=$?
[ "$rc" = 19 ] && vm_pass "TB_AUTHORIZE unknown device: ENODEV" || vm_fail "TB_AUTHORIZE unknown device: ENODEV" "exit $rc"

# --- 11. unprivileged callers ----------------------------------------------------------
for c in "get" "authorize 0-1" "key $GPU_UUID $KEY" "monitor 1"; do
	rc=0
	# shellcheck disable=SC2086
	egpu_tb_tool -u 65534 $c >/dev/null 2>&1 || rc=$?
	[ "$rc" = 1 ] && vm_pass "nobody: $c refused (EPERM)" || vm_fail "nobody: $c refused (EPERM)" "exit $rc"
done

# --- 12. boot with the device present, both load orders -------------------------------
ctl reset
rules "" >/dev/null
vm_check "rmmod egpu_gate" rmmod egpu_gate
vm_check "rmmod tbsim" rmmod tbsim
klog_mark
# egpu_gate after tbsim: the device authorized by the boot firmware is adopted
vm_check "insmod tbsim preset=egpu-boot" tbsim_load preset=egpu-boot
vm_check "insmod egpu_gate after tbsim, rule given" egpu_load "uuid=$GPU_UUID"
wait_event "boot, loaded after: found authorized, adopted" "event tb_matched tb=0-1 .*adopted by rule"
reason_has "TB_GET: ALREADY, by_egpu" 0-1 "decision=5 by_egpu=1 "
# thunderbolt driver unloads first: we detach cleanly
vm_check "rmmod tbsim while egpu_gate is attached" rmmod tbsim
wait_event "detached when the NHI driver unbound" "detached from thunderbolt NHI"
# egpu_gate before tbsim: attach when the NHI driver binds
klog_mark
vm_check "insmod tbsim preset=egpu-boot after egpu_gate" tbsim_load preset=egpu-boot
wait_event "attached when the NHI driver bound" "attached to thunderbolt NHI"
wait_event "boot, loaded before: adopted" "event tb_matched tb=0-1 .*adopted by rule"
vm_check "rmmod tbsim" rmmod tbsim
klog_mark
vm_check "insmod tbsim preset=egpu after egpu_gate (hot-plug at probe)" tbsim_load preset=egpu
expect_auth "loaded before the driver: authorized at its first add" 0-1 1
vm_check "rmmod egpu_gate while tbsim is bound" rmmod egpu_gate
vm_check "rmmod tbsim afterwards" rmmod tbsim

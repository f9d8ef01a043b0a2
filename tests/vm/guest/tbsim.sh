#!/bin/sh
# tbsim proof (issue 4 test bed): the simulated Thunderbolt domain looks
# like drivers/thunderbolt from sysfs, and its PCIe tunnel events, relayed
# to the host over QMP, make the stand-in GPU (QEMU edu 1234:11e8, two
# functions) appear and disappear on root port rp1.
#
# Needs: vm.py --ko tests/kmod/tbsim/tbsim.ko
#        --file tests/vm/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh
#        --qemu-arg=-device --qemu-arg=pci-testdev   (the fake NHI)
# A second pci-testdev adds domain1 checks (switch 1-1, the runbook's name).
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15		# s, bound of every wait for the PCI side
# slower kernels (the KASAN/lockdep debug kernel) get more: check.sh puts
# WAIT=N into /etc/tbsim-test.conf
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
UEV_LOG=/tmp/tbsim-uevents.log
TB=/sys/bus/thunderbolt/devices

# check_attr DESC FILE EREGEX: the attribute's content matches EREGEX
check_attr() {
	if [ ! -e "$2" ]; then
		vm_fail "$1" "$2 missing"
	elif v=$(cat "$2" 2>&1) && echo "$v" | grep -qE "$3"; then
		vm_pass "$1"
	else
		vm_fail "$1" "$2 = '$v', expected /$3/"
	fi
}
absent_attr() {
	if [ -e "$2" ]; then vm_fail "$1" "$2 exists"; else vm_pass "$1"; fi
}
# expect_err DESC ERRNO-TEXT FILE VALUE: the write fails with that errno
expect_err() {
	if out=$(tbsim_write "$3" "$4"); then
		vm_fail "$1" "write of '$4' to $3 succeeded"
	elif [ "$out" = "$2" ]; then
		vm_pass "$1"
	else
		vm_fail "$1" "error '$out', expected '$2'"
	fi
}
expect_ok() {
	if out=$(tbsim_write "$2" "$3"); then
		vm_pass "$1"
	else
		vm_fail "$1" "write of '$3' to $2: $out"
	fi
}
ctl() {
	out=$(tbsim_ctl "$@") || { vm_fail "ctl $*" "$out" "$(dmesg | grep tbsim | tail -n 5)"; return 1; }
}
gpu_count() { vm_pci_find 1234 11e8 2>/dev/null | wc -l; }
gpu_two() { [ "$(gpu_count)" -eq 2 ]; }
gpu_none() { [ "$(gpu_count)" -eq 0 ]; }
uev_seen() { grep -qE "$1" "$UEV_LOG" 2>/dev/null; }
relay_diag() { vm_diag "relay log:" "$(cat "$TBSIM_RELAY_LOG" 2>/dev/null)"; }

# --- the fake NHI and the module ---------------------------------------
nhi=$(vm_pci_find 1b36 0005 | head -n1)
if [ -z "$nhi" ]; then
	vm_fail "fake NHI (pci-testdev 1b36:0005) present" "run vm.py with --qemu-arg=-device --qemu-arg=pci-testdev"
	exit 1
fi
vm_pass "fake NHI pci-testdev at $nhi"
vm_check "insmod tbsim.ko" tbsim_load || exit 1

# uevents: busybox's netlink listener runs a logger per event
cat >/tmp/uev.sh <<'EOF'
#!/bin/sh
echo "$ACTION ${DEVPATH##*/} AUTHORIZED=${AUTHORIZED:--} USB4_TYPE=${USB4_TYPE:--}" >>/tmp/tbsim-uevents.log
EOF
chmod +x /tmp/uev.sh
: >"$UEV_LOG"
uevent /tmp/uev.sh </dev/null >/dev/null 2>&1 &
uev_pid=$!

drv=$(basename "$(readlink -f "/sys/bus/pci/devices/$nhi/driver")")
if [ "$drv" = thunderbolt ]; then
	vm_pass "$nhi is bound to the PCI driver named thunderbolt"
else
	vm_fail "$nhi is bound to the PCI driver named thunderbolt" "driver: $drv"
fi

# --- domain0 ------------------------------------------------------------
dom=$(readlink -f "$TB/domain0")
case "$dom" in
*/"$nhi"/domain0) vm_pass "domain0 is a child of the NHI ($dom)" ;;
*) vm_fail "domain0 is a child of the NHI" "$dom" ;;
esac
check_attr "domain0/security is one of the six levels" "$TB/domain0/security" '^(none|user|secure|dponly|usbonly|nopcie)$'
check_attr "domain0/security defaults to user" "$TB/domain0/security" '^user$'
check_attr "domain0/iommu_dma_protection is 0 or 1" "$TB/domain0/iommu_dma_protection" '^[01]$'
check_attr "domain0/deauthorization is 1" "$TB/domain0/deauthorization" '^1$'
check_attr "domain0/boot_acl holds 16 empty entries" "$TB/domain0/boot_acl" '^,{15}$'
acl="d2010000-0082-8d08-23a9-4b7d3e16e0a1,,,,,,,,,,,,,,,"
expect_ok "boot_acl accepts one UUID and 15 empty entries" "$TB/domain0/boot_acl" "$acl"
check_attr "boot_acl reads back" "$TB/domain0/boot_acl" "^$acl\$"
expect_err "boot_acl with too few entries is EINVAL" "Invalid argument" "$TB/domain0/boot_acl" ",,,"
expect_err "domain0/security is read-only" "Permission denied" "$TB/domain0/security" none

# --- the host router 0-0 -------------------------------------------------
case "$(readlink -f "$TB/0-0")" in
"$dom/0-0") vm_pass "0-0 (host router) is a child of domain0" ;;
*) vm_fail "0-0 (host router) is a child of domain0" "$(readlink -f "$TB/0-0")" ;;
esac
check_attr "0-0/authorized is 1" "$TB/0-0/authorized" '^1$'
check_attr "0-0/unique_id is a UUID" "$TB/0-0/unique_id" "$UUID_RE"
check_attr "0-0/vendor is hex" "$TB/0-0/vendor" '^0x[0-9a-f]+$'
check_attr "0-0/generation" "$TB/0-0/generation" '^[1-4]$'
absent_attr "0-0 has no boot attribute" "$TB/0-0/boot"
absent_attr "0-0 has no rx_speed attribute" "$TB/0-0/rx_speed"
check_attr "0-0/uevent: DEVTYPE thunderbolt_device, USB4_TYPE host" "$TB/0-0/uevent" 'USB4_TYPE=host'
grep -q '^DEVTYPE=thunderbolt_device$' "$TB/0-0/uevent" && vm_pass "0-0 DEVTYPE=thunderbolt_device" ||
	vm_fail "0-0 DEVTYPE=thunderbolt_device" "$(cat "$TB/0-0/uevent")"
expect_err "writing 0 to the host router is EINVAL" "Invalid argument" "$TB/0-0/authorized" 0

# --- the runbook's eGPU: Blackmagic eGPU Pro behind the host router ------
ctl preset egpu && vm_pass "preset egpu"
E=$TB/0-1
case "$(readlink -f "$E")" in
"$dom/0-0/0-1") vm_pass "0-1 is a child of 0-0" ;;
*) vm_fail "0-1 is a child of 0-0" "$(readlink -f "$E")" ;;
esac
check_attr "0-1/vendor 0x4" "$E/vendor" '^0x4$'
check_attr "0-1/device 0xa153" "$E/device" '^0xa153$'
check_attr "0-1/vendor_name" "$E/vendor_name" '^Blackmagic Design$'
check_attr "0-1/device_name" "$E/device_name" '^eGPU Pro$'
check_attr "0-1/unique_id is a UUID" "$E/unique_id" "$UUID_RE"
check_attr "0-1/generation 3" "$E/generation" '^3$'
check_attr "0-1/boot 0" "$E/boot" '^0$'
check_attr "0-1/rx_speed" "$E/rx_speed" '^[0-9]+\.0 Gb/s$'
check_attr "0-1/tx_lanes" "$E/tx_lanes" '^[12]$'
check_attr "0-1/authorized 0 on arrival (security user)" "$E/authorized" '^0$'
absent_attr "0-1 has no key attribute at security user" "$E/key"
vm_wait 5 uev_seen '^add 0-1 ' && vm_pass "uevent add 0-1" || vm_fail "uevent add 0-1" "$(cat "$UEV_LOG")"

tbsim_relay_start
if gpu_none; then vm_pass "no 1234:11e8 before authorization"; else
	vm_fail "no 1234:11e8 before authorization" "$(vm_pci_find 1234 11e8)"; fi

t0=$(vm_uptime)
expect_ok "authorize 0-1 (0 -> 1)" "$E/authorized" 1
check_attr "0-1/authorized reads 1" "$E/authorized" '^1$'
vm_wait 5 uev_seen '^change 0-1 AUTHORIZED=1 ' && vm_pass "uevent change 0-1 AUTHORIZED=1" ||
	vm_fail "uevent change 0-1 AUTHORIZED=1" "$(cat "$UEV_LOG")"
if vm_wait $WAIT gpu_two; then
	vm_pass "tunnel up relayed: two 1234:11e8 functions after $(vm_elapsed "$t0") s ($(vm_pci_find 1234 11e8 | tr '\n' ' '))"
else
	vm_fail "tunnel up relayed: two 1234:11e8 functions within $WAIT s" "$(vm_pci_find 1234 11e8)"
	relay_diag
fi
dmesg | grep -q 'tbsim: tunnel up 0-1 pcie' && vm_pass "console: tbsim: tunnel up 0-1 pcie" ||
	vm_fail "console: tbsim: tunnel up 0-1 pcie" "$(dmesg | grep tbsim | tail -n 5)"
expect_err "authorize 0-1 again (1 -> 1) is EINVAL" "Invalid argument" "$E/authorized" 1
expect_err "authorized 3 is EINVAL" "Invalid argument" "$E/authorized" 3
expect_err "authorized 'yes' is EINVAL" "Invalid argument" "$E/authorized" yes

# de-authorization not supported by the connection manager: EPERM
ctl domain deauthorization=0
check_attr "deauthorization=0 shows 0" "$TB/domain0/deauthorization" '^0$'
expect_err "de-authorize without deauthorization support is EPERM" "Operation not permitted" "$E/authorized" 0
ctl domain deauthorization=1
check_attr "deauthorization=1 shows 1" "$TB/domain0/deauthorization" '^1$'

t0=$(vm_uptime)
expect_ok "de-authorize 0-1 (1 -> 0) with deauthorization=1" "$E/authorized" 0
check_attr "0-1/authorized reads 0" "$E/authorized" '^0$'
vm_wait 5 uev_seen '^change 0-1 AUTHORIZED=0 ' && vm_pass "uevent change 0-1 AUTHORIZED=0" ||
	vm_fail "uevent change 0-1 AUTHORIZED=0" "$(cat "$UEV_LOG")"
if vm_wait $WAIT gpu_none; then
	vm_pass "tunnel down relayed: 1234:11e8 gone after $(vm_elapsed "$t0") s"
else
	vm_fail "tunnel down relayed: 1234:11e8 gone within $WAIT s" "$(vm_pci_find 1234 11e8)"
	relay_diag
fi
dmesg | grep -q 'tbsim: tunnel down 0-1$' && vm_pass "console: tbsim: tunnel down 0-1" ||
	vm_fail "console: tbsim: tunnel down 0-1" "$(dmesg | grep tbsim | tail -n 5)"
expect_err "de-authorize 0-1 again (0 -> 0) is EINVAL" "Invalid argument" "$E/authorized" 0

# --- contended domain lock: restart_syscall(), the writer retries --------
# Deterministic on any speed: the lock is held until the test releases it.
restarts() { tbsim_state | sed -n 's/^restarts=\([0-9]*\).*/\1/p'; }
restarted() { [ "$(restarts)" -gt "$r0" ]; }
r0=$(restarts)
ctl hold_lock ms=60000
rm -f /tmp/contended.rc
( tbsim_write "$E/authorized" 1 >/tmp/contended.out; echo $? >/tmp/contended.rc ) &
wpid=$!
if vm_wait $WAIT restarted; then
	vm_pass "the write to authorized is restarted while the domain lock is held (restart_syscall)"
else
	vm_fail "the write to authorized is restarted while the domain lock is held" "restarts $r0 -> $(restarts)"
fi
usleep 300000
if [ ! -e /tmp/contended.rc ]; then
	vm_pass "the writer keeps retrying ($(( $(restarts) - r0 )) restarts so far)"
else
	vm_fail "the writer keeps retrying while the lock is held" "returned $(cat /tmp/contended.rc): $(cat /tmp/contended.out)"
fi
t0=$(vm_uptime)
ctl release_lock
if vm_wait $WAIT test -e /tmp/contended.rc && [ "$(cat /tmp/contended.rc)" = 0 ]; then
	vm_pass "the write succeeds once the lock is released ($(vm_elapsed "$t0") s after)"
else
	vm_fail "the write succeeds once the lock is released" "rc $(cat /tmp/contended.rc 2>/dev/null): $(cat /tmp/contended.out 2>/dev/null)"
fi
wait $wpid
check_attr "0-1/authorized 1 after the contended write" "$E/authorized" '^1$'
vm_wait $WAIT gpu_two && vm_pass "GPU back after the contended authorization" ||
	{ vm_fail "GPU back after the contended authorization" "$(vm_pci_find 1234 11e8)"; relay_diag; }

# --- hanging de-authorization (bounded) -----------------------------------
ctl set 0-1 deauth_delay_ms=1500
t0=$(vm_uptime)
expect_ok "de-authorize 0-1 with a 1.5 s hang" "$E/authorized" 0
dt=$(vm_elapsed "$t0")
if awk -v d="$dt" -v w="$WAIT" 'BEGIN { exit !(d >= 1.4 && d < w) }'; then
	vm_pass "de-authorization hung $dt s, then completed"
else
	vm_fail "de-authorization hung about 1.5 s" "took $dt s"
fi
ctl set 0-1 deauth_delay_ms=0
vm_wait $WAIT gpu_none && vm_pass "GPU gone after the slow de-authorization" ||
	{ vm_fail "GPU gone after the slow de-authorization" "$(vm_pci_find 1234 11e8)"; relay_diag; }

# --- injected approval errors (set D-R auth_fail=N auth_errno=E) -------------
ctl set 0-1 auth_fail=2 auth_errno=1
expect_err "injected approval error 1 of 2 (EPERM)" "Operation not permitted" "$E/authorized" 1
expect_err "injected approval error 2 of 2 (EPERM)" "Operation not permitted" "$E/authorized" 1
check_attr "0-1 still unauthorized after the injected errors" "$E/authorized" '^0$'
if tbsim_state | grep -qE '^0-1 .* auth_failed=2 auth_fail=0$'; then
	vm_pass "the dump counts the injected failures"
else
	vm_fail "the dump counts the injected failures" "$(tbsim_state)"
fi
if tbsim_ctl set 0-1 auth_fail=1001 >/dev/null; then vm_fail "auth_fail above 1000 refused" "accepted"; else vm_pass "auth_fail above 1000 refused"; fi
expect_ok "the next approval succeeds" "$E/authorized" 1
vm_wait $WAIT gpu_two || { vm_fail "GPU back after the injected errors" "$(vm_pci_find 1234 11e8)"; relay_diag; }
expect_ok "de-authorize 0-1 again" "$E/authorized" 0
vm_wait $WAIT gpu_none || { vm_fail "GPU gone again" "$(vm_pci_find 1234 11e8)"; relay_diag; }

# --- racing writers on a contended lock: exactly one wins -------------------
ctl hold_lock ms=1000
pids=
for i in 1 2 3 4; do
	( if out=$(tbsim_write "$E/authorized" 1); then echo ok; else echo "$out"; fi ) >/tmp/race.$i 2>&1 &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
wins=$(cat /tmp/race.[1-4] | grep -c '^ok$')
einval=$(cat /tmp/race.[1-4] | grep -c '^Invalid argument$')
if [ "$wins" -eq 1 ] && [ "$einval" -eq 3 ]; then
	vm_pass "4 racing writers of 1: one succeeds, three get EINVAL"
else
	vm_fail "4 racing writers of 1: one succeeds, three get EINVAL" "$(cat /tmp/race.[1-4])"
fi
vm_wait $WAIT gpu_two && vm_pass "GPU up after the race" ||
	{ vm_fail "GPU up after the race" "$(vm_pci_find 1234 11e8)"; relay_diag; }
expect_ok "de-authorize 0-1" "$E/authorized" 0
vm_wait $WAIT gpu_none && vm_pass "GPU gone" || { vm_fail "GPU gone" "$(vm_pci_find 1234 11e8)"; relay_diag; }

# --- daisy chain of three: order, subtree de-authorization, unplug --------
ctl reset && vm_pass "reset"
[ -e "$E" ] && vm_fail "reset unplugs 0-1" || vm_pass "reset unplugs 0-1"
ctl preset chain && vm_pass "preset chain (0-1 dock, 0-301 eGPU Pro, 0-30301 storage)"
case "$(readlink -f "$TB/0-30301")" in
"$dom/0-0/0-1/0-301/0-30301") vm_pass "0-30301 sits below 0-1/0-301" ;;
*) vm_fail "0-30301 sits below 0-1/0-301" "$(readlink -f "$TB/0-30301")" ;;
esac
check_attr "0-1 (dock with a device behind) uevent USB4_TYPE=hub" "$TB/0-1/uevent" '^USB4_TYPE=hub$'
check_attr "0-30301 (end of chain) uevent USB4_TYPE=device" "$TB/0-30301/uevent" '^USB4_TYPE=device$'
expect_err "child before parent: 0-301 with 0-1 unauthorized is EINVAL" "Invalid argument" "$TB/0-301/authorized" 1
check_attr "0-301 still unauthorized" "$TB/0-301/authorized" '^0$'
expect_ok "authorize 0-1" "$TB/0-1/authorized" 1
expect_ok "authorize 0-301 (the eGPU)" "$TB/0-301/authorized" 1
expect_ok "authorize 0-30301" "$TB/0-30301/authorized" 1
vm_wait $WAIT gpu_two && vm_pass "GPU up behind the chain" ||
	{ vm_fail "GPU up behind the chain" "$(vm_pci_find 1234 11e8)"; relay_diag; }
: >"$UEV_LOG.before"
cp "$UEV_LOG" "$UEV_LOG.before"
expect_ok "de-authorize 0-1 (the head of the chain)" "$TB/0-1/authorized" 0
all0=yes
for s in 0-1 0-301 0-30301; do [ "$(cat "$TB/$s/authorized")" = 0 ] || all0="$s is $(cat "$TB/$s/authorized")"; done
[ "$all0" = yes ] && vm_pass "the whole chain is de-authorized" || vm_fail "the whole chain is de-authorized" "$all0"
if vm_wait 5 uev_seen '^change 0-1 AUTHORIZED=0'; then
	order=$(grep -E '^change 0-(1|301|30301) AUTHORIZED=0' "$UEV_LOG" | tail -n 3 | cut -d' ' -f2 | tr '\n' ' ')
	[ "$order" = "0-30301 0-301 0-1 " ] && vm_pass "AUTHORIZED=0 uevents children first: $order" ||
		vm_fail "AUTHORIZED=0 uevents children first" "order: $order"
else
	vm_fail "AUTHORIZED=0 uevents for the chain" "$(cat "$UEV_LOG")"
fi
vm_wait $WAIT gpu_none && vm_pass "GPU gone with the chain" ||
	{ vm_fail "GPU gone with the chain" "$(vm_pci_find 1234 11e8)"; relay_diag; }

for s in 0-1 0-301 0-30301; do tbsim_write "$TB/$s/authorized" 1 >/dev/null; done
vm_wait $WAIT gpu_two && vm_pass "chain authorized again, GPU up" ||
	{ vm_fail "chain authorized again, GPU up" "$(vm_pci_find 1234 11e8)"; relay_diag; }
t0=$(vm_uptime)
ctl remove 0-301 && vm_pass "unplug 0-301"
if [ ! -e "$TB/0-301" ] && [ ! -e "$TB/0-30301" ] && [ -e "$TB/0-1" ]; then
	vm_pass "unplug removes 0-301 and its subtree 0-30301, 0-1 stays"
else
	vm_fail "unplug removes the subtree" "$(ls "$TB")"
fi
vm_wait 5 uev_seen '^remove 0-30301 ' && vm_wait 5 uev_seen '^remove 0-301 ' &&
	vm_pass "uevents remove 0-30301, 0-301" || vm_fail "uevents remove 0-30301, 0-301" "$(cat "$UEV_LOG")"
vm_wait $WAIT gpu_none && vm_pass "unplug relayed: GPU gone after $(vm_elapsed "$t0") s" ||
	{ vm_fail "unplug relayed: GPU gone" "$(vm_pci_find 1234 11e8)"; relay_diag; }
vm_wait 5 tbsim_relay_seen '^down 0-30301 unplug tag=storage' && vm_wait 5 tbsim_relay_seen '^down 0-301 unplug tag=gpu' &&
	vm_pass "tunnel events: down 0-30301 unplug, down 0-301 unplug" || { vm_fail "tunnel events for the unplug"; relay_diag; }

# --- security levels ------------------------------------------------------
ctl reset
ctl domain security=secure
check_attr "security secure" "$TB/domain0/security" '^secure$'
# tag=sec: no stand-in GPU for this one (no quick plug/unplug churn over QMP)
ctl add 0-1 vendor=0x4 device=0xa153 "vendor_name='Blackmagic Design'" "device_name='eGPU Pro'" tag=sec
K=$TB/0-1/key
check_attr "key attribute exists at security secure, reads empty" "$K" '^$'
key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
other=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
expect_err "authorize 2 without a key is EINVAL" "Invalid argument" "$TB/0-1/authorized" 2
expect_err "key of 31 bytes is EINVAL" "Invalid argument" "$K" "${key%??}"
expect_ok "write a 32-byte key" "$K" "$key"
check_attr "key reads back as 64 hex digits" "$K" "^$key\$"
expect_err "challenge (2) before the device has the key is ENOKEY" "Required key not available" "$TB/0-1/authorized" 2
expect_ok "authorize 1 with a key (key added to the device)" "$TB/0-1/authorized" 1
expect_err "key write while authorized is EBUSY" "Device or resource busy" "$K" "$other"
expect_ok "de-authorize" "$TB/0-1/authorized" 0
expect_ok "challenge (2) with the right key" "$TB/0-1/authorized" 2
check_attr "authorized reads 2" "$TB/0-1/authorized" '^2$'
expect_ok "de-authorize" "$TB/0-1/authorized" 0
expect_ok "change the key" "$K" "$other"
expect_err "challenge with a different key is EKEYREJECTED" "Key was rejected by service" "$TB/0-1/authorized" 2
expect_ok "clear the key (newline)" "$K" ""
check_attr "key reads empty after clearing" "$K" '^$'

ctl reset
ctl domain security=none
ctl preset egpu
check_attr "security none: 0-1 arrives authorized" "$TB/0-1/authorized" '^1$'
vm_wait $WAIT gpu_two && vm_pass "security none: tunnel up on arrival, GPU present" ||
	{ vm_fail "security none: GPU present" "$(vm_pci_find 1234 11e8)"; relay_diag; }
check_attr "security none: deauthorization shows 0" "$TB/domain0/deauthorization" '^0$'
ctl remove 0-1
vm_wait $WAIT gpu_none && vm_pass "security none: unplug removes the GPU" ||
	{ vm_fail "security none: unplug removes the GPU" "$(vm_pci_find 1234 11e8)"; relay_diag; }
ctl domain security=user
ctl preset egpu-boot
check_attr "egpu-boot: 0-1 boot 1" "$TB/0-1/boot" '^1$'
check_attr "egpu-boot: 0-1 authorized 1" "$TB/0-1/authorized" '^1$'
vm_wait $WAIT gpu_two && vm_pass "egpu-boot: tunnel up on arrival, GPU present" ||
	{ vm_fail "egpu-boot: GPU present" "$(vm_pci_find 1234 11e8)"; relay_diag; }
expect_ok "egpu-boot: de-authorize (the runbook's pre-shutdown step)" "$TB/0-1/authorized" 0
vm_wait $WAIT gpu_none && vm_pass "egpu-boot: de-authorization removes the GPU" ||
	{ vm_fail "egpu-boot: de-authorization removes the GPU" "$(vm_pci_find 1234 11e8)"; relay_diag; }
ctl remove 0-1
for lvl in dponly nopcie; do
	ctl domain security=$lvl
	absent_attr "security $lvl: no authorized attribute" "$TB/0-0/authorized"
done
ctl domain security=user
check_attr "security user: authorized attribute back" "$TB/0-0/authorized" '^1$'

# --- permissions: only root authorizes -------------------------------------
ctl preset egpu
if out=$(vm_run_as nobody "echo 1 > $TB/0-1/authorized" 2>&1); then
	vm_fail "unprivileged authorize is refused" "succeeded: $out"
else
	case "$out" in
	*"Permission denied"*) vm_pass "unprivileged authorize is refused (Permission denied)" ;;
	*) vm_fail "unprivileged authorize is refused with Permission denied" "$out" ;;
	esac
fi
check_attr "unprivileged: 0-1 still unauthorized" "$TB/0-1/authorized" '^0$'
perm=$(stat -c %a "$TB/0-1/authorized" 2>/dev/null)
[ "$perm" = 644 ] && vm_pass "authorized mode 0644" || vm_fail "authorized mode 0644" "mode $perm"

# --- NHI unbind with a tunnel up and the lock held, rebind ------------------
expect_ok "authorize 0-1" "$TB/0-1/authorized" 1
vm_wait $WAIT gpu_two && vm_pass "GPU up before the NHI unbind" ||
	{ vm_fail "GPU up before the NHI unbind" "$(vm_pci_find 1234 11e8)"; relay_diag; }
ctl hold_lock ms=60000
t0=$(vm_uptime)
expect_ok "unbind the NHI from thunderbolt while the domain lock is held" /sys/bus/pci/drivers/thunderbolt/unbind "$nhi"
dt=$(vm_elapsed "$t0")
if awk -v d="$dt" -v w="$WAIT" 'BEGIN { exit !(d < w && d < 30) }'; then
	vm_pass "unbind ends the held lock early ($dt s, not 60 s)"
else
	vm_fail "unbind ends the held lock early" "took $dt s"
fi
[ ! -e "$TB/domain0" ] && [ ! -e "$TB/0-0" ] && [ ! -e "$TB/0-1" ] &&
	vm_pass "unbind removes domain0, 0-0, 0-1" || vm_fail "unbind removes domain0, 0-0, 0-1" "$(ls "$TB")"
vm_wait $WAIT gpu_none && vm_pass "unbind: tunnel down relayed, GPU gone" ||
	{ vm_fail "unbind: tunnel down relayed, GPU gone" "$(vm_pci_find 1234 11e8)"; relay_diag; }
expect_ok "bind the NHI again" /sys/bus/pci/drivers/thunderbolt/bind "$nhi"
[ -e "$TB/domain0" ] && [ -e "$TB/0-0" ] && [ ! -e "$TB/0-1" ] &&
	vm_pass "rebind: a fresh domain0 with only the host router" || vm_fail "rebind: a fresh domain0" "$(ls "$TB")"

# --- a second NHI: domain1 and the runbook's name 1-1 ----------------------
nhi2=$(vm_pci_find 1b36 0005 | sed -n 2p)
if [ -z "$nhi2" ]; then
	vm_skip "second domain" "one pci-testdev only (add a second -device pci-testdev)"
else
	case "$(readlink -f "$TB/domain1")" in
	*/"$nhi2"/domain1) vm_pass "domain1 is a child of the second NHI $nhi2" ;;
	*) vm_fail "domain1 is a child of the second NHI $nhi2" "$(readlink -f "$TB/domain1")" ;;
	esac
	ctl preset egpu domain=1
	case "$(readlink -f "$TB/1-1")" in
	*/"$nhi2"/domain1/1-0/1-1) vm_pass "1-1 (the runbook's name) sits below domain1/1-0" ;;
	*) vm_fail "1-1 sits below domain1/1-0" "$(readlink -f "$TB/1-1")" ;;
	esac
	expect_ok "authorize 1-1" "$TB/1-1/authorized" 1
	vm_wait $WAIT gpu_two && vm_pass "1-1: GPU up" || { vm_fail "1-1: GPU up" "$(vm_pci_find 1234 11e8)"; relay_diag; }
	[ ! -e "$TB/0-1" ] && vm_pass "domain0 unaffected (no 0-1)" || vm_fail "domain0 unaffected (no 0-1)" "$(ls "$TB")"
	expect_ok "de-authorize 1-1" "$TB/1-1/authorized" 0
	vm_wait $WAIT gpu_none && vm_pass "1-1: GPU gone" || { vm_fail "1-1: GPU gone" "$(vm_pci_find 1234 11e8)"; relay_diag; }
fi

# --- events file: bounded wait --------------------------------------------
tbsim_relay_stop
ctl clear_events
t0=$(vm_uptime)
ev=$(cat "$TBSIM_EVENTS")
dt=$(vm_elapsed "$t0")
if [ -z "$ev" ] && awk -v d="$dt" -v w="$WAIT" 'BEGIN { exit !(d >= 0.4 && d < w) }'; then
	vm_pass "events read without an event ends after event_timeout_ms ($dt s)"
else
	vm_fail "events read without an event ends after event_timeout_ms" "'$ev' after $dt s"
fi
vm_diag "relay log:" "$(cat "$TBSIM_RELAY_LOG")"

# --- unload ----------------------------------------------------------------
kill "$uev_pid" 2>/dev/null
wait "$uev_pid" 2>/dev/null
vm_check "rmmod tbsim" rmmod tbsim
[ ! -e /sys/bus/thunderbolt ] && [ ! -e /sys/bus/pci/drivers/thunderbolt ] &&
	vm_pass "bus and driver gone after rmmod" || vm_fail "bus and driver gone after rmmod" "$(ls /sys/bus)"
exit 0

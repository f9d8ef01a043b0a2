#!/bin/sh
# The runbook's shell workflow (seeds/000 §3, §5) on tbsim: the baseline
# egpu-gate replaces. Boot-auth loop (authorize "eGPU Pro" switches found
# unauthorized), the udev rule's hot-plug attach (authorize on "add" of a
# Blackmagic Design switch), the pre-shutdown detach (de-authorize) with a
# hanging de-authorization. The stand-in GPU (edu 1234:11e8, two
# functions) follows the tunnel through the relay of tbsim-lib.sh.
#
# Needs the same vm.py arguments as tbsim.sh (tbsim.ko, tbsim-lib.sh,
# --qemu-arg=-device --qemu-arg=pci-testdev).
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf	# slower kernels: WAIT=N
TB=/sys/bus/thunderbolt/devices
LOG=/tmp/egpu-attach.log
gpu_count() { vm_pci_find 1234 11e8 2>/dev/null | wc -l; }
gpu_two() { [ "$(gpu_count)" -eq 2 ]; }
gpu_none() { [ "$(gpu_count)" -eq 0 ]; }

if ! vm_pci_find 1b36 0005 >/dev/null; then
	vm_fail "fake NHI (pci-testdev) present" "run vm.py with --qemu-arg=-device --qemu-arg=pci-testdev"
	exit 1
fi
# connected at boot, not authorized (security user): the runbook's §5 case
vm_check "insmod tbsim.ko preset=egpu" tbsim_load preset=egpu || exit 1
tbsim_relay_start

# §3: the device is visible at the thunderbolt layer, no GPU yet
[ "$(cat "$TB/0-1/vendor_name" 2>/dev/null)" = "Blackmagic Design" ] &&
	vm_pass "§3: Blackmagic Design switch visible at 0-1" || vm_fail "§3: switch visible at 0-1" "$(ls "$TB")"
gpu_none && vm_pass "§3: no GPU before authorization" || vm_fail "§3: no GPU before authorization"

# §5 component 3: egpu-boot-auth.sh
boot_auth() {
	for dev in "$TB"/*/; do
		name=$(cat "${dev}device_name" 2>/dev/null)
		auth=$(cat "${dev}authorized" 2>/dev/null)
		if [ "$name" = "eGPU Pro" ] && [ "$auth" = "0" ]; then
			echo 1 >"${dev}authorized" 2>/dev/null && echo "Boot-authorized $(basename "$dev")" >>"$LOG"
		fi
	done
}
t0=$(vm_uptime)
boot_auth
grep -q "Boot-authorized 0-1" "$LOG" && vm_pass "§5 boot-auth: authorized 0-1" || vm_fail "§5 boot-auth: authorized 0-1" "$(cat "$LOG")"
vm_wait $WAIT gpu_two && vm_pass "§5 boot-auth: GPU (two functions) after $(vm_elapsed "$t0") s" ||
	vm_fail "§5 boot-auth: GPU within $WAIT s" "$(cat "$TBSIM_RELAY_LOG")"

# §5 component 4: egpu-detach.sh, with a de-authorization that hangs 3 s
detach() {
	for dev in "$TB"/*/; do
		name=$(cat "${dev}device_name" 2>/dev/null)
		auth=$(cat "${dev}authorized" 2>/dev/null)
		if [ "$name" = "eGPU Pro" ] && [ "$auth" = "1" ]; then
			echo 0 >"${dev}authorized" 2>/dev/null && echo "De-authorized $(basename "$dev")" >>"$LOG"
		fi
	done
}
tbsim_ctl set 0-1 deauth_delay_ms=3000 >/dev/null
t0=$(vm_uptime)
detach
dt=$(vm_elapsed "$t0")
grep -q "De-authorized 0-1" "$LOG" && vm_pass "§5 detach: de-authorized 0-1 (hung $dt s, within TimeoutStopSec=15)" ||
	vm_fail "§5 detach: de-authorized 0-1" "$(cat "$LOG")"
vm_wait $WAIT gpu_none && vm_pass "§5 detach: GPU gone" || vm_fail "§5 detach: GPU gone" "$(cat "$TBSIM_RELAY_LOG")"
tbsim_ctl set 0-1 deauth_delay_ms=0 >/dev/null

# §5 components 1+2: udev rule ACTION=="add", SUBSYSTEM=="thunderbolt",
# ATTR{vendor_name}=="Blackmagic Design" -> egpu-attach.sh %k
cat >/tmp/udev-rule.sh <<'EOF'
#!/bin/sh
[ "$ACTION" = add ] && [ "$SUBSYSTEM" = thunderbolt ] || exit 0
[ "$(cat "/sys$DEVPATH/vendor_name" 2>/dev/null)" = "Blackmagic Design" ] || exit 0
k=${DEVPATH##*/}
echo "eGPU attach triggered: $k" >>/tmp/egpu-attach.log
echo 1 >"/sys/bus/thunderbolt/devices/$k/authorized" && echo "Authorized $k" >>/tmp/egpu-attach.log
EOF
chmod +x /tmp/udev-rule.sh
uevent /tmp/udev-rule.sh </dev/null >/dev/null 2>&1 &
uev_pid=$!
usleep 200000
tbsim_ctl remove 0-1 >/dev/null
t0=$(vm_uptime)
tbsim_ctl preset egpu >/dev/null
vm_wait 5 grep -q "Authorized 0-1" "$LOG" && vm_pass "§5 hot-plug: the udev rule authorized 0-1" ||
	vm_fail "§5 hot-plug: the udev rule authorized 0-1" "$(cat "$LOG")"
vm_wait $WAIT gpu_two && vm_pass "§5 hot-plug: GPU after $(vm_elapsed "$t0") s" ||
	vm_fail "§5 hot-plug: GPU within $WAIT s" "$(cat "$TBSIM_RELAY_LOG")"
tbsim_ctl remove 0-1 >/dev/null
vm_wait $WAIT gpu_none && vm_pass "unplug: GPU gone" || vm_fail "unplug: GPU gone" "$(cat "$TBSIM_RELAY_LOG")"

kill "$uev_pid" 2>/dev/null
wait "$uev_pid" 2>/dev/null
tbsim_relay_stop
vm_diag "attach log:" "$(cat "$LOG")"
vm_check "rmmod tbsim" rmmod tbsim
exit 0

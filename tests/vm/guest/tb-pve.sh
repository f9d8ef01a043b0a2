#!/bin/sh
# check-tb: stock-only
# egpuctl pve-hook (issue 5, requirement 5) against the real module, on a
# small Proxmox VE tree built in the guest: tbsim's preset egpu (0-1
# "Blackmagic Design eGPU Pro", unauthorized) whose tunnel brings the
# stand-in GPU (edu 1234:11e8, functions 0 and 1 on rp1: 0000:01:00.0/.1,
# egpu_standin.ko its reset family), VM configs in /etc/pve/qemu-server, a
# PCI resource mapping in /etc/pve/mapping/pci.cfg for node pve1, and a
# fake qm on PATH that records its arguments.
#
#  1  a VM without PCI devices: exit 0; install: missing VM, missing
#     snippets directory, then the snippet written (executable) and
#     attached with qm set; the snippet itself runs the hook
#  2  pre-start, default deny (no rule): exit 1, names 0-1 and the fix
#  3  pre-start with a rule (egpuctl tb allow 0-1 --no-persist): 0-1
#     authorized (by the hook or the module), the GPU waited for, both
#     functions on vfio-pci, device_specific first; the time to "ready"
#  4  pre-start with the functions unbound / on pci-stub and no
#     device_specific in reset_method: fixed
#  5  post-start, pre-stop: exit 0; post-stop after a reset through sysfs:
#     resets=N as the module counts them
#  6  mapping=NAME: resolved for this node (also with the eGPU
#     de-authorized first: the hook authorizes it again); with the
#     device's subsystem-id and iommugroup ready, with another subsystem
#     refused; a mapping not
#     in pci.cfg and one without this node abort with the reason; doctor
#     reports those two (pve.hostpci)
#  7  without the module (sysfs transport): the abort says to load it;
#     after tb authorize through sysfs, ready (vfio-pci; reset_method left:
#     not an AMD GPU)
#
# Needs (tests/vm/check-tb.sh): egpu_gate.ko, tbsim.ko, egpu_standin.ko,
# egpuctl, vfio_pci (pci_stub optional), tbsim-lib.sh, pci-testdev.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh
# shellcheck source=tbsim-lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
KO=/lib/modules/extra
TB=/sys/bus/thunderbolt/devices
DEV=/sys/bus/pci/devices
F0=0000:01:00.0 F1=0000:01:00.1
QEMU=/etc/pve/qemu-server
SNIP=/var/lib/vz/snippets

# ctl ARGS...: egpuctl; sets rc, out, err
ctl() {
	egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}
# hook VMID PHASE: egpuctl pve-hook as Proxmox runs it; sets rc, out, err, secs
hook() {
	_t0=$(vm_uptime)
	ctl pve-hook "$@"
	secs=$(vm_elapsed "$_t0")
}
gpu_count() { vm_pci_find 1234 11e8 2>/dev/null | wc -l; }
gpu_none() { [ "$(gpu_count)" -eq 0 ]; }
gpu_two() { [ "$(gpu_count)" -eq 2 ]; }
drv() { basename "$(readlink "$DEV/$1/driver" 2>/dev/null)" 2>/dev/null; }
auth() { cat "$TB/$1/authorized" 2>/dev/null; }
auth_is() { [ "$(auth "$1")" = "$2" ]; }
rm_of() { cat "$DEV/$1/reset_method" 2>/dev/null; }
has() { printf '%s\n' "$1" | grep -q -- "$2"; }
# ready_checks DESC: both functions on vfio-pci, F0 device_specific first
ready_checks() {
	if [ "$(drv $F0)" = vfio-pci ] && [ "$(drv $F1)" = vfio-pci ]; then
		vm_pass "$1: $F0 and $F1 on vfio-pci"
	else
		vm_fail "$1: $F0 and $F1 on vfio-pci" "drivers '$(drv $F0)' '$(drv $F1)'"
	fi
	case "$(rm_of $F0)" in
	device_specific*) vm_pass "$1: $F0 reset_method '$(rm_of $F0)'" ;;
	*) vm_fail "$1: $F0 reset_method device_specific first" "'$(rm_of $F0)'" ;;
	esac
}
# deauth: egpuctl tb deauthorize 0-1 (the module tears the PCI side down)
deauth() {
	ctl tb deauthorize 0-1
	vm_wait "$WAIT" auth_is 0-1 0 && vm_wait "$WAIT" gpu_none
}

if ! command -v egpuctl >/dev/null; then
	vm_fail "egpuctl in the guest" "missing (vm.py --bin egpuctl)"
	exit 1
fi

# --- the Proxmox tree ------------------------------------------------------------
echo pve1 >/proc/sys/kernel/hostname
mkdir -p $QEMU /etc/pve/mapping /usr/local/bin
cat >$QEMU/100.conf <<EOF
boot: order=scsi0
cores: 4
machine: q35
memory: 8192
name: egpu-vm
hostpci0: 0000:01:00,pcie=1
scsi0: local-lvm:vm-100-disk-0,size=32G
EOF
cat >$QEMU/101.conf <<EOF
machine: pc-q35-9.2
name: egpu-mapped
hostpci0: mapping=egpu,pcie=1
EOF
cat >$QEMU/102.conf <<EOF
machine: q35
hostpci0: mapping=nosuch,pcie=1
EOF
cat >$QEMU/103.conf <<EOF
machine: q35
hostpci0: mapping=elsewhere,pcie=1
EOF
cat >$QEMU/104.conf <<EOF
name: plain
memory: 1024
net0: virtio=BC:24:11:00:00:01,bridge=vmbr0
EOF
printf 'egpu\n\tmap id=1234:11e8,node=pve1,path=0000:01:00\n\tmap id=1002:687f,node=pve2,path=0000:30:00\n\tdescription stand-in eGPU\n\nelsewhere\n\tmap id=1002:687f,node=pve2,path=0000:30:00\n' >/etc/pve/mapping/pci.cfg
cat >/usr/local/bin/qm <<'EOF'
#!/bin/sh
echo "$*" >>/tmp/qm.log
[ -e "/etc/pve/qemu-server/$2.conf" ] || { echo "Configuration file 'nodes/pve1/qemu-server/$2.conf' does not exist" >&2; exit 2; }
echo "update VM $2: -hookscript $4"
EOF
chmod 755 /usr/local/bin/qm
PATH=/usr/local/bin:$PATH
export PATH
: >/tmp/qm.log

rmmod egpu_gate 2>/dev/null
rmmod tbsim 2>/dev/null
vm_check "insmod tbsim.ko preset=egpu" tbsim_load preset=egpu || exit 1
tbsim_relay_start
vm_wait "$WAIT" test -e "$TB/0-1/authorized" || vm_fail "0-1 appears" "$(ls $TB)"
vm_check "insmod egpu_gate.ko (no rules)" insmod $KO/egpu_gate.ko || exit 1
vm_check "insmod egpu_standin.ko" insmod $KO/egpu_standin.ko || exit 1

# --- 1. no PCI device; install -------------------------------------------------------
hook 104 pre-start
[ $rc -eq 0 ] && has "$out" "passes no PCI device" && vm_pass "pre-start of a VM without PCI devices: exit 0" ||
	vm_fail "pre-start of a VM without PCI devices: exit 0" "exit $rc" "$out" "$err"
ctl pve-hook install 100
[ $rc -eq 1 ] && has "$err" "$SNIP does not exist: allow snippets" &&
	vm_pass "install without $SNIP: exit 1, says how to allow snippets" ||
	vm_fail "install without $SNIP: exit 1" "exit $rc" "$out" "$err"
mkdir -p $SNIP
ctl pve-hook install 555
[ $rc -eq 1 ] && has "$err" "no VM 555 on this node" && [ ! -s /tmp/qm.log ] &&
	vm_pass "install for a missing VM: exit 1, qm not called" ||
	vm_fail "install for a missing VM: exit 1" "exit $rc" "$out" "$err" "qm: $(cat /tmp/qm.log)"
ctl pve-hook install 100
if [ $rc -eq 0 ] && [ -x $SNIP/egpu-gate-hook.sh ] &&
	[ "$(cat /tmp/qm.log)" = "set 100 --hookscript local:snippets/egpu-gate-hook.sh" ]; then
	vm_pass "install 100: executable snippet, qm set 100 --hookscript local:snippets/egpu-gate-hook.sh"
else
	vm_fail "install 100" "exit $rc" "$out" "$err" "qm: $(cat /tmp/qm.log)" "$(ls -l $SNIP)"
fi
vm_diag "$out"
$SNIP/egpu-gate-hook.sh 100 post-start >/tmp/snip.out 2>&1
src=$?
[ $src -eq 0 ] && vm_pass "the snippet runs egpuctl pve-hook (100 post-start: exit 0)" ||
	vm_fail "the snippet runs egpuctl pve-hook" "exit $src" "$(cat /tmp/snip.out)" "$(cat $SNIP/egpu-gate-hook.sh)"

# --- 2. default deny ----------------------------------------------------------------
hook 100 pre-start
if [ $rc -eq 1 ] && has "$err" "VM 100 must not start" && has "$err" "0-1 (Blackmagic Design eGPU Pro)" &&
	has "$err" "egpuctl tb allow 0-1"; then
	vm_pass "pre-start, no rule: exit 1, names 0-1 and 'egpuctl tb allow 0-1'"
else
	vm_fail "pre-start, no rule: exit 1 with the device and the fix" "exit $rc" "$out" "$err"
fi
vm_diag "$err"
auth_is 0-1 0 && gpu_none && vm_pass "pre-start, no rule: 0-1 left unauthorized, no GPU" ||
	vm_fail "pre-start, no rule: 0-1 left unauthorized" "authorized $(auth 0-1), $(gpu_count) functions"

# --- 3. a rule ------------------------------------------------------------------------
ctl tb allow 0-1 --no-persist
[ $rc -eq 0 ] && vm_pass "egpuctl tb allow 0-1 --no-persist" ||
	vm_fail "egpuctl tb allow 0-1 --no-persist" "exit $rc" "$out" "$err"
hook 100 pre-start
if [ $rc -eq 0 ] && has "$out" "$F0, $F1 ready"; then
	vm_pass "pre-start with a rule: exit 0, ready ($secs s from pre-start to ready)"
else
	vm_fail "pre-start with a rule: exit 0, ready" "exit $rc" "$out" "$err" "$(cat "$TBSIM_RELAY_LOG")"
fi
vm_diag "$out"
has "$out" "authorized Thunderbolt device 0-1" && vm_diag "0-1 authorized by the hook" ||
	vm_diag "0-1 authorized by egpu_gate (the new rule re-evaluates present devices)"
auth_is 0-1 1 && vm_pass "pre-start with a rule: 0-1 authorized" || vm_fail "0-1 authorized" "$(auth 0-1)"
ready_checks "pre-start with a rule"
hook 100 pre-start
[ $rc -eq 0 ] && [ "$out" = "egpu-gate: VM 100: $F0, $F1 ready" ] &&
	vm_pass "pre-start again: nothing to do, exit 0 ($secs s)" ||
	vm_fail "pre-start again: nothing to do" "exit $rc" "$out" "$err"

# --- 4. unbound / another driver, reset_method without device_specific ----------------
vm_pci_unbind $F0
if modprobe pci_stub 2>/dev/null; then
	echo pci-stub >"$DEV/$F1/driver_override"
	echo $F1 >"$DEV/$F1/driver/unbind"
	echo $F1 >/sys/bus/pci/drivers_probe
	other=pci-stub
else
	vm_pci_unbind $F1
	other=unbound
	vm_diag "no pci_stub module: $F1 unbound instead"
fi
[ "$(drv $F1)" = "${other%unbound}" ] || vm_diag "$F1 driver '$(drv $F1)', expected $other"
# the other methods only; none when the kernel refuses them now (bus: the
# slot holds two functions since function 0's methods were probed)
rest=$(rm_of $F0 | sed 's/device_specific//; s/^ *//; s/ *$//')
if [ -z "$rest" ] || ! tbsim_write "$DEV/$F0/reset_method" "$rest" >/dev/null; then
	tbsim_write "$DEV/$F0/reset_method" "" >/dev/null || vm_diag "cannot clear reset_method"
fi
vm_diag "before: $F0 driver '$(drv $F0)' reset_method '$(rm_of $F0)', $F1 driver '$(drv $F1)'"
hook 100 pre-start
if [ $rc -eq 0 ] && has "$out" "$F0: bound to vfio-pci (was unbound)" &&
	has "$out" "$F1: bound to vfio-pci (was $other)" &&
	has "$out" "$F0: device_specific is now first in reset_method"; then
	vm_pass "pre-start binds $F0 (unbound) and $F1 ($other) to vfio-pci, device_specific first"
else
	vm_fail "pre-start fixes driver and reset_method" "exit $rc" "$out" "$err"
fi
vm_diag "$out"
ready_checks "pre-start after the fix"

# --- 5. other phases, post-stop counters -------------------------------------------------
hook 100 post-start
r1=$rc
hook 100 pre-stop
[ $r1 -eq 0 ] && [ $rc -eq 0 ] && vm_pass "post-start and pre-stop: exit 0" ||
	vm_fail "post-start and pre-stop: exit 0" "post-start $r1, pre-stop $rc" "$err"
runs0=$(cat /sys/module/egpu_standin/parameters/runs)
if echo 1 >"$DEV/$F0/reset"; then
	vm_pass "reset of $F0 through sysfs"
else
	vm_fail "reset of $F0 through sysfs" "$(dmesg | tail -n 5)"
fi
vm_diag "stand-in runs $runs0 -> $(cat /sys/module/egpu_standin/parameters/runs)"
n=$(egpuctl gpu list --json | awk -v b="\"bdf\": \"$F0\"" '
	index($0, b) { f = 1; next }
	f && index($0, "\"bdf\":") { exit }
	f && index($0, "\"resets\":") { sub(/^[^:]*: */, ""); sub(/,$/, ""); print; exit }')
hook 100 post-stop
if [ $rc -eq 0 ] && [ -n "$n" ] && [ "$n" -ge 1 ] &&
	has "$out" "egpu-gate: VM 100: $F0 (standin-edu): resets=$n failures=0 last=ok"; then
	vm_pass "post-stop logs the reset counters (resets=$n, as gpu list)"
else
	vm_fail "post-stop logs resets=$n" "exit $rc" "$out" "$err" "$(egpuctl gpu list 2>&1)"
fi
vm_diag "$out"

# --- 6. mappings ------------------------------------------------------------------------
hook 101 pre-start
[ $rc -eq 0 ] && has "$out" "$F0, $F1 ready" &&
	vm_pass "pre-start, mapping=egpu (node pve1: 0000:01:00): ready" ||
	vm_fail "pre-start, mapping=egpu" "exit $rc" "$out" "$err"
if deauth; then
	vm_pass "egpuctl tb deauthorize 0-1: the GPU goes"
else
	vm_fail "egpuctl tb deauthorize 0-1" "exit $rc" "$out" "$err" "authorized $(auth 0-1), $(gpu_count) functions"
fi
hook 101 pre-start
if [ $rc -eq 0 ] && has "$out" "$F0, $F1 ready" && auth_is 0-1 1; then
	vm_pass "pre-start, mapping=egpu, eGPU de-authorized: authorized, ready ($secs s)"
else
	vm_fail "pre-start, mapping=egpu, eGPU de-authorized" "exit $rc" "$out" "$err" "$(cat "$TBSIM_RELAY_LOG")"
fi
vm_diag "$out"
ready_checks "pre-start, mapping=egpu"
# the entry as the Proxmox GUI writes it (subsystem-id, iommugroup), then
# one whose subsystem differs: refused before anything is rebound
cp /etc/pve/mapping/pci.cfg /tmp/pci.cfg.saved
sub="$(sed 's/^0x//' /sys/bus/pci/devices/$F0/subsystem_vendor):$(sed 's/^0x//' /sys/bus/pci/devices/$F0/subsystem_device)"
grp=$(basename "$(readlink /sys/bus/pci/devices/$F0/iommu_group)")
printf 'egpu\n\tmap id=1234:11e8,iommugroup=%s,node=pve1,path=0000:01:00,subsystem-id=%s\n' "$grp" "$sub" >/etc/pve/mapping/pci.cfg
hook 101 pre-start
[ $rc -eq 0 ] && has "$out" "$F0, $F1 ready" &&
	vm_pass "pre-start, mapping with subsystem-id=$sub and iommugroup=$grp: ready" ||
	vm_fail "pre-start, mapping with subsystem-id and iommugroup" "exit $rc" "$out" "$err"
printf 'egpu\n\tmap id=1234:11e8,node=pve1,path=0000:01:00,subsystem-id=1002:0b36\n' >/etc/pve/mapping/pci.cfg
hook 101 pre-start
[ $rc -eq 1 ] && has "$err" "mapping egpu expects subsystem 1002:0b36 at $F0, found $sub: the hardware changed" &&
	vm_pass "pre-start, mapping of another subsystem: exit 1, names both" ||
	vm_fail "pre-start, mapping of another subsystem: exit 1" "exit $rc" "$out" "$err"
mv /tmp/pci.cfg.saved /etc/pve/mapping/pci.cfg
hook 102 pre-start
[ $rc -eq 1 ] && has "$err" "PCI mapping 'nosuch' is not in /etc/pve/mapping/pci.cfg" &&
	vm_pass "pre-start, mapping=nosuch: exit 1, not in pci.cfg" ||
	vm_fail "pre-start, mapping=nosuch: exit 1" "exit $rc" "$out" "$err"
hook 103 pre-start
[ $rc -eq 1 ] && has "$err" "PCI mapping 'elsewhere' has no device on node 'pve1' (only on pve2)" &&
	vm_pass "pre-start, mapping of another node: exit 1, names the nodes" ||
	vm_fail "pre-start, mapping of another node: exit 1" "exit $rc" "$out" "$err"
ctl doctor --json
dtext=$(egpuctl doctor 2>&1)
if [ $rc -le 2 ] && echo "$out" | vm_json_valid && has "$dtext" "pve.hostpci vm 102: hostpci0: PCI mapping 'nosuch'" &&
	has "$dtext" "pve.hostpci vm 103: " && ! has "$dtext" "pve.hostpci vm 101"; then
	vm_pass "doctor: VM 101's mapping resolved, VMs 102 and 103 reported (pve.hostpci)"
else
	vm_fail "doctor with mappings" "exit $rc" "$dtext" "$err"
fi
vm_diag "$(echo "$dtext" | grep -A1 -E 'pve\.')"

# --- 7. without the module (sysfs) ---------------------------------------------------------
deauth || vm_diag "de-authorization: authorized $(auth 0-1), $(gpu_count) functions"
rmmod egpu_standin 2>/dev/null
# hidden from modprobe: egpuctl's family lookup would load it on demand
mv $KO/egpu_gate.ko /tmp/egpu_gate.ko.hidden
if rmmod egpu_gate && [ ! -d /sys/module/egpu_gate ]; then
	hook 100 pre-start
	if [ $rc -eq 1 ] && has "$err" "0-1 (Blackmagic Design eGPU Pro) is not authorized and egpu_gate is not loaded: load it ('modprobe egpu_gate')"; then
		vm_pass "pre-start without the module: exit 1, says to load egpu_gate"
	else
		vm_fail "pre-start without the module: exit 1, says to load egpu_gate" "exit $rc" "$out" "$err"
	fi
	ctl tb authorize 0-1
	vm_wait "$WAIT" gpu_two || vm_diag "GPU after tb authorize through sysfs: $(gpu_count) functions"
	hook 100 pre-start
	if [ $rc -eq 0 ] && has "$out" "$F0, $F1 ready" && [ "$(drv $F0)" = vfio-pci ] && [ "$(drv $F1)" = vfio-pci ] &&
		! has "$out" "reset_method"; then
		vm_pass "pre-start without the module, 0-1 authorized: vfio-pci, reset_method left (not AMD)"
	else
		vm_fail "pre-start without the module, 0-1 authorized" "exit $rc" "$out" "$err"
	fi
	vm_diag "$out"
	ctl tb deauthorize 0-1
else
	vm_fail "rmmod egpu_gate" "$(lsmod)"
fi
mv /tmp/egpu_gate.ko.hidden $KO/egpu_gate.ko
vm_wait "$WAIT" gpu_none || vm_diag "at the end: $(gpu_count) GPU functions"
tbsim_relay_stop
rmmod tbsim 2>/dev/null
exit 0

#!/bin/sh
# make bench, part (c): egpu-gate's Thunderbolt policy against the runbook's
# scripts, run as the runbook runs them, in one VM on the same simulated
# devices: tbsim's Blackmagic eGPU Pro at 0-1 (security user) whose PCIe
# tunnel brings the stand-in GPU (edu 1234:11e8, two functions) onto rp1.
#
# The runbook's files come from the host at run time (bench/tb.sh copies
# ../shared/reference/seed-scripts to /opt/runbook; they are never in the
# repository). In the guest they run with two substitutions only: the
# stand-in GPU's ID for 1002:687f/1002:aaf8, and /tmp for /var/log; bash ->
# busybox sh. The udev rule 99-egpu-vfio.rules is applied by a uevent
# handler that matches the rule's own ACTION/SUBSYSTEM/ATTR{vendor_name}
# values and runs its RUN program with %k.
#
# Times come from the kernel's printk clock: a marker written to /dev/kmsg
# before each action; tbsim's "tunnel up"/"tunnel down" lines (the moment
# the device is authorized / de-authorized); a marker when both functions
# are seen on vfio-pci (busy poll, same for both sides).
# Output: "# tb-bench: side=S step=K run=N us=X" lines; TAP for vm.py.
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

RUNS=3
# shellcheck disable=SC1091
[ -r /etc/bench.conf ] && . /etc/bench.conf
RB=/opt/runbook
W=/tmp/rb
KO=/lib/modules/extra
TB=/sys/bus/thunderbolt/devices
DEV=/sys/bus/pci/devices
G=0000:01:00.0
A=0000:01:00.1
RULE="id=0004:a153,bind=1234:11e8"

gpu_count() { vm_pci_find 1234 11e8 2>/dev/null | wc -l; }
gpu_none() { [ "$(gpu_count)" -eq 0 ]; }
authorized() { [ "$(cat $TB/0-1/authorized 2>/dev/null)" = "$1" ]; }
drv() { basename "$(readlink "$DEV/$1/driver" 2>/dev/null)" 2>/dev/null; }
both_vfio() { [ "$(drv $G)" = vfio-pci ] && [ "$(drv $A)" = vfio-pci ]; }
mark() { echo "bench-mark [$*]" >/dev/kmsg; }	# brackets: no marker is a prefix of another
# kt PATTERN: printk time (us) of the last console line containing PATTERN
kt() {
	dmesg | grep -F "$1" | tail -n 1 | sed -n 's/^\[ *\([0-9]*\)\.\([0-9]*\)\].*/\1 \2/p' |
		awk '{ printf "%d\n", $1 * 1000000 + $2 }'
}
emit() {	# emit SIDE STEP RUN FROM_PATTERN TO_PATTERN
	a=$(kt "$4")
	b=$(kt "$5")
	if [ -n "$a" ] && [ -n "$b" ]; then
		echo "# tb-bench: side=$1 step=$2 run=$3 us=$((b - a))"
	else
		echo "# tb-bench: side=$1 step=$2 run=$3 us=- (no '$4' or '$5' on the console)"
	fi
}
# poll_vfio SECS: busy-wait until both functions are on vfio-pci, then mark
poll_vfio() {
	end=$(($(cut -d. -f1 /proc/uptime) + $1))
	while ! both_vfio; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt $end ] || return 1
	done
	return 0
}
clean() {	# no device, no GPU
	tbsim_ctl reset >/dev/null
	vm_wait 20 gpu_none
}

if [ ! -d $RB ] || [ ! -r $RB/egpu-attach.sh ]; then
	vm_skip "runbook scripts in the guest" "no $RB (bench/tb.sh copies them from the host)"
	exit 0
fi
modprobe vfio_pci 2>/dev/null
modprobe vfio_iommu_type1 2>/dev/null

# --- the runbook's files, prepared for the simulated devices --------------------
mkdir -p $W
for f in egpu-attach.sh egpu-boot-auth.sh egpu-detach.sh; do
	sed -e 's/1002:687f/1234:11e8/g; s/1002:aaf8/1234:11e8/g' \
		-e 's#/var/log/egpu-attach.log#/tmp/egpu-attach.log#g' "$RB/$f" >"$W/$f"
done
rule=$(grep -v '^#' "$RB/99-egpu-vfio.rules" | grep RUN | head -n 1)
R_ACTION=$(echo "$rule" | sed -n 's/.*ACTION=="\([^"]*\)".*/\1/p')
R_SUBSYS=$(echo "$rule" | sed -n 's/.*SUBSYSTEM=="\([^"]*\)".*/\1/p')
R_VENDOR=$(echo "$rule" | sed -n 's/.*ATTR{vendor_name}=="\([^"]*\)".*/\1/p')
R_RUN=$(echo "$rule" | sed -n 's/.*RUN+="\([^" ]*\).*/\1/p')
vm_diag "udev rule: ACTION=$R_ACTION SUBSYSTEM=$R_SUBSYS vendor_name='$R_VENDOR' RUN=$R_RUN %k"
cat >$W/udev-run.sh <<EOF
#!/bin/sh
# 99-egpu-vfio.rules, as udev applies it (values read from the rule file)
[ "\$ACTION" = "$R_ACTION" ] && [ "\$SUBSYSTEM" = "$R_SUBSYS" ] || exit 0
[ "\$(cat "/sys\$DEVPATH/vendor_name" 2>/dev/null)" = "$R_VENDOR" ] || exit 0
sh $W/$(basename "$R_RUN") "\${DEVPATH##*/}" &
EOF
chmod +x $W/*.sh
[ -n "$R_VENDOR" ] && vm_pass "runbook: rule and scripts read from $RB" ||
	{ vm_fail "runbook: rule parsed" "$rule"; exit 1; }

vm_check "tbsim loaded (domain0, host router)" tbsim_load || exit 1
tbsim_relay_start

# --- runbook: hot-plug (udev rule -> egpu-attach.sh) and shutdown (egpu-detach.sh) ----
uevent $W/udev-run.sh </dev/null >/dev/null 2>&1 &
uev=$!
usleep 300000
i=1
while [ $i -le "$RUNS" ]; do
	clean
	mark "rb$i add"
	tbsim_ctl preset egpu >/dev/null
	if vm_wait 20 authorized 1 && poll_vfio 30; then
		mark "rb$i bound"
		emit runbook add_to_authorized $i "bench-mark [rb$i add]" "tunnel up 0-1"
		emit runbook authorized_to_vfio $i "tunnel up 0-1" "bench-mark [rb$i bound]"
		vm_wait 15 grep -q "eGPU attach complete" /tmp/egpu-attach.log
		: >/tmp/egpu-attach.log
		mark "rb$i teardown"
		sh $W/egpu-detach.sh
		mark "rb$i teardown-end"
		vm_wait 20 gpu_none && mark "rb$i gone"
		emit runbook teardown $i "bench-mark [rb$i teardown]" "bench-mark [rb$i teardown-end]"
		emit runbook teardown_to_gpu_gone $i "bench-mark [rb$i teardown]" "bench-mark [rb$i gone]"
		vm_pass "runbook run $i: attach and detach"
	else
		vm_fail "runbook run $i: authorized and bound" "$(cat /tmp/egpu-attach.log)" "$(cat "$TBSIM_RELAY_LOG")"
	fi
	i=$((i + 1))
done
kill $uev 2>/dev/null
wait $uev 2>/dev/null

# --- runbook: boot with the eGPU connected (egpu-boot-auth.sh) ----------------------
clean
tbsim_ctl preset egpu >/dev/null
mark "rbboot start"
sh $W/egpu-boot-auth.sh
mark "rbboot end"
if authorized 1; then
	emit runbook boot_to_authorized 1 "bench-mark [rbboot start]" "tunnel up 0-1"
	emit runbook boot_script 1 "bench-mark [rbboot start]" "bench-mark [rbboot end]"
	vm_pass "runbook boot script authorized 0-1 (it binds nothing)"
else
	vm_fail "runbook boot script authorized 0-1" "$(cat /tmp/egpu-attach.log)"
fi

# --- egpu-gate ---------------------------------------------------------------------
clean
if ! insmod $KO/egpu_gate.ko "tb_rules=$RULE"; then
	vm_fail "insmod egpu_gate tb_rules=$RULE"
	exit 1
fi
if [ ! -e /sys/module/egpu_gate/parameters/tb_rules ]; then
	echo "# tb-bench-missing: this egpu_gate has no Thunderbolt policy (no tb_rules parameter)"
	vm_skip "egpu-gate side" "no Thunderbolt policy in this build"
	rmmod egpu_gate
	tbsim_relay_stop
	exit 0
fi
vm_diag "tb_rules: $(cat /sys/module/egpu_gate/parameters/tb_rules)"
no_bind=
no_td=
i=1
while [ $i -le "$RUNS" ]; do
	clean
	mark "eg$i add"
	tbsim_ctl preset egpu >/dev/null
	if ! vm_wait 20 authorized 1; then
		vm_fail "egpu-gate run $i: authorized" "$(dmesg | grep egpu_gate | tail -n 5)"
		i=$((i + 1))
		continue
	fi
	emit egpu-gate add_to_authorized $i "bench-mark [eg$i add]" "tunnel up 0-1"
	if poll_vfio 30; then
		mark "eg$i bound"
		emit egpu-gate authorized_to_vfio $i "tunnel up 0-1" "bench-mark [eg$i bound]"
	else
		no_bind=1
	fi
	mark "eg$i teardown"
	out=$(egpu_teardown 2>&1)
	mark "eg$i teardown-end"
	vm_diag "run $i: $out"
	case $out in
	*"error=0 "*)
		vm_wait 20 gpu_none && mark "eg$i gone"
		emit egpu-gate teardown $i "bench-mark [eg$i teardown]" "bench-mark [eg$i teardown-end]"
		emit egpu-gate teardown_to_gpu_gone $i "bench-mark [eg$i teardown]" "bench-mark [eg$i gone]"
		vm_pass "egpu-gate run $i: teardown"
		;;
	*"error=-95 "*) no_td=1 ;;
	*) vm_fail "egpu-gate run $i: teardown" "$out" ;;
	esac
	vm_pass "egpu-gate run $i: authorized${no_bind:+ (not bound)}"
	i=$((i + 1))
done
[ -z "$no_bind" ] || echo "# tb-bench-missing: vfio-pci binding by the policy (bind=): the functions were not on vfio-pci within 30 s"
[ -z "$no_td" ] || echo "# tb-bench-missing: teardown (EGPU_CMD_TEARDOWN_RUN answers EOPNOTSUPP)"

# boot with the eGPU connected: the module loads with the device present
rmmod egpu_gate
clean
tbsim_ctl preset egpu >/dev/null
mark "egboot start"
insmod $KO/egpu_gate.ko "tb_rules=$RULE"
if vm_wait 20 authorized 1; then
	emit egpu-gate boot_to_authorized 1 "bench-mark [egboot start]" "tunnel up 0-1"
	if [ -z "$no_bind" ] && poll_vfio 30; then
		mark "egboot bound"
		emit egpu-gate boot_to_vfio 1 "bench-mark [egboot start]" "bench-mark [egboot bound]"
	fi
	vm_pass "egpu-gate at load: authorized"
else
	vm_fail "egpu-gate at load: authorized" "$(dmesg | grep egpu_gate | tail -n 5)"
fi
rmmod egpu_gate
clean
tbsim_relay_stop
exit 0

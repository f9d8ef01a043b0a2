# shellcheck shell=sh
# Guest helpers for tests that run on tbsim (tests/kmod/tbsim), the
# simulated Thunderbolt domain. Install with
#   vm.py --ko tests/kmod/tbsim/tbsim.ko \
#         --file tests/vm/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh \
#         --qemu-arg=-device --qemu-arg=pci-testdev ...
# and use after lib.sh:  . /usr/lib/vm/lib.sh; . /usr/lib/vm/tbsim-lib.sh
#
#   tbsim_load [PARAM=V...]   insmod tbsim.ko (event_timeout_ms=500 unless
#                             given); the fake NHI is QEMU's pci-testdev
#   tbsim_ctl CMD...          one command to /sys/kernel/debug/tbsim/ctl;
#                             the write's error message on failure
#   tbsim_state               the state dump (cat ctl)
#   tbsim_dev NAME            /sys/bus/thunderbolt/devices/NAME
#   tbsim_write FILE VALUE    write VALUE to FILE in one write(); prints
#                             the errno text on failure ("Invalid argument")
#   tbsim_relay_start         background relay: every tunnel event of
#                             debugfs tbsim/events is logged to
#                             $TBSIM_RELAY_LOG; for a switch tagged T with
#                             an entry T:PORT in $TBSIM_GPU_PORTS (default
#                             "gpu:rp1") "up" hot-plugs the stand-in GPU
#                             (QEMU edu 1234:11e8, function 1 then function
#                             0 multifunction, QMP ids tbsim-T-1,
#                             tbsim-T-0) onto root port PORT, "down"
#                             unplugs it and waits (at most 10 s) until no
#                             1234:11e8 is left, so that the next "up" can
#                             reuse the ids (one stand-in GPU at a time).
#                             Log lines: "EVENT => RESULT".
#   tbsim_relay_stop          stop it (bounded by event_timeout_ms + QMP)
#   tbsim_relay_seen REGEX    0 if a logged event line matches REGEX
#
# The relay is the only user of QMP while it runs (vm_qmp reads the test
# channel for its answer); a test must not call vm_qmp at the same time.

TBSIM_CTL=/sys/kernel/debug/tbsim/ctl
TBSIM_EVENTS=/sys/kernel/debug/tbsim/events
TBSIM_RELAY_LOG=${TBSIM_RELAY_LOG:-/tmp/tbsim-relay.log}
TBSIM_GPU_PORTS=${TBSIM_GPU_PORTS:-gpu:rp1}
_tbsim_relay_pid=

tbsim_load() {
	case " $* " in
	*" event_timeout_ms="*) insmod /lib/modules/extra/tbsim.ko "$@" ;;
	*) insmod /lib/modules/extra/tbsim.ko event_timeout_ms=500 "$@" ;;
	esac
}

tbsim_write() {
	# a subshell, so that the shell's error message can be captured;
	# busybox's echo builtin reports write errors ("sh: write error:
	# Invalid argument"), its printf does not
	_tbsim_err=$( (echo "$2" >"$1") 2>&1)
	_tbsim_rc=$?
	[ "$_tbsim_rc" -eq 0 ] && return 0
	printf '%s\n' "${_tbsim_err##*: }"
	return "$_tbsim_rc"
}

tbsim_ctl() { tbsim_write "$TBSIM_CTL" "$*"; }
tbsim_state() { cat "$TBSIM_CTL"; }
tbsim_dev() { echo "/sys/bus/thunderbolt/devices/$1"; }

_tbsim_port_of() {
	for _tbsim_m in $TBSIM_GPU_PORTS; do
		[ "${_tbsim_m%%:*}" = "$1" ] && { echo "${_tbsim_m#*:}"; return 0; }
	done
	return 1
}

_tbsim_no_gpu() { ! vm_pci_find 1234 11e8 >/dev/null; }

_tbsim_relay_loop() {
	while [ ! -e /tmp/tbsim-relay.stop ]; do
		line=$(cat "$TBSIM_EVENTS" 2>/dev/null) || { usleep 100000; continue; }
		[ -n "$line" ] || continue
		tag=${line##*tag=}
		res="logged"
		if port=$(_tbsim_port_of "$tag"); then
			case "$line" in
			"up "*)
				if vm_device_add "tbsim-$tag-1" edu "$port" '"addr": "00.1"' >/dev/null &&
					vm_device_add "tbsim-$tag-0" edu "$port" '"addr": "00.0", "multifunction": "on"' >/dev/null; then
					res="plugged on $port"
				else
					res="plug failed: $VM_QMP_REPLY"
				fi
				;;
			"down "*)
				if vm_device_del "tbsim-$tag-0" >/dev/null; then
					res="unplugged from $port"
				else
					res="unplug failed: $VM_QMP_REPLY"
				fi
				# function 1 goes with function 0 on PCIe; ask anyway
				vm_device_del "tbsim-$tag-1" >/dev/null 2>&1
				# QEMU frees the ids once the guest has ejected the
				# slot: wait (bounded) so that a next "up" can reuse them
				vm_wait 10 _tbsim_no_gpu || res="$res (still present after 10 s)"
				;;
			esac
		fi
		echo "$line => $res" >>"$TBSIM_RELAY_LOG"
	done
}

tbsim_relay_start() {
	rm -f /tmp/tbsim-relay.stop
	: >>"$TBSIM_RELAY_LOG"
	_tbsim_relay_loop </dev/null >/dev/null 2>&1 &
	_tbsim_relay_pid=$!
}

tbsim_relay_stop() {
	[ -n "$_tbsim_relay_pid" ] || return 0
	touch /tmp/tbsim-relay.stop
	# each round ends within event_timeout_ms plus its QMP answers
	vm_wait 70 sh -c "! kill -0 $_tbsim_relay_pid 2>/dev/null" || kill "$_tbsim_relay_pid" 2>/dev/null
	wait "$_tbsim_relay_pid" 2>/dev/null
	_tbsim_relay_pid=
}

tbsim_relay_seen() { grep -qE "$1" "$TBSIM_RELAY_LOG" 2>/dev/null; }

# ---- egpu_gate policy scenarios (tb-policy.sh, tb-retry.sh) ----------------
# They set WAIT (s, bound of every wait), TB (the thunderbolt devices
# directory) and PARAM (egpu_gate's tb_rules parameter) before calling these.
auth() { cat "$TB/$1/authorized" 2>/dev/null || echo "-"; }
auth_is() { [ "$(auth "$1")" = "$2" ]; }
# klog REGEX: a line of the kernel log since the last klog_mark
klog_mark() { dmesg -c >/dev/null; : >/tmp/klog; }
klog() { dmesg -c >>/tmp/klog; grep -E "$1" /tmp/klog >/dev/null; }
klog_show() { dmesg -c >>/tmp/klog; grep -E "egpu_gate|tbsim" /tmp/klog | tail -n "${1:-12}"; }
# the TB_GET line of device $1
tbget() { egpu_tb_tool get 2>&1 | grep -E "^name=$1( |\$)"; }
rules() { tbsim_write "$PARAM" "$1"; }
# wait_event DESC REGEX: pass when a kernel log line matches within WAIT
wait_event() {
	if vm_wait "$WAIT" klog "$2"; then vm_pass "$1"; else vm_fail "$1" "no log line /$2/" "$(klog_show)"; fi
}
# settle: the worker has looked at device $1 (a decision event for it)
settle() { vm_wait "$WAIT" klog "event (tb_denied|tb_authorized|tb_matched|error) tb=$1 "; }
expect_auth() { # DESC NAME VALUE
	if vm_wait "$WAIT" auth_is "$2" "$3"; then
		vm_pass "$1"
	else
		vm_fail "$1" "$2 authorized=$(auth "$2"), expected $3" "$(klog_show)" "$(tbsim_state)"
	fi
}
reason_has() { # DESC NAME REGEX
	if l=$(tbget "$2") && echo "$l" | grep -qE "$3"; then
		vm_pass "$1"
	else
		vm_fail "$1" "TB_GET: '$l', expected /$3/"
	fi
}

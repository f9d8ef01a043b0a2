#!/bin/sh
# Thunderbolt policy: a failed authorization is retried (bounded), and a
# child waiting for its parent is authorized when someone else (here the
# test, through sysfs) authorizes the parent. On tbsim, whose
# "set D-R auth_fail=N auth_errno=E" makes the connection manager's next N
# approvals fail.
#   1. one injected -EBUSY: retried after 1 s, authorized; TB_GET and the
#      events report the failure
#   2. a persistent -EIO: exactly EGPU_TB_AUTH_ATTEMPTS (4) attempts, then
#      FAILED with the reason, no more attempts; a rule change starts a new
#      round
#   3. an error another attempt cannot fix (-EPERM): one attempt
#   4. unplug, then rmmod, while a retry is pending
#   5. chain: the parent authorized through sysfs, the waiting child is
#      authorized by the module; the parent is reported, not adopted
#
# Needs (tests/vm/check-tb.sh): --ko egpu_gate.ko --ko tbsim.ko
#   --bin egpu_tb_tool --file tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh
#   --qemu-arg=-device --qemu-arg=pci-testdev
. /usr/lib/vm/lib.sh
. /usr/lib/vm/tbsim-lib.sh

WAIT=15		# s, bound of every wait
# shellcheck disable=SC1091
[ -r /etc/tbsim-test.conf ] && . /etc/tbsim-test.conf
KO=/lib/modules/extra/egpu_gate.ko
PARAM=/sys/module/egpu_gate/parameters/tb_rules
TB=/sys/bus/thunderbolt/devices
GPU_UUID=c8030000-0070-740e-83ee-b3c0a7c33e1f		# tbsim preset egpu (0-1)

reason_lacks() { # DESC NAME REGEX
	if l=$(tbget "$2") && ! echo "$l" | grep -qE "$3"; then
		vm_pass "$1"
	else
		vm_fail "$1" "TB_GET: '$l', unexpected /$3/"
	fi
}
# sim NAME FIELD: a counter of switch NAME in the tbsim dump
sim() { tbsim_state | sed -n "s/^$1 .* $2=\\([0-9]*\\).*/\\1/p"; }
sim_is() { # DESC NAME FIELD VALUE
	v=$(sim "$2" "$3")
	if [ "$v" = "$4" ]; then vm_pass "$1 ($3=$v)"; else vm_fail "$1" "$3=$v, expected $4" "$(tbsim_state)"; fi
}
ctl() { out=$(tbsim_ctl "$@") || vm_fail "tbsim ctl $*" "$out"; }
# plug the eGPU without a rule, so that a failure can be armed before the
# module's first attempt
plug_denied() { # NAME
	ctl reset
	rules "" >/dev/null
	klog_mark
	ctl preset egpu
	settle 0-1
	klog_mark
}

vm_check "insmod tbsim" tbsim_load || exit 1
vm_check "insmod egpu_gate" insmod "$KO" || exit 1
if egpu_tb_tool get | grep -q '^name=0-0 .*failures=0'; then
	vm_pass "TB_GET carries EGPU_A_TB_AUTH_FAILURES"
else
	vm_fail "TB_GET carries EGPU_A_TB_AUTH_FAILURES" "$(egpu_tb_tool get 2>&1)"
fi

# --- 1. one transient failure -------------------------------------------------
plug_denied
ctl set 0-1 auth_fail=1
t0=$(vm_uptime)
rules "uuid=$GPU_UUID" >/dev/null
wait_event "injected -EBUSY: error event, retry announced" \
	"event error tb=0-1 .*error=-16: authorization failed \\(attempt 1 of 4\\): .*\\(-16\\); next attempt in 1000 ms"
expect_auth "retried without a rule change: 0-1 authorized" 0-1 1
vm_diag "rule set -> authorized after one failure: $(vm_elapsed "$t0") s (retry delay 1 s)"
wait_event "event tb_authorized names the failed attempt" \
	"event tb_authorized tb=0-1 .*after 1 failed attempt\\(s\\), last -16"
reason_has "TB_GET: AUTHORIZED by egpu-gate, failures=1 auth_error=-16, no retry" 0-1 \
	"decision=4 by_egpu=1 .*failures=1 auth_error=-16 reason="
sim_is "tbsim: two approvals, one failed" 0-1 approvals 2

# --- 2. persistent failure: bounded ---------------------------------------------
plug_denied
ctl set 0-1 auth_fail=100 auth_errno=5
t0=$(vm_uptime)
rules "uuid=$GPU_UUID" >/dev/null
if vm_wait "$WAIT" klog "event error tb=0-1 .*attempt 1 of 4.*next attempt in 1000 ms"; then
	l=$(tbget 0-1)
	case "$l" in
	*" failures=1 auth_error=-5 retry_ms="*) vm_pass "TB_GET while a retry waits: failures=1 auth_error=-5 retry_ms" ;;
	*" failures=2 "*) vm_pass "TB_GET while retrying: failures counted (read late: $l)" ;;
	*) vm_fail "TB_GET while a retry waits: failures=1 auth_error=-5 retry_ms" "$l" ;;
	esac
else
	vm_fail "persistent -EIO: first failure reported" "$(klog_show)"
fi
wait_event "attempt 2 after 1 s" "event error tb=0-1 .*attempt 2 of 4.*next attempt in 2000 ms"
wait_event "attempt 3 after 2 s" "event error tb=0-1 .*attempt 3 of 4.*next attempt in 4000 ms"
wait_event "attempt 4 after 4 s: gave up" "event error tb=0-1 .*error=-5: authorization failed \\(attempt 4 of 4\\): .*gave up"
vm_diag "rule set -> gave up: $(vm_elapsed "$t0") s (delays 1+2+4 s)"
if auth_is 0-1 0; then vm_pass "after the last attempt: 0-1 stays unauthorized"; else vm_fail "after the last attempt: 0-1 stays unauthorized" "authorized=$(auth 0-1)"; fi
reason_has "TB_GET: FAILED, failures=4 auth_error=-5, reason says it gave up" 0-1 \
	"decision=7 .*failures=4 auth_error=-5 reason=authorization failed \\(attempt 4 of 4\\).*gave up"
reason_lacks "TB_GET: no retry scheduled" 0-1 "retry_ms="
sleep 5
sim_is "no attempt after the fourth (5 s later)" 0-1 approvals 4
# a rule change: a new round
ctl set 0-1 auth_fail=0
klog_mark
rules "id=0004:a153" >/dev/null
expect_auth "a rule change starts a new round: authorized" 0-1 1
reason_has "TB_GET: new round, failures=0" 0-1 "decision=4 by_egpu=1 .*failures=0 reason="

# --- 3. an error another attempt cannot fix ----------------------------------------
plug_denied
ctl set 0-1 auth_fail=100 auth_errno=1
rules "uuid=$GPU_UUID" >/dev/null
wait_event "-EPERM: reported without a retry" "event error tb=0-1 .*error=-1: authorization failed: writing 1"
sleep 2
sim_is "-EPERM: one attempt only" 0-1 approvals 1
reason_has "TB_GET: FAILED, failures=1 auth_error=-1" 0-1 "decision=7 .*failures=1 auth_error=-1 reason="

# --- 4. unplug, unload while a retry waits ---------------------------------------------
plug_denied
ctl set 0-1 auth_fail=100
rules "uuid=$GPU_UUID" >/dev/null
wait_event "retry pending" "event error tb=0-1 .*attempt 1 of 4"
ctl remove 0-1
wait_event "unplugged while a retry waits: tb_gone" "event tb_gone tb=0-1 "
klog_mark
sleep 2
if klog "event error tb=0-1"; then vm_fail "no attempt on the unplugged device" "$(klog_show)"; else vm_pass "no attempt on the unplugged device"; fi
ctl preset egpu
expect_auth "plugged again: a new device, a new round: authorized" 0-1 1
plug_denied
ctl set 0-1 auth_fail=100
rules "uuid=$GPU_UUID" >/dev/null
wait_event "retry pending before rmmod" "event error tb=0-1 .*attempt 1 of 4"
t0=$(vm_uptime)
vm_check "rmmod egpu_gate while a retry waits" rmmod egpu_gate
vm_diag "rmmod took $(vm_elapsed "$t0") s"
# (the 1 s retry may come before the unload on a slow guest; none after it)
a0=$(sim 0-1 approvals)
sleep 5
a=$(sim 0-1 approvals)
[ "$a" = "$a0" ] && vm_pass "no attempt after the unload (approvals=$a, 5 s later)" ||
	vm_fail "no attempt after the unload" "approvals=$a0 at the unload, $a 5 s later"
vm_check "insmod egpu_gate again" insmod "$KO"

# --- 5. a parent authorized by someone else --------------------------------------------
ctl reset
rules "id=0004:a153" >/dev/null
klog_mark
ctl preset chain
wait_event "chain: 0-301 waits for its parent" "event tb_denied tb=0-301 .*parent 0-1 not authorized"
klog_mark
t0=$(vm_uptime)
if err=$(tbsim_write "$TB/0-1/authorized" 1); then
	vm_pass "the test authorizes the parent 0-1 through sysfs"
else
	vm_fail "the test authorizes the parent 0-1 through sysfs" "$err"
fi
expect_auth "the waiting child 0-301 is authorized by the module" 0-301 1
vm_diag "parent authorized (sysfs) -> child authorized: $(vm_elapsed "$t0") s"
reason_has "TB_GET: 0-301 AUTHORIZED by egpu-gate" 0-301 "decision=4 by_egpu=1 .*reason=authorized by rule"
reason_has "TB_GET: 0-1 reported as already authorized, not adopted" 0-1 "decision=5 .*reason=already authorized"
reason_lacks "TB_GET: 0-1 not torn down at shutdown (no by_egpu)" 0-1 "by_egpu=1"
if auth_is 0-30301 0; then vm_pass "0-30301 (no rule) stays unauthorized"; else vm_fail "0-30301 (no rule) stays unauthorized" "authorized=$(auth 0-30301)"; fi
# de-authorizing the parent again (AUTHORIZED=0) changes no decision
klog_mark
tbsim_write "$TB/0-1/authorized" 0 >/dev/null
sleep 1
if klog "event tb_authorized"; then vm_fail "AUTHORIZED=0 triggers nothing" "$(klog_show)"; else vm_pass "AUTHORIZED=0 triggers nothing"; fi

ctl reset
rules "" >/dev/null
vm_check "rmmod egpu_gate" rmmod egpu_gate
vm_check "rmmod tbsim" rmmod tbsim

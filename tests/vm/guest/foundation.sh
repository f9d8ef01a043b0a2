#!/bin/sh
# Foundation: egpu_gate loads, shows its parameters, egpuctl talks to it as
# root and is refused (exit 4, no crash) as an unprivileged user, the
# kselftest-style uAPI test passes, the module unloads and reloads cleanly.
#
# Needs (vm.py): --ko egpu_gate.ko, --bin egpuctl, optionally
# --bin egpu_uapi_test. EGPU_KO overrides the module path.
# shellcheck source=lib.sh
. /usr/lib/vm/lib.sh

KO=${EGPU_KO:-/lib/modules/extra/egpu_gate.ko}
MOD=/sys/module/egpu_gate
PARAMS="auto_reset_method teardown_budget_ms reset_leave_d0 gpu_ids"
EGPUCTL=$(command -v egpuctl)
UAPI_TEST=/usr/bin/egpu_uapi_test

have_egpuctl() { [ -n "$EGPUCTL" ] && [ -x "$EGPUCTL" ]; }

# run_ctl USER ARGS...: egpuctl as USER (root: directly); sets out, err, rc.
run_ctl() {
	_u=$1
	shift
	if [ "$_u" = root ]; then
		egpuctl "$@" >/tmp/ctl.out 2>/tmp/ctl.err
	else
		vm_run_as "$_u" "egpuctl $*" >/tmp/ctl.out 2>/tmp/ctl.err
	fi
	rc=$?
	out=$(cat /tmp/ctl.out)
	err=$(cat /tmp/ctl.err)
}

load() { # load DESC
	if [ ! -f "$KO" ]; then
		vm_fail "$1" "module file $KO missing (vm.py --ko egpu_gate.ko)"
		return 1
	fi
	vm_check "$1" insmod "$KO" || return 1
	if [ -d $MOD ]; then
		return 0
	fi
	vm_fail "$1: $MOD exists"
	return 1
}

unload() { # unload DESC
	vm_check "$1" rmmod egpu_gate || return 1
	if [ -e $MOD ]; then
		vm_fail "$1: $MOD is gone" "$(ls $MOD)"
		return 1
	fi
	return 0
}

# status_root: egpuctl status (text and --json) as root.
status_root() {
	ver=$(cat $MOD/version 2>/dev/null)
	if ! have_egpuctl; then
		vm_fail "$1egpuctl status as root" "egpuctl missing in the guest (vm.py --bin egpuctl)"
		vm_fail "$1egpuctl status --json as root" "egpuctl missing in the guest"
		return
	fi
	run_ctl root status
	if [ "$rc" -eq 0 ] && [ -n "$ver" ] && echo "$out" | grep -q "module version.*$ver"; then
		vm_pass "$1egpuctl status as root shows module version $ver"
	else
		vm_fail "$1egpuctl status as root shows module version ${ver:-(no $MOD/version)}" \
			"exit status $rc" "$out" "$err"
	fi
	run_ctl root status --json
	if [ "$rc" -ne 0 ]; then
		vm_fail "$1egpuctl status --json as root" "exit status $rc" "$out" "$err"
	elif ! echo "$out" | vm_json_valid -; then
		vm_fail "$1egpuctl status --json is valid JSON" "$out"
	elif ! echo "$out" | grep -q "\"module_version\": *\"$ver\""; then
		vm_fail "$1egpuctl status --json has \"module_version\": \"$ver\"" "$out"
	else
		vm_pass "$1egpuctl status --json as root is valid JSON with module_version $ver"
	fi
}

# refused USER ARGS...: egpuctl must exit 4 with "permission denied".
refused() {
	_who=$1
	shift
	_d="egpuctl $* as $_who is refused (exit 4, permission denied)"
	if ! have_egpuctl; then
		vm_fail "$_d" "egpuctl missing in the guest"
		return
	fi
	run_ctl "$_who" "$@"
	if [ "$rc" -ge 128 ]; then
		vm_fail "$_d" "killed by signal $((rc - 128))" "$out" "$err"
	elif [ "$rc" -ne 4 ]; then
		vm_fail "$_d" "exit status $rc, expected 4" "$out" "$err"
	elif ! echo "$err$out" | grep -qi "permission denied"; then
		vm_fail "$_d" "no \"permission denied\" message" "$out" "$err"
	else
		vm_pass "$_d"
	fi
}

# uapi_test: run the kselftest-style binary, pass its results through as
# "uapi: ...", check its plan and exit status.
uapi_test() {
	if [ ! -x $UAPI_TEST ]; then
		vm_skip "uapi: egpu_uapi_test" "not in the guest (not built)"
		return
	fi
	# A bound, not a duration: ~10 s on a stock kernel, but its 16384
	# TB_RULE_ADDs take minutes on the debug kernel (KASAN) under TCG.
	timeout 900 $UAPI_TEST >/tmp/uapi.out 2>&1
	urc=$?
	awk -v rc="$urc" '
		/^(not ok|ok)([ \t]|$)/ {
			n++
			v = ($1 == "not") ? "not ok" : "ok"
			sub(/^(not ok|ok)[ \t]*[0-9]*[ \t]*-?[ \t]*/, "")
			if (v == "not ok" && $0 !~ /# *TODO/) f++
			print v " - uapi: " $0
			next
		}
		/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
		/^TAP version/ { next }
		/^#/ { print; next }
		{ print "# " $0 }
		END {
			if (n == 0) print "not ok - uapi: egpu_uapi_test reported no results (exit status " rc ")"
			else if (plan != "" && plan != n) print "not ok - uapi: planned " plan " tests, ran " n
			if (rc >= 124 && rc != 0) print "not ok - uapi: egpu_uapi_test exit status " rc " (timeout or signal)"
			else if (rc != 0 && f == 0) print "not ok - uapi: exit status " rc " without a failed test"
		}' /tmp/uapi.out
}

# --- first load --------------------------------------------------------------
if [ -e $MOD ]; then
	vm_fail "egpu_gate not loaded before the test" "$(lsmod)"
fi
if load "insmod egpu_gate.ko"; then
	vm_diag "$(dmesg | grep egpu_gate | tail -n 3)"
	if [ -d $MOD/parameters ]; then
		missing=""
		for p in $PARAMS; do
			[ -r "$MOD/parameters/$p" ] || missing="$missing $p"
		done
		if [ -z "$missing" ]; then
			vals=""
			for p in $PARAMS; do vals="$vals $p=$(cat "$MOD/parameters/$p")"; done
			vm_pass "module parameters:$vals"
		else
			vm_fail "module parameters $PARAMS present" "missing:$missing" "$(ls $MOD/parameters)"
		fi
	else
		vm_fail "$MOD/parameters/ exists"
	fi
	status_root ""
	refused nobody status
	refused nobody status --json
	uapi_test
	if unload "rmmod egpu_gate" && have_egpuctl; then
		# With automatic loading off, egpuctl must say "not loaded" (exit 3).
		saved=$(cat /proc/sys/kernel/modprobe)
		echo /nonexistent >/proc/sys/kernel/modprobe
		run_ctl root status
		echo "$saved" >/proc/sys/kernel/modprobe
		if [ "$rc" -eq 3 ] && [ ! -e $MOD ]; then
			vm_pass "egpuctl status without the module (no autoload) exits 3"
		else
			vm_fail "egpuctl status without the module (no autoload) exits 3" \
				"exit status $rc" "$out" "$err"
		fi
		# The genl family alias (net-pf-16-proto-16-family-egpu_gate) loads
		# the installed module on first use, as after a DKMS install.
		run_ctl root status
		if [ "$rc" -eq 0 ] && [ -d $MOD ]; then
			vm_pass "egpuctl status autoloads egpu_gate through its genl family alias"
			unload "rmmod the autoloaded egpu_gate"
		else
			vm_fail "egpuctl status autoloads egpu_gate through its genl family alias" \
				"exit status $rc" "$out" "$err"
			[ -e $MOD ] && rmmod egpu_gate
		fi
	fi
fi

# --- clean reload ------------------------------------------------------------
if [ -e $MOD ]; then
	vm_fail "reload: egpu_gate unloaded before the reload" "$(lsmod)"
elif load "reload: insmod egpu_gate.ko again"; then
	status_root "reload: "
	unload "reload: rmmod egpu_gate"
fi

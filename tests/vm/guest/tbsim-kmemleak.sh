#!/bin/sh
# After tbsim.sh and tbsim-runbook.sh (which unload tbsim): on a kernel
# with kmemleak (the debug test kernel), no leaked object was allocated
# by tbsim. Skipped where kmemleak is absent (Debian kernels).
. /usr/lib/vm/lib.sh

KL=/sys/kernel/debug/kmemleak
if [ ! -e "$KL" ]; then
	vm_skip "kmemleak: no tbsim leaks" "no $KL (kernel without kmemleak)"
	exit 0
fi
# kmemleak reports an object only after it stayed unreferenced over scans
echo scan >"$KL"
usleep 500000
echo scan >"$KL"
leaks=$(cat "$KL")
if printf '%s\n' "$leaks" | grep -q tbsim; then
	vm_fail "kmemleak: no tbsim leaks" "$(printf '%s\n' "$leaks" | head -n 60)"
else
	vm_pass "kmemleak: no tbsim leaks ($(printf '%s\n' "$leaks" | grep -c '^unreferenced object') unreferenced objects in all)"
fi

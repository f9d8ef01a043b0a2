#!/bin/sh
# shellcheck disable=SC1091 # installed by vm.py
. /usr/lib/vm/lib.sh
if out=$(vm_qmp '{"execute": "query-status"}' 10) && echo "$out" | grep -q running; then
	vm_pass "query-status answers"
else
	vm_fail "query-status answers" "$out"
fi
out=$(vm_qmp '{"execute": "no-such-command"}' 10)
if [ $? -eq 1 ] && echo "$out" | grep -q CommandNotFound; then
	vm_pass "QMP error comes back as an error"
else
	vm_fail "QMP error comes back as an error" "$out"
fi
out=$(vm_qmp 'not json' 10)
if [ $? -eq 1 ] && echo "$out" | grep -q HarnessError; then
	vm_pass "malformed request is answered with an error"
else
	vm_fail "malformed request is answered with an error" "$out"
fi
out=$(vm_qmp_event NO_SUCH_EVENT 2)
if [ $? -eq 1 ] && echo "$out" | grep -q Timeout; then
	vm_pass "missing event times out"
else
	vm_fail "missing event times out" "$out"
fi

#!/bin/sh
# Guest script for tests/vm/vm.py (run by tests/testkernel/check-kunit.sh).
# Loads the modules named in /etc/kunit-modules (their KUnit suites run
# during the load, kunit_test_suites()), prints one TAP line per test case
# ("suite.case") from /sys/kernel/debug/kunit/<suite>/results (KTAP), unloads
# the modules and reports what kmemleak finds afterwards.
leaks=/sys/kernel/debug/kmemleak
kdir=/sys/kernel/debug/kunit
[ -d "$kdir" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# kmemleak: only objects allocated from here on are the modules' (the report
# gives each object's allocation time in jiffies); boot-time suspects are
# ignored without a baseline scan (each scan takes ~15 s under TCG + KASAN).
j0=$(awk '/^jiffies:/ { print $2; exit }' /proc/timer_list)
t0=$(cut -d' ' -f1 /proc/uptime)

# The suites run inside insmod: bound it, so a hanging test case is reported
# from the guest (with the partial results and its stack) instead of only by
# the host's timeout.
limit=$(cat /etc/kunit-insmod-timeout 2>/dev/null || echo 600)
echo "<5>egpu-kunit: loading modules" > /dev/kmsg
loaded=""
hung=""
for m in $(cat /etc/kunit-modules); do
	insmod "/lib/modules/extra/$m.ko" > /tmp/insmod.out 2>&1 &
	pid=$!
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt "$limit" ]; do
		sleep 1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "not ok - insmod $m"
		echo "# still running after ${limit} s: a test case hangs"
		hung=$m
		break
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok - insmod $m"
		loaded="$m $loaded"
	else
		echo "not ok - insmod $m"
		echo "# insmod exit status $rc: $(cat /tmp/insmod.out)"
	fi
done
echo "<5>egpu-kunit: modules loaded" > /dev/kmsg

# KTAP (debugfs) -> TAP: test cases are the 4-space-indented result lines;
# the lines before a failed case are its log, printed as diagnostics.
suites=""
for d in "$kdir"/*/; do
	[ -r "$d/results" ] || continue
	s=${d%/}; s=${s##*/}
	suites="$suites $s"
	awk -v suite="$s" -v hung="$hung" '
	/^    (ok|not ok) [0-9]+ / {
		line = substr($0, 5)
		verdict = "ok"
		if (line ~ /^not ok/) { verdict = "not ok"; line = substr(line, 8) } else line = substr(line, 4)
		sub(/^[0-9]+ /, "", line)
		name = line; directive = ""
		if (index(line, "#") > 0) {
			name = substr(line, 1, index(line, "#") - 1)
			directive = substr(line, index(line, "#") + 1)
			sub(/^ +/, "", directive)
		}
		sub(/ +$/, "", name)
		if (directive ~ /^SKIP/)
			print "ok - " suite "." name " # " directive
		else
			print verdict " - " suite "." name
		if (verdict == "not ok")
			for (i = 0; i < n; i++) print "# " buf[i]
		n = 0
		done++
		next
	}
	/^    1\.\.[0-9]+$/ { plan = substr($0, 8) + 0; next }
	/^    [^ ]/ && /^    (KTAP version|# Subtest:|# module:)/ { next }
	/^    / { l = $0; sub(/^ +/, "", l); buf[n++] = l }
	END {
		if (hung != "" && done < plan) {
			print "not ok - " suite " (" done " of " plan " cases finished)"
			print "# insmod " hung " still running: the next case hangs or was never reached"
		}
	}
	' "$d/results"
done
if [ -n "$hung" ]; then
	# The hanging case is the test function on a kunit_try_catch thread's stack.
	found=""
	for t in /proc/[0-9]*; do
		case $(cat "$t/comm" 2>/dev/null) in kunit_try*) ;; *) continue ;; esac
		found=1
		fn=$(awk '/kunit_try_run_case|kunit_generic_run/ { print prev; exit } { prev = $2 }' "$t/stack" |
			sed 's/+.*//')
		echo "not ok - hung test case: ${fn:-unknown}"
		sed 's/^/# /' "$t/stack"
	done
	if [ -z "$found" ]; then
		echo "not ok - hung test case: unknown"
		echo "# no kunit_try_catch thread found; tasks:"
		for t in /proc/[0-9]*; do echo "# ${t#/proc/} $(cat "$t/comm" 2>/dev/null)"; done | tail -n 25
	fi
fi
if [ -n "$suites" ]; then
	echo "ok - suites ran"
	echo "#$suites"
else
	echo "not ok - suites ran"
	echo "# no KUnit suite in $kdir (KUnit not built in, or the module has none)"
fi

for m in $loaded; do
	out=$(rmmod "$m" 2>&1) || { echo "not ok - rmmod $m"; echo "# $out"; continue; }
	echo "ok - rmmod $m"
done
echo "<5>egpu-kunit: modules unloaded" > /dev/kmsg

if [ -n "$hung" ]; then
	echo "not ok - no kmemleak reports after unloading"
	echo "# not scanned: $hung could not be unloaded (a test case hangs)"
elif [ -w "$leaks" ]; then
	# kmemleak reports an object only once it is 5 s old (MSECS_MIN_AGE),
	# and from its second scan on (checksum settling): wait, scan twice.
	wait=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" \
		'BEGIN { w = 5.5 - (b - a); print (w > 0 ? w : 0) }')
	sleep "$wait"
	echo scan > "$leaks"; echo scan > "$leaks"
	awk -v j0="${j0:-0}" '
	function flush() { if (blk != "" && keep) print blk; blk = "" }
	/^unreferenced object/ { flush(); blk = $0; keep = 0; next }
	blk != "" && /^  comm / {
		for (i = 1; i <= NF; i++) if ($i == "jiffies" && $(i + 1) + 0 >= j0 + 0) keep = 1
	}
	blk != "" { blk = blk "\n" $0 }
	END { flush() }
	' "$leaks" > /tmp/leaks
	if grep -q "unreferenced object" /tmp/leaks; then
		echo "not ok - no kmemleak reports after unloading"
		echo "# $(grep -c 'unreferenced object' /tmp/leaks) unreferenced object(s) allocated since the modules loaded:"
		head -n 80 /tmp/leaks | sed 's/^/# /'
	else
		echo "ok - no kmemleak reports after unloading"
		n=$(grep -c 'unreferenced object' "$leaks")
		[ "$n" = 0 ] || echo "# ($n older suspect(s) from boot ignored)"
	fi
else
	echo "not ok - no kmemleak reports after unloading"
	echo "# $leaks not available (CONFIG_DEBUG_KMEMLEAK off?)"
fi

#!/bin/sh
# Guest script for tests/vm/vm.py (run by tests/testkernel/check-kunit.sh).
# Loads the modules named in /etc/kunit-modules (their KUnit suites run
# during the load, kunit_test_suites()), prints one TAP line per test case
# ("suite.case") from /sys/kernel/debug/kunit/<suite>/results (KTAP), unloads
# the modules and reports what kmemleak finds afterwards.
leaks=/sys/kernel/debug/kmemleak
kdir=/sys/kernel/debug/kunit
[ -d "$kdir" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

# kmemleak baseline: whatever is suspected before the modules load is not
# theirs. kmemleak reports an object only once it is 5 s old (MSECS_MIN_AGE)
# and from its second scan on (checksum settling): let boot's and /init's
# allocations age, scan twice, then "clear" greys every reported object.
if [ -w "$leaks" ]; then
	sleep 5
	echo scan > "$leaks"; echo scan > "$leaks"; echo clear > "$leaks"
fi

echo "<5>egpu-kunit: loading modules" > /dev/kmsg
loaded=""
for m in $(cat /etc/kunit-modules); do
	out=$(insmod "/lib/modules/extra/$m.ko" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok - insmod $m"
		loaded="$m $loaded"
	else
		echo "not ok - insmod $m"
		echo "# insmod exit status $rc: $out"
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
	awk -v suite="$s" '
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
		next
	}
	/^    [^ ]/ && /^    (KTAP version|# Subtest:|# module:|1\.\.)/ { next }
	/^    / { l = $0; sub(/^ +/, "", l); buf[n++] = l }
	' "$d/results"
done
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

if [ -w "$leaks" ]; then
	# Objects younger than kmemleak's minimum age (5 s) are never reported.
	sleep 6
	echo scan > "$leaks"; echo scan > "$leaks"
	if grep -q "unreferenced object" "$leaks"; then
		echo "not ok - no kmemleak reports after unloading"
		echo "# $(grep -c 'unreferenced object' "$leaks") unreferenced object(s):"
		head -n 80 "$leaks" | sed 's/^/# /'
	else
		echo "ok - no kmemleak reports after unloading"
	fi
else
	echo "not ok - no kmemleak reports after unloading"
	echo "# $leaks not available (CONFIG_DEBUG_KMEMLEAK off?)"
fi

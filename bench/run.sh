#!/bin/bash
# bench/run.sh - `make bench`: egpu-gate's benchmarks. Prints tables and
# writes them to $EGPU_BUILD/bench/*.txt; never asserts a timing (numbers
# under QEMU/TCG on a shared host are only comparable within one run, which
# is why every ratio is taken between phases of the same run).
#
#   (a) reset-cost  what the ftrace hook adds to the kernel's reset path of a
#                   PCI device egpu-gate does not handle: one VM, one kernel
#                   (BENCH_KERNEL, default trixie-bpo-7.3), one edu device;
#                   without egpu_gate, with it, after rmmod (bench/guest/reset-cost.sh)
#   (b) model       per family: register/config operations and designed wait
#                   of the good-path reset in the KUnit register model
#                   (kmod/amd_model.c), beside vendor-reset's waits from the
#                   facts sheet (bench/vendor-reset-waits.txt). Harvested from
#                   the "reset_bench:" lines of the debug kernel's KUnit run
#                   (tests/testkernel/check-kunit.sh); that run (8+ min) is
#                   reused when it is newer than kmod/, else started
#                   (BENCH_KUNIT=0: never start it, report the part as not run)
#   (c) tb          the Thunderbolt benchmark (issue 4, requirement 9):
#                   bench/tb.sh when it exists, else said to be missing
#
# Environment: BENCH_PARTS (default "reset-cost model tb"), BENCH_KERNEL,
# BENCH_RESETS (resets per phase, default 100), BENCH_PROBES (reset_method
# probes per phase, default 5000), BENCH_KUNIT, EGPU_BUILD, EGPU_CACHE,
# BENCH_VM_TIMEOUT (default 900 s).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
: "${EGPU_BUILD:=$REPO/build}"
: "${BENCH_PARTS:=reset-cost model tb}"
: "${BENCH_KERNEL:=trixie-bpo-7.3}"
: "${BENCH_RESETS:=100}"
: "${BENCH_PROBES:=5000}"
: "${BENCH_KUNIT:=1}"
: "${BENCH_VM_TIMEOUT:=900}"
export EGPU_BUILD
OUT=$EGPU_BUILD/bench
mkdir -p "$OUT"

say() { echo "bench: $*" >&2; }
# newer_than FILE DIR: a source file in DIR is newer than FILE
newer_than() {
	[ -n "$(find "$2" \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) -newer "$1" -print -quit 2>/dev/null)" ]
}
# field LINE KEY: KEY's value in a "k=v k=v" line
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }

# --- (a) reset cost -------------------------------------------------------------
part_reset_cost() {
	local txt=$OUT/reset-cost.txt kdir ko moddir out log
	say "reset-cost: kernel $BENCH_KERNEL"
	if ! out=$("$REPO/tests/kernels/fetch.sh" "$BENCH_KERNEL" 2>&1); then
		printf 'reset-cost: not run: tests/kernels/fetch.sh %s failed\n%s\n' "$BENCH_KERNEL" \
			"$(printf '%s\n' "$out" | tail -n 5)" | tee "$txt"
		return 1
	fi
	kdir=$(printf '%s\n' "$out" | tail -n 1)
	moddir=$EGPU_BUILD/modules/$BENCH_KERNEL
	ko=$moddir/egpu_gate.ko
	if [ ! -f "$ko" ] || newer_than "$ko" "$REPO/kmod"; then
		say "reset-cost: building the module"
		if ! out=$("$REPO/tests/kernels/build-module.sh" "$BENCH_KERNEL" "$REPO/kmod" "$moddir" 2>&1); then
			printf 'reset-cost: not run: module build failed\n%s\n' "$(printf '%s\n' "$out" | tail -n 10)" | tee "$txt"
			return 1
		fi
	fi
	if ! out=$(gcc -O2 -Wall -Wextra -Werror -static -o "$OUT/reset_timer" "$HERE/reset_timer.c" 2>&1); then
		printf 'reset-cost: not run: reset_timer build failed\n%s\n' "$out" | tee "$txt"
		return 1
	fi
	echo "N_RESET=$BENCH_RESETS N_PROBE=$BENCH_PROBES" >"$OUT/bench.conf"
	log=$OUT/reset-cost.guest.log
	say "reset-cost: booting $(cat "$kdir/release" 2>/dev/null) ($BENCH_RESETS resets + $BENCH_PROBES probes per phase)"
	python3 "$REPO/tests/vm/vm.py" --kernel "$kdir/vmlinuz" --modroot "$kdir/modroot" \
		--ko "$ko" --bin "$OUT/reset_timer" --file "$OUT/bench.conf:/etc/bench.conf" \
		--script "$HERE/guest/reset-cost.sh" --name "bench-$BENCH_KERNEL" \
		--timeout "$BENCH_VM_TIMEOUT" --tap "$OUT/reset-cost.tap" \
		--console "$OUT/reset-cost.console.log" --guest-log "$log" >/dev/null
	python3 - "$log" "$BENCH_KERNEL" "$(cat "$kdir/release" 2>/dev/null)" >"$txt" <<'PY'
import re, sys
log, kid, rel = sys.argv[1:4]
rows = {}
for line in open(log, errors="replace"):
    m = re.match(r"# bench: phase=(\S+) op=(\S+) (.*)", line.strip())
    if m:
        rows[(m.group(1), m.group(2))] = dict(kv.split("=", 1) for kv in m.group(3).split() if "=" in kv)
phases = ["unhooked-before", "hooked", "unhooked-after"]
print(f"(a) Reset path cost for a device egpu-gate does not handle")
print(f"    kernel {kid} ({rel}), QEMU TCG, edu 1234:11e8 on a root port (reset_method: bus)")
print(f"    reset: echo 1 > .../reset (pci_reset_function: device_specific probe, then bus reset)")
print(f"    probe: echo default > .../reset_method (every method probed; pci_dev_specific_reset once)")
print()
if not rows:
    print("    no measurements (the VM did not report any; see reset-cost.tap / .console.log)")
    sys.exit(0)
print(f"    {'op':<6} {'phase':<16} {'n':>5} {'err':>4} {'mean us':>10} {'median us':>10} {'min us':>10} {'p90 us':>10}  {'median vs unhooked':>18}")
for op in ["reset", "probe"]:
    base = [float(rows[(p, op)]["median_us"]) for p in ("unhooked-before", "unhooked-after") if (p, op) in rows]
    ref = sum(base) / len(base) if base else None
    for p in phases:
        r = rows.get((p, op))
        if not r:
            print(f"    {op:<6} {p:<16} {'-':>5}  (not measured)")
            continue
        ratio = f"{float(r['median_us']) / ref:.3f}x" if ref else "-"
        print(f"    {op:<6} {p:<16} {r['n']:>5} {r['errors']:>4} {float(r['mean_us']):>10.1f} {float(r['median_us']):>10.1f} "
              f"{float(r['min_us']):>10.1f} {float(r['p90_us']):>10.1f}  {ratio:>18}")
    h = rows.get(("hooked", op))
    if h and ref:
        print(f"    {op:<6} hooked - unhooked (median): {float(h['median_us']) - ref:+.1f} us per {op}")
print()
print("    Ratios are medians against the mean of the two unhooked phases of this run.")
PY
	cat "$txt"
	grep -q '^not ok' "$OUT/reset-cost.tap" && { echo "    (the VM reported failures: $OUT/reset-cost.tap)" | tee -a "$txt"; }
	return 0
}

# --- (b) model -------------------------------------------------------------------
part_model() {
	local txt=$OUT/model.txt con=$EGPU_BUILD/kunit/console.log
	if [ ! -s "$con" ] || newer_than "$con" "$REPO/kmod" || ! grep -q 'reset_bench:' "$con"; then
		if [ "$BENCH_KUNIT" = 0 ]; then
			printf '(b) model: not run (BENCH_KUNIT=0 and no KUnit console log newer than kmod/ in %s)\n' "$con" | tee "$txt"
			return 0
		fi
		say "model: running the KUnit suites in the debug kernel (tests/testkernel/check-kunit.sh, 8+ min)"
		EGPU_RESULTS=$OUT/kunit-results "$REPO/tests/testkernel/check-kunit.sh" >"$OUT/kunit.log" 2>&1
	fi
	python3 - "$con" "$HERE/vendor-reset-waits.txt" >"$txt" <<'PY'
import re, sys
con, vr = sys.argv[1:3]
runs = []
for line in open(con, errors="replace"):
    m = re.search(r"reset_bench: (.*)", line)
    if m:
        d = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
        if d not in runs:
            runs.append(d)
ref = {}
for line in open(vr):
    if line.strip() and not line.startswith("#"):
        f = line.rstrip("\n").split("|")
        ref[f[0]] = f
print("(b) Good-path reset per family in the register model (KUnit, kmod/amd_model.c) vs vendor-reset")
print("    ops: MMIO + config-space accesses; wait: udelay/msleep the sequence asks for (model clock)")
print()
if not runs:
    print("    no reset_bench lines in", con)
    sys.exit(0)
print(f"    {'family':<8} {'path':<19} {'ops':>4} {'mmio':>5} {'cfg':>4} {'egpu-gate wait':>15} {'vendor-reset wait':>18} {'ratio':>7}")
for d in runs:
    fam = d["family"]
    ours = int(d["designed_wait_us"])
    r = ref.get(fam)
    theirs = int(r[2]) if r else None
    vr_s = f"{theirs / 1000:.3f} ms" if theirs else "-"
    ratio = f"{ours / theirs:.3f}" if theirs and d["path"].startswith("good") else "-"
    print(f"    {fam:<8} {d['path']:<19} {d['ops']:>4} {d['mmio']:>5} {d['cfg']:>4} {ours / 1000:>12.3f} ms {vr_s:>18} {ratio:>7}")
print()
print("    vendor-reset's path and where its waits come from (facts sheet):")
for fam, f in ref.items():
    print(f"      {fam:<8} {f[1]} [{f[3]}]: {f[4]}")
print("    egpu-gate: good-mode1 = PSP mode 1 (500 ms after the command, then short polls);")
print("    psp-not-ready-baco = Vega 10's BACO fallback after the 100 ms PSP-ready bound;")
print("    no-baco-config = Polaris without BACO capability (PCI config reset).")
print("    The model answers every poll at once (healthy card); real firmware may take longer.")
PY
	cat "$txt"
}

# --- (c) Thunderbolt ------------------------------------------------------------------
part_tb() {
	local txt=$OUT/tb.txt
	if [ -x "$HERE/tb.sh" ]; then
		"$HERE/tb.sh" >"$txt" 2>"$OUT/tb.log"
		cat "$txt"
	else
		printf '(c) Thunderbolt policy vs the runbook scripts: not measured yet (bench/tb.sh missing: needs the policy engine in main, issue 4 requirement 9)\n' | tee "$txt"
	fi
}

rc=0
for p in $BENCH_PARTS; do
	echo
	case $p in
	reset-cost) part_reset_cost || rc=1 ;;
	model) part_model || rc=1 ;;
	tb) part_tb || rc=1 ;;
	*) echo "bench: unknown part '$p' (reset-cost model tb)" >&2; rc=2 ;;
	esac
done
echo
echo "tables: $OUT/*.txt"
exit $rc

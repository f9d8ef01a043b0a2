#!/bin/bash
# bench/tb.sh - make bench, part (c): egpu-gate's Thunderbolt policy against
# the runbook's scripts (udev RUN rule, boot script, detach script), in one VM
# on the same simulated devices (bench/guest/tb-compare.sh), plus the rule
# matching cost from the KUnit suite of tb_rule.c ("tb_rule_bench:" lines).
# Called by bench/run.sh; prints a table on stdout.
#
# The runbook's files are read at run time from SEED_SCRIPTS (default
# /work/shared/reference/seed-scripts, the lead's reference copy) and never
# copied into the repository.
# Environment: BENCH_KERNEL, BENCH_TB_RUNS (default 3), SEED_SCRIPTS,
# BENCH_VM_TIMEOUT, EGPU_BUILD.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
: "${EGPU_BUILD:=$REPO/build}"
: "${BENCH_KERNEL:=trixie-bpo-7.3}"
: "${BENCH_TB_RUNS:=3}"
: "${SEED_SCRIPTS:=/work/shared/reference/seed-scripts}"
: "${BENCH_VM_TIMEOUT:=900}"
OUT=$EGPU_BUILD/bench
MOD=$EGPU_BUILD/modules/$BENCH_KERNEL
TBSIM=$EGPU_BUILD/tbsim/$BENCH_KERNEL
mkdir -p "$OUT"
say() { echo "bench: tb: $*" >&2; }
newer_than() {
	[ -n "$(find "$2" \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) -newer "$1" -print -quit 2>/dev/null)" ]
}
fail() { printf '(c) Thunderbolt policy vs the runbook scripts: not run: %s\n' "$*"; exit 1; }

[ -r "$SEED_SCRIPTS/egpu-attach.sh" ] || fail "no runbook scripts in $SEED_SCRIPTS (SEED_SCRIPTS=)"
out=$("$REPO/tests/kernels/fetch.sh" "$BENCH_KERNEL" 2>&1) || fail "fetch $BENCH_KERNEL: $(printf '%s\n' "$out" | tail -n 3)"
KDIR=$(printf '%s\n' "$out" | tail -n 1)
if [ ! -f "$MOD/egpu_gate.ko" ] || newer_than "$MOD/egpu_gate.ko" "$REPO/kmod"; then
	out=$("$REPO/tests/kernels/build-module.sh" "$BENCH_KERNEL" "$REPO/kmod" "$MOD" 2>&1) ||
		fail "module build: $(printf '%s\n' "$out" | tail -n 3)"
fi
if [ ! -f "$TBSIM/tbsim.ko" ] || newer_than "$TBSIM/tbsim.ko" "$REPO/tests/kmod/tbsim"; then
	out=$("$REPO/tests/kernels/build-module.sh" "$BENCH_KERNEL" "$REPO/tests/kmod/tbsim" "$TBSIM" 2>&1) ||
		fail "tbsim build: $(printf '%s\n' "$out" | tail -n 3)"
fi
gcc -O2 -Wall -Wextra -Werror -static -I "$REPO/kmod/uapi" -o "$OUT/egpu_teardown" "$HERE/egpu_teardown.c" ||
	fail "egpu_teardown build"
echo "RUNS=$BENCH_TB_RUNS" >"$OUT/tb.conf"
log=$OUT/tb.guest.log
say "booting $(cat "$KDIR/release") ($BENCH_TB_RUNS runs per side)"
python3 "$REPO/tests/vm/vm.py" --kernel "$KDIR/vmlinuz" --modroot "$KDIR/modroot" \
	--modules "vfio_pci vfio_iommu_type1" \
	--ko "$MOD/egpu_gate.ko" --ko "$TBSIM/tbsim.ko" --bin "$OUT/egpu_teardown" \
	--file "$REPO/tests/vm/guest/tbsim-lib.sh:/usr/lib/vm/tbsim-lib.sh" \
	--file "$SEED_SCRIPTS:/opt/runbook" --file "$OUT/tb.conf:/etc/bench.conf" \
	--qemu-arg=-device --qemu-arg=pci-testdev \
	--script "$HERE/guest/tb-compare.sh" --name "bench-tb-$BENCH_KERNEL" \
	--timeout "$BENCH_VM_TIMEOUT" --tap "$OUT/tb.tap" \
	--console "$OUT/tb.console.log" --guest-log "$log" >/dev/null 2>&1

python3 - "$log" "$EGPU_BUILD/kunit/console.log" "$BENCH_KERNEL" "$(cat "$KDIR/release")" <<'PY'
import re, statistics, sys
log, kcon, kid, rel = sys.argv[1:5]
data, missing = {}, []
for line in open(log, errors="replace"):
    m = re.match(r"# tb-bench: side=(\S+) step=(\S+) run=\d+ us=(\d+)", line)
    if m:
        data.setdefault((m.group(2), m.group(1)), []).append(int(m.group(3)))
    elif line.startswith("# tb-bench-missing: "):
        missing.append(line.strip()[len("# tb-bench-missing: "):])
steps = [
    ("add_to_authorized", "hot-plug: device add -> authorized", "udev rule -> egpu-attach.sh"),
    ("authorized_to_vfio", "hot-plug: authorized -> both functions on vfio-pci", "egpu-attach.sh (sleep 3)"),
    ("teardown", "shutdown: teardown call (script / TEARDOWN_RUN)", "egpu-detach.sh"),
    ("teardown_to_gpu_gone", "shutdown: start -> GPU functions gone", "egpu-detach.sh"),
    ("boot_to_authorized", "boot, connected: start -> authorized", "egpu-boot-auth.sh / module load"),
    ("boot_script", "boot, connected: the boot script runs", "egpu-boot-auth.sh (sleep 5)"),
    ("boot_to_vfio", "boot, connected: load -> both functions on vfio-pci", "(the boot script binds nothing)"),
]
def ms(v):
    return f"{statistics.median(v) / 1000:.1f} ms" if v else "-"
print("(c) Thunderbolt: egpu-gate vs the runbook's scripts, run as the runbook runs them")
print(f"    kernel {kid} ({rel}), QEMU TCG; tbsim Blackmagic eGPU Pro at 0-1 (security user),")
print("    stand-in GPU (edu 1234:11e8 x2) hot-plugged when the tunnel opens; medians of the runs;")
print("    times from the printk clock (markers in /dev/kmsg, tbsim's tunnel up/down lines)")
print()
print(f"    {'step':<52} {'runbook':>11} {'egpu-gate':>11} {'runbook/egpu-gate':>18}  n")
for key, label, note in steps:
    rb, eg = data.get((key, "runbook"), []), data.get((key, "egpu-gate"), [])
    if not rb and not eg:
        continue
    ratio = f"{statistics.median(rb) / statistics.median(eg):.1f}x" if rb and eg and statistics.median(eg) > 0 else "-"
    print(f"    {label:<52} {ms(rb):>11} {ms(eg):>11} {ratio:>18}  {len(rb)}/{len(eg)}")
print("    (runbook column: the scripts' own sleeps are part of what they cost; both sides")
print("     include the simulated tunnel and the QMP hot-plug of the stand-in GPU;")
print("     boot: egpu-gate's time includes loading the module, while the runbook's boot")
print("     script only starts after multi-user.target, which is not counted here)")
for m in missing:
    print(f"    egpu-gate: not measured: {m}")
rules = []
try:
    for line in open(kcon, errors="replace"):
        m = re.search(r"tb_rule_bench: rules=(\d+) ns_per_match=(\d+)", line)
        if m and (int(m.group(1)), int(m.group(2))) not in rules:
            rules.append((int(m.group(1)), int(m.group(2))))
except OSError:
    pass
print()
if rules:
    base = rules[0][1] or 1
    print("    Rule matching (KUnit, debug kernel with KASAN/lockdep under TCG: relative numbers):")
    print(f"    {'rules':>7} {'ns per device match':>20} {'vs ' + str(rules[0][0]) + ' rule':>10}")
    for n, ns in rules:
        print(f"    {n:>7} {ns:>20} {ns / base:>9.1f}x")
else:
    print("    Rule matching: no tb_rule_bench lines in the KUnit console log (tb_rule.c's suite")
    print(f"    not in this build, or tests/testkernel/check-kunit.sh not run since): {kcon}")
PY

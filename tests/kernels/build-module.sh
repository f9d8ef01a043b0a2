#!/bin/bash
# tests/kernels/build-module.sh ID SRCDIR OUTDIR [MAKEVARS...]
#
# Build the out-of-tree module directory SRCDIR against kernel ID with W=1
# and warnings fatal (KCFLAGS=-Werror, and any "warning:" in the log, e.g.
# from modpost, fails the build). On success the *.ko files are copied to
# OUTDIR with the module's Module.symvers; the log is always saved as
# OUTDIR/build.log (paths in it name the real source tree).
# KBUILD_EXTRA_SYMBOLS=FILE... (host paths, e.g. OUTDIR/Module.symvers of
# kmod/) links a test module against another module's exports.
#
# The sources are copied to a scratch tree (inside the chroot for chroot
# IDs) with their layout relative to the git repository kept: the
# repository's top-level files, kmod/, tests/kmod/ and SRCDIR (tracked and
# untracked files, nothing git-ignored, so no stale objects). The build runs
# `make -C KDIR M=<copy of SRCDIR> -j2 W=1 KCFLAGS=-Werror MAKEVARS... modules`.
#
# Results are cached in $EGPU_CACHE/buildcache, keyed by the sources, the
# kernel, MAKEVARS and this harness: an unchanged tree is not rebuilt
# (EGPU_NOCACHE=1 forces a build).
#
# Exit status: 0 built cleanly, 1 build failed or warned, 2 usage,
# 3 the build environment could not be prepared.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=buildenv.sh
. "$here/buildenv.sh"

usage() { echo "usage: $0 ID SRCDIR OUTDIR [MAKEVARS...]   (ID: $KERNEL_IDS)" >&2; exit 2; }
[ $# -ge 3 ] || usage
ID=$1 SRC=$2 OUT=$3
shift 3
kid "$ID" >/dev/null || usage
[ -d "$SRC" ] || { echo "error: SRCDIR $SRC is not a directory" >&2; exit 2; }
[ -e "$SRC/Makefile" ] || [ -e "$SRC/Kbuild" ] || { echo "error: $SRC has no Makefile or Kbuild" >&2; exit 2; }
# KBUILD_EXTRA_SYMBOLS names host files: they are copied into the scratch
# tree and the variable rewritten (below); other variables pass unchanged.
VARS=() EXTRA=()
for v in "$@"; do
	case $v in
	KBUILD_EXTRA_SYMBOLS=*)
		for f in ${v#*=}; do
			[ -f "$f" ] || { echo "error: KBUILD_EXTRA_SYMBOLS file $f does not exist (build the module that provides it first)" >&2; exit 2; }
			EXTRA+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
		done ;;
	*=*) VARS+=("$v") ;;
	*) echo "error: MAKEVARS must be VAR=value, got '$v'" >&2; exit 2 ;;
	esac
done
SRC=$(cd "$SRC" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/build.log

# the environment (fetch, headers, chroot); its failure is not the module's
( kbuildenv "$ID" ) >/dev/null 2>"$OUT/buildenv.log" || {
	cat "$OUT/buildenv.log" >&2
	{ echo "build environment for $ID could not be prepared:"; cat "$OUT/buildenv.log"; } >"$LOG"
	exit 3
}
cat "$OUT/buildenv.log" >&2
rm -f "$OUT/buildenv.log"
kbuildenv "$ID" 2>/dev/null # cached now: sets RELEASE WHERE CHROOT KDIR

# --- which files to copy --------------------------------------------------
if TOP=$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null); then
	REL_SRC=${SRC#"$TOP"}
	REL_SRC=${REL_SRC#/}
	[ -n "$REL_SRC" ] || REL_SRC=.
	list() {
		# top-level files, kmod/, tests/kmod/ and SRCDIR; tracked + untracked, not
		# ignored, and never kbuild products (e.g. a stray kmod/.foo.o.d)
		git -C "$TOP" ls-files -z -co --exclude-standard -- kmod tests/kmod "$REL_SRC" ':(glob)*' |
			sort -zu | grep -zvE '(\.(o|ko|mod|mod\.c|cmd|order|a|d)|/Module\.symvers)$' |
			while IFS= read -r -d '' f; do [ -f "$TOP/$f" ] && printf '%s\0' "$f"; done
	}
else
	TOP=$(dirname "$SRC")
	REL_SRC=$(basename "$SRC")
	list() {
		(cd "$TOP" && find "$REL_SRC" -type f ! -name '*.o' ! -name '*.ko' ! -name '*.mod' ! -name '*.mod.c' \
			! -name '*.cmd' ! -name '*.order' ! -name Module.symvers ! -name '*.a' -print0 | sort -z)
	}
fi
FILES=$(mktemp)
trap 'rm -f "$FILES"' EXIT
list >"$FILES"
[ -s "$FILES" ] || { echo "error: no source files found for $SRC" >&2; exit 2; }

# --- cache key ------------------------------------------------------------
harness=$(cat "$here/build-module.sh" "$here/buildenv.sh" "$here/lib.sh" | khash)
if [ "$ID" = kunit ]; then	# the test kernel's tree is keyed by its own cache dir
	envstamp=$(readlink -f "$KDIR"; gcc --version | head -n1)
elif [ "$WHERE" = host ]; then
	envstamp=$(cat "$EGPU_CACHE/headers/$RELEASE/.complete"; gcc --version | head -n1; pahole --version 2>/dev/null || true)
else
	envstamp=$(cat "$CHROOT/.egpu-chroot-complete")
fi
KEY=$(
	{
		printf '%s\n' "id=$ID" "release=$RELEASE" "src=$REL_SRC" "harness=$harness" "env=$envstamp" "vars=${VARS[*]}"
		[ ${#EXTRA[@]} -eq 0 ] || cat "${EXTRA[@]}"
		(cd "$TOP" && xargs -0 -r sha256sum --) <"$FILES"
	} | khash
)
CACHE=$EGPU_CACHE/buildcache/$KEY

finish_from() { # DIR [cached]: copy a result to OUT, report, exit with its status
	local d=$1 rc
	rc=$(cat "$d/rc")
	cp "$d/build.log" "$LOG"
	if [ "$rc" = 0 ]; then
		find "$d" -maxdepth 1 -name '*.ko' -exec cp {} "$OUT/" \;
		[ ! -f "$d/Module.symvers" ] || cp "$d/Module.symvers" "$OUT/Module.symvers"
		klog "$ID: $REL_SRC ok${2:+ (cached)}: $(cd "$d" && ls -- *.ko | tr '\n' ' ')-> $OUT"
	else
		klog "$ID: $REL_SRC FAILED${2:+ (cached)}, log: $LOG"
		grep -v '^# ' "$LOG" | grep -iE 'warning:|error:|\*\*\*' | head -n 10 >&2 || true
	fi
	exit "$rc"
}
if [ -z "${EGPU_NOCACHE:-}" ] && [ -s "$CACHE/rc" ]; then
	touch "$CACHE" "$CACHE/rc" # keeps it from being pruned
	finish_from "$CACHE" cached
fi

# --- build ----------------------------------------------------------------
if [ "$WHERE" = host ]; then
	mkdir -p "$EGPU_CACHE/work"
	W=$(mktemp -d "$EGPU_CACHE/work/$ID.XXXXXX")
	WIN=$W
else
	mkdir -p "$CHROOT/var/tmp"
	W=$(mktemp -d "$CHROOT/var/tmp/egpu-build.XXXXXX")
	WIN=/var/tmp/${W##*/}
fi
trap 'rm -f "$FILES"; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
tar -C "$TOP" --null -T "$FILES" -cf - | tar -C "$W" -xf -

if [ ${#EXTRA[@]} -gt 0 ]; then
	mkdir -p "$W/.extra"
	ev=""
	for i in "${!EXTRA[@]}"; do
		cp "${EXTRA[$i]}" "$W/.extra/$i.symvers"
		ev="$ev $WIN/.extra/$i.symvers"
	done
	VARS+=("KBUILD_EXTRA_SYMBOLS=${ev# }")
fi
MAKECMD=(make -C "$KDIR" M="$WIN/$REL_SRC" -j2 W=1 KCFLAGS=-Werror "${VARS[@]}" modules)
# a private TMPDIR: make's jobserver fifo is /tmp/GMfifo<pid>, and pids repeat
# in the PID namespaces of concurrent chroot builds
mkdir -p "$W/.tmp"
t0=$(know)
set +e
{
	echo "# build-module: $ID ($RELEASE) $WHERE${CHROOT:+ $CHROOT}"
	echo "# ${MAKECMD[*]}"
	echo "# (sources copied to $WIN; paths below are rewritten to $TOP)"
	if [ "$WHERE" = host ]; then
		(cd "$W" && timeout --foreground "$EGPU_BUILD_TIMEOUT" env LANG=C TMPDIR="$W/.tmp" "${MAKECMD[@]}")
	else
		kchroot_run "$CHROOT" TMPDIR="$WIN/.tmp" "${MAKECMD[@]}"
	fi
	echo "# make exit status $?"
} >"$W/build.log" 2>&1
set -e
[ "$WHERE" = host ] || kchroot_check_mounts "$CHROOT"
secs=$(kelapsed "$t0")

# diagnostics name the real tree, not the scratch copy
sed -i -e "s|$WIN/|$TOP/|g" "$W/build.log"
rc=0
mrc=$(sed -n 's/^# make exit status //p' "$W/build.log" | tail -n1)
[ "$mrc" = 0 ] || rc=1
if grep -v '^# ' "$W/build.log" | grep -qi 'warning:'; then rc=1; fi
kos=$(find "$W/$REL_SRC" -name '*.ko')
[ -n "$kos" ] || rc=1
echo "# build-module: result $([ $rc = 0 ] && echo ok || echo FAILED) in ${secs}s" >>"$W/build.log"

# cache the result (failures too: the same sources fail the same way)
mkdir -p "$EGPU_CACHE/buildcache"
find "$EGPU_CACHE/buildcache" -mindepth 1 -maxdepth 1 -type d -mtime +2 -exec rm -rf {} + 2>/dev/null || true
C=$CACHE.new.$$
rm -rf "$C"
mkdir -p "$C"
cp "$W/build.log" "$C/build.log"
if [ $rc = 0 ]; then
	for k in $kos; do cp "$k" "$C/"; done
	[ ! -f "$W/$REL_SRC/Module.symvers" ] || cp "$W/$REL_SRC/Module.symvers" "$C/Module.symvers"
fi
echo $rc >"$C/rc"
rm -rf "$CACHE"
mv "$C" "$CACHE"
finish_from "$CACHE"

#!/bin/bash
# Build (or reuse from the cache) the KUnit debug test kernel.
#
#   tests/testkernel/build.sh            # prints the cache dir as the last stdout line
#
# Source: Debian's linux-source-6.12 from bookworm-backports (private apt
# configuration, tests/lib/privapt.sh). Config: x86_64_defconfig +
# kvm_guest.config + tests/testkernel/config.fragment, verified after
# olddefconfig. Cache: $EGPU_CACHE/testkernel/<version>-<hash12>/ with
#   bzImage  release  config  build.log  build/ (full source+object tree: KDIR)
# and the stamp .complete once everything succeeded. The key hashes the
# package version, config.fragment and this script.
#
# Environment:
#   EGPU_CACHE                  cache root (default /var/cache/egpu-gate)
#   EGPU_TESTKERNEL_VERSION     force a linux-source-6.12 version (else the archive's candidate)
#   EGPU_TESTKERNEL_JOBS        make -j (default 2; the machine is shared)
#   EGPU_TESTKERNEL_TIMEOUT     seconds for the whole kernel build (default 10800)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
export EGPU_CACHE
jobs=${EGPU_TESTKERNEL_JOBS:-2}
build_timeout=${EGPU_TESTKERNEL_TIMEOUT:-10800}
pkg=linux-source-6.12
fragment=$here/config.fragment
root=$EGPU_CACHE/testkernel

say() { echo "testkernel: $*" >&2; }
die() { echo "testkernel: error: $*" >&2; exit 1; }

[ -r "$fragment" ] || die "missing $fragment"
mkdir -p "$root/src"

# --- resolve the package version -------------------------------------------
# shellcheck source=../lib/privapt.sh
. "$top/tests/lib/privapt.sh"
version=${EGPU_TESTKERNEL_VERSION:-}
if [ -z "$version" ]; then
	if privapt_setup bookworm-bpo "bookworm-backports main" 2>"$root/src/privapt.err"; then
		version=$(privapt bookworm-bpo apt-cache policy "$pkg" 2>/dev/null |
			awk '/Candidate:/ { print $2; exit }')
		[ "$version" != "(none)" ] || version=""
	fi
	if [ -z "$version" ]; then
		# Offline: fall back to the newest package already downloaded.
		deb=$(ls -1 "$root/src/${pkg}_"*_all.deb 2>/dev/null | sort -V | tail -n1 || true)
		[ -n "$deb" ] || die "cannot resolve $pkg from bookworm-backports ($(cat "$root/src/privapt.err")) and none is cached in $root/src"
		version=$(dpkg-deb -f "$deb" Version)
		say "archive unreachable, using cached $pkg $version"
	fi
fi
safe_version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9._-' '_')
hash=$( { printf '%s\n' "$version"; sha256sum < "$fragment"; sha256sum < "$0"; } | sha256sum | cut -c1-12)
dir=$root/$safe_version-$hash

if [ -e "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

# --- one builder per cache dir ----------------------------------------------
mkdir -p "$dir"
exec 9>"$dir/.lock"
if ! flock -n 9; then
	say "another build of $dir is running; waiting (at most ${build_timeout}s)"
	flock -w "$build_timeout" 9 || die "timed out waiting for the lock on $dir"
	if [ -e "$dir/.complete" ]; then echo "$dir"; exit 0; fi
fi
log=$dir/build.log
say "building $pkg $version into $dir (log: $log)"
start=$(date +%s)
: > "$log"

# --- fetch and extract the source -------------------------------------------
deb=$root/src/${pkg}_$(printf '%s' "$version" | sed 's/:/%3a/')_all.deb
if [ ! -s "$deb" ]; then
	say "downloading $pkg $version"
	( cd "$root/src" && privapt bookworm-bpo apt-get -q download "$pkg=$version" ) >>"$log" 2>&1 ||
		die "apt-get download $pkg=$version failed, see $log"
	[ -s "$deb" ] || die "download did not produce $deb"
fi
src=$dir/build
if [ ! -e "$dir/.extracted" ]; then
	say "extracting the source"
	rm -rf "$src" "$dir/deb"
	mkdir -p "$dir/deb" "$src"
	dpkg-deb -x "$deb" "$dir/deb"
	tarball=$(ls -1 "$dir/deb/usr/src/${pkg}".tar.* 2>/dev/null | head -n1)
	[ -n "$tarball" ] || die "no source tarball in $deb"
	tar -xf "$tarball" -C "$src" --strip-components=1
	rm -rf "$dir/deb"
	touch "$dir/.extracted"
fi

# --- configure and verify -----------------------------------------------------
kmake() { nice -n 10 make -C "$src" -j"$jobs" "$@"; }
say "configuring"
{
	kmake x86_64_defconfig
	kmake kvm_guest.config
	(cd "$src" && ./scripts/kconfig/merge_config.sh -m .config "$fragment")
	kmake olddefconfig
} >>"$log" 2>&1 || die "configuration failed, see $log"

bad=0
while IFS= read -r line; do
	case $line in
	"# CONFIG_"*" is not set")
		opt=${line#"# "}; opt=${opt%" is not set"}
		if got=$(grep -E "^$opt=" "$src/.config"); then
			say "config: $opt requested off, got ${got#*=}"
			bad=1
		fi ;;
	CONFIG_*=*)
		opt=${line%%=*}
		if ! grep -qxF -- "$line" "$src/.config"; then
			got=$(grep -E "^$opt=|^# $opt is not set" "$src/.config" || echo "absent")
			say "config: $opt requested ${line#*=}, got: $got"
			bad=1
		fi ;;
	esac
done < "$fragment"
[ "$bad" = 0 ] || die "the kernel config does not match $fragment (see above)"

# --- build ---------------------------------------------------------------------
say "make -j$jobs (timeout ${build_timeout}s); progress every 2 min"
( exec timeout "$build_timeout" nice -n 10 make -C "$src" -j"$jobs" all ) >>"$log" 2>&1 &
mk=$!
last=0
while kill -0 "$mk" 2>/dev/null; do
	sleep 5
	now=$(date +%s)
	if [ $((now - last)) -ge 120 ]; then
		last=$now
		say "$(( (now - start) / 60 )) min: $(grep -E '^  (CC|LD|AR|AS)' "$log" | tail -n1 | sed 's/^ *//')"
	fi
done
rc=0; wait "$mk" || rc=$?
if [ "$rc" != 0 ]; then
	tail -n 30 "$log" >&2
	die "kernel build failed (exit $rc), see $log"
fi

kmake -s kernelrelease > "$dir/release" 2>>"$log"
cp "$src/arch/x86/boot/bzImage" "$dir/bzImage"
cp "$src/.config" "$dir/config"
touch "$dir/.complete"
say "done in $(( ($(date +%s) - start) / 60 )) min: $(cat "$dir/release")"
echo "$dir"

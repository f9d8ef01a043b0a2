#!/bin/bash
# tests/kernels/buildenv.sh ID
#
# Prepare (once, cached) the environment to build out-of-tree modules for
# kernel ID and print it as shell assignments on stdout:
#   RELEASE=6.12.117+deb13-amd64
#   WHERE=host|chroot
#   CHROOT=/var/cache/egpu-gate/chroots/trixie     (chroot IDs; empty for host)
#   KDIR=/usr/src/linux-headers-RELEASE           (a path inside CHROOT for chroot IDs)
#
# host IDs (bookworm-*): the headers packages (linux-headers-RELEASE, -common,
#   linux-kbuild) are extracted to $EGPU_CACHE/headers/RELEASE/ and their
#   absolute /usr/src paths rewritten; the host's gcc-12, make and pahole build.
# chroot IDs: a `debootstrap --variant=minbase` chroot under
#   $EGPU_CACHE/chroots/{trixie,sid} with make, and linux-headers-RELEASE (which
#   pulls gcc-14/gcc-16 and kbuild) installed by apt inside the chroot.
# Chroot commands run in a private mount (and PID) namespace with /proc
# mounted there: nothing is ever mounted in the host's namespace.
#
# Also usable as a library: `. buildenv.sh` defines kchroot_run.
set -eu
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# kchroot_run CHROOT COMMAND...: run COMMAND in CHROOT, with /proc mounted in
# a private mount+PID namespace (gone when the command ends, even if killed),
# a clean environment, and a time bound of $KCHROOT_TIMEOUT (default
# $EGPU_BUILD_TIMEOUT) seconds.
kchroot_run() {
	local c=$1; shift
	[ -d "$c/proc" ] || mkdir -p "$c/proc"
	timeout --foreground "${KCHROOT_TIMEOUT:-$EGPU_BUILD_TIMEOUT}" \
		unshare --mount --propagation private --pid --fork --kill-child --mount-proc="$c/proc" \
		chroot "$c" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# kchroot_check_mounts CHROOT: fail if anything is mounted below CHROOT in
# the host's namespace (should never happen; see kchroot_run).
kchroot_check_mounts() {
	local m
	m=$(awk -v c="$1/" 'index($2, c) == 1 { print $2 }' /proc/self/mounts)
	if [ -n "$m" ]; then
		echo "error: mounts left below $1: $m (umount -l them)" >&2
		return 1
	fi
}

# khost_headers RELEASE ID: extract RELEASE's headers under
# $EGPU_CACHE/headers/RELEASE and make them usable from there.
khost_headers() {
	local rel=$1 id=$2 h t0 t deps f
	h=$EGPU_CACHE/headers/$rel
	[ -s "$h/.complete" ] && return 0
	klock "headers-$rel"
	[ -s "$h/.complete" ] && return 0
	t0=$(know)
	kapt_setup "$id" || kdie "cannot set up apt for $id"
	t=$h.new.$$
	rm -rf "$t"
	mkdir -p "$t/debs"
	deps=$(kpkg_deps "$id" "linux-headers-$rel" '^linux-(headers|kbuild)-' | tr '\n' ' ')
	# shellcheck disable=SC2086
	kdownload "$id" "$t/debs" "linux-headers-$rel" $deps ||
		{ rm -rf "$t"; kdie "cannot download the headers of $rel; retry, or EGPU_REFRESH=1 $KLIB_DIR/fetch.sh $id if the archive moved on"; }
	for f in "$t"/debs/*.deb; do
		dpkg-deb -x "$f" "$t" || { rm -rf "$t"; kdie "cannot extract $f"; }
	done
	rm -rf "$t/debs"
	[ -f "$t/usr/src/linux-headers-$rel/Makefile" ] || { rm -rf "$t"; kdie "no usr/src/linux-headers-$rel/Makefile in the headers of $rel"; }
	# Debian's header Makefiles name the common tree and kbuild by absolute
	# path; point them at the extracted copies.
	grep -rlZ -e '/usr/src/linux-headers-' -e '/usr/lib/linux-kbuild-' "$t/usr/src" --include='Makefile*' --include='*.mk' --include='.kernelvariables' |
		xargs -0 -r sed -i -e "s|/usr/src/linux-headers-|$h/usr/src/linux-headers-|g" -e "s|/usr/lib/linux-kbuild-|$h/usr/lib/linux-kbuild-|g"
	# absolute symlinks inside the tree
	find "$t/usr" -type l -lname '/*' -print0 | while IFS= read -r -d '' f; do
		ln -sfn "$h$(readlink "$f")" "$f"
	done
	echo "release=$rel extracted=$(date -u +%FT%TZ)" >"$t/.complete"
	rm -rf "$h"
	mv "$t" "$h"
	klog "headers of $rel extracted to $h in $(kelapsed "$t0")s"
}

# khost_check_tools KDIR: the host has the compiler the kernel was built with,
# make and (for BTF kernels) pahole.
khost_check_tools() {
	local kdir=$1 cc missing=""
	cc=$(sed -n 's/^CC = .*(CROSS_COMPILE)\([^ ]*\).*/\1/p' "$kdir/.kernelvariables" 2>/dev/null | head -n1)
	[ -n "$cc" ] || cc=gcc
	command -v "$cc" >/dev/null || missing="$missing $cc"
	command -v make >/dev/null || missing="$missing make"
	if grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$kdir/.config" && ! command -v pahole >/dev/null; then
		missing="$missing pahole(dwarves)"
	fi
	[ -z "$missing" ] || kdie "the host lacks:$missing; run 'make deps' (tests/packages.txt)"
}

# Packages of every build chroot besides what the headers pull in (gcc,
# kbuild, pahole): make, and perl for 6.12's kernel-doc run by W=1 (Pod::Usage).
KCHROOT_PKGS="make perl"

# kchroot_ensure NAME: create the chroot NAME (= suite) once; bring an
# existing one up to $KCHROOT_PKGS.
kchroot_ensure() {
	local name=$1 c t mirror t0 t1 line
	c=$EGPU_CACHE/chroots/$name
	kchroot_ok() {
		[ -s "$c/.egpu-chroot-complete" ] && [ "$(cat "$c/.egpu-chroot-pkgs" 2>/dev/null)" = "$KCHROOT_PKGS" ]
	}
	kchroot_ok && return 0
	klock "chroot-$name"
	kchroot_ok && return 0
	if [ -s "$c/.egpu-chroot-complete" ]; then
		echo force-unsafe-io >"$c/etc/dpkg/dpkg.cfg.d/90egpu-gate-unsafe-io"
		# shellcheck disable=SC2086
		KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q -y install $KCHROOT_PKGS >>"$c.apt.log" 2>&1 || {
			KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q update >>"$c.apt.log" 2>&1
			KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q -y install $KCHROOT_PKGS >>"$c.apt.log" 2>&1
		} || { tail -n 15 "$c.apt.log" >&2; kdie "installing $KCHROOT_PKGS in the $name chroot failed, see $c.apt.log"; }
		echo "$KCHROOT_PKGS" >"$c/.egpu-chroot-pkgs"
		kchroot_run "$c" apt-get clean
		kchroot_check_mounts "$c"
		return 0
	fi
	command -v debootstrap >/dev/null || kdie "debootstrap is missing; run 'make deps'"
	mirror=$(privapt_mirror) || kdie "no Debian mirror found in /etc/apt"
	t=$c.new
	if [ -e "$t" ]; then
		kchroot_check_mounts "$t" || kdie "refusing to remove $t while something is mounted in it"
		rm -rf "$t"
	fi
	mkdir -p "$(dirname "$c")"
	t0=$(know)
	klog "debootstrap --variant=minbase $name (log: $c.debootstrap.log)"
	# private mount namespace: whatever debootstrap mounts dies with it
	timeout --foreground "$EGPU_APT_TIMEOUT" unshare --mount --propagation private \
		debootstrap --variant=minbase --components=main "$name" "$t" "$mirror" >"$c.debootstrap.log" 2>&1 ||
		{ tail -n 15 "$c.debootstrap.log" >&2; kdie "debootstrap $name failed, see $c.debootstrap.log"; }
	t1=$(kelapsed "$t0")
	: >"$t/etc/apt/sources.list"
	kchroot_sources "$name" | while IFS= read -r line; do
		echo "deb $line" >>"$t/etc/apt/sources.list"
	done
	rm -f "$t/etc/apt/sources.list.d/"*
	cat >"$t/etc/apt/apt.conf.d/90egpu-gate" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
Acquire::http::Timeout "60";
Acquire::Retries "3";
EOF
	cat >"$t/etc/dpkg/dpkg.cfg.d/90egpu-gate-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
	# a throwaway chroot: skip dpkg's fsync()s (much faster on a busy disk)
	echo force-unsafe-io >"$t/etc/dpkg/dpkg.cfg.d/90egpu-gate-unsafe-io"
	cp -L /etc/resolv.conf "$t/etc/resolv.conf" 2>/dev/null || true
	KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$t" apt-get -q update >"$c.apt.log" 2>&1 ||
		{ tail -n 15 "$c.apt.log" >&2; kdie "apt-get update in the $name chroot failed, see $c.apt.log"; }
	# shellcheck disable=SC2086
	KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$t" apt-get -q -y install $KCHROOT_PKGS >>"$c.apt.log" 2>&1 ||
		{ tail -n 15 "$c.apt.log" >&2; kdie "installing $KCHROOT_PKGS in the $name chroot failed, see $c.apt.log"; }
	echo "$KCHROOT_PKGS" >"$t/.egpu-chroot-pkgs"
	kchroot_run "$t" apt-get clean
	kchroot_check_mounts "$t"
	echo "chroot=$name created=$(date -u +%FT%TZ) debootstrap=${t1}s total=$(kelapsed "$t0")s" >"$t/.egpu-chroot-complete"
	rm -rf "$c"
	mv "$t" "$c"
	klog "chroot $name ready in $(kelapsed "$t0")s (debootstrap ${t1}s, $(du -sh "$c" | cut -f1))"
}

# kchroot_fake_image CHROOT RELEASE: 6.x headers packages depend on
# "linux-image-REL (= V) | linux-image-REL-unsigned (= V)" (7.x ones only on
# the small linux-base-REL). The real image would pull a 100 MB kernel,
# systemd, udev and initramfs-tools and run update-initramfs, none of which a
# module build needs: satisfy the dependency with an empty package that
# Provides it, so that dpkg's state stays consistent.
kchroot_fake_image() {
	local c=$1 rel=$2 alts d fake provides
	alts=$(kchroot_run "$c" apt-cache show --no-all-versions "linux-headers-$rel" |
		awk -F': ' '$1 == "Depends" { print $2; exit }' | tr ',' '\n' | grep 'linux-image-' | head -n1) || true
	[ -n "$alts" ] || return 0
	fake=egpu-gate-placeholder-linux-image-$rel
	if kchroot_run "$c" dpkg-query -W -f='${Status}' "$fake" 2>/dev/null | grep -q 'install ok installed'; then
		return 0
	fi
	# Provides every alternative, with its exact version
	provides=$(printf '%s\n' "$alts" | tr '|' '\n' | sed -n 's/^ *\([^ ]*\) *(= *\([^)]*\)).*/\1 (= \2)/p' | paste -sd, | sed 's/,/, /g')
	[ -n "$provides" ] || return 1
	d=$(mktemp -d "$c/var/tmp/egpu-fake.XXXXXX")
	mkdir -p "$d/pkg/DEBIAN"
	cat >"$d/pkg/DEBIAN/control" <<EOF
Package: $fake
Version: 1
Architecture: all
Maintainer: egpu-gate test harness <nobody@invalid>
Section: kernel
Priority: optional
Provides: $provides
Description: placeholder for the kernel image of $rel (egpu-gate build chroot)
 Satisfies linux-headers-$rel's dependency on a kernel image; empty.
EOF
	dpkg-deb -b "$d/pkg" "$d/fake.deb" >/dev/null
	kchroot_run "$c" dpkg -i "/var/tmp/${d##*/}/fake.deb" || { rm -rf "$d"; return 1; }
	rm -rf "$d"
	echo "installed $fake, Provides: $provides"
}

# kchroot_headers NAME RELEASE TARGET: linux-headers-RELEASE installed in the chroot.
kchroot_headers() {
	local name=$1 rel=$2 target=$3 c t0 log
	c=$EGPU_CACHE/chroots/$name
	log=$c.apt.log
	kchroot_has_headers() {
		[ -f "$c/usr/src/linux-headers-$rel/Makefile" ] &&
			kchroot_run "$c" dpkg-query -W -f='${Status}' "linux-headers-$rel" 2>/dev/null | grep -q 'install ok installed'
	}
	kchroot_has_headers && return 0
	klock "chroot-$name"
	kchroot_has_headers && return 0
	t0=$(know)
	local topt=()
	[ -z "$target" ] || topt=(-t "$target")
	# the lists may be older than the kernel fetch.sh resolved: update once
	if [ -n "${EGPU_REFRESH:-}" ] || ! kchroot_run "$c" apt-cache show "linux-headers-$rel" >/dev/null 2>&1; then
		KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q update >>"$log" 2>&1 ||
			{ tail -n 15 "$log" >&2; kdie "apt-get update in the $name chroot failed, see $log"; }
	fi
	# an interrupted earlier install leaves dpkg half-configured
	kchroot_run "$c" dpkg --configure -a >>"$log" 2>&1 || true
	kchroot_fake_image "$c" "$rel" >>"$log" 2>&1 ||
		{ tail -n 15 "$log" >&2; kdie "cannot install the placeholder image package in the $name chroot, see $log"; }
	KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q -y "${topt[@]}" install "linux-headers-$rel" >>"$log" 2>&1 ||
		{ tail -n 15 "$log" >&2; kdie "installing linux-headers-$rel in the $name chroot failed, see $log (if the archive moved on: EGPU_REFRESH=1)"; }
	kchroot_run "$c" apt-get clean
	kchroot_check_mounts "$c"
	klog "linux-headers-$rel installed in the $name chroot in $(kelapsed "$t0")s"
}

# kbuildenv ID: prepare and set RELEASE WHERE CHROOT KDIR.
kbuildenv() {
	local id=$1 kd
	kid "$id" || exit 2
	kd=$("$KLIB_DIR/fetch.sh" "$id" | tail -n1) || kdie "fetch.sh $id failed"
	RELEASE=$(cat "$kd/release")
	WHERE=$KID_WHERE
	if [ "$id" = kunit ]; then
		CHROOT=""
		KDIR=$(readlink -f "$kd/build")
	elif [ "$WHERE" = host ]; then
		CHROOT=""
		khost_headers "$RELEASE" "$id"
		KDIR=$EGPU_CACHE/headers/$RELEASE/usr/src/linux-headers-$RELEASE
		khost_check_tools "$KDIR"
	else
		CHROOT=$EGPU_CACHE/chroots/$KID_CHROOT
		kchroot_ensure "$KID_CHROOT"
		kchroot_headers "$KID_CHROOT" "$RELEASE" "$KID_TARGET"
		KDIR=/usr/src/linux-headers-$RELEASE
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	if [ $# -eq 2 ] && [ "$1" = --chroot ]; then
		# only create the chroot NAME (trixie, sid); check-build.sh starts it early
		kchroot_sources "$2" >/dev/null || exit 2
		kchroot_ensure "$2"
		exit 0
	fi
	[ $# -eq 1 ] || { echo "usage: $0 ID   (ID: $KERNEL_IDS)   or: $0 --chroot trixie|sid" >&2; exit 2; }
	kbuildenv "$1"
	printf 'RELEASE=%q\nWHERE=%q\nCHROOT=%q\nKDIR=%q\n' "$RELEASE" "$WHERE" "$CHROOT" "$KDIR"
fi

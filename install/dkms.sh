#!/bin/bash
# install/dkms.sh install [KVER] | uninstall  -  `make dkms-install [KVER=...]`
# and `make dkms-uninstall`: egpu-gate through DKMS without the Debian
# package (which does the same from its maintainer scripts).
#
# install: copies dkms.conf and kmod/ to /usr/src/egpu-gate-VERSION, then
#   dkms add, build and install for KVER (default: the running kernel); DKMS
#   signs the module with its MOK key (/var/lib/dkms/mok.key + mok.pub,
#   created by the first build). Installs the load order (modprobe.d
#   softdeps), the modules-load.d entry, the initramfs-tools hook and
#   init-top script and /usr/lib/egpu-gate/mok-check (install/rootfs/),
#   refreshes KVER's initramfs when it has one, and says what to do about
#   Secure Boot.
# uninstall: dkms remove of every egpu-gate version on every kernel,
#   /usr/src/egpu-gate-*, /var/lib/dkms/egpu-gate, the files of
#   install/rootfs/, and refreshes the initramfs of every kernel that had
#   the module. Kept: DKMS's signing key (shared by every DKMS module) and
#   /etc/modprobe.d/egpu-gate.conf (your policy, written by egpuctl) unless
#   PURGE=1.
# Needs root. Exit 0 done, 1 failed, 2 usage, 77 DKMS refused KVER
# (BUILD_EXCLUSIVE: outside 6.1-7.x or without the ftrace features).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
NAME=egpu-gate
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
say() { echo "egpu-gate: $*"; }
die() { echo "egpu-gate: error: $*" >&2; exit 1; }

[ -n "$VERSION" ] || die "no PACKAGE_VERSION in $REPO/dkms.conf"
[ "$(id -u)" = 0 ] || die "needs root (sudo make ...)"
command -v dkms >/dev/null || die "dkms is missing: apt install dkms"
if dpkg-query -W -f='${Status}' egpu-gate-dkms 2>/dev/null | grep -q 'install ok installed'; then
	die "egpu-gate-dkms (the Debian package) is installed; use apt (apt remove egpu-gate-dkms) instead of make dkms-install/dkms-uninstall"
fi

# refresh_initramfs KVER: rebuild KVER's initramfs if it has one
refresh_initramfs() {
	if command -v update-initramfs >/dev/null && [ -e "/boot/initrd.img-$1" ]; then
		say "update-initramfs -u -k $1"
		update-initramfs -u -k "$1" || say "warning: update-initramfs -u -k $1 failed"
	fi
}

# install_rootfs: install/rootfs/ onto /, recording every file and every
# directory it had to create in $MANIFEST (for uninstall). /lib may be a
# symlink (merged /usr): directories are created, never replaced.
MANIFEST=/usr/lib/egpu-gate/installed-files
install_rootfs() {
	local list d f
	list=$(mktemp)
	(cd "$HERE/rootfs" && find . -mindepth 1 -type d | sort) | while IFS= read -r d; do
		d=/${d#./}
		if [ ! -d "$d" ]; then
			mkdir -p "$d"
			echo "dir $d"
		fi
	done >"$list"
	(cd "$HERE/rootfs" && find . -type f | sort) | while IFS= read -r f; do
		install -m "$(stat -c %a "$HERE/rootfs/$f")" "$HERE/rootfs/$f" "/${f#./}"
		echo "file /${f#./}"
	done >>"$list"
	# merge with an earlier manifest (its directories were created by us too)
	[ ! -f "$MANIFEST" ] || grep '^dir ' "$MANIFEST" >>"$list"
	sort -u "$list" >"$MANIFEST"
	rm -f "$list"
}

# uninstall_rootfs: remove what install_rootfs recorded (files, then the
# directories it created, deepest first, when empty)
uninstall_rootfs() {
	local f dirs=""
	if [ -f "$MANIFEST" ]; then
		sed -n 's/^file //p' "$MANIFEST" | while IFS= read -r f; do rm -f "$f"; done
		dirs=$(sed -n 's/^dir //p' "$MANIFEST" | sort -r)
		rm -f "$MANIFEST"
	fi
	# files of this tree's rootfs too (an install without a manifest)
	(cd "$HERE/rootfs" && find . -type f) | while IFS= read -r f; do
		rm -f "/${f#./}"
	done
	for f in $dirs; do
		rmdir "$f" 2>/dev/null || true
	done
	rmdir /usr/lib/egpu-gate 2>/dev/null || true
}

# the versions of egpu-gate DKMS knows ("egpu-gate/0.1.0, 6.1.0-56-amd64, x86_64: installed")
dkms_versions() { dkms status -m "$NAME" 2>/dev/null | sed -n "s|^$NAME/\([^,:]*\).*|\1|p" | sort -u; }
dkms_kernels() { dkms status -m "$NAME" 2>/dev/null | sed -n "s|^$NAME/[^,]*, \([^,:]*\).*|\1|p" | sort -u; }

case ${1:-} in
install)
	KVER=${2:-$(uname -r)}
	[ -e "/lib/modules/$KVER/build" ] ||
		die "no headers for kernel $KVER (/lib/modules/$KVER/build): apt install linux-headers-$KVER (Proxmox: proxmox-headers-$KVER)"
	src=/usr/src/$NAME-$VERSION
	# a previous install of this version: start from scratch
	if dkms_versions | grep -qx "$VERSION"; then
		dkms remove -m "$NAME" -v "$VERSION" --all >/dev/null
	fi
	rm -rf "$src"
	mkdir -p "$src"
	cp "$REPO/dkms.conf" "$src/"
	cp -a "$REPO/kmod" "$src/"
	find "$src/kmod" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name '*.a' -o -name 'modules.order' -o -name 'Module.symvers' -o -name '.*.d' \) -delete
	dkms add -m "$NAME" -v "$VERSION"
	rc=0
	dkms build -m "$NAME" -v "$VERSION" -k "$KVER" || rc=$?
	if [ "$rc" = 77 ]; then
		say "DKMS refused kernel $KVER: egpu-gate supports kernels 6.1 to 7.x with"
		say "  CONFIG_DYNAMIC_FTRACE_WITH_ARGS and CONFIG_KPROBES (see BUILD_EXCLUSIVE_* in $src/dkms.conf)."
		exit 77
	fi
	[ "$rc" = 0 ] || die "dkms build failed for $KVER (log: /var/lib/dkms/$NAME/$VERSION/build/make.log)"
	dkms install -m "$NAME" -v "$VERSION" -k "$KVER" || die "dkms install failed for $KVER"
	install_rootfs
	refresh_initramfs "$KVER"
	say "installed $NAME $VERSION for $KVER: $(modinfo -k "$KVER" -n egpu_gate 2>/dev/null)"
	say "signer: $(modinfo -k "$KVER" -F signer egpu_gate 2>/dev/null || true)"
	/usr/lib/egpu-gate/mok-check || true
	;;
uninstall)
	kernels=$(dkms_kernels)
	for v in $(dkms_versions); do
		say "dkms remove $NAME/$v --all"
		dkms remove -m "$NAME" -v "$v" --all >/dev/null || die "dkms remove $NAME/$v failed"
	done
	rm -rf /usr/src/"$NAME"-[0-9]* "/var/lib/dkms/$NAME"
	uninstall_rootfs
	if [ "${PURGE:-0}" = 1 ]; then
		rm -f /etc/modprobe.d/egpu-gate.conf
	elif [ -e /etc/modprobe.d/egpu-gate.conf ]; then
		say "kept /etc/modprobe.d/egpu-gate.conf (your policy); PURGE=1 make dkms-uninstall removes it too"
	fi
	for k in $kernels; do
		refresh_initramfs "$k"
	done
	say "uninstalled (DKMS's signing key /var/lib/dkms/mok.key stays: other DKMS modules use it)"
	;;
*)
	echo "usage: $0 install [KVER] | uninstall" >&2
	exit 2 ;;
esac

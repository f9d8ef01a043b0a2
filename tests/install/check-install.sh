#!/bin/bash
# tests/install/check-install.sh [ID]  -  the `make check-install` step.
#
# Proves the install story of issue 6 on a clean Debian bookworm (default
# kernel ID bookworm-6.1; bookworm-bpo-6.12 works too):
#   1. `make deb` (install/make-deb.sh): both packages build, lintian has no
#      error.
#   2. install/rootfs/usr/lib/egpu-gate/mok-check against a fake mokutil:
#      the Secure Boot messages and exit codes.
#   3. In a throw-away overlay of the cached chroot $EGPU_CACHE/chroots/bookworm
#      (debootstrap minbase + dkms, initramfs-tools, busybox, the kernel's
#      linux-headers; its modules from tests/kernels/fetch.sh): a test key as
#      DKMS's /var/lib/dkms/mok.key + mok.pub, `apt-get install` of both
#      packages (DKMS builds against the chroot's headers), then: module file,
#      version, signer = the test key, egpuctl --version, man page, the
#      signature checked with openssl (verify-modsig.py; another key and a
#      changed byte fail), modprobe load order, BUILD_EXCLUSIVE refusals
#      (kernel 5.10, a kernel without KPROBES), `egpuctl policy apply
#      --offline` (modprobe.d, update-initramfs -u -k all, nothing live),
#      initramfs-tools and dracut content, apt purge leaves nothing.
#   4. A second overlay: `make dkms-install KVER=` and `make dkms-uninstall`
#      from the tree; afterwards the file system is as before.
#   5. The kernel ID boots in QEMU with the initramfs update-initramfs built
#      in 3, run by `egpuctl policy apply --offline` after it wrote
#      /etc/modprobe.d/egpu-gate.conf from a policy.toml (one Thunderbolt
#      rule, teardown budget 4321 ms), watched by live-watch.so (no netlink
#      socket, nothing under /sys), plus a boot=egputest script appended as
#      a second cpio: the DKMS-built, signed egpu_gate loads there from
#      init-top, before udev, vfio_pci after it, with the policy's rule and
#      budget as its parameters;
#      then with the initramfs dracut built in 3 (module 90egpu-gate, loaded
#      in its pre-udev hook, before udevd; a last pre-udev hook reports).
#
# Every overlay is mounted in a private mount+PID namespace (gone with the
# command); nothing is mounted in the host's namespace, the cached chroot is
# never written after its preparation, the host's apt sources are untouched.
# Writes $EGPU_RESULTS/install.tap; work files in $EGPU_BUILD/install/.
# Environment: EGPU_CACHE, EGPU_BUILD, EGPU_RESULTS, EGPU_INSTALL_VM_TIMEOUT
# (default 300 s). Exit 0 all passed, 1 something failed, 2 usage.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$REPO/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
: "${EGPU_INSTALL_VM_TIMEOUT:=300}"
export EGPU_CACHE EGPU_BUILD EGPU_RESULTS
ID=${1:-bookworm-6.1}
case $ID in
bookworm-6.1 | bookworm-bpo-6.12) ;;
*) echo "usage: $0 [bookworm-6.1|bookworm-bpo-6.12]" >&2; exit 2 ;;
esac
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
W=$EGPU_BUILD/install
TAP=$EGPU_RESULTS/install.tap
mkdir -p "$W" "$EGPU_RESULTS"
: >"$TAP.tmp"
n=0
failed=0
T0=$(date +%s)
say() { echo "check-install: $*" >&2; }
# tap ok|not-ok NAME [DIAG-FILE-OR-TEXT...]
tap() {
	local v=$1 name=$2 d
	shift 2
	n=$((n + 1))
	[ "$v" = ok ] || { v="not ok"; failed=$((failed + 1)); }
	echo "$v $n - install: $name" >>"$TAP.tmp"
	for d in "$@"; do
		if [ -f "$d" ]; then tail -n 20 "$d"; else printf '%s\n' "$d"; fi | sed 's/^/# /' >>"$TAP.tmp"
	done
}
# check NAME COMMAND...: tap by the command's status (its output as diagnostics on failure)
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then tap ok "$name"; else tap no "$name" "$out"; fi
}
skip() { n=$((n + 1)); echo "ok $n - install: $1 # SKIP $2" >>"$TAP.tmp"; }
finish() {
	{
		echo "TAP version 13"
		echo "1..$n"
		cat "$TAP.tmp"
		echo "# check-install took $(($(date +%s) - T0)) s"
	} >"$TAP"
	rm -f "$TAP.tmp"
}
trap 'tap no "check-install aborted"; finish' INT TERM

# --- 1. packages ------------------------------------------------------------
say "make deb"
if debout=$("$REPO/install/make-deb.sh" "$W/deb" 2>"$W/make-deb.log"); then
	DKMS_DEB=$(printf '%s\n' "$debout" | grep '/egpu-gate-dkms_.*\.deb$')
	CTL_DEB=$(printf '%s\n' "$debout" | grep '/egpuctl_.*\.deb$')
	tap ok "make deb builds egpu-gate-dkms and egpuctl $VERSION, lintian without errors" \
		"$(grep -c '^W: ' "$W/deb/lintian.log") lintian warnings"
else
	tap no "make deb builds egpu-gate-dkms and egpuctl, lintian without errors" "$W/make-deb.log"
	finish
	exit 1
fi

# --- 2. mok-check -----------------------------------------------------------
MOKCHECK=$REPO/install/rootfs/usr/lib/egpu-gate/mok-check
m=$W/mok
rm -rf "$m"
mkdir -p "$m/efi/efivars" "$m/dkms/framework.conf.d"
cat >"$m/mokutil" <<'EOF'
#!/bin/sh
case $1 in
--sb-state) echo "SecureBoot $FAKE_SB" ;;
--test-key) case $FAKE_KEY in
	enrolled) echo "$2 is already enrolled" ;;
	pending) echo "$2 is already in the enrollment request" ;;
	*) echo "$2 is not enrolled" ;;
	esac ;;
esac
EOF
chmod 755 "$m/mokutil"
touch "$m/mok.pub"
echo "mok_certificate=\"$m/mok.pub\"" >"$m/dkms/framework.conf.d/key.conf"
mok() { # EXPECTED-RC GREP SB KEY [EFI]
	local out rc=0
	out=$(FAKE_SB=$3 FAKE_KEY=$4 EGPU_MOKUTIL=$m/mokutil EGPU_EFI_DIR=${5:-$m/efi} EGPU_DKMS_CONF_DIR=$m/dkms "$MOKCHECK" 2>&1) || rc=$?
	[ "$rc" = "$1" ] && printf '%s\n' "$out" | grep -qF -- "$2" || { echo "rc=$rc (want $1), output:"; echo "$out"; return 1; }
}
check "mok-check: Secure Boot on, key not enrolled -> exit 1 and the exact 'mokutil --import $m/mok.pub'" \
	mok 1 "mokutil --import $m/mok.pub" enabled no
check "mok-check: enrollment pending -> exit 1, reboot into the MOK manager" mok 1 "Enroll MOK" enabled pending
check "mok-check: key enrolled -> exit 0" mok 0 "is enrolled" enabled enrolled
check "mok-check: Secure Boot off -> exit 0" mok 0 "Secure Boot is disabled" disabled no
check "mok-check: no UEFI -> exit 0" mok 0 "without UEFI" enabled no "$m/none"

# --- 3. chroot, kernel, test key --------------------------------------------
say "bookworm chroot with the headers of $ID"
BASE_PKGS="dkms openssl initramfs-tools busybox kmod xz-utils zstd cpio"
# downloaded only (the tests install them): egpuctl's libraries, dracut
DL_PKGS="libboost-program-options1.74.0 libfmt9 libnl-3-200 libnl-genl-3-200 libtomlplusplus3 dracut-core"
if ! prep=$(
	set -e
	. "$REPO/tests/kernels/buildenv.sh"
	kd=$("$REPO/tests/kernels/fetch.sh" "$ID" | tail -n1)
	rel=$(cat "$kd/release")
	kchroot_ensure bookworm
	kid "$ID"
	kchroot_headers bookworm "$rel" "$([ "$ID" = bookworm-bpo-6.12 ] && echo bookworm-backports)"
	c=$EGPU_CACHE/chroots/bookworm
	stamp="$BASE_PKGS | $DL_PKGS"
	if [ "$(cat "$c/.egpu-install-pkgs" 2>/dev/null)" != "$stamp" ]; then
		klock chroot-bookworm
		# shellcheck disable=SC2086
		KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q -y install $BASE_PKGS >>"$c.apt.log" 2>&1
		# shellcheck disable=SC2086
		KCHROOT_TIMEOUT=$EGPU_APT_TIMEOUT kchroot_run "$c" apt-get -q -y -d install $DL_PKGS >>"$c.apt.log" 2>&1
		kchroot_check_mounts "$c"
		echo "$stamp" >"$c/.egpu-install-pkgs"
	fi
	echo "REL=$rel KD=$kd C=$c"
) 2>"$W/prepare.log"; then
	tap no "bookworm chroot with linux-headers of $ID, dkms, initramfs-tools" "$W/prepare.log"
	finish
	exit 1
fi
eval "$prep"
tap ok "bookworm chroot with linux-headers-$REL, dkms, initramfs-tools ($C)"
KEYDIR=$EGPU_CACHE/install/testkey
if [ ! -s "$KEYDIR/mok.pub" ]; then
	mkdir -p "$KEYDIR"
	openssl req -new -x509 -nodes -days 36500 -subj "/CN=egpu-gate test signing key/" \
		-newkey rsa:2048 -keyout "$KEYDIR/mok.key.new" -outform DER -out "$KEYDIR/mok.pub.new" >"$W/openssl.log" 2>&1 &&
		mv "$KEYDIR/mok.key.new" "$KEYDIR/mok.key" && mv "$KEYDIR/mok.pub.new" "$KEYDIR/mok.pub"
fi
MODS=$KD/modroot/lib/modules/$REL
[ -d "$MODS" ] || MODS=$KD/modroot/usr/lib/modules/$REL

# session NAME: run $W/sess-NAME/up/root/in/run.sh in an overlay of the
# chroot ($C read-only below, sess-NAME/up above), the kernel's modules
# overlaid on /usr/lib/modules/REL; /proc only in the private namespace.
session() {
	local s=$W/sess-$1
	mkdir -p "$s/wk" "$s/m" "$s/mup" "$s/mwk"
	# shellcheck disable=SC2016
	timeout --foreground 1800 unshare --mount --propagation private --pid --fork --kill-child \
		bash -c 'set -e
		mount -t overlay overlay -o "lowerdir=$C,upperdir=$1/up,workdir=$1/wk" "$1/m"
		mount -t overlay overlay -o "lowerdir=$C/usr/lib/modules/$REL:$MODS,upperdir=$1/mup,workdir=$1/mwk" "$1/m/usr/lib/modules/$REL"
		mount -t proc proc "$1/m/proc"
		chroot "$1/m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive REL="$REL" VERSION="$VERSION" bash /root/in/run.sh' \
		session "$s" >"$s/log" 2>&1
	local rc=$?
	echo "session $1 exit $rc" >>"$s/log"
	return $rc
}
export C REL MODS VERSION
# new_session NAME: a fresh upper layer with the test key as DKMS's key
new_session() {
	local s=$W/sess-$1
	rm -rf "$s"
	mkdir -p "$s/up/root/in" "$s/up/root/out" "$s/up/var/lib/dkms"
	install -m 600 "$KEYDIR/mok.key" "$s/up/var/lib/dkms/mok.key"
	install -m 644 "$KEYDIR/mok.pub" "$s/up/var/lib/dkms/mok.pub"
	# the build chroot drops man pages; this one must keep them
	mkdir -p "$s/up/etc/dpkg/dpkg.cfg.d"
	mknod "$s/up/etc/dpkg/dpkg.cfg.d/90egpu-gate-nodoc" c 0 0 2>/dev/null || true
	# the kernel's config, as its linux-image package installs it (mkinitramfs reads it)
	mkdir -p "$s/up/boot"
	cp "$KD/config" "$s/up/boot/config-$REL"
	echo "$s/up/root"
}

say "package install in the chroot (DKMS build for $REL)"
r=$(new_session pkg)
cp "$DKMS_DEB" "$r/in/egpu-gate-dkms.deb"
cp "$CTL_DEB" "$r/in/egpuctl.deb"
cp "$HERE/chroot-pkg.sh" "$r/in/run.sh"
# the LD_PRELOAD watch of `policy apply --offline`, built here (the chroot
# has no libc headers); chroot-pkg.sh checks that it loads there
gcc -shared -fPIC -O2 -Wall -Wextra -o "$r/in/live-watch.so" "$HERE/live-watch.c" -ldl >"$W/live-watch-build.log" 2>&1
echo $? >"$W/live-watch-build.rc"
# the kernel image as its linux-image package installs it (update-initramfs
# -k all lists the kernels by /boot/vmlinuz-*)
cp "$KD/vmlinuz" "$r/../boot/vmlinuz-$REL"
session pkg || true
o=$r/out
rcof() { cat "$o/$1.rc" 2>/dev/null || echo none; }
if [ "$(rcof apt)" = 0 ]; then
	tap ok "apt-get install egpu-gate-dkms egpuctl in a clean bookworm chroot"
else
	tap no "apt-get install egpu-gate-dkms egpuctl in a clean bookworm chroot" "$o/apt.log" "$W/sess-pkg/log"
fi
modpath=$(cat "$o/modpath" 2>/dev/null)
case $modpath in
/lib/modules/$REL/updates/dkms/egpu_gate.ko*) tap ok "DKMS installed $modpath" ;;
*) tap no "DKMS installed /lib/modules/$REL/updates/dkms/egpu_gate.ko*" "modinfo -n: $modpath" "$o/dkms-status" ;;
esac
if [ "$(cat "$o/version" 2>/dev/null)" = "$VERSION" ]; then
	tap ok "modinfo version = dkms.conf's PACKAGE_VERSION ($VERSION)"
else
	tap no "modinfo version = $VERSION" "got: $(cat "$o/version" 2>/dev/null)"
fi
if [ "$(cat "$o/signer" 2>/dev/null)" = "egpu-gate test signing key" ]; then
	tap ok "signed by DKMS with /var/lib/dkms/mok.key (signer: egpu-gate test signing key, $(cat "$o/sig_hashalgo" 2>/dev/null))"
else
	tap no "signed with the test key" "signer: $(cat "$o/signer" 2>/dev/null)" "$o/apt.log"
fi
# the signature itself, with openssl, as the kernel checks it
if [ ! -s "$KEYDIR/other.pub" ]; then
	openssl req -new -x509 -nodes -days 36500 -subj "/CN=egpu-gate other key/" \
		-newkey rsa:2048 -keyout "$KEYDIR/other.key" -outform DER -out "$KEYDIR/other.pub" >>"$W/openssl.log" 2>&1
fi
ko=$o/$(basename "$modpath")
if out=$("$HERE/verify-modsig.py" "$ko" "$KEYDIR/mok.pub" 2>&1); then
	tap ok "the module's signature verifies against the test certificate (openssl cms: $out)"
else
	tap no "the module's signature verifies against the test certificate" "$out"
fi
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 3] ^= 0xff; open(sys.argv[2], "wb").write(d)' "$ko" "$W/tampered.ko"
if ! "$HERE/verify-modsig.py" "$ko" "$KEYDIR/other.pub" >/dev/null 2>&1 &&
	! "$HERE/verify-modsig.py" "$W/tampered.ko" "$KEYDIR/mok.pub" >/dev/null 2>&1; then
	tap ok "... and not against another key, nor after one byte of the module changed"
else
	tap no "the signature must fail against another key and for a modified module"
fi
if grep -q "egpu-gate: booted without UEFI" "$o/apt.log" 2>/dev/null; then
	tap ok "the package's postinst runs mok-check"
else
	tap no "the package's postinst runs mok-check" "$o/apt.log"
fi
if grep -qx "egpuctl $VERSION" "$o/egpuctl-version" 2>/dev/null || grep -q "$VERSION" "$o/egpuctl-version" 2>/dev/null; then
	tap ok "egpuctl --version: $(head -n1 "$o/egpuctl-version")"
else
	tap no "egpuctl --version names $VERSION" "$o/egpuctl-version"
fi
if grep -q '^\.TH' "$o/man8" 2>/dev/null; then
	tap ok "man page /usr/share/man/man8/egpuctl.8.gz installed"
else
	tap no "man page /usr/share/man/man8/egpuctl.8.gz installed" "$o/man8"
fi
for p in man7:egpu-gate.7 completion:bash-completion example:policy; do
	f=$(grep -m1 "${p#*:}" "$o/ctl-files" 2>/dev/null)
	if [ -n "$f" ]; then tap ok "egpuctl package ships $f"; else skip "egpuctl package ships ${p#*:}" "not in the tree yet"; fi
done
# load order: modprobe egpu_gate -> egpu_gate, then vfio-pci; modprobe vfio-pci -> egpu_gate first
order() { grep -o '[^/ ]*\.ko[^ ]*' "$1" | sed 's/\.ko.*//' | tr '\n' ' '; }
oe=$(order "$o/showdeps-egpu_gate")
ov=$(order "$o/showdeps-vfio-pci")
if [[ $oe =~ egpu_gate\ .*vfio-pci ]] && [[ $ov =~ egpu_gate\ .*vfio-pci ]]; then
	tap ok "modprobe order: 'modprobe egpu_gate' loads egpu_gate then vfio-pci; 'modprobe vfio-pci' loads egpu_gate first"
else
	tap no "modprobe order (softdeps)" "egpu_gate: $oe" "vfio-pci: $ov" "$o/showdeps-egpu_gate" "$o/showdeps-vfio-pci"
fi
if [ "$(rcof excl-kver)" = 77 ] && grep -q BUILD_EXCLUSIVE "$o/excl-kver.log"; then
	tap ok "dkms build for kernel 5.10 refused (BUILD_EXCLUSIVE_KERNEL, exit 77)"
else
	tap no "dkms build for kernel 5.10 refused with exit 77" "rc $(rcof excl-kver)" "$o/excl-kver.log"
fi
if [ "$(rcof excl-cfg)" = 77 ] && grep -q BUILD_EXCLUSIVE "$o/excl-cfg.log"; then
	tap ok "dkms build for a kernel without CONFIG_KPROBES refused (BUILD_EXCLUSIVE_CONFIG, exit 77)"
else
	tap no "dkms build for a kernel without CONFIG_KPROBES refused with exit 77" "rc $(rcof excl-cfg)" "$o/excl-cfg.log"
fi
# egpuctl policy apply --offline (chroot-pkg.sh): policy.toml -> modprobe.d
# -> update-initramfs -u -k all, never the kernel
TB_RULE=uuid=d1e2a3b4-0000-0000-0000-000000000001,bind=1002:687f+1002:aaf8
POLICY_OPTS="options egpu_gate tb_rules=\"$TB_RULE\" teardown_budget_ms=4321"
if [ "$(rcof policy-apply)" = 0 ] && grep -qxF "$POLICY_OPTS" "$o/egpu-gate.conf" 2>/dev/null; then
	tap ok "egpuctl policy apply --offline writes /etc/modprobe.d/egpu-gate.conf from policy.toml ($POLICY_OPTS)"
else
	tap no "egpuctl policy apply --offline writes /etc/modprobe.d/egpu-gate.conf ($POLICY_OPTS)" "rc $(rcof policy-apply)" "$o/policy-apply.log" "conf:" "$o/egpu-gate.conf"
fi
if grep -qxF "[2/2] update the initramfs (update-initramfs -u -k all): done (/boot/initrd.img-$REL)" "$o/policy-apply.log" 2>/dev/null &&
	[ "$(head -c 5 "$o/initrd.img" 2>/dev/null)" != stale ]; then
	tap ok "... and runs update-initramfs -u -k all, which rebuilt /boot/initrd.img-$REL (the stale image replaced)"
else
	tap no "egpuctl policy apply --offline rebuilds /boot/initrd.img-$REL with update-initramfs -u -k all" "$o/policy-apply.log"
fi
if grep -qF "note: offline (--offline): module egpu_gate was not contacted and nothing live changed" "$o/policy-apply.log" 2>/dev/null &&
	grep -qF "without --offline" "$o/policy-apply.log"; then
	tap ok "... and says that nothing live changed and how to apply it now"
else
	tap no "egpuctl policy apply --offline says that nothing live changed" "$o/policy-apply.log"
fi
if [ "$(cat "$W/live-watch-build.rc")" = 0 ] && grep -q ' open /sys/' "$o/live-watch-self" 2>/dev/null &&
	[ "$(rcof policy-apply)" != none ] && [ -f "$o/live-watch" ] && [ ! -s "$o/live-watch" ] &&
	grep -q ' socket AF_NETLINK protocol 16$' "$o/live-watch-control" 2>/dev/null; then
	tap ok "... and opens no netlink socket and nothing under /sys (LD_PRELOAD watch; under the same watch \`egpuctl status\` is caught at its netlink socket, refused before it exists)"
else
	tap no "egpuctl policy apply --offline opens no netlink socket and nothing under /sys (LD_PRELOAD watch)" \
		"build: rc $(cat "$W/live-watch-build.rc")" "$W/live-watch-build.log" "self-test (cat /sys/...):" "$o/live-watch-self" \
		"apply --offline:" "$o/live-watch" "egpuctl status (must be caught):" "$o/live-watch-control"
fi
missing=""
for f in 'updates/dkms/egpu_gate.ko' '/vfio-pci.ko' 'scripts/init-top/egpu-gate' 'lib/modprobe.d/egpu-gate-softdep.conf' 'etc/modprobe.d/egpu-gate.conf'; do
	grep -qF "$f" "$o/lsinitramfs" 2>/dev/null || missing="$missing $f"
done
if [ "$(rcof policy-apply)" = 0 ] && [ -z "$missing" ]; then
	tap ok "update-initramfs: egpu_gate.ko (DKMS), vfio-pci.ko, init-top/egpu-gate, the softdeps and /etc/modprobe.d/egpu-gate.conf are in /boot/initrd.img-$REL"
else
	tap no "update-initramfs puts the module, vfio-pci and their configuration in the initramfs" "missing:$missing" "$o/policy-apply.log"
fi
missing=""
for f in 'updates/dkms/egpu_gate.ko' '/vfio-pci.ko' 'hooks/pre-udev/10-egpu-gate-load.sh' 'lib/modprobe.d/egpu-gate-softdep.conf' 'etc/modprobe.d/egpu-gate.conf'; do
	grep -qF "$f" "$o/lsinitrd" 2>/dev/null || missing="$missing $f"
done
if [ "$(rcof dracut)" = 0 ] && [ -z "$missing" ]; then
	tap ok "dracut (module 90egpu-gate): egpu_gate.ko, vfio-pci.ko, the pre-udev hook and the modprobe configuration are in the initramfs"
else
	tap no "dracut puts the module, vfio-pci, the pre-udev hook and their configuration in the initramfs" "missing:$missing" "$o/dracut-install.log" "$o/dracut.log"
fi
if [ "$(rcof purge)" = 0 ] && [ ! -s "$o/after-purge" ]; then
	tap ok "apt-get purge removes the module, the DKMS tree, /usr/src and the package files"
else
	tap no "apt-get purge leaves nothing behind" "rc $(rcof purge)" "$o/after-purge" "$o/purge.log"
fi

# --- 4. make dkms-install / dkms-uninstall -----------------------------------
say "make dkms-install / dkms-uninstall in the chroot"
r=$(new_session src)
(cd "$REPO" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf -) | (mkdir -p "$r/in/src" && tar -C "$r/in/src" -xf -)
cp "$HERE/chroot-src.sh" "$r/in/run.sh"
session src || true
o=$r/out
if [ "$(rcof dkms-install)" = 0 ] && [ "$(cat "$o/signer" 2>/dev/null)" = "egpu-gate test signing key" ] &&
	[ "$(cat "$o/rootfs-files" 2>/dev/null)" = "$( (cd "$REPO/install/rootfs" && find . -type f) | wc -l)" ]; then
	tap ok "make dkms-install KVER=$REL: built, signed with the test key, installed ($(cat "$o/modpath"))"
else
	tap no "make dkms-install KVER=$REL" "rc $(rcof dkms-install)" "signer: $(cat "$o/signer" 2>/dev/null)" "installed rootfs files: $(cat "$o/rootfs-files" 2>/dev/null)" "$o/dkms-install.log"
fi
if [ "$(rcof dkms-uninstall)" = 0 ] && [ -f "$o/trace.diff" ] && [ ! -s "$o/trace.diff" ]; then
	tap ok "make dkms-uninstall removes every trace (file list equal to before the install)"
else
	tap no "make dkms-uninstall removes every trace" "rc $(rcof dkms-uninstall)" "$o/trace.diff" "$o/dkms-uninstall.log"
fi

# --- 5. boot the initramfs images ------------------------------------------
o=$W/sess-pkg/up/root/out
rm -rf "$W/vm"
# egputest_report: shell code that prints what the checks below read, then
# powers off (sourced by the initramfs' init)
egputest_report() {
	cat <<'EOF'
	echo "EGPUTEST-BEGIN"
	if [ -f /scripts/init-top/ORDER ]; then
		sed -n 's|^/scripts/init-top/\([^ ]*\).*|\1|p' /scripts/init-top/ORDER | tr '\n' ' ' | sed 's/^/EGPUTEST init-top /'
		echo
	fi
	[ ! -d /lib/dracut/hooks/pre-udev ] || echo "EGPUTEST pre-udev $(ls /lib/dracut/hooks/pre-udev | tr '\n' ' ')"
	echo "EGPUTEST udevd $(pidof systemd-udevd udevd)"
	# (dracut's image has no awk)
	while read -r egputest_m egputest_rest; do echo "EGPUTEST module $egputest_m"; done </proc/modules
	echo "EGPUTEST taint $(cat /sys/module/egpu_gate/taint 2>/dev/null)"
	echo "EGPUTEST version $(cat /sys/module/egpu_gate/version 2>/dev/null)"
	echo "EGPUTEST teardown_budget_ms $(cat /sys/module/egpu_gate/parameters/teardown_budget_ms 2>/dev/null)"
	echo "EGPUTEST tb_rules $(cat /sys/module/egpu_gate/parameters/tb_rules 2>/dev/null)"
	dmesg | grep -E 'egpu|vfio|verification' | sed 's/^/EGPUTEST dmesg /'
	echo "EGPUTEST-END"
	echo o >/proc/sysrq-trigger
	sleep 30
EOF
}
# boot_initrd NAME IMAGE APPEND: boot $ID with IMAGE plus $W/vm/NAME/extra/
# appended as a second cpio; checks the module order and options (TAP)
boot_initrd() {
	local name=$1 img=$2 v=$W/vm/$1 t0 qrc el cl mods got
	if [ ! -s "$img" ]; then
		tap no "$name: boot $ID with its initramfs (no initramfs was built)"
		return 1
	fi
	say "booting $ID with the $name initramfs in QEMU (TCG)"
	(cd "$v/extra" && find . | cpio -o -H newc --quiet) >"$v/extra.cpio"
	# the kernel reads an uncompressed cpio after a compressed one only at a
	# 4-byte aligned offset; zeros in between are skipped
	{
		cat "$img"
		head -c $(((512 - $(stat -c %s "$img") % 512) % 512)) /dev/zero
		cat "$v/extra.cpio"
	} >"$v/initrd"
	t0=$(date +%s)
	timeout --foreground "$EGPU_INSTALL_VM_TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35 -m 1G -smp 1 \
		-display none -monitor none -serial "file:$v/console.log" -no-reboot \
		-kernel "$KD/vmlinuz" -initrd "$v/initrd" \
		-append "console=ttyS0 panic=-1 no_timer_check $3" >"$v/qemu.log" 2>&1
	qrc=$?
	el=$(($(date +%s) - t0))
	cl=$v/console.log
	cp "$cl" "$EGPU_RESULTS/install-vm-$name.console.log" 2>/dev/null || true
	if grep -q EGPUTEST-END "$cl"; then
		tap ok "$name: $ID boots its initramfs in QEMU (${el}s)"
	else
		tap no "$name: $ID boots its initramfs in QEMU (qemu exit $qrc after ${el}s)" "$cl"
		return 1
	fi
	mods=$(sed -n 's/^EGPUTEST module //p' "$cl" | tr -d '\r' | tr '\n' ' ')
	# /proc/modules lists the newest first
	if [[ " $mods" =~ \ vfio_pci\ .*\ egpu_gate\  ]]; then
		tap ok "$name: the DKMS-built egpu_gate loads from the initramfs, vfio_pci after it (/proc/modules, newest first: $mods)"
	else
		tap no "$name: egpu_gate then vfio_pci loaded from the initramfs" "modules: $mods"
	fi
	got=$(sed -n 's/^EGPUTEST teardown_budget_ms //p' "$cl" | tr -d '\r')
	if [ "$got" = 4321 ]; then
		tap ok "$name: the policy's teardown budget applies in the initramfs (module parameter teardown_budget_ms=4321, from egpuctl policy apply --offline's modprobe.d)"
	else
		tap no "$name: the policy's teardown budget applies in the initramfs (teardown_budget_ms=4321)" "teardown_budget_ms: $got"
	fi
	got=$(sed -n 's/^EGPUTEST tb_rules //p' "$cl" | tr -d '\r')
	if [ "$got" = "$TB_RULE" ]; then
		tap ok "$name: the policy's Thunderbolt rule is live from the initramfs (module parameter tb_rules=$got)"
	else
		tap no "$name: the policy's Thunderbolt rule is live from the initramfs (tb_rules=$TB_RULE)" "tb_rules: $got" "$(grep -E 'tb_rules|egpu' "$cl" | head -n 10)"
	fi
	got=$(sed -n 's/^EGPUTEST version //p' "$cl" | tr -d '\r')
	if [ "$got" = "$VERSION" ]; then tap ok "$name: loaded module reports version $VERSION"; else tap no "$name: loaded module reports version $VERSION" "got: $got"; fi
	if grep -qE 'BUG:|Oops|Call Trace|Kernel panic' "$cl"; then
		tap no "$name: no kernel error reports on the console" "$(grep -E -A3 'BUG:|Oops|Call Trace|Kernel panic' "$cl" | head -n 20)"
	else
		tap ok "$name: no kernel error reports on the console (module taint: $(sed -n 's/^EGPUTEST taint //p' "$cl" | tr -d '\r'))"
	fi
}

# initramfs-tools: boot=egputest makes /init source /scripts/egputest and
# call its mountroot() after init-top and load_modules
mkdir -p "$W/vm/initramfs-tools/extra/scripts"
{
	echo "mountroot() {"
	egputest_report
	echo "}"
} >"$W/vm/initramfs-tools/extra/scripts/egputest"
if boot_initrd initramfs-tools "$o/initrd.img" boot=egputest; then
	it=$(sed -n 's/^EGPUTEST init-top //p' "$W/vm/initramfs-tools/console.log" | tr -d '\r')
	if [[ " $it" =~ \ egpu-gate\ .*\ udev\  ]]; then
		tap ok "initramfs-tools: init-top/egpu-gate runs before init-top/udev (order: $it)"
	else
		tap no "initramfs-tools: init-top/egpu-gate runs before init-top/udev" "order: $it"
	fi
fi
# dracut: the report as the last pre-udev hook (after 10-egpu-gate-load.sh,
# before udevd starts). usr/lib: /lib is a symlink in the image, and a cpio
# directory entry "lib" would replace it.
mkdir -p "$W/vm/dracut/extra/usr/lib/dracut/hooks/pre-udev"
egputest_report >"$W/vm/dracut/extra/usr/lib/dracut/hooks/pre-udev/99-egputest.sh"
if boot_initrd dracut "$o/dracut.img" "root=/dev/vda rd.shell=0"; then
	cl=$W/vm/dracut/console.log
	hooks=$(sed -n 's/^EGPUTEST pre-udev //p' "$cl" | tr -d '\r')
	udevd=$(sed -n 's/^EGPUTEST udevd//p' "$cl" | tr -d '\r ')
	if [[ " $hooks" =~ \ 10-egpu-gate-load\.sh\  ]] && [ -z "$udevd" ]; then
		tap ok "dracut: egpu_gate is loaded by the pre-udev hook, before udevd runs (pre-udev hooks: $hooks)"
	else
		tap no "dracut: egpu_gate loaded by the pre-udev hook before udevd runs" "pre-udev hooks: $hooks" "udevd pids: $udevd"
	fi
fi
finish
say "$n tests, $failed failed ($(($(date +%s) - T0)) s); $TAP"
[ "$failed" = 0 ]

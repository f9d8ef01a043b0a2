#!/bin/bash
# Runs inside the overlay chroot of check-install.sh (REL, VERSION set):
# installs the packages and records what the host-side checks need in
# /root/out. Never fails early: every step leaves its output and status.
out=/root/out
mkdir -p "$out"
# rc NAME COMMAND...: run, output to NAME.log, status to NAME.rc
rc() { local name=$1; shift; "$@" >"$out/$name.log" 2>&1; echo $? >"$out/$name.rc"; }

find / -xdev \( -path /proc -o -path /root -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
	-o -path /var/lib/dpkg -o -path /etc/ld.so.cache \) -prune -o -print | sort >"$out/before-install"

rc apt apt-get install -y -q --no-install-recommends /root/in/egpu-gate-dkms.deb /root/in/egpuctl.deb
dkms status >"$out/dkms-status" 2>&1
modinfo -k "$REL" -n egpu_gate >"$out/modpath" 2>&1
modinfo -k "$REL" -F version egpu_gate >"$out/version" 2>&1
modinfo -k "$REL" -F signer egpu_gate >"$out/signer" 2>&1
modinfo -k "$REL" -F sig_hashalgo egpu_gate >"$out/sig_hashalgo" 2>&1
cp "$(modinfo -k "$REL" -n egpu_gate)" "$out/" 2>/dev/null
egpuctl --version >"$out/egpuctl-version" 2>&1
zcat /usr/share/man/man8/egpuctl.8.gz >"$out/man8" 2>&1
dpkg -L egpuctl >"$out/ctl-files" 2>&1
modprobe -S "$REL" --show-depends egpu_gate >"$out/showdeps-egpu_gate" 2>&1
modprobe -S "$REL" --show-depends vfio-pci >"$out/showdeps-vfio-pci" 2>&1

# BUILD_EXCLUSIVE: a 5.10 kernel, and a kernel without KPROBES
rc excl-kver dkms build -m egpu-gate -v "$VERSION" -k 5.10.0-99-amd64 --kernelsourcedir "/usr/src/linux-headers-$REL"
mkdir -p /tmp/noprobes
grep -v '^CONFIG_KPROBES=' "/usr/src/linux-headers-$REL/.config" >/tmp/noprobes/.config
rc excl-cfg dkms build -m egpu-gate -v "$VERSION" -k 6.1.0-98-amd64 --kernelsourcedir /tmp/noprobes

# The Thunderbolt policy, as an installer or a chroot applies it: policy.toml,
# then `egpuctl policy apply --offline`, which writes modprobe.d and runs
# update-initramfs -u -k all, and must never reach the kernel (the host's:
# a netlink family lookup can make it load a module). live-watch.so
# (LD_PRELOAD, not inherited by update-initramfs) refuses and logs every
# netlink socket and every open under /sys; `egpuctl status` under the same
# watch shows that it sees one.
# update-initramfs -u rebuilds existing images only: /boot/vmlinuz-$REL is
# there (check-install.sh), and a stale initrd.img-$REL stands for the one
# the kernel package's postinst made (building a real one first would cost
# a second mkinitramfs run of 1-3 minutes).
# (live-watch.so is built by check-install.sh: the chroot has the kernel's
# compiler but no libc headers)
# The watch loads and catches (a missing LD_PRELOAD object is only a warning).
watch() { env LD_PRELOAD=/root/in/live-watch.so EGPU_LIVE_WATCH="$out/$1" "${@:2}"; }
: >"$out/live-watch-self"
watch live-watch-self cat /sys/module/egpu_gate/version >/dev/null 2>&1
watch_ok=no
grep -q ' open /sys/module/egpu_gate/version$' "$out/live-watch-self" && watch_ok=yes
echo "stale: stands for the image linux-image's postinst made" >"/boot/initrd.img-$REL"
mkdir -p /etc/egpu-gate
cat >/etc/egpu-gate/policy.toml <<'EOF'
# check-install: one Thunderbolt rule and the teardown budget
[[tb.rule]]
uuid = "d1e2a3b4-0000-0000-0000-000000000001"
bind = ["1002:687f", "1002:aaf8"]

[teardown]
budget_ms = 4321
EOF
: >"$out/live-watch"
# (--offline never runs without the watch, nor `egpuctl status` at all)
if [ "$watch_ok" = yes ]; then
	rc policy-apply watch live-watch egpuctl policy apply --offline
	: >"$out/live-watch-control"
	rc live-watch-control watch live-watch-control egpuctl status
fi
cp /etc/modprobe.d/egpu-gate.conf "$out/egpu-gate.conf" 2>/dev/null
cp "/boot/initrd.img-$REL" "$out/initrd.img"
# (gone again: the purge's initramfs-tools trigger below has no image to rebuild)
rm -f "/boot/initrd.img-$REL"
lsinitramfs "$out/initrd.img" >"$out/lsinitramfs" 2>&1

# dracut instead of initramfs-tools (they conflict): the dracut module
snap() {
	find / -xdev \( -path /proc -o -path /root -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
		-o -path /var/lib/dpkg -o -path /etc/ld.so.cache \) -prune -o -print | sort
}
snap >"$out/before-dracut"
rc dracut-install apt-get install -y -q --no-install-recommends dracut-core
snap >"$out/after-dracut"
rc dracut dracut --force --no-hostonly --kver "$REL" -m "base udev-rules rootfs-block egpu-gate" "$out/dracut.img"
lsinitrd "$out/dracut.img" >"$out/lsinitrd" 2>&1

rc purge apt-get purge -y -q egpu-gate-dkms egpuctl
# the test's policy (the admin's files: purge keeps them)
rm -rf /etc/egpu-gate /etc/modprobe.d/egpu-gate.conf
find / -xdev \( -path /proc -o -path /root -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
	-o -path /var/lib/dpkg -o -path /etc/ld.so.cache \) -prune -o -print | sort >"$out/after-purge.all"
# what is there now and was not before, except the libraries egpuctl pulled in
comm -13 "$out/before-dracut" "$out/after-dracut" >"$out/dracut-files"
# (dracut's own files, and what another package owns, e.g. directories
# dracut-core shares with egpu-gate-dkms)
comm -13 "$out/before-install" "$out/after-purge.all" | comm -23 - "$out/dracut-files" |
	grep -v -E '^/etc/libnl-3|^/usr/(lib/x86_64-linux-gnu/lib(boost|fmt|nl|toml)|share/doc/lib|share/lintian/overrides/lib)' |
	# depmod's indexes of another kernel whose headers the cached chroot
	# holds (a headers-only kernel: DKMS built and ran depmod there too; a
	# real kernel has them before the install)
	grep -v -E "^/usr/lib/modules/[^/]+/modules\.[a-z.]+$" |
	while IFS= read -r p; do dpkg -S "$p" >/dev/null 2>&1 || echo "$p"; done >"$out/after-purge"
exit 0

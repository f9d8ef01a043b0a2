#!/bin/bash
# Runs inside the overlay chroot of check-install.sh (REL, VERSION set):
# installs the packages and records what the host-side checks need in
# /root/out. Never fails early: every step leaves its output and status.
out=/root/out
mkdir -p "$out"
# rc NAME COMMAND...: run, output to NAME.log, status to NAME.rc
rc() { local name=$1; shift; "$@" >"$out/$name.log" 2>&1; echo $? >"$out/$name.rc"; }

# the Thunderbolt policy's options as `egpuctl policy apply` writes them
echo "options egpu_gate teardown_budget_ms=4321" >/etc/modprobe.d/egpu-gate.conf
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

rc mkinitramfs mkinitramfs -o "$out/initrd.img" "$REL"
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
rm -f /etc/modprobe.d/egpu-gate.conf
find / -xdev \( -path /proc -o -path /root -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
	-o -path /var/lib/dpkg -o -path /etc/ld.so.cache \) -prune -o -print | sort >"$out/after-purge.all"
# what is there now and was not before, except the libraries egpuctl pulled in
comm -13 "$out/before-dracut" "$out/after-dracut" >"$out/dracut-files"
# (dracut's own files, and what another package owns, e.g. directories
# dracut-core shares with egpu-gate-dkms)
comm -13 "$out/before-install" "$out/after-purge.all" | comm -23 - "$out/dracut-files" |
	grep -v -E '^/etc/libnl-3|^/usr/(lib/x86_64-linux-gnu/lib(boost|fmt|nl|toml)|share/doc/lib|share/lintian/overrides/lib)' |
	while IFS= read -r p; do dpkg -S "$p" >/dev/null 2>&1 || echo "$p"; done >"$out/after-purge"
exit 0

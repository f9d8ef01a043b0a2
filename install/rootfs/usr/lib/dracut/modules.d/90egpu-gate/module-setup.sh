#!/bin/bash
# dracut module of egpu-gate: egpu_gate.ko, vfio-pci and their modprobe
# configuration into the initramfs; egpu-gate-load.sh loads egpu_gate (and
# through its softdep vfio-pci) in the pre-udev hook, before udev probes the
# first device. The dracut counterpart of
# /usr/share/initramfs-tools/{hooks,scripts/init-top}/egpu-gate.

# included whenever the kernel has the module (DKMS built it)
check() {
	# shellcheck disable=SC2154 # $kernel is dracut's
	modinfo -k "$kernel" -F filename egpu_gate >/dev/null 2>&1 || return 1
	return 0
}

depends() {
	return 0
}

installkernel() {
	hostonly='' instmods egpu_gate vfio-pci
}

install() {
	local f
	for f in /etc/modprobe.d/egpu-gate.conf /lib/modprobe.d/egpu-gate-softdep.conf; do
		[[ -e $f ]] && inst_simple "$f"
	done
	# shellcheck disable=SC2154 # $moddir is dracut's
	inst_hook pre-udev 10 "$moddir/egpu-gate-load.sh"
}

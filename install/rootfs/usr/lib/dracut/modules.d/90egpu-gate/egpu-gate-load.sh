#!/bin/sh
# dracut pre-udev hook of egpu-gate (sourced by dracut's init: no exit):
# load egpu_gate (vfio-pci follows through its softdep) before udev starts.
# modprobe.blacklist=egpu_gate skips it.
egpu_gate_skip=0
# shellcheck disable=SC2013 # words, not lines
for egpu_gate_arg in $(cat /proc/cmdline); do
	case "$egpu_gate_arg" in
	modprobe.blacklist=*)
		case ",${egpu_gate_arg#modprobe.blacklist=}," in
		*,egpu_gate,*) egpu_gate_skip=1 ;;
		esac ;;
	esac
done
if [ "$egpu_gate_skip" = 1 ]; then
	echo "egpu-gate: not loaded in the initramfs (modprobe.blacklist=egpu_gate)" >/dev/kmsg
elif ! modprobe egpu_gate; then
	echo "egpu-gate: modprobe egpu_gate failed in the initramfs (see dmesg)" >/dev/kmsg
fi
unset egpu_gate_skip egpu_gate_arg

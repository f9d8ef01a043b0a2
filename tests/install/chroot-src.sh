#!/bin/bash
# Runs inside the overlay chroot of check-install.sh (REL set):
# make dkms-install KVER=REL, then make dkms-uninstall, and compares the
# file system before and after.
out=/root/out
mkdir -p "$out"
rc() { local name=$1; shift; "$@" >"$out/$name.log" 2>&1; echo $? >"$out/$name.rc"; }
snap() {
	find / -xdev \( -path /proc -o -path /root -o -path /tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
		-o -path /var/lib/dpkg \) -prune -o -print | sort
}
snap >"$out/before"
rc dkms-install make -C /root/in/src dkms-install KVER="$REL"
modinfo -k "$REL" -n egpu_gate >"$out/modpath" 2>&1
modinfo -k "$REL" -F signer egpu_gate >"$out/signer" 2>&1
sed -n 's/^file //p' /usr/lib/egpu-gate/installed-files 2>/dev/null | while read -r f; do [ -f "$f" ] && echo "$f"; done | wc -l >"$out/rootfs-files"
rc dkms-uninstall make -C /root/in/src dkms-uninstall
snap >"$out/after"
diff "$out/before" "$out/after" >"$out/trace.diff"
exit 0

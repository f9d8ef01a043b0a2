#!/bin/bash
# tests/kernels/fetch.sh ID
#
# Make $EGPU_CACHE/kernels/ID/ contain the Debian kernel of kernel ID:
#   release   the uname -r string (e.g. 6.1.0-56-amd64)
#   vmlinuz   the bootable bzImage
#   config    the kernel's .config
#   modroot/  the extracted modules: modroot/lib/modules/<release>/ with
#             modules.dep (depmod -b); for 6.12/7.x lib -> usr/lib
#   packages  the .deb packages (name version) it was made from
# The version is resolved from ID's linux-image-amd64 meta package. A
# complete directory is reused without touching the network;
# EGPU_REFRESH=1 resolves again (and re-fetches when the version moved).
# The last line of stdout is the directory. ID kunit is the debug test
# kernel (see below).
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || { echo "usage: $0 ID   (ID: $KERNEL_IDS)" >&2; exit 2; }
ID=$1
kid "$ID" || exit 2
D=$EGPU_CACHE/kernels/$ID

# kunit: the debug test kernel, built (once, cached) from Debian's
# linux-source by tests/testkernel/build.sh. Same layout, plus build -> its
# build tree (the KDIR for modules); what the tests need is built in, so
# modroot holds only the index of built-in modules.
if [ "$ID" = kunit ]; then
	k=$("$KLIB_DIR/../testkernel/build.sh" | tail -n1) && [ -e "$k/.complete" ] ||
		kdie "the test kernel could not be built (tests/testkernel/build.sh)"
	rel=$(cat "$k/release")
	if [ "$(readlink "$D/build" 2>/dev/null)" != "$k/build" ] ||
		[ ! -e "$D/modroot/lib/modules/$rel/modules.dep" ] || [ ! -d "$D/modroot/lib/modules/$rel/kernel" ]; then
		rm -rf "$D"
		mkdir -p "$D/modroot/lib/modules/$rel/kernel"
		ln -s "$k/bzImage" "$D/vmlinuz"
		ln -s "$k/build" "$D/build"
		cp "$k/release" "$k/config" "$D/"
		cp "$k/build/modules.builtin" "$k/build/modules.builtin.modinfo" "$k/build/modules.order" \
			"$D/modroot/lib/modules/$rel/"
		depmod -b "$D/modroot" "$rel"
	fi
	echo "$D"
	exit 0
fi

complete() {
	[ -s "$1/.complete" ] && [ -s "$1/release" ] && [ -s "$1/vmlinuz" ] && [ -s "$1/config" ] &&
		[ -s "$1/modroot/lib/modules/$(cat "$1/release")/modules.dep" ]
}

if [ -z "${EGPU_REFRESH:-}" ] && complete "$D"; then
	echo "$D"
	exit 0
fi

mkdir -p "$EGPU_CACHE/kernels"
klock "kernel-$ID"
if [ -z "${EGPU_REFRESH:-}" ] && complete "$D"; then # fetched while we waited
	echo "$D"
	exit 0
fi

t0=$(know)
kapt_setup "$ID" || kdie "cannot set up apt for $ID"
REL=$(kresolve "$ID") || kdie "cannot resolve the kernel of $ID"
tres=$(kelapsed "$t0")
case $REL in
"$KID_SERIES".*) ;;
*) klog "note: $ID now resolves to $REL (series $KID_SERIES expected); the ID's name is out of date" ;;
esac
if complete "$D" && [ "$(cat "$D/release")" = "$REL" ]; then
	klog "$ID: $REL is current (resolved in $(kelapsed "$t0")s)"
	touch "$D/.complete"
	echo "$D"
	exit 0
fi

klog "$ID: fetching $REL"
T=$D.new.$$
cleanup() { rm -rf "$T" "$D.old.$$"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$T"
mkdir -p "$T/debs" "$T/modroot"

# linux-image-REL, plus (7.x) the linux-binary/modules/base-REL parts it depends on.
relre=$(printf '%s' "$REL" | sed 's/[.+]/\\&/g')
pkgs="linux-image-$REL $(kpkg_deps "$ID" "linux-image-$REL" "^linux-[a-z]+-$relre\$" | tr '\n' ' ')"
t1=$(know)
# shellcheck disable=SC2086
kdownload "$ID" "$T/debs" $pkgs || kdie "download of $ID's kernel failed; check the network, or retry with EGPU_REFRESH=1 if the archive moved on"
dl=$(kelapsed "$t1")
t1=$(know)
: >"$T/packages"
for deb in "$T"/debs/*.deb; do
	dpkg-deb -x "$deb" "$T/modroot" || kdie "cannot extract $deb"
	dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb" >>"$T/packages"
done
rm -rf "$T/debs"

M=$T/modroot
if [ -d "$M/usr/lib/modules" ] && [ ! -e "$M/lib" ]; then
	ln -s usr/lib "$M/lib"
fi
[ -d "$M/lib/modules/$REL" ] || kdie "no lib/modules/$REL in the packages of $ID ($(tr '\n' ' ' <"$T/packages"))"

vmlinuz=""
for f in "$M/boot/vmlinuz-$REL" "$M/lib/modules/$REL/vmlinuz"; do
	[ -s "$f" ] && { vmlinuz=$f; break; }
done
[ -n "$vmlinuz" ] || kdie "no vmlinuz in the packages of $ID"
# a bzImage carries "HdrS" at offset 0x202
[ "$(dd if="$vmlinuz" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || kdie "$vmlinuz is not a bzImage"
config=""
for f in "$M/boot/config-$REL" "$M/lib/modules/$REL/config"; do
	[ -s "$f" ] && { config=$f; break; }
done
[ -n "$config" ] || kdie "no kernel config in the packages of $ID"
tx=$(kelapsed "$t1")
cp "$vmlinuz" "$T/vmlinuz"
cp "$config" "$T/config"
echo "$REL" >"$T/release"

t1=$(know)
depmod -b "$M" "$REL" || kdie "depmod -b $M $REL failed"
tdep=$(kelapsed "$t1")
[ -s "$M/lib/modules/$REL/modules.dep" ] || kdie "depmod produced no modules.dep for $REL"

echo "id=$ID release=$REL fetched=$(date -u +%FT%TZ)" >"$T/.complete"
if [ -e "$D" ]; then mv "$D" "$D.old.$$"; fi
mv "$T" "$D"
rm -rf "$D.old.$$"
klog "$ID: $REL ready in $(kelapsed "$t0")s (apt lists+resolve ${tres}s, download ${dl}s, extract ${tx}s, depmod ${tdep}s; $(du -sh "$D" | cut -f1))"
echo "$D"

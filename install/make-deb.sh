#!/bin/bash
# install/make-deb.sh [OUTDIR] - `make deb`: build the Debian packages
# egpu-gate-dkms and egpuctl from this tree into OUTDIR (default
# $EGPU_BUILD/deb, i.e. build/deb) and run lintian on them.
#
# dkms.conf, debian/, install/, kmod/ and userspace/ (tracked and untracked
# files, nothing git-ignored) are copied to
# OUTDIR/stage/egpu-gate-VERSION, debian/changelog is written there with
# VERSION = dkms.conf's PACKAGE_VERSION (the project's one version), and
# dpkg-buildpackage -b builds it. Results are cached in
# $EGPU_CACHE/debcache/<sha256 of the copied tree and the build tools>, so an
# unchanged tree is not rebuilt (EGPU_NOCACHE=1 forces a build).
#
# Last stdout lines: the two .deb paths. Exit 0 built and lintian has no
# error, 1 build or lintian failed (lintian.log says what), 2 environment.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$REPO/build}"
OUT=${1:-$EGPU_BUILD/deb}
say() { echo "make-deb: $*" >&2; }

for t in dpkg-buildpackage dh dh_dkms lintian git; do
	command -v "$t" >/dev/null || { say "error: $t is missing; run 'make deps' (tests/packages.txt)"; exit 2; }
done
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
[ -n "$VERSION" ] || { say "error: no PACKAGE_VERSION in $REPO/dkms.conf"; exit 2; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
stage=$OUT/stage/egpu-gate-$VERSION
rm -rf "$OUT/stage"
mkdir -p "$stage"
# only what the packages are built from: a change elsewhere (tests, docs)
# keeps the cached packages
(cd "$REPO" && git ls-files -z -co --exclude-standard -- dkms.conf debian install kmod userspace | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf -) | tar -C "$stage" -xf -

# debian/changelog from the one version; the date is the last commit's, so
# an unchanged tree gives the same packages.
commit=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
maint=$(sed -n 's/^Maintainer: //p' "$stage/debian/control")
cat >"$stage/debian/changelog" <<EOC
egpu-gate ($VERSION) unstable; urgency=medium

  * Built from the egpu-gate tree (commit $commit); the version is
    dkms.conf's PACKAGE_VERSION.

 -- $maint  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
EOC

# cache key: the staged tree (changelog included) and the build tools
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' "$stage/debian/control" | sed -e 's/^Build-Depends://' -e '/^[A-Z]/d' |
	tr ',' '\n' | sed -e 's/^[[:space:]]*//' -e 's/[( ].*//' | grep -v -e '^$' -e '^debhelper-compat' -e '^dh-sequence-' | sort -u)
key=$( {
	(cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
	# shellcheck disable=SC2086
	dpkg-query -W debhelper dh-dkms lintian dpkg-dev g++ $bdeps 2>&1
	sha256sum "$HERE/make-deb.sh"
} | sha256sum | cut -c1-64)
cache=$EGPU_CACHE/debcache/$key
debs=("egpu-gate-dkms_${VERSION}_all.deb" "egpuctl_${VERSION}_amd64.deb")
if [ -z "${EGPU_NOCACHE:-}" ] && [ -s "$cache/.complete" ]; then
	cp -f "$cache"/*.deb "$cache/lintian.log" "$OUT/"
	touch "$cache/.complete"
	say "up to date (cache $cache)"
else
	rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
	say "dpkg-buildpackage egpu-gate $VERSION (log: $OUT/build.log)"
	if ! (cd "$stage" && dpkg-buildpackage -b -us -uc -j2) >"$OUT/build.log" 2>&1; then
		tail -n 25 "$OUT/build.log" >&2
		say "error: dpkg-buildpackage failed, see $OUT/build.log"
		exit 1
	fi
	for d in "${debs[@]}"; do
		[ -f "$OUT/stage/$d" ] || { say "error: $d was not built, see $OUT/build.log"; exit 1; }
		mv "$OUT/stage/$d" "$OUT/"
	done
	mv "$OUT"/stage/*.changes "$OUT"/stage/*.buildinfo "$OUT/" 2>/dev/null || true
	lrc=0
	(cd "$OUT" && lintian --fail-on error --tag-display-limit 0 "${debs[@]}") >"$OUT/lintian.log" 2>&1 || lrc=$?
	if [ "$lrc" != 0 ]; then
		cat "$OUT/lintian.log" >&2
		say "error: lintian reports errors (above, $OUT/lintian.log)"
		exit 1
	fi
	mkdir -p "$cache"
	cp -f "${debs[@]/#/$OUT/}" "$OUT/lintian.log" "$cache/"
	echo "version=$VERSION commit=$commit built=$(date -u +%FT%TZ)" >"$cache/.complete"
	# entries unused for 7 days go
	find "$EGPU_CACHE/debcache" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} + 2>/dev/null || true
fi
rm -rf "$OUT/stage"
say "lintian: $(grep -c '^E: ' "$OUT/lintian.log" || true) errors, $(grep -c '^W: ' "$OUT/lintian.log" || true) warnings ($OUT/lintian.log)"
for d in "${debs[@]}"; do echo "$OUT/$d"; done

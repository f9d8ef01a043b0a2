# shellcheck shell=bash
# Common helpers for the kernel matrix scripts (fetch.sh, buildenv.sh,
# build-module.sh, check-build.sh). Source it; it needs bash.
#
# Layout under $EGPU_CACHE:
#   apt/kern-ID/            private apt configuration of ID's suite(s)
#   kernels/ID/             fetch.sh's output (release, vmlinuz, config, modroot/)
#   headers/RELEASE/        extracted headers for host-built IDs (bookworm-*)
#   chroots/SUITE/          debootstrap chroots for chroot-built IDs
#   buildcache/KEY/         results of build-module.sh, keyed by the sources' hash
#   locks/                  flock files

: "${EGPU_CACHE:=/var/cache/egpu-gate}"
export EGPU_CACHE

KLIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KREPO=$(cd "$KLIB_DIR/../.." && pwd)
# shellcheck source=../lib/privapt.sh
. "$KREPO/tests/lib/privapt.sh"

KERNEL_IDS="bookworm-6.1 bookworm-bpo-6.12 trixie-6.12 trixie-bpo-7.3 sid-7.2"

# Bounds for everything that waits on the network or a compiler (seconds).
: "${EGPU_APT_TIMEOUT:=1200}"
: "${EGPU_BUILD_TIMEOUT:=1800}"
: "${EGPU_LOCK_TIMEOUT:=3600}"


kdie() { echo "${0##*/}: error: $*" >&2; exit 1; }
klog() { echo "${0##*/}: $*" >&2; }
know() { date +%s.%N; }
# kelapsed START: seconds since START with one decimal
kelapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

# The Debian security mirror of the system: the URIs of the deb822 stanza (or
# the sources.list line) whose suite ends in -security; else the main
# mirror's URI with "-security" appended (Debian's layout).
ksecurity_mirror() {
	local m=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk 'BEGIN { RS = "" } /Suites:[^\n]*-security/ { if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' \
			/etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && /-security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
	fi
	if [ -z "$m" ]; then
		m="$(privapt_mirror)-security" || return 1
	fi
	echo "${m%/}"
}

# kid ID: set the facts of a kernel ID:
#   KID_SOURCES   apt source lines "URI SUITE COMPONENTS" (newline separated)
#                 where the kernel packages of ID come from
#   KID_WHERE     host | chroot
#   KID_CHROOT    chroot name (= debootstrap suite) for chroot IDs
#   KID_TARGET    apt target release for installing headers in the chroot ("" = default)
#   KID_SERIES    expected kernel series (a note is printed when it moved on)
# shellcheck disable=SC2034 # the KID_* variables are for the callers
kid() {
	local m s
	m=$(privapt_mirror) || return 1
	s=$(ksecurity_mirror) || return 1
	KID_CHROOT="" KID_TARGET=""
	case $1 in
	bookworm-6.1)
		KID_SOURCES="$m bookworm main
$s bookworm-security main"
		KID_WHERE=host KID_SERIES=6.1 ;;
	bookworm-bpo-6.12)
		KID_SOURCES="$m bookworm-backports main"
		KID_WHERE=host KID_SERIES=6.12 ;;
	trixie-6.12)
		KID_SOURCES="$m trixie main
$s trixie-security main"
		KID_WHERE=chroot KID_CHROOT=trixie KID_SERIES=6.12 ;;
	trixie-bpo-7.3)
		KID_SOURCES="$m trixie-backports main"
		KID_WHERE=chroot KID_CHROOT=trixie KID_TARGET=trixie-backports KID_SERIES=7 ;;
	sid-7.2)
		KID_SOURCES="$m sid main"
		KID_WHERE=chroot KID_CHROOT=sid KID_SERIES=7 ;;
	kunit)	# the debug test kernel of tests/testkernel/build.sh; built on the host
		KID_SOURCES="" KID_WHERE=host KID_SERIES=6.12 ;;
	*)
		echo "unknown kernel ID '$1'; known: $KERNEL_IDS kunit" >&2
		return 1 ;;
	esac
}

# kchroot_sources NAME: the chroot's own sources.list lines ("URI SUITE COMPONENTS")
kchroot_sources() {
	local m s
	m=$(privapt_mirror) || return 1
	s=$(ksecurity_mirror) || return 1
	case $1 in
	trixie) printf '%s\n' "$m trixie main" "$s trixie-security main" "$m trixie-backports main" ;;
	sid) printf '%s\n' "$m sid main" ;;
	# tests/install (package and DKMS tests); no module build uses it
	bookworm) printf '%s\n' "$m bookworm main" "$s bookworm-security main" "$m bookworm-backports main" ;;
	*) echo "unknown chroot '$1'" >&2; return 1 ;;
	esac
}

# klock NAME: take an exclusive lock (fd 9) for NAME, bounded wait.
# Released when the process exits (or on `exec 9>&-`).
klock() {
	mkdir -p "$EGPU_CACHE/locks"
	exec 9>"$EGPU_CACHE/locks/$1.lock"
	flock -w "$EGPU_LOCK_TIMEOUT" 9 ||
		kdie "waited ${EGPU_LOCK_TIMEOUT}s for lock $EGPU_CACHE/locks/$1.lock; is another run stuck? (see: fuser $EGPU_CACHE/locks/$1.lock)"
}

# kapt_setup ID: private apt configuration "kern-ID" with ID's sources (each
# line carries its own URI so that *-security works; see privapt_setup).
kapt_setup() {
	local lines=() line
	kid "$1" || return 1
	while IFS= read -r line; do
		[ -n "$line" ] && lines+=("$line")
	done <<<"$KID_SOURCES"
	privapt_setup "kern-$1" "${lines[@]}"
}

# kapt ID COMMAND...: run an apt command with ID's private configuration.
kapt() {
	local id=$1; shift
	APT_CONFIG="$(privapt_dir "kern-$id")/apt.conf" "$@"
}

# kresolve ID: print the kernel release (uname -r) that ID's meta package
# linux-image-amd64 points at (highest version over ID's suites).
kresolve() {
	local id=$1 dep rel hdr
	dep=$(kapt "$id" apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		awk -F': ' '$1 == "Depends" { print $2; exit }') ||
		true
	[ -n "$dep" ] || { echo "cannot resolve linux-image-amd64 for $id (apt lists in $(privapt_dir "kern-$id"))" >&2; return 1; }
	rel=$(printf '%s\n' "$dep" | tr ',' '\n' | sed -n 's/^ *linux-image-\([0-9][^ ]*\) .*/\1/p' | head -n1)
	[ -n "$rel" ] || { echo "cannot find linux-image-<release> in '$dep' for $id" >&2; return 1; }
	# The headers meta package should agree; it is only a cross-check.
	hdr=$(kapt "$id" apt-cache show --no-all-versions linux-headers-amd64 2>/dev/null |
		awk -F': ' '$1 == "Depends" { print $2; exit }' | tr ',' '\n' |
		sed -n 's/^ *linux-headers-\([0-9][^ ]*\) .*/\1/p' | head -n1) || true
	if [ -n "$hdr" ] && [ "$hdr" != "$rel" ]; then
		echo "note: $id: linux-headers-amd64 points at $hdr, linux-image-amd64 at $rel; using $rel" >&2
	fi
	echo "$rel"
}

# kpkg_deps ID PKG PATTERN: the names of PKG's dependencies matching the
# extended regexp PATTERN (alternatives flattened).
kpkg_deps() {
	kapt "$1" apt-cache show --no-all-versions "$2" 2>/dev/null |
		awk -F': ' '$1 == "Depends" || $1 == "Pre-Depends" { print $2 }' |
		tr ',|' '\n' | sed -e 's/^ *//' -e 's/[ (].*//' | grep -E "$3" | sort -u || true
}

# kdownload ID DIR PKG...: apt-get download PKG... into DIR (bounded).
kdownload() {
	local id=$1 dir=$2; shift 2
	mkdir -p "$dir"
	(cd "$dir" && kapt "$id" timeout --foreground "$EGPU_APT_TIMEOUT" apt-get -q "${PRIVAPT_NET_OPTS[@]}" download "$@") >"$dir/download.log" 2>&1 ||
		{ echo "apt-get download $* failed, see $dir/download.log" >&2; tail -n 5 "$dir/download.log" >&2; return 1; }
}

# khash: sha256 of stdin
khash() { sha256sum | cut -c1-64; }

#!/bin/bash
# checkpatch.pl over the module's sources (the `make check-style` step).
#
# checkpatch.pl comes from Debian's linux-source-6.12 (bookworm-backports,
# private apt configuration); the test kernel step downloads the same
# package, so it is reused when present. Cached under $EGPU_CACHE/checkpatch.
# Writes $EGPU_RESULTS/style.tap: one line per file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
: "${EGPU_CACHE:=/var/cache/egpu-gate}"
: "${EGPU_BUILD:=$top/build}"
: "${EGPU_RESULTS:=$EGPU_BUILD/results}"
export EGPU_CACHE
cp_dir=$EGPU_CACHE/checkpatch
tap=$EGPU_RESULTS/style.tap
mkdir -p "$EGPU_RESULTS" "$cp_dir"

fail_all() { printf '1..1\nnot ok 1 - checkpatch: %s\n' "$1" > "$tap"; echo "checkpatch: $1" >&2; exit 1; }

if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	deb=$(ls -1 "$EGPU_CACHE"/testkernel/src/linux-source-6.12_*_all.deb "$cp_dir"/linux-source-6.12_*_all.deb 2>/dev/null | sort -V | tail -n1 || true)
	if [ -z "$deb" ]; then
		# shellcheck source=lib/privapt.sh
		. "$top/tests/lib/privapt.sh"
		privapt_setup bookworm-bpo "bookworm-backports main" || fail_all "cannot reach bookworm-backports"
		(cd "$cp_dir" && privapt bookworm-bpo apt-get -q download linux-source-6.12) >/dev/null 2>&1 ||
			fail_all "apt-get download linux-source-6.12 failed"
		deb=$(ls -1 "$cp_dir"/linux-source-6.12_*_all.deb | tail -n1)
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/src/linux-source-6.12.tar.*'
	tar -xf "$tmp"/usr/src/linux-source-6.12.tar.* -C "$tmp" --wildcards --strip-components=1 \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	mkdir -p "$cp_dir/scripts"
	cp "$tmp"/scripts/checkpatch.pl "$tmp"/scripts/spelling.txt "$tmp"/scripts/const_structs.checkpatch "$cp_dir/scripts/"
	rm -rf "$tmp"
	trap - EXIT
	rm -f "$cp_dir"/linux-source-6.12_*_all.deb
fi

cd "$top"
files=$(git ls-files 'kmod/*.c' 'kmod/*.h' 'tests/kmod/*.c' 'tests/kmod/*.h' 2>/dev/null || ls kmod/*.[ch] kmod/uapi/*.h)
n=0
failed=0
: > "$tap.tmp"
for f in $files; do
	n=$((n + 1))
	out=$("$cp_dir/scripts/checkpatch.pl" --no-tree --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,LINUX_VERSION_CODE -f "$f" 2>&1) || true
	if echo "$out" | grep -qE ': (ERROR|WARNING|CHECK):'; then
		failed=$((failed + 1))
		echo "not ok $n - checkpatch --strict $f" >> "$tap.tmp"
		echo "$out" | grep -E ': (ERROR|WARNING|CHECK):' | sed 's/^/# /' >> "$tap.tmp"
	else
		echo "ok $n - checkpatch --strict $f" >> "$tap.tmp"
	fi
done
{ echo "1..$n"; cat "$tap.tmp"; } > "$tap"
rm -f "$tap.tmp"
echo "checkpatch: $n files, $failed with findings"
[ "$failed" -eq 0 ]

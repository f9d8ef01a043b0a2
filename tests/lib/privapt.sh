# shellcheck shell=bash
# Private apt configurations for other Debian suites, under $EGPU_CACHE/apt.
#
# The system's apt sources are never touched: each suite gets its own
# sources list, lists, cache and dpkg status, and is used only for
# `apt-get download` (then `dpkg-deb -x`). The mirror is the one the
# system's apt is configured with.
#
#   . tests/lib/privapt.sh
#   privapt_setup trixie-bpo "trixie-backports main" "trixie main"
#   privapt trixie-bpo apt-cache policy linux-image-amd64
#   (cd DIR && privapt trixie-bpo apt-get download PKG)

: "${EGPU_CACHE:=/var/cache/egpu-gate}"

# The Debian mirror the system uses (first URIs:/deb line), e.g. http://host/debian
privapt_mirror() {
	local m=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
	fi
	[ -n "$m" ] || { echo "privapt: cannot find the system's Debian mirror in /etc/apt" >&2; return 1; }
	echo "${m%/}"
}

privapt_dir() { echo "$EGPU_CACHE/apt/$1"; }

# privapt_setup NAME LINE...: create (or refresh once a day) the private
# configuration NAME with one deb line per LINE. A LINE is "SUITE COMPONENTS"
# (on the system's mirror) or "URI SUITE COMPONENTS". A changed source list
# forces a refresh; EGPU_REFRESH=1 forces one too.
: "${EGPU_APT_TIMEOUT:=1200}"
PRIVAPT_NET_OPTS=(-o Acquire::http::Timeout=60 -o Acquire::https::Timeout=60 -o Acquire::Retries=3)
privapt_setup() {
	local name=$1; shift
	local d mirror line stamp
	d=$(privapt_dir "$name")
	mirror=$(privapt_mirror) || return 1
	mkdir -p "$d/state/lists/partial" "$d/cache/archives/partial"
	: > "$d/sources.list.new"
	for line in "$@"; do
		case $line in
		*://*) ;;
		*) line="$mirror $line" ;;
		esac
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $line" >> "$d/sources.list.new"
	done
	if cmp -s "$d/sources.list.new" "$d/sources.list"; then
		rm -f "$d/sources.list.new"
	else
		mv "$d/sources.list.new" "$d/sources.list"
		rm -f "$d/updated"
	fi
	[ -e "$d/status" ] || : > "$d/status"
	cat > "$d/apt.conf" <<EOC
Dir::Etc::SourceList "$d/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State "$d/state";
Dir::State::Lists "$d/state/lists";
Dir::State::status "$d/status";
Dir::Cache "$d/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
EOC
	stamp="$d/updated"
	if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ] || [ -n "${EGPU_REFRESH:-}" ]; then
		APT_CONFIG="$d/apt.conf" timeout --foreground "$EGPU_APT_TIMEOUT" \
			apt-get -q "${PRIVAPT_NET_OPTS[@]}" update >"$d/update.log" 2>&1 ||
			{ echo "privapt: apt-get update for $name failed, see $d/update.log (network? mirror $mirror?)" >&2; return 1; }
		if grep -q '^[WE]:' "$d/update.log"; then
			echo "privapt: apt-get update for $name reported problems, see $d/update.log" >&2
			return 1
		fi
		touch "$stamp"
	fi
}

# privapt NAME COMMAND...: run an apt command against NAME's configuration.
privapt() {
	local d
	d=$(privapt_dir "$1"); shift
	APT_CONFIG="$d/apt.conf" "$@"
}

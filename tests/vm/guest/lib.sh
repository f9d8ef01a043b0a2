# shellcheck shell=sh
# Helpers for guest test scripts (busybox sh), installed by tests/vm/vm.py
# as /usr/lib/vm/lib.sh.  Use:  . /usr/lib/vm/lib.sh
#
# Output goes to the test channel (stdout); vm.py renumbers the lines, so
# numbers are not printed here.
#
#   vm_pass DESC                 ok - DESC
#   vm_fail DESC [DIAG...]       not ok - DESC, each DIAG as a "# " line
#   vm_skip DESC REASON          ok - DESC # SKIP REASON
#   vm_check DESC CMD [ARG...]   run CMD; ok if it exits 0, else not ok with
#                                its output and exit status as diagnostics
#   vm_diag TEXT...              "# " lines (multi-line text allowed)
#   vm_wait SECS CMD [ARG...]    poll CMD every 50 ms until it succeeds;
#                                1 when SECS pass first (bounded wait)
#   vm_uptime                    seconds since boot, 2 decimals
#   vm_elapsed T0                seconds since uptime T0, 2 decimals
#   vm_qmp JSON [SECS]           send a QMP command to the host's QEMU (via
#                                the runner) and wait for the answer (default
#                                30 s); prints the answer, sets VM_QMP_REPLY
#                                (not in a $(...) subshell); 0 if it is a
#                                "return", 1 an "error", 2 no answer in time
#   vm_qmp_event NAME [SECS] [DEVICE]  wait (default 30 s) for the first
#                                not yet consumed QMP event NAME (with
#                                data.device == DEVICE if given); prints it;
#                                0 seen, 1 timeout/error, 2 no answer
#   vm_device_add ID DRIVER BUS [JSONFIELDS]   QMP device_add
#   vm_device_del ID                           QMP device_del
#   vm_device_add_2fn ID DRIVER BUS  a two-function device on BUS (like a GPU
#                                with its HDMI audio): ID_f1 at 00.1 first,
#                                then ID at 00.0 with multifunction=on;
#                                vm_device_del ID removes both
#   vm_pci_find VENDOR DEVICE    print the BDFs (0000:01:00.0) whose
#                                vendor/device match (hex, no 0x); 1 if none
#   vm_run_as USER CMD...        run a shell command line as USER (busybox su)
#   vm_json_valid [FILE]         0 if FILE (or stdin) is one valid JSON value
#                                (RFC 8259 grammar; busybox has no jq)

VM_CHAN=${VM_CHAN:-/dev/ttyS1}
_vm_qmp_seq=0

vm_pass() { echo "ok - $1"; }
vm_skip() { echo "ok - $1 # SKIP $2"; }
vm_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
vm_fail() {
	echo "not ok - $1"
	shift
	for d in "$@"; do vm_diag "$d"; done
}

vm_check() {
	_vm_desc=$1
	shift
	_vm_out=$("$@" 2>&1)
	_vm_rc=$?
	if [ "$_vm_rc" -eq 0 ]; then
		vm_pass "$_vm_desc"
	else
		vm_fail "$_vm_desc" "command: $*" "exit status $_vm_rc" "$_vm_out"
	fi
	return $_vm_rc
}

vm_uptime() { cut -d' ' -f1 /proc/uptime; }
vm_elapsed() { awk -v t0="$1" '{ printf "%.2f\n", $1 - t0 }' /proc/uptime; }

vm_wait() {
	_vm_end=$(awk -v s="$1" '{ printf "%d\n", ($1 + s) * 100 }' /proc/uptime)
	shift
	while :; do
		"$@" && return 0
		_vm_now=$(awk '{ printf "%d\n", $1 * 100 }' /proc/uptime)
		[ "$_vm_now" -ge "$_vm_end" ] && return 1
		usleep 50000
	done
}

vm_qmp() {
	_vm_request "@@QMP" "$1" "${2:-30}"
}

vm_qmp_event() {
	_vm_dev=${3:+, \"device\": \"$3\"}
	_vm_request "@@QMP-EVENT" "{\"event\": \"$1\", \"timeout\": ${2:-30}$_vm_dev}" "$((${2:-30} + 5))"
}

# _vm_request TAG JSON SECS: send a request, wait for its @@QMP-REPLY.
_vm_request() {
	_vm_qmp_seq=$((_vm_qmp_seq + 1))
	# unique even across $(...) subshells, where the counter does not persist
	_vm_id="$$.$_vm_qmp_seq.$(cut -c1-8 /proc/sys/kernel/random/uuid)"
	_vm_tmo=$3
	VM_QMP_REPLY=""
	echo "$1 $_vm_id $2" >"$VM_CHAN"
	_vm_end=$(awk -v s="$_vm_tmo" '{ printf "%d\n", $1 + s + 1 }' /proc/uptime)
	while :; do
		_vm_now=$(awk '{ printf "%d\n", $1 }' /proc/uptime)
		_vm_left=$((_vm_end - _vm_now))
		[ "$_vm_left" -gt 0 ] || return 2
		# shellcheck disable=SC3045 # busybox ash has read -t
		IFS= read -r -t "$_vm_left" _vm_line <"$VM_CHAN" || continue
		case "$_vm_line" in
		"@@QMP-REPLY $_vm_id "*)
			VM_QMP_REPLY=${_vm_line#"@@QMP-REPLY $_vm_id "}
			echo "$VM_QMP_REPLY"
			case "$VM_QMP_REPLY" in
			'{"error"'*) return 1 ;;
			*) return 0 ;;
			esac
			;;
		esac
	done
}

vm_device_add() {
	_vm_extra=${4:+, $4}
	vm_qmp "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"$2\", \"id\": \"$1\", \"bus\": \"$3\"$_vm_extra}}"
}

vm_device_add_2fn() {
	vm_device_add "${1}_f1" "$2" "$3" '"addr": "00.1"' || return
	vm_device_add "$1" "$2" "$3" '"addr": "00.0", "multifunction": "on"'
}

vm_device_del() {
	vm_qmp "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"$1\"}}"
}

vm_pci_find() {
	_vm_found=1
	for _vm_d in /sys/bus/pci/devices/*; do
		[ -e "$_vm_d/vendor" ] || continue
		if [ "$(cat "$_vm_d/vendor")" = "0x$1" ] && [ "$(cat "$_vm_d/device")" = "0x$2" ]; then
			basename "$_vm_d"
			_vm_found=0
		fi
	done
	return $_vm_found
}

# vm_pci_bind_vfio BDF: bind BDF to vfio-pci (driver_override, unbinding any
# driver first); true when vfio-pci has it.
vm_pci_bind_vfio() {
	_d=/sys/bus/pci/devices/$1
	echo vfio-pci >"$_d/driver_override" &&
		{ [ ! -e "$_d/driver" ] || echo "$1" >"$_d/driver/unbind"; } &&
		echo "$1" >/sys/bus/pci/drivers_probe &&
		[ "$(basename "$(readlink "$_d/driver")")" = vfio-pci ]
}
# vm_pci_unbind BDF: unbind BDF from its driver and clear driver_override.
vm_pci_unbind() {
	_d=/sys/bus/pci/devices/$1
	[ ! -e "$_d/driver" ] || echo "$1" >"$_d/driver/unbind"
	echo >"$_d/driver_override"
}
vm_run_as() {
	_vm_user=$1
	shift
	su -s /bin/sh "$_vm_user" -c "$*"
}

vm_json_valid() {
	awk '
	function ws() { while (p <= n && index(" \t\n\r", substr(s, p, 1))) p++ }
	function val(   c) {
		ws(); c = substr(s, p, 1)
		if (c == "{") return obj()
		if (c == "[") return arr()
		if (c == "\"") return str()
		if (c ~ /[-0-9]/) return num()
		if (substr(s, p, 4) == "true" || substr(s, p, 4) == "null") { p += 4; return 1 }
		if (substr(s, p, 5) == "false") { p += 5; return 1 }
		return 0
	}
	function obj(   c) {
		p++; ws()
		if (substr(s, p, 1) == "}") { p++; return 1 }
		while (1) {
			ws()
			if (substr(s, p, 1) != "\"" || !str()) return 0
			ws()
			if (substr(s, p, 1) != ":") return 0
			p++
			if (!val()) return 0
			ws(); c = substr(s, p, 1); p++
			if (c == "}") return 1
			if (c != ",") return 0
		}
	}
	function arr(   c) {
		p++; ws()
		if (substr(s, p, 1) == "]") { p++; return 1 }
		while (1) {
			if (!val()) return 0
			ws(); c = substr(s, p, 1); p++
			if (c == "]") return 1
			if (c != ",") return 0
		}
	}
	function str(   c) {
		p++
		while (p <= n) {
			c = substr(s, p, 1)
			if (c == "\\") {
				p++; c = substr(s, p, 1)
				if (c == "u") {
					if (substr(s, p + 1, 4) !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/) return 0
					p += 4
				} else if (!index("\"\\/bfnrt", c)) return 0
			} else if (c == "\"") { p++; return 1 }
			else if (c == "\n" || c == "\t" || c == "\r") return 0
			p++
		}
		return 0
	}
	function num() {
		if (!match(substr(s, p), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) return 0
		p += RLENGTH
		return 1
	}
	{ s = s $0 "\n" }
	END { p = 1; n = length(s); ok = val(); ws(); exit !(ok && p > n) }
	' "${1:--}"
}

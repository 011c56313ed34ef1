# Shared harness for the end-to-end scripts in tests/regress/ (sourced, bash).
#
#   . "$(dirname "$0")/lib.sh"
#
# Gives: $T (a temp dir removed at exit), $BIN (the binaries under test),
# fail MSG (prints MSG and every daemon log, exits 1), ok MSG, free_port,
# start_bg NAME CMD... (runs CMD in the background, log in $T/NAME.log, PID
# remembered and killed at exit), stop_bg NAME, wait_port PORT [SECONDS],
# wait_log NAME REGEX [SECONDS], expect_eq WHAT WANT GOT.
# Only processes started here are ever killed, by PID.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${ATLAX_BIN:-$TOP/bin}
T=$(mktemp -d /tmp/atlax-regress.XXXXXX)
declare -A _PIDS=()

_cleanup() {
	local n
	for n in "${!_PIDS[@]}"; do
		kill "${_PIDS[$n]}" 2>/dev/null
	done
	sleep 0.2
	for n in "${!_PIDS[@]}"; do
		kill -9 "${_PIDS[$n]}" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap _cleanup EXIT

fail() {
	local f
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 60 lines)" >&2
		tail -n 60 "$f" >&2
	done
	exit 1
}

ok() { echo "ok: $*"; }

expect_eq() {	# what want got
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
	ok "$1"
}

# A TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
	python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

start_bg() {	# name cmd...
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	_PIDS[$name]=$!
}

pid_of() { echo "${_PIDS[$1]}"; }

stop_bg() {	# name [signal]
	local pid=${_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local rc=$?
	unset "_PIDS[$1]"
	return $rc
}

wait_port() {	# port [seconds]
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

wait_log() {	# name regex [seconds]
	local i n=$(( ${3:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		grep -Eq -- "$2" "$T/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

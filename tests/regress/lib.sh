# shellcheck shell=bash disable=SC2120
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
#
# Tunnel helpers (see each function): tunnel_setup (PKI + ports), pki_init,
# pki_issue, pick_range, relay_conf, agent_conf, svc_yaml, start_relay,
# start_agent, exposed_port, finish (every daemon must exit 0 on SIGTERM),
# start_svc + helper_port (python3 services in helpers/svc.py), client
# (helpers/client.py), wait_exit, wait_listening, port_listening, rss_kb,
# log_lines, now_ms, need.
# $TM is a slowness factor for waits: 1, or 4 under `make asan`.
# KEEP_TMP=1 keeps $T; `bash tests/regress/lib.sh` self-tests the harness.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${ATLAX_BIN:-$TOP/bin}
T=$(mktemp -d /tmp/atlax-regress.XXXXXX)
[ -n "${KEEP_TMP:-}" ] && echo "keeping $T" >&2
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

HELPERS=$TOP/tests/regress/helpers
PY=${PYTHON:-python3}
TM=1
[ -n "${ATLAX_ASAN:-}" ] && TM=4

need() {	# command... : fail (not skip) when a tool is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
		    fail "$c not found (run 'make deps')"
	done
}

# Process ids, exits and ports.
wait_exit() {	# pid seconds: 0 once pid is gone, 1 if it still runs
	local i n=$(( $2 * 10 ))
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

port_listening() {	# port: is something listening on it (no connect)
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

wait_listening() {	# port [seconds]
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		port_listening "$1" && return 0
		sleep 0.1
	done
	return 1
}

rss_kb() {	# pid: resident set size in KiB
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# PUB_LO..PUB_HI: COUNT consecutive free ports below the ephemeral range, for
# public.port_range.  Random so parallel runs rarely meet.
pick_range() {	# count
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		PUB_LO=$(( 20000 + (RANDOM % 600) * 20 ))
		PUB_HI=$(( PUB_LO + $1 - 1 ))
		"$PY" - "$PUB_LO" "$PUB_HI" <<'PY' && return 0
import socket, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
try:
	for p in range(lo, hi + 1):
		s = socket.socket()
		s.bind(("127.0.0.1", p))
		s.close()
except OSError:
	sys.exit(1)
PY
	done
	fail "pick_range: no free range of $1 ports"
}

# Throwaway PKI in $T/pki: the CA, the relay ($RELAY_CN, SAN IP:127.0.0.1).
RELAY_CN=relay.test
pki_init() {	# [dir]
	local d=${1:-$T/pki}
	"$BIN/atlax-pki" init --dir "$d" >"$T/pki-init.out" 2>&1 ||
	    fail "atlax-pki init: $(cat "$T/pki-init.out")"
}

pki_issue() {	# cn role [atlax-pki issue options...] (dir: $PKI_DIR or $T/pki)
	local cn=$1 role=$2; shift 2
	"$BIN/atlax-pki" issue --dir "${PKI_DIR:-$T/pki}" --cn "$cn" \
	    --role "$role" "$@" >"$T/pki-issue.out" 2>&1 ||
	    fail "atlax-pki issue $cn: $(cat "$T/pki-issue.out")"
}

# The usual set-up: PKI, relay cert, one agent cert (CN $1, default home),
# RELAY_PORT and a public range of 20 ports.
tunnel_setup() {	# [agent cn]
	pki_init
	pki_issue "$RELAY_CN" relay --san IP:127.0.0.1
	pki_issue "${1:-home}" agent
	RELAY_PORT=$(free_port)
	pick_range 20
}

# relay.yaml for loopback.  EXTRA is appended as is (top-level YAML); set
# RELAY_CRL to a CRL path to configure tls.crl.
relay_conf() {	# file [extra yaml]
	{
		cat <<Y
listen: "127.0.0.1:$RELAY_PORT"
tls:
  cert: $T/pki/$RELAY_CN.crt
  key: $T/pki/$RELAY_CN.key
  ca: $T/pki/ca.crt
Y
		[ -n "${RELAY_CRL:-}" ] && echo "  crl: $RELAY_CRL"
		cat <<Y
public:
  bind: "127.0.0.1"
  port_range: "$PUB_LO-$PUB_HI"
log:
  level: ${RELAY_LOG_LEVEL:-info}
Y
		[ $# -ge 2 ] && printf '%s\n' "$2"
	} >"$1"
}

# agent.yaml: id ID, certificate $T/pki/CERT.{crt,key} (or CERT as a path
# prefix when it contains a slash), SERVICES is the YAML list under services:.
agent_conf() {	# file id cert services [extra yaml]
	local pre=$T/pki/$3
	case "$3" in */*) pre=$3 ;; esac
	{
		cat <<Y
id: $2
relay: "127.0.0.1:$RELAY_PORT"
tls:
  cert: $pre.crt
  key: $pre.key
  ca: $T/pki/ca.crt
  server_name: ${AGENT_SERVER_NAME:-$RELAY_CN}
services:
$4
reconnect:
  initial: ${AGENT_RECONNECT_INITIAL:-200ms}
  max: ${AGENT_RECONNECT_MAX:-2s}
log:
  level: ${AGENT_LOG_LEVEL:-info}
Y
		[ $# -ge 5 ] && printf '%s\n' "$5"
	} >"$1"
}

svc_yaml() {	# name target-port [remote_port]: one services: entry
	echo "  - name: $1"
	echo "    target: \"127.0.0.1:$2\""
	[ -n "${3:-}" ] && echo "    remote_port: $3"
	return 0
}

declare -A _DAEMONS=()
start_relay() {	# name conf: starts atlax-relay, waits for its listener
	start_bg "$1" "$BIN/atlax-relay" -c "$2"
	_DAEMONS[$1]=1
	wait_listening "$RELAY_PORT" $(( 10 * TM )) ||
	    fail "$1 not listening on 127.0.0.1:$RELAY_PORT"
}

start_agent() {	# name conf
	start_bg "$1" "$BIN/atlax-agent" -c "$2"
	_DAEMONS[$1]=1
}

# The end of every tunnel test: SIGTERM to every relay and agent still
# running, each must exit 0 within SECONDS (shutdown timeout + margin).  Under
# `make asan` this is also where a leak or a sanitizer report turns into a
# failure, with the daemon's log.
finish() {	# [seconds]
	local n pid rc bad=""
	for n in "${!_DAEMONS[@]}"; do
		pid=${_PIDS[$n]:-}
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for n in "${!_DAEMONS[@]}"; do
		pid=${_PIDS[$n]:-}
		[ -n "$pid" ] || continue
		wait_exit "$pid" $(( ${1:-12} * TM )) ||
		    bad="$bad $n (still running $(( ${1:-12} * TM )) s after SIGTERM)"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null; rc=$?
		unset "_PIDS[$n]"
		[ "$rc" -eq 0 ] || bad="$bad $n (exit $rc)"
	done
	[ -z "$bad" ] || fail "unclean shutdown on SIGTERM:$bad"
	ok "every daemon exited 0 on SIGTERM"
}

# The public port of SERVICE from the agent log "service NAME (TARGET) exposed
# at HOST:PORT" (the last such line after the log's line FROM, default 0).
exposed_port() {	# log-name service [seconds] [from-line]
	local re="service $2 \\(.*\\) exposed at [^ ]*:[0-9]+"
	local i n=$(( ${3:-10} * 10 * TM )) p
	for ((i = 0; i < n; i++)); do
		p=$(tail -n "+$(( ${4:-0} + 1 ))" "$T/$1.log" 2>/dev/null |
		    grep -E -- "$re" | tail -n 1 |
		    sed -E 's/.* exposed at [^ ]*:([0-9]+).*/\1/')
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	return 1
}

log_lines() { wc -l <"$T/$1.log"; }	# name: lines so far in its log

# Private services (helpers/svc.py) and their port.
start_svc() {	# name mode [svc.py options...]
	local name=$1; shift
	start_bg "$name" "$PY" -u "$HELPERS/svc.py" "$@"
}

helper_port() {	# name: port from "listening on 127.0.0.1:PORT"
	local i p
	for ((i = 0; i < 100; i++)); do
		p=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' \
		    "$T/$1.log" 2>/dev/null | head -n 1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	fail "$1 did not start listening"
}

client() {	# mode [client.py options...]
	"$PY" -u "$HELPERS/client.py" "$@"
}

# Elapsed time since a mark, in milliseconds.
now_ms() { date +%s%3N; }

# tests/run.sh runs every tests/regress/*.sh, this file too: run directly, it
# checks the harness itself, the helpers against each other with no daemon in
# between, so a tunnel test's failure is never the harness's.
_lib_selftest() {
	local e d g f i p s1 s2
	need ss
	start_svc echo echo
	start_svc digest digest --reply-bytes 300000
	start_svc greet greet --reply-bytes 200000
	start_svc flood flood --bytes $((1024 * 1024 * 1024))
	e=$(helper_port echo); d=$(helper_port digest)
	g=$(helper_port greet); f=$(helper_port flood)
	client echo --port "$e" --streams 8 --bytes 1000000 >"$T/c.out" 2>&1 ||
	    fail "echo client: $(cat "$T/c.out")"
	ok "svc echo + client echo: $(cat "$T/c.out")"
	client digest --port "$d" --bytes 400000 --reply-bytes 300000 >"$T/c.out" 2>&1 ||
	    fail "digest client: $(cat "$T/c.out")"
	ok "svc digest + client digest"
	client greet --port "$g" --bytes 400000 --reply-bytes 200000 >"$T/c.out" 2>&1 ||
	    fail "greet client: $(cat "$T/c.out")"
	wait_log greet "^got $(sed -n 's/^sent //p' "$T/c.out")\$" 5 ||
	    fail "greet service did not log what the client sent"
	ok "svc greet + client greet"
	client digest --port "$d" --bytes 1000 --reply-bytes 999 >"$T/c.out" 2>&1 &&
	    fail "client digest accepted a reply of the wrong size"
	ok "client digest detects a wrong reply"
	start_bg idle "$PY" -u "$HELPERS/client.py" idle --port "$f" --seconds 10
	wait_log idle '^connected$' 5 || fail "idle client did not connect"
	sleep 1.5
	s1=$(grep -E '^sent' "$T/flood.log" | tail -n 1)
	sleep 1.1
	s2=$(grep -E '^sent' "$T/flood.log" | tail -n 1)
	[ -n "$s1" ] && [ "$s1" = "$s2" ] || fail "flood service not blocked by a reader that never reads ($s1, $s2)"
	ok "svc flood blocks on an idle client at '$s2'"
	"$PY" "$HELPERS/rss.py" "$(pid_of flood)" 0.5 0.1 >"$T/rss.out" ||
	    fail "rss.py failed"
	grep -Eq '^max_rss_kb [1-9][0-9]*$' "$T/rss.out" || fail "rss.py: $(cat "$T/rss.out")"
	ok "rss.py: $(tail -n 1 "$T/rss.out")"
	pick_range 20
	for ((p = PUB_LO; p <= PUB_HI; p++)); do
		port_listening "$p" && fail "pick_range gave busy port $p"
	done
	ok "pick_range: $PUB_LO-$PUB_HI free"
	p=$(pid_of idle)
	stop_bg idle
	wait_exit "$p" 2 || fail "stop_bg left pid $p running"
	ok "stop_bg, wait_exit"
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_lib_selftest
fi

#!/bin/bash
# systemd's notify protocol, spoken to a python3 AF_UNIX datagram listener
# standing in for systemd: each daemon sends READY=1 when it serves (the
# agent even while its relay is down), RELOADING=1 with a MONOTONIC_USEC from
# this machine's CLOCK_MONOTONIC and READY=1 again on SIGHUP, STOPPING=1 on
# SIGTERM, in that order; WATCHDOG=1 keeps coming with WATCHDOG_USEC=400000;
# STATUS= says what the daemon does.
. "$(dirname "$0")/lib.sh"
need ss

# The listener writes one line per datagram, newlines shown as '|'.
cat >"$T/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
with open(sys.argv[2], "a") as out:
	while True:
		d = s.recv(4096).decode("ascii", "replace")
		out.write(d.replace("\n", "|") + "\n")
		out.flush()
PY
monotonic_us() { "$PY" -c 'import time; print(time.monotonic_ns() // 1000)'; }

# notified NAME REGEX [SECONDS]: a datagram matching REGEX reached NAME.
notified() {
	local i n=$(( ${3:-10} * 10 * TM ))
	for ((i = 0; i < n; i++)); do
		grep -Eq -- "$2" "$T/$1.dgrams" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

listen() {	# name
	: >"$T/$1.dgrams"
	start_bg "$1-sock" "$PY" -u "$T/listen.py" "$T/$1.sock" "$T/$1.dgrams"
	wait_log "$1-sock" '^bound$' 5 || fail "$1: listener did not bind"
}

# start_notified NAME BINARY CONF: the daemon with NOTIFY_SOCKET, a 400 ms
# watchdog, and WATCHDOG_PID set to its own pid (sh's $$ survives the exec).
start_notified() {
	start_bg "$1" env NOTIFY_SOCKET="$T/$1.sock" WATCHDOG_USEC=400000 \
	    sh -c 'WATCHDOG_PID=$$ exec "$@"' sh "$2" -c "$3"
	_DAEMONS[$1]=1
}

# The order of the state changes, watchdog pings and status lines left out.
states() {
	grep -Ev '^(WATCHDOG=1|STATUS=.*)$' "$T/$1.dgrams" |
	    sed -E 's/MONOTONIC_USEC=[0-9]+/MONOTONIC_USEC=N/' | tr '\n' ' '
}

# reload NAME: SIGHUP; RELOADING=1 with a monotonic time taken during the
# reload, then READY=1 again.
reload() {
	local t0 t1 v
	t0=$(monotonic_us)
	kill -HUP "$(pid_of "$1")"
	notified "$1" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' ||
	    fail "$1: no RELOADING=1 with MONOTONIC_USEC after SIGHUP"
	t1=$(monotonic_us)
	v=$(sed -nE 's/^RELOADING=1\|MONOTONIC_USEC=([0-9]+)$/\1/p' \
	    "$T/$1.dgrams" | tail -n 1)
	[ "$v" -ge "$t0" ] && [ "$v" -le "$t1" ] ||
	    fail "$1: MONOTONIC_USEC=$v outside [$t0, $t1]"
	wait_log "$1" "configuration reloaded from" 5 || fail "$1: no reload"
	for _ in $(seq $(( 50 * TM ))); do
		[ "$(grep -c '^READY=1$' "$T/$1.dgrams")" -eq 2 ] && break
		sleep 0.1
	done
	expect_eq "$1: READY=1 count after the reload" 2 \
	    "$(grep -c '^READY=1$' "$T/$1.dgrams")"
	ok "$1: RELOADING=1, MONOTONIC_USEC=$v in [$t0, $t1], READY=1"
}

# term NAME: one SIGTERM (a second one would race the exit), STOPPING=1,
# then exit status 0.
term() {
	local pid rc
	pid=$(pid_of "$1")
	kill -TERM "$pid"
	notified "$1" '^STOPPING=1$' || fail "$1: no STOPPING=1 on SIGTERM"
	wait_exit "$pid" $(( 12 * TM )) || fail "$1 still runs after SIGTERM"
	wait "$pid"; rc=$?
	unset "_PIDS[$1]" "_DAEMONS[$1]"
	expect_eq "$1: exit status after SIGTERM" 0 "$rc"
}

# watchdog NAME: pings keep coming, every 200 ms; at least 3 more within
# 2 s (loose: a busy machine may delay a few).
watchdog() {
	local n0 n1
	n0=$(grep -c '^WATCHDOG=1$' "$T/$1.dgrams")
	sleep $(( 2 * TM ))
	n1=$(grep -c '^WATCHDOG=1$' "$T/$1.dgrams")
	[ $(( n1 - n0 )) -ge 3 ] ||
	    fail "$1: $(( n1 - n0 )) WATCHDOG=1 in $(( 2 * TM )) s with WATCHDOG_USEC=400000"
	ok "$1: $(( n1 - n0 )) WATCHDOG=1 in $(( 2 * TM )) s"
}

tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$(svc_yaml echo "$ECHO")"
listen relay
listen agent

# The agent first, with no relay to reach: it serves (it keeps dialling),
# so it is ready all the same.
start_notified agent "$BIN/atlax-agent" "$T/agent.yaml"
notified agent '^READY=1$' || fail "agent: no READY=1 while the relay is down"
notified agent "^STATUS=connecting to relay 127.0.0.1:$RELAY_PORT\$" ||
    fail "agent: no 'connecting' status"
grep -q 'connected to relay' "$T/agent.log" &&
    fail "the relay was reachable before it started"
ok "agent: READY=1 and STATUS=connecting while the relay is down"

start_notified relay "$BIN/atlax-relay" "$T/relay.yaml"
wait_listening "$RELAY_PORT" $(( 10 * TM )) || fail "relay not listening"
notified relay '^READY=1$' || fail "relay: no READY=1"
wait_log relay 'running with [0-9]+ worker' 5 || fail "relay: no running line"
ok "relay: READY=1"
P=$(exposed_port agent echo) || fail "echo not exposed"
client echo --port "$P" --bytes 100000 >"$T/echo.out" 2>&1 ||
    fail "echo through the tunnel: $(cat "$T/echo.out")"
notified agent "^STATUS=connected to relay 127.0.0.1:$RELAY_PORT for [0-9]+ s\$" ||
    fail "agent: no 'connected' status"
notified relay '^STATUS=1 agent connected, [0-9]+ workers?$' ||
    fail "relay: no status with 1 agent"
ok "STATUS: $(grep '^STATUS=' "$T/relay.dgrams" | tail -n 1); $(grep '^STATUS=' "$T/agent.dgrams" | tail -n 1)"

watchdog relay
watchdog agent
reload relay
reload agent
client echo --port "$P" --bytes 100000 >"$T/echo.out" 2>&1 ||
    fail "echo after the reloads: $(cat "$T/echo.out")"

term agent
term relay
for d in relay agent; do
	expect_eq "$d: state changes in order" \
	    "READY=1 RELOADING=1|MONOTONIC_USEC=N READY=1 STOPPING=1 " \
	    "$(states "$d")"
done

# A watchdog meant for another process (WATCHDOG_PID not ours) is not ours
# to ping; READY=1 still goes out.
listen other
start_bg other env NOTIFY_SOCKET="$T/other.sock" WATCHDOG_USEC=400000 \
    WATCHDOG_PID=1 "$BIN/atlax-agent" -c "$T/agent.yaml"
_DAEMONS[other]=1
notified other '^READY=1$' || fail "other: no READY=1"
sleep $(( 1 * TM ))
grep -q '^WATCHDOG=1$' "$T/other.dgrams" &&
    fail "WATCHDOG=1 sent although WATCHDOG_PID names another process"
ok "no WATCHDOG=1 for another WATCHDOG_PID"
finish

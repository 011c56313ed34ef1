#!/bin/bash
# Signals that must not stop the daemons: SIGUSR1 logs a one-line status,
# SIGUSR2 is ignored, SIGPIPE is ignored (a peer's reset is an error to
# handle, not a reason to die).  After a burst of each, both daemons still
# run and a stream still carries bytes through the same tunnel.
. "$(dirname "$0")/lib.sh"
need ss

# sigmask PID FIELD SIGNAL: is SIGNAL's bit set in /proc/PID/status FIELD
# (SigIgn: ignored, SigCgt: caught)?
sigmask() {
	local m
	m=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status")
	[ -n "$m" ] || fail "no $2 in /proc/$1/status"
	(( (16#$m >> ($3 - 1)) & 1 ))
}

tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$(svc_yaml echo "$ECHO")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
P=$(exposed_port agent echo) || fail "echo not exposed"
client echo --port "$P" --bytes 100000 >"$T/echo.out" 2>&1 ||
    fail "echo before the signals: $(cat "$T/echo.out")"
conns=$(grep -Ec 'info agent: connected to relay' "$T/agent.log")

for d in relay agent; do
	pid=$(pid_of $d)
	sigmask "$pid" SigIgn 13 || fail "$d: SIGPIPE not ignored"
	sigmask "$pid" SigIgn 12 || fail "$d: SIGUSR2 not ignored"
	sigmask "$pid" SigCgt 10 || fail "$d: SIGUSR1 not caught"
	for _ in 1 2 3; do
		kill -USR1 "$pid"; kill -USR2 "$pid"; kill -PIPE "$pid"
		sleep 0.1
	done
done
ok "SIGPIPE and SIGUSR2 ignored, SIGUSR1 caught, 3 of each sent"

wait_log relay '^.* info relay: status: 1 agent connected, [0-9]+ workers?$' 5 ||
    fail "relay: no status line on SIGUSR1"
wait_log agent "^.* info agent: home: status: connected to relay 127.0.0.1:$RELAY_PORT for [0-9]+ s\$" 5 ||
    fail "agent: no status line on SIGUSR1"
expect_eq "relay status lines (one per SIGUSR1)" 3 \
    "$(grep -c 'relay: status: ' "$T/relay.log")"
expect_eq "agent status lines (one per SIGUSR1)" 3 \
    "$(grep -c 'agent: home: status: ' "$T/agent.log")"

for d in relay agent; do
	kill -0 "$(pid_of $d)" 2>/dev/null || fail "$d died of a signal"
done
client echo --port "$P" --streams 4 --bytes 1000000 >"$T/echo.out" 2>&1 ||
    fail "echo after the signals: $(cat "$T/echo.out")"
expect_eq "tunnel connections (no reconnect)" "$conns" \
    "$(grep -Ec 'info agent: connected to relay' "$T/agent.log")"
ok "both daemons still serve: $(tail -n 1 "$T/echo.out")"

finish

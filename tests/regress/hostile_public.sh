#!/bin/bash
# Hostile public clients against the relay's public ports, the door anyone
# can knock on.  Two echo services, A (the target) and B (a canary), on one
# agent's tunnel:
#  1. 2,000 clients connect to A and reset at once (SO_LINGER 0), as fast as
#     one process can: the tunnel stays up (no "lost", no GOAWAY FLOOD in the
#     relay's log, the agent never reconnects) and the canary echo stream on B
#     works, bytes equal, during and after.
#  2. Slowloris (1 byte per second) and half-closed clients that never read,
#     on A: the canary still works during and after.
#  3. Once the clients are gone the relay's descriptors come back near their
#     count before, within a few seconds.
# The relay runs with its default limits (connections_per_source and so on):
# this is what it faces on the internet.
. "$(dirname "$0")/lib.sh"
# Under ASan freed memory sits in its quarantine (256 MiB by default) and
# shows in RSS; a small quarantine keeps this script's RSS checks about the
# relay while use-after-free is still caught, and LSan still runs at exit.
[ -n "${ATLAX_ASAN:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4"
need ss

CHURN=2000
tunnel_setup home
start_svc echoa echo
start_svc echob echo
EA=$(helper_port echoa); EB=$(helper_port echob)
relay_conf "$T/relay.yaml" "timeouts:
  shutdown: 1s"
agent_conf "$T/agent.yaml" home home "$(svc_yaml a "$EA"; svc_yaml b "$EB")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PA=$(exposed_port agent a) || fail "service a not exposed"
PB=$(exposed_port agent b) || fail "service b not exposed"
RPID=$(pid_of relay); APID=$(pid_of agent)

hostile() { "$PY" -u "$HELPERS/hostile.py" "$@"; }
relay_fds() { ls "/proc/$RPID/fd" 2>/dev/null | wc -l; }
canary() {	# what
	client echo --port "$PB" --streams 2 --bytes 200000 --timeout $((10 * TM)) \
	    >"$T/canary.out" 2>&1 || fail "$1: canary echo on B broken: $(cat "$T/canary.out")"
}
# Canary streams, one after another, for as long as background job NAME runs.
canary_during() {	# name what
	local n=0 pid
	pid=$(pid_of "$1")
	while kill -0 "$pid" 2>/dev/null; do
		canary "$2 (round $((n + 1)))"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || canary "$2 (right after)"
	ok "$2: $n canary echo stream pairs identical while it ran"
}
# A broken promise here does not stop the script: the next phases still run
# (and check only their own log lines), and the test fails at the end with
# every broken promise listed.
BROKEN=""
broken() { echo "BROKEN: $*" >&2; BROKEN="$BROKEN
  - $*"; }
tunnel_intact() {	# what relay-mark agent-mark
	local r a n
	kill -0 "$RPID" 2>/dev/null || fail "$1: relay died"
	kill -0 "$APID" 2>/dev/null || fail "$1: agent died"
	r=$(tail -n "+$(( $2 + 1 ))" "$T/relay.log" | grep -E 'lost|FLOOD' | head -n 3)
	a=$(tail -n "+$(( $3 + 1 ))" "$T/agent.log" | grep -E 'tunnel lost|FLOOD' | head -n 3)
	n=$(tail -n "+$(( $3 + 1 ))" "$T/agent.log" | grep -c 'connected to relay')
	if [ -n "$r$a" ] || [ "$n" -ne 0 ]; then
		broken "$1: the tunnel was lost (agent reconnected $n time(s)): $r $a"
		# Later phases need the tunnel back.
		exposed_port agent b $((10 * TM)) >/dev/null || fail "$1: service b never came back"
		return
	fi
	ok "$1: tunnel intact (no loss, no FLOOD, agent did not reconnect)"
}
mark() { RMARK=$(log_lines relay); AMARK=$(log_lines agent); }

canary "before"
FD0=$(relay_fds); RSS0=$(rss_kb "$RPID")
ok "tunnel up, A at $PA, B at $PB; relay holds $FD0 descriptors"

# 1. Connect-and-reset churn.
mark
start_bg churn "$PY" -u "$HELPERS/hostile.py" churn --port "$PA" --count "$CHURN" \
    --max-seconds $((30 * TM))
canary_during churn "churn of $CHURN resets"
wait_exit "$(pid_of churn)" $((30 * TM)) || fail "churn did not stop"
echo "$(tail -n 1 "$T/churn.log")"
grep -Eq "^churn count=$CHURN connected=[1-9]" "$T/churn.log" ||
    fail "churn did not run: $(cat "$T/churn.log")"
sleep 1		# resets still in flight reach the agent
canary "after churn"
tunnel_intact "after $CHURN connect-and-reset clients" "$RMARK" "$AMARK"

# 2. Slowloris and half-closed clients at once.
mark
start_bg slow "$PY" -u "$HELPERS/hostile.py" slowloris --port "$PA" --count 50 --seconds 6
start_bg half "$PY" -u "$HELPERS/hostile.py" halfclose --port "$PA" --count 50 --seconds 6
wait_log slow '^connected ' $((10 * TM)) || fail "slowloris clients did not connect"
wait_log half '^connected ' $((10 * TM)) || fail "half-closed clients did not connect"
# limits.connections_per_source (default 32): of these 100 clients from one
# address to one port, at most 32 become streams, so at most 32 connections
# reach service A.
A_CONNS=$(ss -Htn state established "sport = :$EA" | wc -l)
canary_during slow "50 slowloris + 50 half-closed clients"
if [ "$A_CONNS" -le 32 ]; then
	ok "service A reached by $A_CONNS of 100 slow clients (connections_per_source 32)"
else
	broken "service A had $A_CONNS connections from 100 clients of one address, limits.connections_per_source is 32"
fi
wait_exit "$(pid_of slow)" $((10 * TM)) || fail "slowloris did not stop"
wait_exit "$(pid_of half)" $((10 * TM)) || fail "halfclose did not stop"
echo "$(tail -n 1 "$T/slow.log")"
echo "$(tail -n 1 "$T/half.log")"
canary "after slowloris"
tunnel_intact "after slowloris and half-closed clients" "$RMARK" "$AMARK"

# 3. Descriptors back.
for ((i = 0; i < 50 * TM; i++)); do
	[ "$(relay_fds)" -le $((FD0 + 2)) ] && break
	sleep 0.1
done
[ "$(relay_fds)" -le $((FD0 + 2)) ] ||
    fail "relay holds $(relay_fds) descriptors 5 s after the clients left, $FD0 before"
ok "relay descriptors: $FD0 before, $(relay_fds) after"
# Streams are freed with their clients; 16 MiB (more under ASan's quarantine)
# is room for the allocator keeping freed pages, not for a per-client leak.
rss=$(rss_kb "$RPID")
[ "$rss" -le $((RSS0 + 16 * 1024 * TM)) ] ||
    fail "relay RSS $rss KiB after the clients left, $RSS0 KiB before"
ok "relay RSS: $RSS0 KiB before, $rss KiB after"
finish
[ -z "$BROKEN" ] || fail "hostile public clients broke these promises:$BROKEN"

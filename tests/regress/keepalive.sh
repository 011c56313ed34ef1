#!/bin/bash
# Heartbeats find a silent peer in bounded time (keepalive 500ms x 3 here),
# even though its kernel still acknowledges TCP: the peer is frozen with
# SIGSTOP, which is what a dead host behind a silent network looks like.
#  1. Agent frozen: the relay drops the tunnel and resets its public
#     connections within a few seconds; once thawed, the agent reconnects and
#     gets its port back.
#  2. Relay frozen: the agent declares the tunnel lost within a few seconds;
#     once the relay is thawed, the agent reconnects and the service works.
. "$(dirname "$0")/lib.sh"
need ss

LIMIT=$((6 * TM))	# seconds; 500ms x 3 misses should take 1.5 to 2 s (the agent
		# took about 3.7 s when this test was written)
tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
ka="keepalive:
  interval: 500ms
  misses: 3"
relay_conf "$T/relay.yaml" "$ka"
export AGENT_RECONNECT_INITIAL=100ms AGENT_RECONNECT_MAX=1s
agent_conf "$T/agent.yaml" home home "$(svc_yaml echo "$ECHO")" "$ka
timeouts:
  handshake: 2s"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
P=$(exposed_port agent echo) || fail "echo not exposed"
APID=$(pid_of agent); RPID=$(pid_of relay)

# 1. Silent agent.
start_bg hold "$PY" -u "$HELPERS/client.py" hold --port "$P"
wait_log hold '^held$' $((5 * TM)) || fail "hold: stream never opened"
t0=$(now_ms)
kill -STOP "$APID"
wait_exit "$(pid_of hold)" "$LIMIT" ||
    { kill -CONT "$APID"; fail "public connection still open ${LIMIT} s after the agent froze"; }
t1=$(now_ms)
ok "relay gave up on the silent agent: public connection $(tail -n 1 "$T/hold.log") after $((t1 - t0)) ms"
mark=$(log_lines agent)
kill -CONT "$APID"
P2=$(exposed_port agent echo $((10 * TM)) "$mark") || fail "agent did not come back after SIGCONT"
expect_eq "port after the agent came back" "$P" "$P2"
client echo --port "$P" --bytes 1000000 --timeout $((10 * TM)) >"$T/echo.out" 2>&1 ||
    fail "echo after the agent came back: $(cat "$T/echo.out")"
ok "agent reconnected, service works"

# 2. Silent relay.
mark=$(log_lines agent)
t0=$(now_ms)
kill -STOP "$RPID"
found=0
for ((i = 0; i < LIMIT * 10; i++)); do
	tail -n "+$((mark + 1))" "$T/agent.log" | grep -Eq 'tunnel lost' && { found=1; break; }
	sleep 0.1
done
t1=$(now_ms)
[ $found -eq 1 ] || { kill -CONT "$RPID"; fail "agent did not notice the silent relay in ${LIMIT} s"; }
ok "agent: $(tail -n "+$((mark + 1))" "$T/agent.log" | grep -Eo 'tunnel lost.*' | head -n 1) ($((t1 - t0)) ms)"
mark=$(log_lines agent)
kill -CONT "$RPID"
P3=$(exposed_port agent echo $((15 * TM)) "$mark") || fail "agent did not reconnect after the relay thawed"
expect_eq "port after the relay came back" "$P" "$P3"
client echo --port "$P" --bytes 1000000 --timeout $((10 * TM)) >"$T/echo.out" 2>&1 ||
    fail "echo after the relay came back: $(cat "$T/echo.out")"
ok "agent reconnected to the thawed relay, service works"

finish

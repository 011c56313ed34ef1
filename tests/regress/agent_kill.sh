#!/bin/bash
# The agent dies (SIGKILL): every public connection through it is closed at
# once, as a TCP reset (the stream ended abnormally, so never a clean FIN); the
# restarted agent gets the same public ports back (the relay keeps them
# reserved for its identity for the grace period), both the port it asked for
# and the one the relay picked; the service works again.
. "$(dirname "$0")/lib.sh"
need ss

HOLDS=4
tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml picked "$ECHO"; svc_yaml fixed "$ECHO" "$((PUB_LO + 7))")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PP=$(exposed_port agent picked) || fail "service picked never exposed"
PF=$(exposed_port agent fixed) || fail "service fixed never exposed"
expect_eq "requested port" "$((PUB_LO + 7))" "$PF"

hold=()
for i in $(seq $HOLDS); do
	port=$PP; [ $((i % 2)) -eq 0 ] && port=$PF
	start_bg "hold$i" "$PY" -u "$HELPERS/client.py" hold --port "$port" --timeout 10
	hold+=("$(pid_of "hold$i")")
done
for i in $(seq $HOLDS); do
	wait_log "hold$i" '^held$' $((10 * TM)) || fail "hold$i: stream never opened"
done
ok "$HOLDS public connections open through the tunnel"

t0=$(now_ms)
stop_bg agent KILL
for i in $(seq $HOLDS); do
	wait_exit "${hold[$((i - 1))]}" $((3 * TM)) ||
	    fail "hold$i: public connection still open 3 s after the agent died"
done
t1=$(now_ms)
for i in $(seq $HOLDS); do
	grep -q '^closed reset$' "$T/hold$i.log" ||
	    fail "hold$i: ended with '$(tail -n 1 "$T/hold$i.log")', want a TCP reset"
done
ok "all $HOLDS public connections reset $((t1 - t0)) ms after SIGKILL"

# With no agent, a new public connection must not hang either.
t3=$(now_ms)
client echo --port "$PP" --bytes 1000 --timeout 10 >"$T/gap.out" 2>&1 &&
    fail "a public connection got an echo with the agent dead"
t4=$(now_ms)
[ $((t4 - t3)) -lt $((3000 * TM)) ] ||
    fail "a public connection hung $((t4 - t3)) ms with the agent dead"
ok "a connection while the agent is gone ends in $((t4 - t3)) ms: $(head -n 1 "$T/gap.out")"

t5=$(now_ms)
start_agent agent2 "$T/agent.yaml"
P2=$(exposed_port agent2 picked 15) || fail "restarted agent: picked never exposed"
F2=$(exposed_port agent2 fixed 15) || fail "restarted agent: fixed never exposed"
t2=$(now_ms)
expect_eq "picked port after restart" "$PP" "$P2"
expect_eq "requested port after restart" "$PF" "$F2"
ok "ports back $((t2 - t5)) ms after the restart"

for port in "$PP" "$PF"; do
	client echo --port "$port" --streams 4 --bytes 1000000 --timeout $((20 * TM)) \
	    >"$T/echo.out" 2>&1 || fail "echo on $port after restart: $(cat "$T/echo.out")"
done
ok "service works again on both ports"

finish

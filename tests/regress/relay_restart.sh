#!/bin/bash
# The relay stops (SIGTERM) with a public stream open and an agent handshake
# stalled half-way: it exits 0 once its shutdown timeout (2 s) has cut the
# stream.  It comes back on the same address: the agent notices, retries with
# backoff (each delay within reconnect.max), then reconnects, registers its
# services again and they work.
. "$(dirname "$0")/lib.sh"
need ss curl

tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml" "timeouts:
  shutdown: 2s"
export AGENT_RECONNECT_INITIAL=100ms AGENT_RECONNECT_MAX=1s
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml fixed "$ECHO" "$((PUB_LO + 3))"; svc_yaml picked "$ECHO")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
exposed_port agent fixed >/dev/null || fail "service fixed never exposed"
exposed_port agent picked >/dev/null || fail "service picked never exposed"
client echo --port "$((PUB_LO + 3))" --bytes 100000 >"$T/echo.out" 2>&1 ||
    fail "echo before the restart: $(cat "$T/echo.out")"
ok "service works before the restart"

start_bg hold "$PY" -u "$HELPERS/client.py" hold --port "$((PUB_LO + 3))"
wait_log hold '^held$' $((5 * TM)) || fail "hold: stream never opened"
start_bg stall "$PY" -u "$HELPERS/stall_handshake.py" "$RELAY_PORT" 1
wait_log stall '^stalled' $((10 * TM)) || fail "could not start a handshake"

mark=$(log_lines agent)
rpid=$(pid_of relay)
t0=$(now_ms)
kill -TERM "$rpid"
wait_exit "$rpid" $((8 * TM)) || fail "relay still running 8 s after SIGTERM"
t1=$(now_ms)
stop_bg relay; rc=$?
expect_eq "relay exit status after SIGTERM" 0 "$rc"
ok "relay exited $((t1 - t0)) ms after SIGTERM (shutdown timeout 2 s, one stream open)"
wait_exit "$(pid_of hold)" 2 || fail "public stream still open after the relay exited"
ok "open public stream ended: $(tail -n 1 "$T/hold.log")"
port_listening "$((PUB_LO + 3))" && fail "public port still open with the relay gone"

# Down for 3 s: the agent must keep trying, never waiting past reconnect.max.
sleep 3
tail -n "+$((mark + 1))" "$T/agent.log" >"$T/agent.down"
grep -Eq 'tunnel lost' "$T/agent.down" || fail "agent did not log the lost tunnel"
delays=$(grep -Eo '(reconnecting|retrying) in [0-9]+ ?ms' "$T/agent.down" | grep -Eo '[0-9]+')
n=$(echo "$delays" | grep -c .)
[ "$n" -ge 2 ] || fail "only $n reconnect attempts in 3 s (initial 100ms, max 1s)"
for d in $delays; do
	[ "$d" -le 1000 ] || fail "reconnect delay $d ms above reconnect.max 1s"
done
ok "agent retried $n times while the relay was down, delays: $(echo $delays)"

mark=$(log_lines agent)
t0=$(now_ms)
start_relay relay2 "$T/relay.yaml"
P=$(exposed_port agent fixed $((5 * TM)) "$mark") || fail "fixed not exposed again"
exposed_port agent picked $((5 * TM)) "$mark" >/dev/null || fail "picked not exposed again"
t1=$(now_ms)
expect_eq "requested port after the relay restart" "$((PUB_LO + 3))" "$P"
tail -n "+$((mark + 1))" "$T/agent.log" | grep -Eq 'connected to relay' ||
    fail "agent did not log its new connection"
ok "agent back $((t1 - t0)) ms after the relay restarted"
client echo --port "$P" --streams 8 --bytes 1000000 --timeout $((20 * TM)) \
    >"$T/echo.out" 2>&1 || fail "echo after the restart: $(cat "$T/echo.out")"
ok "service works after the restart"

finish

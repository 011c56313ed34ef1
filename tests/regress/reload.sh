#!/bin/bash
# SIGHUP on the agent: its config now adds service "added" and drops service
# "dropped" while a paced 48 MB echo transfer on service "kept" runs; the
# transfer finishes intact on the same tunnel, "added" works, "dropped" is no
# longer reachable.  Then a broken config on SIGHUP is reported and the
# running one stays in force.
. "$(dirname "$0")/lib.sh"
need ss

tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml kept "$ECHO"; svc_yaml dropped "$ECHO")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PK=$(exposed_port agent kept) || fail "kept not exposed"
PD=$(exposed_port agent dropped) || fail "dropped not exposed"
client echo --port "$PD" --bytes 10000 >"$T/echo.out" 2>&1 ||
    fail "dropped does not work before the reload: $(cat "$T/echo.out")"

start_bg paced "$PY" -u "$HELPERS/client.py" paced --port "$PK" \
    --bytes $((48 * 1024 * 1024)) --seconds 6 --timeout $((20 * TM))
wait_log paced '^progress' 5 || fail "paced transfer did not start"
sleep 1.5
conns=$(grep -Ec 'connected to relay' "$T/agent.log")
mark=$(log_lines agent)
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml kept "$ECHO"; svc_yaml added "$ECHO" "$((PUB_LO + 9))")"
kill -HUP "$(pid_of agent)"
PA=$(exposed_port agent added 10 "$mark") || fail "added not exposed after SIGHUP"
expect_eq "added on its requested port" "$((PUB_LO + 9))" "$PA"
grep -q '^paced ok' "$T/paced.log" &&
    fail "the transfer ended before the reload took effect; nothing was tested"
ok "added exposed at $PA during the transfer ($(tail -n 1 "$T/paced.log"))"
client echo --port "$PA" --streams 2 --bytes 1000000 --timeout $((10 * TM)) \
    >"$T/echo.out" 2>&1 || fail "added does not work: $(cat "$T/echo.out")"
ok "added works"

gone=0
for _ in $(seq 50); do
	if ! client echo --port "$PD" --bytes 10000 --timeout 3 >"$T/echo.out" 2>&1; then
		gone=1; break
	fi
	sleep 0.1
done
[ $gone -eq 1 ] || fail "dropped still echoes 5 s after the reload"
ok "dropped no longer reachable ($(tail -n 1 "$T/echo.out"))"

wait_exit "$(pid_of paced)" $((20 * TM)) || fail "the transfer on kept never finished"
stop_bg paced || fail "transfer on kept broken by the reload: $(tail -n 3 "$T/paced.log")"
ok "transfer on kept untouched: $(tail -n 1 "$T/paced.log")"
expect_eq "tunnel connections (no reconnect on reload)" "$conns" \
    "$(grep -Ec 'connected to relay' "$T/agent.log")"

# A config that fails to load: reported, the old one stays.
mark=$(log_lines agent)
cp "$T/agent.yaml" "$T/agent.good"
printf 'no_such_key: 1\n' >>"$T/agent.yaml"
kill -HUP "$(pid_of agent)"
wait_log agent 'no_such_key' 5 || fail "broken config on SIGHUP not reported"
ok "reported: $(grep -E 'no_such_key' "$T/agent.log" | tail -n 1)"
sleep 0.5
kill -0 "$(pid_of agent)" 2>/dev/null || fail "agent died on a broken config"
for port in "$PK" "$PA"; do
	client echo --port "$port" --bytes 100000 --timeout $((10 * TM)) \
	    >"$T/echo.out" 2>&1 || fail "port $port broken after a bad reload: $(cat "$T/echo.out")"
done
ok "services still work under the old config"

finish

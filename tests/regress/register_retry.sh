#!/bin/bash
# register_retry: the agent heals without a restart.
#  1. The relay's policy refuses the agent's port: the refusal is logged
#     once (retries refused for the same reason stay quiet).  The relay is
#     reloaded with the port allowed: the same agent process, on the same
#     tunnel, gets the port and the service answers through it.
#     A refused service whose port the agent's own reload changes to an
#     allowed one is registered once, afresh (no duplicate).
#  2. SIGHUP while the agent waits out a long reconnect backoff (60 s):
#     it connects at once, long before the retry was due.
. "$(dirname "$0")/lib.sh"
need ss

tunnel_setup home
W=$((10 * TM))
start_svc echo echo
E=$(helper_port echo)
P=$((PUB_LO + 3))

relay_conf "$T/relay.yaml" "agents:
  home:
    ports: [$((PUB_LO + 1))]"
start_relay relay "$T/relay.yaml"
AGENT_RECONNECT_INITIAL=200ms AGENT_RECONNECT_MAX=1s \
    agent_conf "$T/home.yaml" home home "$(svc_yaml echo "$E" "$P")
$(svc_yaml two "$E" "$((PUB_LO + 5))")"
start_agent home "$T/home.yaml"
wait_log home "service echo refused by relay: port $P not allowed for identity home; asking again" $W ||
    fail "the port was not refused"
# Several retries (reconnect.max is 1 s), one line.
sleep 3
expect_eq "refusal logged once" 1 "$(grep -c 'service echo refused by relay' "$T/home.log")"
pid=$(pid_of home)

# The agent's reload moves two to the allowed port.
wait_log home "service two refused by relay" $W || fail "two was not refused"
sed -i "s/remote_port: $((PUB_LO + 5))/remote_port: $((PUB_LO + 1))/" "$T/home.yaml"
kill -HUP "$pid"
p=$(exposed_port home two $W) || fail "two not exposed after the agent's reload"
expect_eq "two on its new port" "$((PUB_LO + 1))" "$p"
sleep 2
grep -Eq 'already registered' "$T/home.log" && fail "a duplicate REGISTER: $(grep -E 'already registered' "$T/home.log")"
ok "agent reload: two registered afresh on $p"

relay_conf "$T/relay.yaml" "agents:
  home:
    ports: [$((PUB_LO + 1)), $P]"
kill -HUP "$(pid_of relay)"
p=$(exposed_port home echo $((20 * TM))) ||
    fail "the allowed port was not picked up within 20 s"
expect_eq "exposed on the port" "$P" "$p"
client echo --port "$P" --bytes 100000 --timeout $W >"$T/echo.out" 2>&1 ||
    fail "echo through $P: $(cat "$T/echo.out")"
expect_eq "same agent process" "$pid" "$(pid_of home)"
kill -0 "$pid" || fail "the agent exited"
expect_eq "same tunnel" 1 "$(grep -c 'connected to relay' "$T/home.log")"
ok "port $P picked up after the relay's reload, without restarting the agent"
stop_bg home

# 2. A 60 s backoff cut short by SIGHUP.
stop_bg relay
AGENT_RECONNECT_INITIAL=60s AGENT_RECONNECT_MAX=60s \
    agent_conf "$T/slow.yaml" home home "$(svc_yaml echo "$E")"
start_agent slow "$T/slow.yaml"
due=0
for n in 1 2 3 4; do
	wait_log slow "cannot connect to relay .*retrying in [0-9]+ ms" $W ||
	    fail "the agent did not fail to connect"
	due=$(grep -Eo 'retrying in [0-9]+ ms' "$T/slow.log" | tail -n 1 | grep -Eo '[0-9]+')
	[ "$(grep -c 'retrying in' "$T/slow.log")" -ge "$n" ] || continue
	[ "$due" -ge 10000 ] && break
	# Too soon to tell SIGHUP from the timer: wait for the next one.
	for ((i = 0; i < due / 100 + 50; i++)); do
		[ "$(grep -c 'retrying in' "$T/slow.log")" -gt "$n" ] && break
		sleep 0.1
	done
done
[ "$due" -ge 10000 ] || fail "no backoff of 10 s or more in 4 tries ($due ms)"
start_relay relay2 "$T/relay.yaml"
kill -HUP "$(pid_of slow)"
wait_log slow "SIGHUP: reconnecting to the relay now" 5 || fail "SIGHUP ignored"
# The retry was due in >= 10 s; connected well before it.
wait_log slow "connected to relay" $((5 * TM)) ||
    fail "not connected within $((5 * TM)) s of SIGHUP (retry due in $due ms)"
grep -n 'retrying in\|SIGHUP: reconnecting\|connected to relay' "$T/slow.log" |
    tail -n 2 | grep -q 'SIGHUP' || fail "events out of order"
ok "SIGHUP during a backoff of $due ms: connected at once"
finish
echo "register_retry: all passed"

#!/bin/bash
# Public port policy, end to end, with the default grants (docs/CONFIG.md,
# "Public ports"):
#  - locked (agents.locked.ports: []) gets no port at all, neither picked by
#    the relay nor asked for by number, and its agent logs why;
#  - granted (ports: [LO], auto: 1) gets its port and one automatic port,
#    the second automatic one is refused;
#  - hog (not listed) asks for 25 automatic ports and for granted's port:
#    it gets limits.auto_ports_per_agent (4), none of them a listed port, and
#    granted's port is refused;
#  - second (not listed) still gets a port after all that, and it carries
#    data.
. "$(dirname "$0")/lib.sh"
need ss

tunnel_setup locked
pki_issue granted agent
pki_issue hog agent
pki_issue second agent
start_svc echo echo
ECHO=$(helper_port echo)
LO=$PUB_LO
relay_conf "$T/relay.yaml" "agents:
  locked:
    ports: []
  granted:
    ports: [$LO]
    auto: 1"
start_relay relay "$T/relay.yaml"

agent_conf "$T/locked.yaml" locked locked \
    "$(svc_yaml web "$ECHO"; svc_yaml smb "$ECHO" "$((LO + 5))")"
agent_conf "$T/granted.yaml" granted granted \
    "$(svc_yaml fixed "$ECHO" "$LO"; svc_yaml a1 "$ECHO"; svc_yaml a2 "$ECHO")"
hog="$(svc_yaml squat "$ECHO" "$LO")"
for i in $(seq 1 25); do
	hog="$hog
$(svc_yaml "h$i" "$ECHO")"
done
agent_conf "$T/hog.yaml" hog hog "$hog"
agent_conf "$T/second.yaml" second second "$(svc_yaml late "$ECHO")"
start_agent locked "$T/locked.yaml"
start_agent granted "$T/granted.yaml"
start_agent hog "$T/hog.yaml"
W=$((10 * TM))

# locked: both refused, each with its reason; nothing exposed.
wait_log locked "service web refused by relay: .*no automatic ports allowed for identity locked" $W ||
    fail "locked: automatic port not refused"
wait_log locked "service smb refused by relay: .*port $((LO + 5)) not allowed for identity locked" $W ||
    fail "locked: requested port not refused"
grep -q 'exposed at' "$T/locked.log" && fail "locked got a port: $(grep 'exposed at' "$T/locked.log")"
ok "ports: [] gets nothing: $(grep -Eo 'service web refused.*' "$T/locked.log" | head -n 1)"

# granted: its port, one automatic port, the second refused.
P=$(exposed_port granted fixed) || fail "granted: fixed not exposed"
expect_eq "granted: fixed on its listed port" "$LO" "$P"
wait_log granted "service a[12] refused by relay: .*automatic port limit 1 reached for identity granted" $W ||
    fail "granted: second automatic port not refused"
expect_eq "granted: automatic ports exposed" 1 "$(grep -Ec 'service a[12] .*exposed at' "$T/granted.log")"
ok "auto: 1 grants one: $(grep -Eo 'service a[12] refused.*' "$T/granted.log")"

# hog: 4 automatic ports, 21 refusals, granted's port refused by number.
for ((i = 0; i < 10 * W; i++)); do
	[ "$(grep -c 'refused by relay' "$T/hog.log")" -ge 22 ] && break
	sleep 0.1
done
expect_eq "hog: refusals" 22 "$(grep -c 'refused by relay' "$T/hog.log")"
expect_eq "hog: ports exposed" 4 "$(grep -c 'exposed at' "$T/hog.log")"
expect_eq "hog: refused for the limit" 21 \
    "$(grep -c 'refused by relay: .*automatic port limit 4 reached for identity hog' "$T/hog.log")"
grep -Eq "service squat refused by relay: .*port $LO not allowed for identity hog" "$T/hog.log" ||
    fail "hog: granted's port not refused"
for p in $(sed -nE 's/.* exposed at [^ ]*:([0-9]+).*/\1/p' "$T/hog.log"); do
	[ "$p" -gt "$LO" ] && [ "$p" -le "$PUB_HI" ] ||
	    fail "hog: port $p is outside the unlisted part of $PUB_LO-$PUB_HI"
done
ok "one identity holds 4 of $((PUB_HI - PUB_LO + 1)) ports, not the range"

# second: still a port, and it works.
start_agent second "$T/second.yaml"
P=$(exposed_port second late) || fail "second: no port left after hog"
client echo --port "$P" --bytes 100000 --timeout $((10 * TM)) >"$T/echo.out" 2>&1 ||
    fail "echo through second's port $P: $(cat "$T/echo.out")"
ok "second identity got port $P and it carries data"

kill -0 "$(pid_of relay)" 2>/dev/null || fail "relay died"
finish

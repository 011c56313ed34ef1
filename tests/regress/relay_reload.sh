#!/bin/bash
# SIGHUP on the relay reloads its policy and CRL, applies them to the
# connected tunnels too, and keeps the old config when the new one is broken.
#  - agent "late" is revoked after it connected and the CRL is republished:
#    after SIGHUP its tunnel is closed within a second (GOAWAY AUTH, logged
#    by CN), its port unbound; restarted, it is refused with "certificate
#    revoked".  The other agent's tunnel is untouched.
#  - agents.home.ports is narrowed to port A: B is unbound at once (the
#    agent is told why) while A keeps working; the restarted agent gets A and
#    B is refused "not allowed".
. "$(dirname "$0")/lib.sh"
need ss

tunnel_setup home
pki_issue late agent
"$BIN/atlax-pki" crl --dir "$T/pki" >"$T/pki.out" 2>&1 || fail "atlax-pki crl: $(cat "$T/pki.out")"
export RELAY_CRL=$T/pki/ca.crl	# read by relay_conf
start_svc echo echo
ECHO=$(helper_port echo)
A=$((PUB_LO + 1)) B=$((PUB_LO + 2)) L=$((PUB_LO + 3))
relay_conf "$T/relay.yaml"
agent_conf "$T/home.yaml" home home "$(svc_yaml a "$ECHO" "$A"; svc_yaml b "$ECHO" "$B")"
agent_conf "$T/late.yaml" late late "$(svc_yaml l "$ECHO" "$L")"
start_relay relay "$T/relay.yaml"
start_agent home "$T/home.yaml"
start_agent late "$T/late.yaml"
exposed_port home a >/dev/null || fail "a not exposed"
exposed_port home b >/dev/null || fail "b not exposed"
exposed_port late l >/dev/null || fail "l not exposed"

"$BIN/atlax-pki" revoke --dir "$T/pki" --cn late >"$T/pki.out" 2>&1 || fail "revoke: $(cat "$T/pki.out")"
"$BIN/atlax-pki" crl --dir "$T/pki" >"$T/pki.out" 2>&1 || fail "crl: $(cat "$T/pki.out")"
relay_conf "$T/relay.yaml" "agents:
  home:
    ports: [$A]"
mark=$(log_lines relay)
t0=$(now_ms)
kill -HUP "$(pid_of relay)"
wait_log relay 'reloaded' 5 || fail "relay did not log its reload"
wait_log relay "tunnel: late: access withdrawn: certificate no longer accepted: certificate revoked" 5 ||
    fail "the revoked agent's tunnel was not closed"
wait_log late "relay refused this agent: certificate no longer accepted: certificate revoked" 5 ||
    fail "the revoked agent was not told why"
for ((i = 0; i < 50; i++)); do port_listening "$L" || break; sleep 0.1; done
t1=$(now_ms)
[ $((t1 - t0)) -lt $((1000 * TM)) ] || fail "eviction took $((t1 - t0)) ms"
ok "revoked agent evicted in $((t1 - t0)) ms"
port_listening "$L" && fail "the revoked agent's port $L is still bound"
stop_bg late
client echo --port "$A" --bytes 100000 --timeout $((10 * TM)) >"$T/echo.out" 2>&1 ||
    fail "port $A broken by the relay's reload: $(cat "$T/echo.out")"
ok "the other tunnel still serves after SIGHUP"
wait_log relay "tunnel: home: service b \\(port $B\\) withdrawn by the new configuration: port $B not allowed for identity home" 5 ||
    fail "relay did not unbind $B"
wait_log home "service b refused by relay: port $B not allowed for identity home" 5 ||
    fail "agent was not told that b was withdrawn"
port_listening "$B" && fail "port $B still bound after the policy dropped it"
client echo --port "$B" --bytes 100000 --timeout 5 >"$T/echo.out" 2>&1 &&
    fail "port $B still serves after the policy dropped it"
ok "port $B unbound by the reload, $A still served"

start_agent late2 "$T/late.yaml"
wait_log relay "certificate revoked" $((10 * TM)) || fail "revoked agent not refused after the reload"
ok "relay: $(tail -n "+$((mark + 1))" "$T/relay.log" | grep -E 'certificate revoked' | head -n 1)"
grep -q 'exposed at' "$T/late2.log" && fail "revoked agent got a port after the reload"
stop_bg late2

stop_bg home
start_agent home2 "$T/home.yaml"
P=$(exposed_port home2 a $((10 * TM))) || fail "a not exposed after the policy reload"
expect_eq "a on its allowed port" "$A" "$P"
wait_log home2 "service b refused by relay: .*port $B not allowed for identity home" $((10 * TM)) ||
    fail "b not refused under the narrowed policy"
ok "narrowed policy: $(grep -Eo 'service b refused.*' "$T/home2.log" | head -n 1)"

# A broken config on SIGHUP: reported, the old one stays.
mark=$(log_lines relay)
printf 'bogus_key: 1\n' >>"$T/relay.yaml"
kill -HUP "$(pid_of relay)"
wait_log relay 'bogus_key' 5 || fail "broken relay config on SIGHUP not reported"
ok "reported: $(grep -E 'bogus_key' "$T/relay.log" | tail -n 1)"
client echo --port "$A" --bytes 100000 --timeout $((10 * TM)) >"$T/echo.out" 2>&1 ||
    fail "relay broken by a bad reload: $(cat "$T/echo.out")"
ok "relay still serves under the old config"

finish

#!/bin/bash
# Backpressure end to end, memory bounded.
#  1. A public client that never reads while the service tries to send 1 GB:
#     the service gets stuck after a bounded amount (the windows stop it),
#     the relay's and the agent's RSS stay below $BOUND_MB, and another stream
#     on the same tunnel still works meanwhile.
#  2. The mirror image: a local service that never reads while a public client
#     tries to send 1 GB: the same bounds hold.
# RSS is sampled from /proc/PID/status (VmRSS) every 0.2 s.  Under ASan the
# bound is larger (its shadow memory and quarantine), the limit on bytes in
# flight is the same.
. "$(dirname "$0")/lib.sh"
need ss

BOUND_MB=${BOUND_MB:-64}
[ -n "${ATLAX_ASAN:-}" ] && BOUND_MB=${ASAN_BOUND_MB:-512}
INFLIGHT_MB=64		# the most a stuck stream may have taken in, all buffers
SECS=6

tunnel_setup home
start_svc flood flood --bytes $((1024 * 1024 * 1024))
start_svc echo echo
start_svc idle idle
FLOOD=$(helper_port flood); ECHO=$(helper_port echo); IDLE=$(helper_port idle)
# The stalled streams never end by themselves: a short shutdown timeout lets
# finish() stop the daemons quickly.
short="timeouts:
  shutdown: 1s"
relay_conf "$T/relay.yaml" "$short"
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml flood "$FLOOD"; svc_yaml echo "$ECHO"; svc_yaml idle "$IDLE")" "$short"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PF=$(exposed_port agent flood) || fail "flood not exposed"
PE=$(exposed_port agent echo) || fail "echo not exposed"
PI=$(exposed_port agent idle) || fail "idle not exposed"
RPID=$(pid_of relay); APID=$(pid_of agent)
echo "relay RSS at rest $(rss_kb "$RPID") KiB, agent $(rss_kb "$APID") KiB"

check_rss() {	# what
	local who kb
	for who in relay agent; do
		kb=$(sed -n 's/^max_rss_kb //p' "$T/rss-$who.log")
		[ -n "$kb" ] && [ "$kb" -gt 0 ] || fail "$1: no RSS samples of the $who"
		[ "$kb" -lt $((BOUND_MB * 1024)) ] ||
		    fail "$1: $who RSS reached $kb KiB, bound $BOUND_MB MiB"
		ok "$1: $who max RSS $((kb / 1024)) MiB < $BOUND_MB MiB"
	done
}

last_sent() { grep -E '^sent [0-9]+$' "$T/$1.log" | tail -n 1 | cut -d' ' -f2; }

# 1. Public reader stalls.
start_bg rss-relay "$PY" -u "$HELPERS/rss.py" "$RPID" "$SECS"
start_bg rss-agent "$PY" -u "$HELPERS/rss.py" "$APID" "$SECS"
start_bg stall "$PY" -u "$HELPERS/client.py" idle --port "$PF" --seconds $((SECS + 5))
wait_log stall '^connected$' 5 || fail "could not connect to the flood service"
sleep 2
t0=$(now_ms)
client echo --port "$PE" --streams 4 --bytes $((4 * 1024 * 1024)) --timeout $((15 * TM)) \
    >"$T/echo.out" 2>&1 || fail "second stream stuck behind the stalled one: $(cat "$T/echo.out")"
ok "4 x 4 MB echoed on the same tunnel meanwhile in $(( $(now_ms) - t0 )) ms"
wait_exit "$(pid_of rss-relay)" $((SECS + 5)) || fail "rss sampler hung"
wait_exit "$(pid_of rss-agent)" 5 || fail "rss sampler hung"
s1=$(last_sent flood)
sleep 1
s2=$(last_sent flood)
[ -n "$s2" ] || fail "flood service reported nothing"
[ "$s2" -lt $((INFLIGHT_MB * 1024 * 1024)) ] ||
    fail "the service sent $s2 bytes to a client that reads nothing"
[ "$s1" = "$s2" ] || fail "the service is still sending ($s1 then $s2 bytes)"
ok "service stopped after $((s2 / 1024)) KiB of 1 GiB (client never reads)"
check_rss "stalled public reader"
stop_bg stall

# 2. Local service stalls.
start_bg rss-relay "$PY" -u "$HELPERS/rss.py" "$RPID" "$SECS"
start_bg rss-agent "$PY" -u "$HELPERS/rss.py" "$APID" "$SECS"
start_bg push "$PY" -u "$HELPERS/client.py" flood --port "$PI" \
    --bytes $((1024 * 1024 * 1024)) --seconds "$SECS"
sleep 2
client echo --port "$PE" --streams 4 --bytes $((4 * 1024 * 1024)) --timeout $((15 * TM)) \
    >"$T/echo.out" 2>&1 || fail "second stream stuck behind the stalled service: $(cat "$T/echo.out")"
ok "4 x 4 MB echoed on the same tunnel meanwhile"
wait_exit "$(pid_of push)" $((SECS + 5)) || fail "flood client hung"
wait_exit "$(pid_of rss-relay)" 5 || fail "rss sampler hung"
wait_exit "$(pid_of rss-agent)" 5 || fail "rss sampler hung"
s=$(last_sent push)
[ "$s" -lt $((INFLIGHT_MB * 1024 * 1024)) ] ||
    fail "the public client pushed $s bytes to a service that reads nothing"
ok "public client stopped after $((s / 1024)) KiB of 1 GiB (service never reads)"
check_rss "stalled local service"
kill -0 "$RPID" 2>/dev/null || fail "relay died"
kill -0 "$APID" 2>/dev/null || fail "agent died"

finish

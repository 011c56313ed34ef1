#!/bin/bash
# Memory under hostile uploads.  400 public clients push data into a service
# that never reads (svc.py idle).  The relay may hold, by docs/CONFIG.md and
# docs/PROTOCOL.md:
#   limits.tunnel_buffer   what it queues for the tunnel (streams + TLS out)
#   limits.tunnel_window   what the agent may have in flight towards it
#   per stream             bookkeeping: socket, pump, mux stream, a read chunk
# so its RSS must stay under
#   baseline + tunnel_buffer + tunnel_window + 400 x STREAM_KB + MARGIN
# whatever the clients do.  The windows are set so that the 400 stalled
# streams can hold at most 400 x 16 KiB = 6.25 MiB of the agent's 8 MiB tunnel
# window (PROTOCOL.md section 4, liveness): another stream on the same tunnel
# must still work meanwhile, and so must another agent's tunnel.  Then every
# client resets: the relay's descriptors come back to their count before, and
# the same round again must not grow the peak nor what stays afterwards (the
# memory is reused, not leaked).
. "$(dirname "$0")/lib.sh"
# Under ASan freed memory sits in its quarantine (256 MiB by default) and
# shows in RSS; a small quarantine keeps this script's RSS checks about the
# relay while use-after-free is still caught, and LSan still runs at exit.
[ -n "${ATLAX_ASAN:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4"
need ss

N=400
HOLD=8			# seconds the uploads push before they reset
STREAM_KB=16		# per-stream bookkeeping allowed, KiB
MARGIN_KB=$((8 * 1024))	# allocator slack, thread stacks touched under load
TBUF_KB=1024		# limits.tunnel_buffer
TWIN_KB=8192		# limits.tunnel_window
SWIN_KB=16		# limits.stream_window

tunnel_setup home
pki_issue other agent
start_svc sink idle
start_svc echo echo
start_svc echo2 echo
SINK=$(helper_port sink); ECHO=$(helper_port echo); ECHO2=$(helper_port echo2)
lim="limits:
  stream_window: ${SWIN_KB}KiB
  tunnel_window: ${TWIN_KB}KiB
  tunnel_buffer: ${TBUF_KB}KiB"
# connections_per_source 0 and streams_per_service 1000: the 400 clients all
# come from 127.0.0.1 and must all become streams, or the test measures less
# than it claims.
relay_conf "$T/relay.yaml" "$lim
  connections_per_source: 0
  streams_per_service: 1000
timeouts:
  shutdown: 1s"
agent_conf "$T/agent.yaml" home home "$(svc_yaml sink "$SINK"; svc_yaml echo "$ECHO")" "$lim
timeouts:
  shutdown: 1s"
agent_conf "$T/other.yaml" other other "$(svc_yaml echo2 "$ECHO2")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
start_agent other "$T/other.yaml"
PS=$(exposed_port agent sink) || fail "sink not exposed"
PE=$(exposed_port agent echo) || fail "echo not exposed"
PO=$(exposed_port other echo2) || fail "other agent's echo not exposed"
RPID=$(pid_of relay)

canary() {	# port what
	client echo --port "$1" --streams 2 --bytes 100000 --timeout $((15 * TM)) \
	    >"$T/canary.out" 2>&1 || fail "$2: echo broken: $(cat "$T/canary.out")"
}
relay_fds() { ls "/proc/$RPID/fd" 2>/dev/null | wc -l; }
sink_conns() { ss -Htn state established "sport = :$SINK" | wc -l; }

canary "$PE" "before"
canary "$PO" "before (other tunnel)"
sleep 1
FD0=$(relay_fds); RSS0=$(rss_kb "$RPID")
BOUND=$((RSS0 + (TBUF_KB + TWIN_KB + N * STREAM_KB + MARGIN_KB) * TM))
ok "relay at rest: $RSS0 KiB, $FD0 descriptors; bound $BOUND KiB = $RSS0 + ($TBUF_KB + $TWIN_KB + $N x $STREAM_KB + $MARGIN_KB) x $TM"

round() {	# number: prints nothing, sets PEAK and AFTER
	local r=$1 acc
	start_bg "rss$r" "$PY" -u "$HELPERS/rss.py" "$RPID" $((HOLD + 2)) 0.1
	start_bg "up$r" "$PY" -u "$HELPERS/hostile.py" uploads --port "$PS" \
	    --count "$N" --bytes $((256 * 1024)) --hold "$HOLD"
	wait_log "up$r" "^connected $N\$" $((20 * TM)) ||
	    fail "round $r: $N upload clients did not connect: $(tail -n 2 "$T/up$r.log")"
	for ((i = 0; i < 100 * TM; i++)); do
		n=$(sink_conns)
		[ "$n" -ge "$N" ] && break
		sleep 0.1
	done
	[ "$n" -ge "$N" ] || fail "round $r: only $n of $N uploads reached the sink"
	sleep 1
	canary "$PE" "round $r: same tunnel, $N stalled streams beside it"
	canary "$PO" "round $r: other tunnel"
	ok "round $r: $n streams into the sink; echo on the same tunnel and on another tunnel identical"
	wait_exit "$(pid_of "up$r")" $((HOLD + 10)) || fail "round $r: uploads did not stop"
	wait_exit "$(pid_of "rss$r")" 10 || fail "round $r: rss sampler hung"
	acc=$(tail -n 1 "$T/up$r.log")
	echo "round $r: $acc"
	echo "$acc" | grep -Eq "^uploads count=$N connected=$N failed=0 accepted=[1-9]" ||
	    fail "round $r: uploads did not run: $acc"
	PEAK=$(sed -n 's/^max_rss_kb //p' "$T/rss$r.log")
	[ -n "$PEAK" ] && [ "$PEAK" -gt 0 ] || fail "round $r: no RSS samples"
	[ "$PEAK" -le "$BOUND" ] ||
	    fail "round $r: relay RSS reached $PEAK KiB, bound $BOUND KiB ($(( (PEAK - RSS0) / N )) KiB per upload above rest)"
	ok "round $r: relay peak RSS $PEAK KiB <= $BOUND KiB (+$((PEAK - RSS0)) KiB over rest, $(( (PEAK - RSS0) * 1024 / N )) B per upload)"
	# The clients have reset: descriptors back within a few seconds.
	for ((i = 0; i < 50 * TM; i++)); do
		[ "$(relay_fds)" -le $((FD0 + 2)) ] && break
		sleep 0.1
	done
	[ "$(relay_fds)" -le $((FD0 + 2)) ] ||
	    fail "round $r: relay holds $(relay_fds) descriptors 5 s after the resets, $FD0 at rest"
	sleep 1
	AFTER=$(rss_kb "$RPID")
	ok "round $r: after the resets $(relay_fds) descriptors ($FD0 at rest), RSS $AFTER KiB"
}

round 1
PEAK1=$PEAK; AFTER1=$AFTER
# What the uploads added is not measured as "returned" here: glibc keeps
# freed small chunks in the worker's arena for reuse (this relay's RSS stays
# at its peak after the resets, in one anonymous arena mapping).  A leak is
# told apart from that cache by the second round below: the same load again
# must be served from the same memory.
ok "RSS: rest $RSS0 KiB, peak $PEAK1 KiB, after the resets $AFTER1 KiB"

round 2
# A round that leaked what it touched would add its whole growth again; the
# allocator settling adds a fraction (measured: +2.6 to +3.1 MiB on round 2,
# nothing on rounds 3 and 4).  Half of round 1's growth, plus 1 MiB.
grow=$(( (PEAK1 - RSS0) / 2 + 1024 * TM ))
[ "$PEAK" -le $((PEAK1 + grow)) ] ||
    fail "second round peaked at $PEAK KiB, first at $PEAK1 KiB (rest $RSS0): memory not reused"
[ "$AFTER" -le $((AFTER1 + grow)) ] ||
    fail "after the second round RSS is $AFTER KiB, after the first $AFTER1 KiB (rest $RSS0): leak"
ok "second round: peak $PEAK KiB (first $PEAK1), after $AFTER KiB (first $AFTER1)"
canary "$PE" "after"
canary "$PO" "after (other tunnel)"
kill -0 "$RPID" 2>/dev/null || fail "relay died"
n=$(grep -c 'connected to relay' "$T/agent.log")
[ "$n" -eq 1 ] || fail "the agent reconnected ($n connections)"
ok "relay alive, agent connected once, both tunnels echo"
finish

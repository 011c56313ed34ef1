#!/bin/bash
# Half-close both ways through the tunnel.
#  1. The public client sends 4 MB, shuts down its write side, and still
#     receives the service's whole answer (digest of what it sent + 3 MB) and
#     then EOF.
#  2. The service sends 2 MB and shuts down its write side first: the public
#     client sees all of it then EOF, and can still send 4 MB the other way,
#     which the service receives intact.
. "$(dirname "$0")/lib.sh"
need ss

tunnel_setup home
start_svc digest digest --reply-bytes 3000000
start_svc greet greet --reply-bytes 2000000
DIG=$(helper_port digest)
GRT=$(helper_port greet)
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$(svc_yaml digest "$DIG"; svc_yaml greet "$GRT")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PD=$(exposed_port agent digest) || fail "service digest never exposed"
PG=$(exposed_port agent greet) || fail "service greet never exposed"

client digest --port "$PD" --bytes 4000000 --reply-bytes 3000000 \
    --timeout $((20 * TM)) >"$T/c1.out" 2>&1 || fail "client half-close: $(cat "$T/c1.out")"
ok "$(cat "$T/c1.out")"

client greet --port "$PG" --bytes 4000000 --reply-bytes 2000000 \
    --timeout $((20 * TM)) >"$T/c2.out" 2>&1 || fail "service half-close: $(cat "$T/c2.out")"
sent=$(sed -n 's/^sent //p' "$T/c2.out")
wait_log greet "^got $sent\$" 5 || fail "service did not receive '$sent' after its half-close"
ok "service half-closed first, received 4000000 bytes afterwards"

# The same on 8 streams at once.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	client digest --port "$PD" --bytes 1000000 --reply-bytes 3000000 \
	    --timeout $((20 * TM)) >"$T/c3.$i.out" 2>&1 &
	pids+=($!)
done
for i in 0 1 2 3 4 5 6 7; do
	wait "${pids[$i]}" || fail "parallel half-close $((i + 1)): $(cat "$T/c3.$((i + 1)).out")"
done
ok "8 parallel half-closed streams complete"

finish

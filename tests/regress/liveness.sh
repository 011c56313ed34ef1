#!/bin/bash
# Liveness of the data path: with heartbeats that never fire (keepalive 1 h
# on both sides, so no PING can wake a stalled tunnel), traffic patterns that
# once exposed lost wake-ups finish in bounded time:
#   - echo, 4 streams x 1 MB, three times on the same tunnel (both directions
#     at once, then half-close);
#   - echo, 16 streams x 4 MB;
#   - 64 MB uploaded to a service, then 64 MB downloaded from it (one
#     direction each: the sender runs on the stream window's credit alone);
#   - 64 MB pushed by the service first, then 1 MB back.
# Each must finish within 20 s; a stall would sit until the client's timeout.
. "$(dirname "$0")/lib.sh"

LIMIT=$((20 * TM))
KA="keepalive:
  interval: 1h"
tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
start_svc digest digest --reply-bytes $((64 << 20))
DIGEST=$(helper_port digest)
start_svc greet greet --reply-bytes $((64 << 20))
GREET=$(helper_port greet)
relay_conf "$T/relay.yaml" "$KA"
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml echo "$ECHO"; svc_yaml digest "$DIGEST"; svc_yaml greet "$GREET")" "$KA"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PE=$(exposed_port agent echo) || fail "echo never exposed"
PD=$(exposed_port agent digest) || fail "digest never exposed"
PG=$(exposed_port agent greet) || fail "greet never exposed"

timed() {	# label client-args...: runs client, asserts success and time
	local label=$1 t0 t1
	shift
	t0=$(now_ms)
	client "$@" --timeout "$LIMIT" >"$T/c.out" 2>&1 ||
	    fail "$label: $(tail -n 1 "$T/c.out")"
	t1=$(now_ms)
	[ $((t1 - t0)) -lt $((LIMIT * 1000)) ] ||
	    fail "$label took $((t1 - t0)) ms (limit $LIMIT s)"
	ok "$label: $((t1 - t0)) ms"
}

for i in 1 2 3; do
	timed "echo 4 x 1 MB, round $i" echo --port "$PE" --streams 4 --bytes 1000000
done
timed "echo 16 x 4 MB" echo --port "$PE" --streams 16 --bytes 4000000
timed "64 MB up, then 64 MB down" digest --port "$PD" --bytes $((64 << 20)) \
    --reply-bytes $((64 << 20))
timed "64 MB down first, then 1 MB up" greet --port "$PG" \
    --reply-bytes $((64 << 20)) --bytes 1000000
finish

#!/bin/bash
# 64 concurrent streams through one tunnel, each sending 8 MB of its own random
# data to an echo service and reading it back while it sends; every stream's
# sha256 must match (no loss, no reordering, no cross-talk between streams).
. "$(dirname "$0")/lib.sh"
need ss

STREAMS=${STREAMS:-64}
MB=${STREAM_MB:-8}
tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
# 64 streams from one address: more than the default per-source cap (32),
# which protects a public relay from one client, not what this tests.
relay_conf "$T/relay.yaml" "limits:
  connections_per_source: 0"
agent_conf "$T/agent.yaml" home home "$(svc_yaml echo "$ECHO")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
P=$(exposed_port agent echo) || fail "service echo never exposed"

t0=$(now_ms)
client echo --port "$P" --streams "$STREAMS" --bytes $((MB * 1024 * 1024)) \
    --timeout $((60 * TM)) >"$T/client.out" 2>&1 ||
    fail "echo client: $(cat "$T/client.out")"
t1=$(now_ms)
cat "$T/client.out"
grep -q "^$STREAMS/$STREAMS streams ok" "$T/client.out" ||
    fail "not every stream came back intact"
ok "$STREAMS x $MB MB echoed intact in $((t1 - t0)) ms"

# The tunnel is still usable afterwards.
client echo --port "$P" --streams 1 --bytes 1000 >"$T/client.out" 2>&1 ||
    fail "tunnel unusable after the run: $(cat "$T/client.out")"
ok "tunnel still serves new streams"
kill -0 "$(pid_of relay)" 2>/dev/null || fail "relay died"
kill -0 "$(pid_of agent)" 2>/dev/null || fail "agent died"

finish

#!/bin/bash
# Stream deadlines with the real daemons (docs/SECURITY.md), timeouts at 2 s:
#  - timeouts.stall on the agent: a public client uploads into a service that
#    never reads; once the agent's queue for it stops moving the stream is
#    reset, the agent says why, and the client sees a reset;
#  - timeouts.stall on the relay: a service sends to a public client that
#    never reads; the relay resets that stream and says why;
#  - timeouts.half_closed: a client sends, shuts down its write side and
#    waits; the service neither answers nor closes: reset, logged.
# Each time another stream on the same tunnel keeps working (a canary echo).
. "$(dirname "$0")/lib.sh"

tunnel_setup home
start_svc idle idle
start_svc flood flood --bytes 400000000
start_svc echo echo
IDLE=$(helper_port idle) FLOOD=$(helper_port flood) ECHO=$(helper_port echo)
lim="timeouts:
  stall: 2s
  half_closed: 2s"
relay_conf "$T/relay.yaml" "agents:
  home:
    ports: []
    auto: 3
$lim"
agent_conf "$T/agent.yaml" home home "$(svc_yaml idle "$IDLE"; svc_yaml flood "$FLOOD"; svc_yaml echo "$ECHO")" "$lim"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PI=$(exposed_port agent idle) || fail "idle not exposed"
PF=$(exposed_port agent flood) || fail "flood not exposed"
PE=$(exposed_port agent echo) || fail "echo not exposed"

canary() {
	client echo --port "$PE" --streams 2 --bytes 100000 --timeout $((10 * TM)) \
	    >"$T/canary.out" 2>&1 || fail "canary echo failed: $(cat "$T/canary.out")"
}

# 1. Upload into a service that never reads.
t0=$(now_ms)
client flood --port "$PI" --bytes 200000000 --seconds $((12 * TM)) >"$T/up.out" 2>&1
wait_log agent "idle stream [0-9]+: stream [0-9]+ reset: the socket took no byte for [0-9]+ ms" $((5 * TM)) ||
    fail "agent did not reset the stalled upload"
t1=$(now_ms)
[ $((t1 - t0)) -lt $((12000 * TM)) ] || fail "stalled upload lasted $((t1 - t0)) ms"
grep -Eqi "reset|broken pipe|error" "$T/up.out" ||
    fail "the uploading client did not see its stream end: $(tail -n 3 "$T/up.out")"
canary
ok "stalled upload reset by the agent after $((t1 - t0)) ms; canary fine"

# 2. A public client that never reads what the service sends.
client idle --port "$PF" --seconds $((12 * TM)) >"$T/down.out" 2>&1 &
wait_log relay "home/flood 127.0.0.1:[0-9]+: stream [0-9]+ reset: the socket took no byte for [0-9]+ ms" $((10 * TM)) ||
    fail "relay did not reset the stream of a client that stopped reading"
canary
ok "relay reset the stream of a client that does not read; canary fine"

# 3. Half-closed and silent.
"$PY" -c 'import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"hello")
c.shutdown(socket.SHUT_WR)
c.settimeout(10)
try:
	b = c.recv(10)
	print("closed" if not b else "data")
except OSError as e:
	print("reset", e.errno)' "$PI" >"$T/half.out" 2>&1
grep -q "^reset" "$T/half.out" || fail "half-closed stream not reset: $(cat "$T/half.out")"
grep -Eq "stream [0-9]+ reset: half-closed and idle for [0-9]+ ms" "$T/relay.log" "$T/agent.log" ||
    fail "no log line for the half-closed reset"
canary
ok "half-closed silent stream reset ($(grep -ho 'reset: half-closed and idle for [0-9]* ms' "$T/relay.log" "$T/agent.log" | head -n 1))"
finish

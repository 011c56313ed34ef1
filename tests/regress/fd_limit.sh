#!/bin/bash
# The relay out of file descriptors: public clients beyond its limit wait in
# the listen queue, accept(2) failing with EMFILE pauses that listener (one
# log line per pause, not one per loop turn), and once descriptors return the
# waiting clients are served, with the tunnel and its streams unharmed.
. "$(dirname "$0")/lib.sh"
need prlimit

tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml" "workers: 1
limits:
  connections_per_source: 0"
agent_conf "$T/agent.yaml" home home "$(svc_yaml echo "$ECHO")"
# start_relay, under a descriptor limit: prlimit execs the relay (same PID).
LIMIT=64
start_bg relay prlimit --nofile=$LIMIT:$LIMIT "$BIN/atlax-relay" -c "$T/relay.yaml"
_DAEMONS[relay]=1
wait_listening "$RELAY_PORT" $(( 10 * TM )) || fail "relay not listening"
start_agent agent "$T/agent.yaml"
P=$(exposed_port agent echo) || fail "service echo never exposed"
used=$(ls "/proc/$(pid_of relay)/fd" | wc -l)
ok "relay up with $used of $LIMIT descriptors in use"

# 100 clients that connect and hold: more than the relay can accept.
HOLD=100
start_bg hold "$PY" -c 'import socket, sys, time
p, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = [socket.create_connection(("127.0.0.1", p)) for _ in range(n)]
print("holding", len(socks), flush=True)
time.sleep(secs)' "$P" "$HOLD" $(( 4 * TM ))
wait_log hold "holding $HOLD" $(( 10 * TM )) || fail "clients did not connect: $(cat "$T/hold.log")"
wait_log relay "accept: Too many open files" $(( 5 * TM )) ||
    fail "relay did not report EMFILE"
sleep 2
n=$(grep -c "accept: Too many open files" "$T/relay.log")
[ "$n" -le $(( 4 * TM )) ] ||
    fail "relay logged EMFILE $n times in about 2 s: it spins instead of pausing"
ok "EMFILE reported $n time(s) while $HOLD clients waited (paused, not spinning)"
kill -0 "$(pid_of relay)" 2>/dev/null || fail "relay died"

# The holders leave; descriptors come back and a new client is served.
wait "$(pid_of hold)" 2>/dev/null
ok_echo=""
for ((i = 0; i < 10 * TM; i++)); do
	if client echo --port "$P" --streams 4 --bytes 200000 --timeout 10 \
	    >"$T/echo.out" 2>&1; then
		ok_echo=1
		break
	fi
	sleep 0.5
done
[ -n "$ok_echo" ] || fail "no echo after the descriptors returned: $(cat "$T/echo.out")"
ok "after the flood: 4 echo streams of 200000 bytes identical"
used=$(ls "/proc/$(pid_of relay)/fd" | wc -l)
ok "relay back to $used descriptors"
finish

#!/bin/bash
# How the agent reaches its targets.  A numeric address is connected at once
# (a loopback handshake is complete when connect(2) returns, and the stream
# is accepted in the same loop turn); a host name goes through the resolver;
# a target that never answers the SYN is given up after timeouts.connect and
# the public client is reset, with the reason in the agent's log.
. "$(dirname "$0")/lib.sh"
need curl ss

tunnel_setup home
mkdir -p "$T/www"
head -c 300000 /dev/urandom | base64 >"$T/www/page.txt"
WEB=$(free_port)
start_bg web "$PY" -u -m http.server --bind 127.0.0.1 --directory "$T/www" "$WEB"
wait_listening "$WEB" || fail "http.server did not start"

# mute: a listener whose accept queue (backlog 0) is already full, so the
# kernel drops the agent's SYN and its connect stays in progress.
MUTE=$(free_port)
start_bg mute "$PY" -c 'import socket, sys, time
p = int(sys.argv[1])
l = socket.socket()
l.bind(("127.0.0.1", p))
l.listen(0)
c = socket.create_connection(("127.0.0.1", p))
print("queue full", flush=True)
time.sleep(120)' "$MUTE"
wait_log mute "queue full" 5 || fail "mute listener did not start"

relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$(svc_yaml num "$WEB"
    printf '  - name: byname\n    target: "localhost:%s"\n' "$WEB"
    svc_yaml mute "$MUTE")" "timeouts:
  connect: 500ms"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
wait_log agent "connected to relay" $(( 10 * TM )) || fail "agent did not connect"

for svc in num byname; do
	P=$(exposed_port agent "$svc") || fail "service $svc never exposed"
	for i in 1 2 3; do
		code=$(curl -sS --max-time 20 -o "$T/got.$svc" -w '%{http_code}' \
		    "http://127.0.0.1:$P/page.txt") || fail "curl through $svc failed"
		expect_eq "$svc: GET /page.txt status" 200 "$code"
		cmp -s "$T/www/page.txt" "$T/got.$svc" ||
		    fail "$svc: GET /page.txt body differs"
	done
	ok "$svc target: 3 GETs, bodies identical"
done

P=$(exposed_port agent mute) || fail "service mute never exposed"
t0=$(now_ms)
curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$P/" 2>"$T/curl.err" &&
    fail "curl through a mute target succeeded"
t1=$(now_ms)
[ $((t1 - t0)) -ge 400 ] && [ $((t1 - t0)) -lt $((3000 * TM)) ] ||
    fail "mute target: curl failed after $((t1 - t0)) ms, not after about 500"
wait_log agent "mute: connect to 127\.0\.0\.1:$MUTE timed out" 5 ||
    fail "agent did not log the connect timeout"
ok "mute target: reset after $((t1 - t0)) ms (timeouts.connect 500ms)"

# The agent and the relay are unharmed: the numeric service still answers.
P=$(exposed_port agent num)
code=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$P/page.txt") || fail "curl after the timeout failed"
expect_eq "num: GET after the timeout" 200 "$code"

finish

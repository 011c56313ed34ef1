#!/bin/bash
# HTTP through the tunnel: curl on the relay's public port reaches a real HTTP
# server (python3 http.server) behind the agent; 200 and the exact body.
. "$(dirname "$0")/lib.sh"
need curl ss

tunnel_setup home
mkdir -p "$T/www"
head -c 300000 /dev/urandom | base64 >"$T/www/page.txt"
printf '<h1>atlax http test</h1>\n' >"$T/www/index.html"
WEB=$(free_port)
start_bg web "$PY" -u -m http.server --bind 127.0.0.1 --directory "$T/www" "$WEB"
wait_listening "$WEB" || fail "http.server did not start"

DEAD=$(free_port)	# nothing listens there
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$(svc_yaml web "$WEB"; svc_yaml dead "$DEAD")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
wait_log agent "connected to relay" $(( 10 * TM )) || fail "agent did not connect"
P=$(exposed_port agent web) || fail "service web never exposed"
[ "$P" -ge "$PUB_LO" ] && [ "$P" -le "$PUB_HI" ] ||
    fail "port $P outside the range $PUB_LO-$PUB_HI"
ok "web exposed at 127.0.0.1:$P (range $PUB_LO-$PUB_HI)"

for f in index.html page.txt; do
	code=$(curl -sS --max-time 20 -o "$T/got.$f" -w '%{http_code}' \
	    "http://127.0.0.1:$P/$f") || fail "curl $f failed"
	expect_eq "GET /$f status" 200 "$code"
	cmp -s "$T/www/$f" "$T/got.$f" || fail "GET /$f: body differs"
	ok "GET /$f body identical ($(wc -c <"$T/got.$f") bytes)"
done

code=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$P/missing") || fail "curl /missing failed"
expect_eq "GET /missing status" 404 "$code"

# Several requests in parallel, each on its own stream.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	curl -sS --max-time 20 -o "$T/par.$i" "http://127.0.0.1:$P/page.txt" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel curl failed"; done
for i in 1 2 3 4 5 6 7 8; do
	cmp -s "$T/www/page.txt" "$T/par.$i" || fail "parallel GET $i: body differs"
done
ok "8 parallel GETs identical"

# A target that refuses: the public connection is closed at once, not left
# hanging, and the agent says why.
PX=$(exposed_port agent dead) || fail "service dead never exposed"
t0=$(now_ms)
curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$PX/" 2>"$T/curl.err" &&
    fail "curl through a refusing target succeeded"
t1=$(now_ms)
[ $((t1 - t0)) -lt $((2000 * TM)) ] || fail "refused target: curl took $((t1 - t0)) ms"
wait_log agent "dead.*127\.0\.0\.1:$DEAD.*[Cc]onnection refused" 5 ||
    fail "agent did not log the refused connect"
ok "refused target: curl failed in $((t1 - t0)) ms ($(cat "$T/curl.err"))"

finish

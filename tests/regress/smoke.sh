#!/bin/bash
# Smoke test of the whole chain: a throwaway PKI, a relay, an agent, a real
# HTTP server (python3 -m http.server) behind it and curl in front; 200 and
# the exact body.  Also checks the log lines other tests grep for, a second
# agent of the same identity replacing the first, and heartbeats finding a
# silent agent.
. "$(dirname "$0")/lib.sh"

PKI=$T/pki
"$BIN/atlax-pki" init --dir "$PKI" >/dev/null || fail "pki init"
"$BIN/atlax-pki" issue --dir "$PKI" --cn relay.test --role relay \
    --san IP:127.0.0.1 >/dev/null || fail "pki issue relay"
"$BIN/atlax-pki" issue --dir "$PKI" --cn home --role agent >/dev/null ||
    fail "pki issue agent"

RELAY_PORT=$(free_port)
WEB=$(free_port)
PUB=$(free_port)
mkdir -p "$T/www"
head -c 200000 /dev/urandom | base64 >"$T/www/page.txt"

cat >"$T/relay.yaml" <<Y
listen: "127.0.0.1:$RELAY_PORT"
tls:
  cert: $PKI/relay.test.crt
  key: $PKI/relay.test.key
  ca: $PKI/ca.crt
public:
  bind: "127.0.0.1"
  port_range: "$PUB-$PUB"
workers: 2
keepalive:
  interval: 500ms
  misses: 3
log:
  level: debug
Y
cat >"$T/agent.yaml" <<Y
id: home
relay: "127.0.0.1:$RELAY_PORT"
tls:
  cert: $PKI/home.crt
  key: $PKI/home.key
  ca: $PKI/ca.crt
  server_name: relay.test
services:
  - name: web
    target: "127.0.0.1:$WEB"
    remote_port: $PUB
reconnect:
  initial: 200ms
  max: 2s
log:
  level: debug
Y
cp "$T/agent.yaml" "$T/agent2.yaml"	# the same identity again

start_bg web python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$WEB"
wait_port "$WEB" 10 || fail "http.server did not start"
start_bg relay "$BIN/atlax-relay" -c "$T/relay.yaml"
wait_log relay "listening for agents on 127.0.0.1:$RELAY_PORT" 10 ||
    fail "relay did not listen"
start_bg agent "$BIN/atlax-agent" -c "$T/agent.yaml"
wait_log agent "connected to relay 127.0.0.1:$RELAY_PORT" 10 ||
    fail "agent did not connect"
wait_log agent "service web \\(127.0.0.1:$WEB\\) exposed at 127.0.0.1:$PUB" 10 ||
    fail "service not exposed"
wait_log relay "tunnel: home: ready" 5 || fail "relay: no ready line"
ok "tunnel up, web exposed at $PUB"

code=$(curl -sS --max-time 20 -o "$T/got" -w '%{http_code}' \
    "http://127.0.0.1:$PUB/page.txt") || fail "curl failed"
expect_eq "status" 200 "$code"
cmp -s "$T/www/page.txt" "$T/got" || fail "body differs"
ok "body identical ($(wc -c <"$T/got") bytes)"

# A stopped target: the public client sees a reset, not a clean empty reply.
stop_bg web
if curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$PUB/" 2>"$T/curl.err"; then
	fail "curl succeeded against a dead target"
fi
# (curl may see the reset while still connecting: "Couldn't connect".)
grep -Eq "reset|Empty reply|Couldn't connect" "$T/curl.err" ||
    fail "unexpected: $(cat "$T/curl.err")"
wait_log agent "service web: connect to 127.0.0.1:$WEB: Connection refused" 5 ||
    fail "agent did not log the refusal"
wait_log relay "tunnel: home/web 127.0.0.1:[0-9]+: stream [0-9]+ closed: REFUSED: connect to 127.0.0.1:$WEB: Connection refused" 5 ||
    fail "relay: no refusal"
ok "dead target: client reset ($(cat "$T/curl.err"))"

# A second agent of the same identity replaces the first, which is made
# slow to come back first (a reload changes its backoff), or it would take
# the identity back at once: the newer tunnel always wins.
sed -i -e 's/initial: 200ms/initial: 60s/' -e 's/max: 2s/max: 60s/' \
    "$T/agent.yaml"
kill -HUP "$(pid_of agent)"
wait_log agent "configuration reloaded from" 5 || fail "agent: no reload"
start_bg web python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$WEB"
wait_port "$WEB" 10 || fail "http.server did not restart"
start_bg agent2 "$BIN/atlax-agent" -c "$T/agent2.yaml"
wait_log agent2 "service web \\(127.0.0.1:$WEB\\) exposed at 127.0.0.1:$PUB" 10 ||
    fail "second agent: service not exposed"
wait_log relay "tunnel: home: replaced by a newer connection of the same identity" 5 ||
    fail "relay: no replacement"
wait_log agent "tunnel lost: relay going away: REPLACED: replaced by a newer connection of the same identity; reconnecting in [0-9]+ ms" 5 ||
    fail "first agent: no replacement"
stop_bg agent TERM
code=$(curl -sS --max-time 20 -o "$T/got2" -w '%{http_code}' \
    "http://127.0.0.1:$PUB/page.txt") || fail "curl through agent2 failed"
expect_eq "status through the newer tunnel" 200 "$code"
cmp -s "$T/www/page.txt" "$T/got2" || fail "body differs through agent2"
ok "a newer tunnel of the same identity replaced the older one"

# Heartbeats: a stopped agent is declared dead within interval x misses
# (500 ms x 3, checked every 500 ms: tight enough for a test, loose enough
# that a loaded 2-core machine does not stall a live agent that long); its
# open public connection is reset.
python3 - "$PUB" >"$T/hold.log" 2>&1 <<'PY' &
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
c.settimeout(10)
try:
	print("read", len(c.recv(100)))
except Exception as e:
	print("error", e)
PY
hold=$!
# Stop the agent only once the client is connected (a loaded machine can
# take seconds to start python).
wait_log hold "^connected" $((10 * TM)) || fail "held connection: $(cat "$T/hold.log")"
sleep 0.3
kill -STOP "$(pid_of agent2)"
wait_log relay "tunnel: home: lost: agent silent for [0-9]+ ms" $((5 * TM)) ||
    { kill -CONT "$(pid_of agent2)"; fail "relay did not find the silent agent"; }
wait "$hold"
kill -CONT "$(pid_of agent2)"
grep -Eq "reset|read 0" "$T/hold.log" || fail "held connection: $(cat "$T/hold.log")"
ok "silent agent found by heartbeats; held connection: $(cat "$T/hold.log")"
wait_log agent2 "tunnel lost: " 5 || fail "agent2 never noticed the loss"

# SIGTERM: both exit 0.
stop_bg agent2 TERM; rc=$?
expect_eq "agent exit code" 0 "$rc"
stop_bg relay TERM; rc=$?
expect_eq "relay exit code" 0 "$rc"

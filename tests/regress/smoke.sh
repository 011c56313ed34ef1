#!/bin/bash
# Smoke test of the whole chain: a throwaway PKI, a relay, an agent, a real
# HTTP server (python3 -m http.server) behind it and curl in front; 200 and
# the exact body.  Also checks the log lines other tests grep for.
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
grep -Eq "reset|Empty reply|closed" "$T/curl.err" || fail "unexpected: $(cat "$T/curl.err")"
wait_log agent "service web: connect to 127.0.0.1:$WEB: Connection refused" 5 ||
    fail "agent did not log the refusal"
ok "dead target: client reset ($(cat "$T/curl.err"))"

# SIGTERM: both exit 0.
stop_bg agent TERM; rc=$?
expect_eq "agent exit code" 0 "$rc"
stop_bg relay TERM; rc=$?
expect_eq "relay exit code" 0 "$rc"

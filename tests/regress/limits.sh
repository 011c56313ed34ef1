#!/bin/bash
# The relay's caps on the public door and the tunnel port (docs/SECURITY.md):
#  - a live public port cannot be bound by another process (no SO_REUSEPORT);
#  - limits.connections_per_source: a sixth connection from one address to a
#    service capped at 5 is reset at once, while another address still gets
#    in; refusals are logged once per burst, not once per connection;
#  - limits.streams_per_service: past 8 streams on service a, a is refused
#    while service b of the same agent still serves (a canary echo);
#  - limits.handshakes: with 4 TLS handshakes in progress (silent TCP
#    connections to the agent port), a fifth connection is closed at once and
#    the refusal logged; once they time out an agent connects as usual.
. "$(dirname "$0")/lib.sh"
need ss

tunnel_setup home
start_svc echo echo
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml" "limits:
  connections_per_source: 5
  streams_per_service: 8
  handshakes: 4
timeouts:
  handshake: 3s"
agent_conf "$T/agent.yaml" home home "$(svc_yaml a "$ECHO"; svc_yaml b "$ECHO")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
PA=$(exposed_port agent a) || fail "a not exposed"
PB=$(exposed_port agent b) || fail "b not exposed"

# A public port is the relay's alone: another process of the same user
# cannot bind it, not even with SO_REUSEPORT.
"$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
try:
	s.bind(("127.0.0.1", int(sys.argv[1])))
	s.listen(1)
	print("bound")
except OSError as e:
	print("refused", e.errno)' "$PA" >"$T/steal.out" 2>&1
grep -qx "refused 98" "$T/steal.out" || fail "another process could bind the live port $PA: $(cat "$T/steal.out")"
ok "a second process cannot bind the live public port (EADDRINUSE)"

# hold PORT SRC N SECS: N connections from address SRC, each says "ping\n"
# and reads the echo (so each is a live stream), then held SECS seconds.
# Prints "held N" or "refused K" for those that were reset.
hold() {
	"$PY" -u -c 'import socket, sys, time
port, src, n, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
socks, refused = [], 0
for _ in range(n):
	s = socket.socket()
	s.bind((src, 0))
	s.connect(("127.0.0.1", port))
	s.settimeout(5)
	try:
		s.sendall(b"ping\n")
		if s.recv(5) != b"ping\n":
			raise OSError("no echo")
		socks.append(s)
	except OSError:
		refused += 1
		s.close()
print("held", len(socks), "refused", refused, flush=True)
time.sleep(secs)' "$@"
}

start_bg h1 hold "$PA" 127.0.0.1 5 8
wait_log h1 "^held 5 refused 0" 10 || fail "5 from 127.0.0.1: $(cat "$T/h1.log")"
mark=$(log_lines relay)
hold "$PA" 127.0.0.1 20 0 >"$T/h2.out" 2>&1
grep -q "^held 0 refused 20" "$T/h2.out" || fail "over the per-source cap: $(cat "$T/h2.out")"
wait_log relay "a:$PA: connection from 127.0.0.1:[0-9]+ refused: too many connections from this address \\(limit 5\\)" 5 ||
    fail "per-source refusal not logged"
n=$(tail -n "+$((mark + 1))" "$T/relay.log" | grep -c "refused: too many connections")
[ "$n" -le 2 ] || fail "20 refusals logged $n times: not once per burst"
ok "per source: 5 held, 20 more refused, logged $n time(s)"

start_bg h3 hold "$PA" 127.0.0.2 3 8
wait_log h3 "^held 3 refused 0" 10 || fail "3 from 127.0.0.2: $(cat "$T/h3.log")"
sleep 1.1	# a new burst: its first refusal is logged again
hold "$PA" 127.0.0.2 1 0 >"$T/h4.out" 2>&1
grep -q "^held 0 refused 1" "$T/h4.out" || fail "over the per-service cap: $(cat "$T/h4.out")"
wait_log relay "refused: too many streams for service a \\(limit 8\\)" 5 ||
    fail "per-service refusal not logged"
client echo --port "$PB" --streams 4 --bytes 100000 --timeout $((10 * TM)) >"$T/b.out" 2>&1 ||
    fail "service b starved by a full service a: $(cat "$T/b.out")"
ok "per service: a full at 8 streams, b still serves 4 echo streams"

# Handshakes: 4 silent connections fill limits.handshakes.
start_bg mute "$PY" -u -c 'import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(4)]
print("mute 4", flush=True)
time.sleep(4.5)' "$RELAY_PORT"
wait_log mute "^mute 4" 5 || fail "mute connections: $(cat "$T/mute.log")"
sleep 0.3
"$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
try:
	d = s.recv(1)
	print("closed" if d == b"" else "data")
except ConnectionResetError:
	print("closed")
except socket.timeout:
	print("open")' "$RELAY_PORT" >"$T/fifth.out" 2>&1
grep -qx closed "$T/fifth.out" || fail "a fifth handshake was not refused: $(cat "$T/fifth.out")"
wait_log relay "refusing 127.0.0.1:[0-9]+: 4 TLS handshakes in progress \\(limits.handshakes\\)" 5 ||
    fail "handshake cap not logged"
ok "handshakes: the fifth connection was closed at once"
# The silent ones time out (timeouts.handshake 3s); a real agent gets in.
wait_log relay "handshake with 127.0.0.1:[0-9]+ timed out" 10 || fail "mute handshakes did not time out"
start_agent agent2 "$T/agent.yaml"
wait_log agent2 "connected to relay" 10 || fail "no agent could connect after the cap cleared"
ok "after the silent handshakes timed out an agent connected"
finish

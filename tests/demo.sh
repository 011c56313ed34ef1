#!/bin/sh
# make demo: a live atlax tunnel on loopback.
#
# Mints a throwaway PKI in a temporary folder, starts a relay, an agent and a
# small HTTP server (python3 http.server) as the private service, prints where
# the service is exposed, fetches a page through the tunnel with curl, then
# keeps running until Ctrl-C (or for DEMO_SECONDS seconds, when set) and stops
# everything it started.  Only 127.0.0.1 is used; ports are picked free.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ATLAX_BIN:-$top/bin}
PY=${PYTHON:-python3}
D=$(mktemp -d /tmp/atlax-demo.XXXXXX)
pids=""

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$pids" ]; then
		echo
		echo "demo: stopping relay, agent and web server"
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null || true
		sleep 1
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null || true
		wait 2>/dev/null || true
	fi
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	echo "demo: $*" >&2
	for f in "$D"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f")" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

wait_listen() {	# port what: until something listens on 127.0.0.1:port
	n=0
	until [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; do
		n=$((n + 1))
		[ $n -le 100 ] || die "$2 not listening on 127.0.0.1:$1 after 10 s"
		sleep 0.1
	done
}

# Free loopback ports: one for the relay's agent listener, one for the web
# server and a range of 10 for the public listeners.
# shellcheck disable=SC2046 # four numbers, split on purpose
set -- $("$PY" - <<'PY'
import random, socket
def free(p=0):
	s = socket.socket()
	try:
		s.bind(("127.0.0.1", p))
		return s.getsockname()[1]
	except OSError:
		return None
	finally:
		s.close()
for _ in range(100):
	lo = random.randrange(20000, 32000, 10)
	if all(free(p) for p in range(lo, lo + 10)):
		break
print(free(), free(), lo, lo + 9)
PY
)
RELAY_PORT=$1 WEB_PORT=$2 PUB_LO=$3 PUB_HI=$4
PUB_PORT=$((PUB_LO + 1))

# 1. PKI.
"$BIN/atlax-pki" init --dir "$D/pki" >"$D/pki.log" 2>&1 || die "atlax-pki init failed"
"$BIN/atlax-pki" issue --dir "$D/pki" --cn relay.demo --role relay \
    --san IP:127.0.0.1 >>"$D/pki.log" 2>&1 || die "atlax-pki issue (relay) failed"
"$BIN/atlax-pki" issue --dir "$D/pki" --cn home-demo --role agent \
    >>"$D/pki.log" 2>&1 || die "atlax-pki issue (agent) failed"
echo "demo: throwaway PKI in $D/pki (CA, relay.demo, home-demo)"

# 2. Configs, the shape of config/relay.yaml and config/agent.yaml on loopback.
cat >"$D/relay.yaml" <<Y
listen: "127.0.0.1:$RELAY_PORT"
tls:
  cert: pki/relay.demo.crt
  key: pki/relay.demo.key
  ca: pki/ca.crt
public:
  bind: "127.0.0.1"
  port_range: "$PUB_LO-$PUB_HI"
agents:
  home-demo:
    ports: [$PUB_PORT]
log:
  level: info
Y
cat >"$D/agent.yaml" <<Y
id: home-demo
relay: "127.0.0.1:$RELAY_PORT"
tls:
  cert: pki/home-demo.crt
  key: pki/home-demo.key
  ca: pki/ca.crt
  server_name: relay.demo
services:
  - name: web
    target: "127.0.0.1:$WEB_PORT"
    remote_port: $PUB_PORT
reconnect:
  initial: 500ms
  max: 10s
log:
  level: info
Y
"$BIN/atlax-relay" -t -c "$D/relay.yaml" || die "relay.yaml rejected"
"$BIN/atlax-agent" -t -c "$D/agent.yaml" || die "agent.yaml rejected"

# 3. The private service: a page in a folder served by python3 http.server.
mkdir -p "$D/www"
cat >"$D/www/index.html" <<H
<!doctype html>
<title>atlax demo</title>
<h1>Hello from behind the NAT</h1>
<p>Served by python3 http.server on 127.0.0.1:$WEB_PORT, reached through the
atlax relay's public port $PUB_PORT over one mutual-TLS tunnel.</p>
H
"$PY" -u -m http.server --bind 127.0.0.1 --directory "$D/www" "$WEB_PORT" \
    >"$D/web.log" 2>&1 &
pids="$pids $!"
wait_listen "$WEB_PORT" "the web server"

# 4. Relay and agent.
"$BIN/atlax-relay" -c "$D/relay.yaml" >"$D/relay.log" 2>&1 &
relay=$!
pids="$pids $relay"
wait_listen "$RELAY_PORT" "the relay"
"$BIN/atlax-agent" -c "$D/agent.yaml" >"$D/agent.log" 2>&1 &
agent=$!
pids="$pids $agent"
echo "demo: relay on 127.0.0.1:$RELAY_PORT, agent home-demo, web server on 127.0.0.1:$WEB_PORT"

i=0
until grep -Eq 'service web .*exposed at' "$D/agent.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 150 ] || die "the service was not exposed within 15 s"
	kill -0 "$relay" 2>/dev/null || die "the relay exited"
	kill -0 "$agent" 2>/dev/null || die "the agent exited"
	sleep 0.1
done
echo "demo: agent says: $(grep -Eo 'service web .*exposed at.*' "$D/agent.log" | head -n 1)"
URL="http://127.0.0.1:$PUB_PORT/"
echo "demo: the private web server is exposed at $URL"
echo
echo "\$ curl -sS $URL"
curl -sS --max-time 10 "$URL" || die "curl through the tunnel failed"
echo

if [ -n "${DEMO_SECONDS:-}" ]; then
	echo "demo: running for $DEMO_SECONDS s; try: curl $URL"
	sleep "$DEMO_SECONDS"
else
	echo "demo: running until Ctrl-C; try: curl $URL"
	while :; do sleep 1; done
fi

#!/bin/bash
# The admin endpoints of both daemons, on real daemons: a known workload (3
# echo streams of exactly N bytes each way), then /metrics must pass
# `promtool check metrics` and count exactly that workload, /api/v1/status
# must name the agent, its service and port, `atlax-relay status` must print
# the agent's row, the bearer token must be enforced (401), the access log
# must have one line per stream with its byte counts, and `-t` must refuse a
# non-loopback admin.listen with file:line:column.
. "$(dirname "$0")/lib.sh"
need promtool jq curl

N=100000
tunnel_setup home
ADMIN_R=$(free_port)
ADMIN_A=$(free_port)
while [ "$ADMIN_A" = "$ADMIN_R" ]; do ADMIN_A=$(free_port); done
printf 'relay-admin-token\n' >"$T/relay.token"
chmod 600 "$T/relay.token"

start_svc echo echo --port 0
ECHO=$(helper_port echo)
relay_conf "$T/relay.yaml" "workers: 2
keepalive:
  interval: 300ms
admin:
  listen: \"127.0.0.1:$ADMIN_R\"
  token_file: $T/relay.token"
agent_conf "$T/agent.yaml" home home "$(svc_yaml echo "$ECHO")" "admin:
  listen: \"127.0.0.1:$ADMIN_A\""
start_relay relay "$T/relay.yaml"
wait_log relay "admin endpoint on http://127.0.0.1:$ADMIN_R/ \\(bearer token required\\)" 5 ||
    fail "relay: no admin endpoint"
start_agent agent "$T/agent.yaml"
PUB=$(exposed_port agent echo) || fail "echo not exposed"
wait_log agent "admin endpoint on http://127.0.0.1:$ADMIN_A/ \\(no token\\)" 5 ||
    fail "agent: no admin endpoint"
ok "both endpoints up, echo exposed at $PUB"

rget() {	# path [curl options...]: the relay's page, with the token
	local p=$1; shift
	curl -sS --max-time 10 -H "Authorization: Bearer relay-admin-token" \
	    "$@" "http://127.0.0.1:$ADMIN_R$p"
}

# The token: none, a wrong one, then the right one.
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$ADMIN_R/metrics")
expect_eq "no token" 401 "$code"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer relay-admin-tokeN" \
    "http://127.0.0.1:$ADMIN_R/metrics")
expect_eq "wrong token" 401 "$code"
code=$(rget /metrics -o /dev/null -w '%{http_code}')
expect_eq "right token" 200 "$code"
code=$(rget /nothing -o /dev/null -w '%{http_code}')
expect_eq "unknown path" 404 "$code"
code=$(rget /metrics -X POST -o /dev/null -w '%{http_code}')
expect_eq "POST" 405 "$code"
ok "401 without the right token, 404, 405"

# The workload: 3 streams, N bytes each way.
client echo --port "$PUB" --streams 3 --bytes "$N" >"$T/client.out" 2>&1 ||
    fail "echo client: $(cat "$T/client.out")"
for i in 1 2 3; do
	wait_log relay "access: .* -> home/echo .*in=$N out=$N reason=NONE" 5 ||
	    fail "relay: no access line"
done
n=$(grep -cE "info access: 127\\.0\\.0\\.1:[0-9]+ -> home/echo duration=[0-9]+\\.[0-9]{3}s in=$N out=$N reason=NONE$" "$T/relay.log")
expect_eq "relay access lines" 3 "$n"
for i in 1 2 3; do
	wait_log agent "access: .* -> echo .*in=$N out=$N reason=NONE" 5 ||
	    fail "agent: no access line"
done
n=$(grep -cE "info access: 127\\.0\\.0\\.1:[0-9]+ -> echo \\(127\\.0\\.0\\.1:$ECHO\\) duration=[0-9.]+s in=$N out=$N reason=NONE$" "$T/agent.log")
expect_eq "agent access lines" 3 "$n"
ok "one access line per stream on each side, $N bytes each way"

metric() {	# file name-with-labels: its value
	awk -v m="$2" '$1 == m { print $2 }' "$1"
}
rget /metrics >"$T/relay.prom" || fail "relay /metrics"
promtool check metrics <"$T/relay.prom" >"$T/promtool.out" 2>&1 ||
    fail "promtool rejects the relay's metrics: $(cat "$T/promtool.out")"
L='{agent="home",service="echo"}'
expect_eq "streams total" 3 "$(metric "$T/relay.prom" "atlax_relay_streams_total$L")"
expect_eq "streams open" 0 "$(metric "$T/relay.prom" "atlax_relay_streams_open$L")"
expect_eq "opened" 3 "$(metric "$T/relay.prom" atlax_relay_streams_opened_total)"
expect_eq "bytes from clients" $(( 3 * N )) \
    "$(metric "$T/relay.prom" "atlax_relay_received_bytes_total$L")"
expect_eq "bytes to clients" $(( 3 * N )) \
    "$(metric "$T/relay.prom" "atlax_relay_sent_bytes_total$L")"
expect_eq "agents" 1 "$(metric "$T/relay.prom" atlax_relay_agents_connected)"
expect_eq "certificate tunnels" 1 \
    "$(metric "$T/relay.prom" 'atlax_relay_tunnels{credential="certificate"}')"
expect_eq "port" 1 "$(metric "$T/relay.prom" \
    "atlax_relay_service_port{agent=\"home\",service=\"echo\",port=\"$PUB\"}")"
expect_eq "ended clean" 3 \
    "$(metric "$T/relay.prom" 'atlax_relay_streams_ended_total{reason="NONE"}')"
grep -qE '^atlax_relay_tunnel_rtt_seconds\{agent="home"\} [0-9.e-]+$' \
    "$T/relay.prom" || fail "no RTT gauge"
ok "relay metrics: promtool accepts them, 3 streams, $(( 3 * N )) bytes each way"

curl -sS --max-time 10 "http://127.0.0.1:$ADMIN_A/metrics" >"$T/agent.prom" ||
    fail "agent /metrics"
promtool check metrics <"$T/agent.prom" >"$T/promtool.out" 2>&1 ||
    fail "promtool rejects the agent's metrics: $(cat "$T/promtool.out")"
expect_eq "agent up" 1 "$(metric "$T/agent.prom" atlax_agent_tunnel_up)"
expect_eq "agent streams" 3 "$(metric "$T/agent.prom" atlax_agent_streams_total)"
expect_eq "to the target" $(( 3 * N )) "$(metric "$T/agent.prom" \
    'atlax_agent_target_sent_bytes_total{service="echo"}')"
expect_eq "from the target" $(( 3 * N )) "$(metric "$T/agent.prom" \
    'atlax_agent_target_received_bytes_total{service="echo"}')"
ok "agent metrics: promtool accepts them, the same workload"

# The status, as JSON and through the status commands.
rget /api/v1/status >"$T/status.json" || fail "relay status page"
expect_eq "agent id" home "$(jq -r '.agents[0].id' "$T/status.json")"
expect_eq "service" echo "$(jq -r '.agents[0].services[0].name' "$T/status.json")"
expect_eq "its port" "$PUB" "$(jq -r '.agents[0].services[0].port' "$T/status.json")"
expect_eq "credential" certificate "$(jq -r '.agents[0].credential' "$T/status.json")"
expect_eq "bytes in" $(( 3 * N )) "$(jq -r '.agents[0].bytes_in' "$T/status.json")"
jq -re '.agents[0].connected_since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")' \
    "$T/status.json" >/dev/null || fail "connected_since is not RFC 3339"
"$BIN/atlax-relay" status -c "$T/relay.yaml" >"$T/status.out" 2>&1 ||
    fail "atlax-relay status: $(cat "$T/status.out")"
grep -qE "^home +127\\.0\\.0\\.1:[0-9]+ .* certificate .* echo:$PUB$" "$T/status.out" ||
    fail "atlax-relay status: no row for home: $(cat "$T/status.out")"
"$BIN/atlax-relay" status -c "$T/relay.yaml" --json | jq -e '.agents | length == 1' \
    >/dev/null || fail "atlax-relay status --json"
"$BIN/atlax-agent" status -c "$T/agent.yaml" >"$T/astatus.out" 2>&1 ||
    fail "atlax-agent status: $(cat "$T/astatus.out")"
grep -qE "^echo +127\\.0\\.0\\.1:$ECHO +0 +$(( 3 * N )) +$(( 3 * N )) +0$" \
    "$T/astatus.out" || fail "atlax-agent status: $(cat "$T/astatus.out")"
ok "status page and status commands name home, echo and port $PUB"

# streams=1: one held stream, with its client address.
start_bg hold "$PY" -u "$HELPERS/client.py" hold --port "$PUB"
wait_log hold "^held$" 10 || fail "hold client"
rget '/api/v1/status?streams=1' >"$T/streams.json"
expect_eq "held streams" 1 "$(jq -r '.agents[0].streams | length' "$T/streams.json")"
jq -re '.agents[0].streams[0].client | test("^127\\.0\\.0\\.1:[0-9]+$")' \
    "$T/streams.json" >/dev/null || fail "stream without its client"
expect_eq "held bytes" 5 "$(jq -r '.agents[0].streams[0].bytes_in' "$T/streams.json")"
# An idle stream's receive window is where every window starts: the
# default limits.stream_window, 512 KiB.
expect_eq "held stream's window" 524288 \
    "$(jq -r '.agents[0].streams[0].window' "$T/streams.json")"
# The agent's side of the same stream: its service, the 5 bytes sent to the
# target, and its own receive window.
curl -sS --max-time 10 "http://127.0.0.1:$ADMIN_A/api/v1/status?streams=1" \
    >"$T/astreams.json" || fail "agent status?streams=1"
expect_eq "agent's held streams" 1 "$(jq -r '.streams | length' "$T/astreams.json")"
expect_eq "agent's stream service" echo "$(jq -r '.streams[0].service' "$T/astreams.json")"
expect_eq "agent's held bytes" 5 "$(jq -r '.streams[0].bytes_in' "$T/astreams.json")"
expect_eq "agent's stream window" 524288 \
    "$(jq -r '.streams[0].window' "$T/astreams.json")"
stop_bg hold
ok "status?streams=1 lists the open stream, its bytes and window, on both daemons"

# A TLS client without a certificate: a handshake failure, counted by reason.
openssl s_client -connect "127.0.0.1:$RELAY_PORT" -tls1_3 -servername relay.test \
    </dev/null >"$T/sclient.out" 2>&1
for i in $(seq 50); do
	rget /metrics >"$T/relay2.prom"
	[ "$(metric "$T/relay2.prom" 'atlax_relay_handshake_failures_total{reason="no_certificate"}')" = 1 ] &&
	    break
	sleep 0.1
done
expect_eq "no_certificate failures" 1 "$(metric "$T/relay2.prom" \
    'atlax_relay_handshake_failures_total{reason="no_certificate"}')"
expect_eq "tls failures" 0 "$(metric "$T/relay2.prom" \
    'atlax_relay_handshake_failures_total{reason="tls"}')"
ok "a client without a certificate counts as a no_certificate handshake failure"

# Off, or not there: exit 1 with a reason.
agent_conf "$T/agent-off.yaml" home home "$(svc_yaml echo "$ECHO")"
"$BIN/atlax-agent" status -c "$T/agent-off.yaml" >"$T/off.out" 2>&1
expect_eq "status with admin off" 1 "$?"
grep -q "the admin endpoint is off" "$T/off.out" || fail "off: $(cat "$T/off.out")"
DEAD=$(free_port)
agent_conf "$T/agent-dead.yaml" home home "$(svc_yaml echo "$ECHO")" "admin:
  listen: \"127.0.0.1:$DEAD\""
"$BIN/atlax-agent" status -c "$T/agent-dead.yaml" >"$T/dead.out" 2>&1
expect_eq "status unreachable" 1 "$?"
grep -q "unreachable" "$T/dead.out" || fail "unreachable: $(cat "$T/dead.out")"
ok "status: exit 1 when the endpoint is off or unreachable"

# Usage: -h prints it and exits 0; a stray argument or option exits 2 with
# it on stderr; a configuration that cannot be read exits 2 naming the file.
for b in relay agent; do
	"$BIN/atlax-$b" status -h >"$T/use.out" 2>&1
	expect_eq "$b status -h" 0 "$?"
	grep -qx "usage: atlax-$b status \[-c FILE\] \[--json\]" "$T/use.out" ||
	    fail "$b status -h: $(cat "$T/use.out")"
	for bad in extra --bogus; do
		"$BIN/atlax-$b" status -c "$T/agent.yaml" "$bad" >"$T/use.out" 2>"$T/use.err"
		expect_eq "$b status $bad" 2 "$?"
		[ -s "$T/use.out" ] && fail "$b status $bad: usage on stdout"
		grep -q "usage: atlax-$b status" "$T/use.err" ||
		    fail "$b status $bad: $(cat "$T/use.err")"
	done
	"$BIN/atlax-$b" status -c "$T/missing.yaml" >"$T/use.out" 2>&1
	expect_eq "$b status, no config" 2 "$?"
	grep -q "atlax-$b: $T/missing.yaml: No such file" "$T/use.out" ||
	    fail "$b status, no config: $(cat "$T/use.out")"
done
ok "status: usage on -h (exit 0) and on a stray argument (exit 2)"

# A non-loopback listen needs allow_remote.
relay_conf "$T/remote.yaml" "admin:
  listen: \"0.0.0.0:$ADMIN_R\""
"$BIN/atlax-relay" -t -c "$T/remote.yaml" >"$T/t.out" 2>&1
expect_eq "-t exit" 2 "$?"
line=$(grep -n '^admin:' "$T/remote.yaml" | cut -d: -f1)
grep -qF "$T/remote.yaml:$(( line + 1 )):11: admin.listen: \"0.0.0.0\" is not a loopback address" \
    "$T/t.out" || fail "-t: $(cat "$T/t.out")"
relay_conf "$T/remote-ok.yaml" "admin:
  listen: \"0.0.0.0:$ADMIN_R\"
  allow_remote: true"
"$BIN/atlax-relay" -t -c "$T/remote-ok.yaml" >/dev/null 2>&1 ||
    fail "-t refuses allow_remote: true"
ok "-t refuses a non-loopback admin.listen without allow_remote"

finish

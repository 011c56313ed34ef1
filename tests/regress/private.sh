#!/bin/bash
# Private services end to end: agents reach each other's private services
# through the relay (forwards), under relay.yaml's connect/expose grants.
#
#  - "server" serves echo and redis privately: the relay binds no public
#    port for them (its listening sockets, from ss, are the agent port only);
#  - "client" forwards a local port to server/echo: 16 concurrent streams of
#    1 MiB each come back byte for byte; its forward to a service the server
#    does not have is refused "no such service"; the relay's access log has
#    a line per stream naming the connecting agent;
#  - "stranger" (no connect grant) forwards to server/echo: its local client
#    sees a prompt close and its log says "not authorised"; reloaded, its
#    forward moves, and serving grp/echo without an expose grant is refused;
#  - `atlax-agent connect` (flags, no file) forwards to server/redis:
#    redis-cli SET/GET through it; a bad flag is refused (exit 2) by name;
#  - tokens: `atlax-agent connect --token-file` with a connect claim for
#    server/echo works; a token without the claim is refused "not
#    authorised"; when a token expires its tunnel ends and its forward's new
#    streams are closed at once;
#  - "ha1" and "ha2" both serve grp/echo (granted by expose): both get
#    streams; ha1 killed, new streams still succeed (ha2);
#  - a reload that removes ha2's grant ends its registration: new streams
#    close with "agent offline"; the server killed: the same for server/echo.
# Every daemon left exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"
need ss redis-server redis-cli

tunnel_setup server
for id in client stranger conn grpc ha1 ha2; do pki_issue "$id" agent; done

start_svc echo echo; ECHO=$(helper_port echo)
start_svc echo1 echo; ECHO1=$(helper_port echo1)
start_svc echo2 echo; ECHO2=$(helper_port echo2)
REDIS=$(free_port)
start_bg redis redis-server --port "$REDIS" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no
wait_port "$REDIS" 10 || fail "redis-server did not start"

GRANTS="agents:
  server:
    ports: []
  client:
    ports: []
    connect: [ \"server/echo\", \"server/nosuch\" ]
  conn:
    ports: []
    connect: [ \"server/redis\" ]
  grpc:
    ports: []
    connect: [ \"grp/echo\" ]
  ha1:
    ports: []
    expose: [ \"grp/echo\" ]
  ha2:
    ports: []
    expose: [ \"grp/echo\" ]"
# Tokens as well as certificates (auth.jwt): a token's connect claim
# grants what agents.<id>.connect grants a certificate identity.
"$BIN/atlax-pki" keygen --hs256 --out "$T/hs.secret" >/dev/null ||
    fail "keygen --hs256"
JWT="auth:
  jwt:
    hs256_secret_file: $T/hs.secret
    leeway: 0s"
GRANTS="$JWT
$GRANTS"
# Two workers: the connecting and the serving tunnel are on different
# threads at least some of the time, so the splice crosses threads.
relay_conf "$T/relay.yaml" "workers: 2
$GRANTS"
start_relay relay "$T/relay.yaml"
RPID=$(pid_of relay)

agent_conf "$T/server.yaml" server server "  - name: echo
    target: \"127.0.0.1:$ECHO\"
    public: false
  - name: redis
    target: \"127.0.0.1:$REDIS\"
    public: false"
start_agent server "$T/server.yaml"
wait_log server "service echo .* served privately as server/echo" $((10 * TM)) ||
    fail "server/echo not registered"
wait_log server "served privately as server/redis" $((10 * TM)) ||
    fail "server/redis not registered"

# No public port: the relay listens on its agent port and nothing else.
socks=$(ss -Hltnp | grep "pid=$RPID," | awk '{print $4}' | sort -u | tr '\n' ' ')
expect_eq "relay listens only on its agent port" "127.0.0.1:$RELAY_PORT " "$socks"

forward_agent() {	# name id listen-port:to...
	local n=$1 id=$2 f; shift 2
	{
		cat <<Y
id: $id
relay: "127.0.0.1:$RELAY_PORT"
tls:
  cert: $T/pki/$id.crt
  key: $T/pki/$id.key
  ca: $T/pki/ca.crt
  server_name: $RELAY_CN
reconnect:
  initial: 200ms
  max: 2s
log:
  level: info
forwards:
Y
		for f in "$@"; do
			printf '  - listen: "127.0.0.1:%s"\n    to: "%s"\n' \
			    "${f%%:*}" "${f#*:}"
		done
	} >"$T/$n.yaml"
	start_agent "$n" "$T/$n.yaml"
	wait_log "$n" "connected to relay" $((10 * TM)) || fail "$n not connected"
	for f in "$@"; do
		wait_listening "${f%%:*}" $((5 * TM)) || fail "$n not listening on ${f%%:*}"
	done
}

# How a connection to a forward ends: "echoed" when the ping came back,
# else "closed eof" / "closed reset" (or "timeout": not prompt).
probe() {	# port
	"$PY" - "$1" "$((10 * TM))" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
try:
	s.sendall(b"ping\n")
	d = s.recv(16)
	print("echoed" if d == b"ping\n" else "closed eof" if not d else "other")
except ConnectionResetError:
	print("closed reset")
except socket.timeout:
	print("timeout")
PY
}

FWD=$(free_port); NOSUCH=$(free_port)
forward_agent client client "$FWD:server/echo" "$NOSUCH:server/nosuch"
client echo --port "$FWD" --streams 16 --bytes 1048576 --timeout $((60 * TM)) \
    >"$T/echo.out" 2>&1 || fail "16 x 1 MiB through server/echo: $(cat "$T/echo.out")"
ok "16 concurrent streams of 1 MiB each way through client -> server/echo"
# The relay's access log names each private stream by the connecting agent,
# with the bytes it saw: 1 MiB each way.
for i in $(seq $((50 * TM))); do
	n=$(grep -cE "access: agent:client -> server/echo duration=[0-9.]+s in=1048576 out=1048576 reason=NONE$" \
	    "$T/relay.log")
	[ "$n" -ge 16 ] && break
	sleep 0.1
done
expect_eq "relay access lines for client -> server/echo" 16 "$n"

r=$(probe "$NOSUCH")
case "$r" in closed*) ;; *) fail "server/nosuch: $r" ;; esac
wait_log client "no such service server/nosuch" $((5 * TM)) ||
    fail "no 'no such service' in the connecting agent's log"
ok "server/nosuch: $r, 'no such service' logged"

STR=$(free_port)
forward_agent stranger stranger "$STR:server/echo"
r=$(probe "$STR")
case "$r" in closed*) ;; *) fail "stranger reached server/echo: $r" ;; esac
wait_log stranger "not authorised to reach server/echo" $((5 * TM)) ||
    fail "no 'not authorised' in the stranger's log"
ok "no connect grant: $r, 'not authorised' logged"

# The stranger reloads: its forward moves to another port (the old listener
# closes) and it tries to serve grp/echo, which it holds no grant for.
STR2=$(free_port)
sed -i "s/127.0.0.1:$STR\"/127.0.0.1:$STR2\"/" "$T/stranger.yaml"
cat >>"$T/stranger.yaml" <<Y
services:
  - name: echo
    target: "127.0.0.1:$ECHO"
    public: false
    group: grp
Y
kill -HUP "$(pid_of stranger)"
wait_log stranger "service grp/echo refused by relay: identity stranger may not serve grp/echo" \
    $((10 * TM)) || fail "a group without an expose grant was not refused"
wait_listening "$STR2" $((5 * TM)) || fail "stranger: reloaded forward not listening"
port_listening "$STR" && fail "stranger: the old forward still listens after the reload"
ok "stranger's reload: forward moved to $STR2; grp/echo without a grant refused"

# Tokens: a one-off forward with a token and no certificate.
token() {	# file sub ttl [claims...]
	local f=$1 sub=$2 ttl=$3; shift 3
	(umask 077; "$BIN/atlax-pki" token --secret-file "$T/hs.secret" \
	    --sub "$sub" --ttl "$ttl" "$@" >"$f") || fail "atlax-pki token $sub"
}
token_connect() {	# name id token listen-port
	start_bg "$1" "$BIN/atlax-agent" connect --relay "127.0.0.1:$RELAY_PORT" \
	    --to server/echo --listen "$4" --ca "$T/pki/ca.crt" \
	    --token-file "$3" --id "$2" --server-name "$RELAY_CN"
	_DAEMONS[$1]=1
	wait_log "$1" "connected to relay" $((10 * TM)) || fail "$1: not connected"
	wait_listening "$4" $((5 * TM)) || fail "$1: not listening on $4"
}
token "$T/laptop.jwt" laptop 1h --connect server/echo
TFWD=$(free_port)
token_connect laptop laptop "$T/laptop.jwt" "$TFWD"
client echo --port "$TFWD" --streams 4 --bytes 262144 --timeout $((60 * TM)) \
    >"$T/techo.out" 2>&1 || fail "token forward: $(cat "$T/techo.out")"
wait_log relay "laptop: ready \(from .*, token " 5 || fail "relay: laptop not by token"
stop_bg laptop TERM || fail "laptop: exit status on SIGTERM"
unset "_DAEMONS[laptop]"
ok "a token's connect claim: 4 streams through server/echo, equal"

token "$T/noconnect.jwt" tablet 1h
TFWD2=$(free_port)
token_connect tablet tablet "$T/noconnect.jwt" "$TFWD2"
r=$(probe "$TFWD2")
case "$r" in closed*) ;; *) fail "a token without connect reached server/echo: $r" ;; esac
wait_log tablet "not authorised to reach server/echo" $((5 * TM)) ||
    fail "no 'not authorised' for a token without the connect claim"
stop_bg tablet TERM || fail "tablet: exit status on SIGTERM"
unset "_DAEMONS[tablet]"
ok "a token without the connect claim: $r, 'not authorised'"

token "$T/short.jwt" phone 3s --connect server/echo
TFWD3=$(free_port)
token_connect phone phone "$T/short.jwt" "$TFWD3"
wait_log phone "relay refused this agent: token (expired|refused: expired)" \
    $((15 * TM)) || fail "the phone's tunnel outlived its token"
r=$(probe "$TFWD3")
case "$r" in closed*) ;; *) fail "an expired token's forward: $r" ;; esac
stop_bg phone TERM || fail "phone: exit status on SIGTERM"
unset "_DAEMONS[phone]"
ok "an expired token: tunnel ended (GOAWAY AUTH), new streams: $r"

# The one-off forward from the command line: its flags are checked as a
# file's keys are, and the message names the flag.
rc=0
"$BIN/atlax-agent" connect --relay "127.0.0.1:$RELAY_PORT" --to server \
    --listen 1 --ca "$T/pki/ca.crt" --cert "$T/pki/conn.crt" \
    --key "$T/pki/conn.key" >"$T/cli.out" 2>&1 || rc=$?
expect_eq "connect with a bad --to: exit status" 2 "$rc"
expect_eq "connect with a bad --to: message" "atlax-agent connect: --to: \"server\" \
is not OWNER/SERVICE (two identities joined by '/', at most 64 in all)" "$(cat "$T/cli.out")"

# The one-off forward with a real client.
RFWD=$(free_port)
start_bg connect "$BIN/atlax-agent" connect --relay "127.0.0.1:$RELAY_PORT" \
    --to server/redis --listen "$RFWD" --ca "$T/pki/ca.crt" \
    --cert "$T/pki/conn.crt" --key "$T/pki/conn.key" \
    --server-name "$RELAY_CN"
_DAEMONS[connect]=1
wait_log connect "connected to relay" $((10 * TM)) || fail "connect: not connected"
wait_listening "$RFWD" $((5 * TM)) || fail "connect: not listening on $RFWD"
VAL="v-$RANDOM-$RANDOM"
got=$(timeout $((10 * TM)) redis-cli -h 127.0.0.1 -p "$RFWD" SET k "$VAL" 2>&1)
expect_eq "redis-cli SET through atlax-agent connect" OK "$got"
got=$(timeout $((10 * TM)) redis-cli -h 127.0.0.1 -p "$RFWD" GET k 2>&1)
expect_eq "redis-cli GET through atlax-agent connect" "$VAL" "$got"
got=$(redis-cli -h 127.0.0.1 -p "$REDIS" GET k 2>&1)
expect_eq "the value reached the real redis-server" "$VAL" "$got"
stop_bg connect TERM || fail "atlax-agent connect: exit status on SIGTERM"
unset "_DAEMONS[connect]"
ok "atlax-agent connect exits 0 on SIGTERM"

# High availability: two identities serve grp/echo.
ha_agent() {	# name target-port
	AGENT_LOG_LEVEL=debug agent_conf "$T/$1.yaml" "$1" "$1" "  - name: echo
    target: \"127.0.0.1:$2\"
    public: false
    group: grp"
	start_agent "$1" "$T/$1.yaml"
	wait_log "$1" "served privately as grp/echo" $((10 * TM)) ||
	    fail "$1: grp/echo not registered"
}
ha_agent ha1 "$ECHO1"
ha_agent ha2 "$ECHO2"
GFWD=$(free_port)
forward_agent group grpc "$GFWD:grp/echo"
for i in 1 2 3 4 5 6; do
	client echo --port "$GFWD" --bytes 10000 --timeout $((20 * TM)) \
	    >"$T/g.out" 2>&1 || fail "grp/echo stream $i: $(cat "$T/g.out")"
done
n1=$(grep -c "connected to 127.0.0.1:$ECHO1" "$T/ha1.log")
n2=$(grep -c "connected to 127.0.0.1:$ECHO2" "$T/ha2.log")
[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] ||
    fail "round robin: ha1 served $n1, ha2 served $n2 of 6 streams"
ok "grp/echo: ha1 served $n1, ha2 served $n2 of 6 streams"
stop_bg ha1 KILL; unset "_DAEMONS[ha1]"
wait_log relay "ha1: lost" $((10 * TM)) || fail "relay did not see ha1 go"
for i in 1 2 3 4; do
	client echo --port "$GFWD" --bytes 10000 --timeout $((20 * TM)) \
	    >"$T/g.out" 2>&1 || fail "grp/echo after ha1 died, stream $i: $(cat "$T/g.out")"
done
ok "ha1 killed: grp/echo still served (ha2)"

# Reload without ha2's grant: its registration ends, clients are told.
relay_conf "$T/relay.yaml" "workers: 2
${GRANTS%  ha2:*}"
kill -HUP "$RPID"
wait_log relay "private service grp/echo withdrawn by the new configuration" \
    $((10 * TM)) || fail "reload did not withdraw ha2's grp/echo"
r=$(probe "$GFWD")
case "$r" in closed*) ;; *) fail "grp/echo after the grant went: $r" ;; esac
wait_log group "grp/echo: agent offline" $((5 * TM)) ||
    fail "no 'agent offline' for grp/echo in the connecting agent's log"
ok "grant removed by reload: ha2 withdrawn, new streams: $r, 'agent offline'"

# The serving agent killed: "agent offline".
stop_bg server KILL; unset "_DAEMONS[server]"
wait_log relay "server: lost" $((10 * TM)) || fail "relay did not see server go"
r=$(probe "$FWD")
case "$r" in closed*) ;; *) fail "server/echo with server dead: $r" ;; esac
wait_log client "server/echo: agent offline" $((5 * TM)) ||
    fail "no 'agent offline' in the connecting agent's log"
ok "server killed: $r, 'agent offline' logged"

stop_bg redis TERM
finish

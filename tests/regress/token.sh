#!/bin/bash
# Tokens (JWT) as the agent's credential, end to end with real daemons:
#  - an agent with only tls.token_file exposes a public service that works
#    (bytes equal both ways), and the relay logs that a token admitted it;
#  - what the relay refuses, with the reason in both logs and never the
#    token: an expired token, a wrong signature, sub != the agent's id, an
#    expose claim that does not list the service, a token file others may
#    read, a HELLO with neither certificate nor token, an AUTH nobody
#    announced, a relay without auth.jwt;
#  - the token's exp ends a live tunnel (GOAWAY AUTH "token expired");
#  - a jti put on the deny list and a SIGHUP end a live tunnel, and the
#    agent's reconnects are refused as revoked;
#  - ES256: a key pair from atlax-pki keygen, the relay holding the public
#    key only; an HS256 token is then refused (the algorithm is the key's).
. "$(dirname "$0")/lib.sh"

tunnel_setup home
PKI=$T/pki
PKIBIN=$BIN/atlax-pki

"$PKIBIN" keygen --hs256 --out "$T/hs.secret" >/dev/null || fail "keygen hs256"
"$PKIBIN" keygen --hs256 --out "$T/other.secret" >/dev/null ||
    fail "keygen hs256 (other)"
"$PKIBIN" keygen --es256 --out "$T/es" >/dev/null || fail "keygen es256"
: >"$T/deny.txt"

token() {	# file secret-or-key-option... : mint a token into file (0600)
	local out=$1; shift
	(umask 077; "$PKIBIN" token "$@" >"$out") || fail "atlax-pki token $*"
}

# relay.yaml with auth.jwt (KEYS: the yaml lines under auth.jwt).
jwt_relay_conf() {	# keys-yaml
	relay_conf "$T/relay.yaml" "auth:
  jwt:
$1
    leeway: 0s
    denylist: $T/deny.txt
workers: 2"
}

# agent.yaml with a token and no certificate.
token_agent_conf() {	# file id token-file service-port remote-port
	cat >"$1" <<Y
id: $2
relay: "127.0.0.1:$RELAY_PORT"
tls:
  token_file: $3
  ca: $PKI/ca.crt
  server_name: $RELAY_CN
services:
$(svc_yaml web "$4" "$5")
reconnect:
  initial: 200ms
  max: 1s
log:
  level: info
Y
}

start_svc echo echo
ECHO=$(helper_port echo)
PUB=$PUB_LO

jwt_relay_conf "    hs256_secret_file: $T/hs.secret"
start_relay relay "$T/relay.yaml"
wait_log relay "agents may authenticate with a client certificate or a token" 5 ||
    fail "relay did not announce tokens"

# 1. A token alone: the service works end to end.
token "$T/good.jwt" --secret-file "$T/hs.secret" --sub home --ttl 1h \
    --expose web --jti good-1
token_agent_conf "$T/agent.yaml" home "$T/good.jwt" "$ECHO" "$PUB"
start_agent agent "$T/agent.yaml"
exposed_port agent web 10 >/dev/null || fail "service not exposed with a token"
wait_log relay "home: ready \(from 127\.0\.0\.1:[0-9]+, token good-1, HS256, expires [0-9T:Z-]+\)" 5 ||
    fail "relay log does not say a token admitted home"
client echo --port "$PUB" --streams 4 --bytes 300000 ||
    fail "echo through a token tunnel"
ok "agent with a token only: 4 echo streams of 300000 bytes, equal"
grep -q "$(cut -c1-40 "$T/good.jwt")" "$T"/relay.log "$T"/agent.log &&
    fail "a log quotes the token"
ok "no log quotes the token"

# 2. The deny list: jti good-1 revoked, SIGHUP ends the tunnel; reconnects
# are refused as revoked.
echo "good-1" >"$T/deny.txt"
kill -HUP "$(pid_of relay)"
wait_log relay "home: access withdrawn: token no longer accepted: .*revoked" 10 ||
    fail "revoked jti did not end the tunnel"
wait_log agent "relay refused this agent: token refused: .*revoked" 10 ||
    fail "agent was not told its token is revoked"
ok "deny list + SIGHUP ends the tunnel; the agent is told why"
stop_bg agent
: >"$T/deny.txt"
kill -HUP "$(pid_of relay)"
for _ in $(seq 50); do
	[ "$(grep -c "configuration reloaded" "$T/relay.log")" -ge 2 ] && break
	sleep 0.1
done

# 3. Refusals, each with its reason, in the relay's log and the agent's.
refused() {	# name relay-regex agent-regex
	wait_log "$1" "$3" 10 || fail "$1: agent log lacks /$3/"
	grep -Eq -- "$2" "$T/relay.log" || fail "$1: relay log lacks /$2/"
	stop_bg "$1" || fail "$1 did not exit 0"
	ok "$1 refused: $(grep -Eo -- "$2" "$T/relay.log" | tail -n 1)"
}
token "$T/expired.jwt" --secret-file "$T/hs.secret" --sub home --ttl 1s \
    --expose web
sleep 2
token_agent_conf "$T/a-exp.yaml" home "$T/expired.jwt" "$ECHO" "$PUB"
start_agent expired "$T/a-exp.yaml"
refused expired "refused home: token refused: expired" \
    "relay refused this agent: token refused: expired"

token "$T/forged.jwt" --secret-file "$T/other.secret" --sub home --ttl 1h \
    --expose web
token_agent_conf "$T/a-forged.yaml" home "$T/forged.jwt" "$ECHO" "$PUB"
start_agent forged "$T/a-forged.yaml"
refused forged "refused home: token refused: .*signature" \
    "relay refused this agent: token refused: .*signature"

token "$T/other-sub.jwt" --secret-file "$T/hs.secret" --sub office \
    --ttl 1h --expose web
token_agent_conf "$T/a-sub.yaml" home "$T/other-sub.jwt" "$ECHO" "$PUB"
start_agent othersub "$T/a-sub.yaml"
refused othersub "agent id \"home\" does not match the token's subject \"office\"" \
    "relay refused this agent: agent id \"home\" does not match the token's subject \"office\""

token "$T/noexpose.jwt" --secret-file "$T/hs.secret" --sub home --ttl 1h \
    --expose smb
token_agent_conf "$T/a-noexp.yaml" home "$T/noexpose.jwt" "$ECHO" "$PUB"
start_agent noexpose "$T/a-noexp.yaml"
wait_log noexpose "service web refused by relay: the token's expose claim does not list web" 10 ||
    fail "a service the token does not list was exposed"
port_listening "$PUB" && fail "public port $PUB bound for an unlisted service"
stop_bg noexpose
ok "a service the expose claim does not list gets no port"

cp "$T/good.jwt" "$T/open.jwt"
chmod 644 "$T/open.jwt"
token_agent_conf "$T/a-open.yaml" home "$T/open.jwt" "$ECHO" "$PUB"
start_agent openfile "$T/a-open.yaml"
wait_log openfile "tls.token_file $T/open.jwt: group or others may access it; chmod 600 it" 10 ||
    fail "a token file others may read was used"
stop_bg openfile
ok "a token file others may read is refused by the agent"

# Hostile peers written from PROTOCOL.md: no certificate and no token; a
# token nobody announced; a token announced that never comes.
peer() {	# name args...
	local name=$1; shift
	"$PY" -u "$HELPERS/hostile.py" peer --relay "127.0.0.1:$RELAY_PORT" \
	    --ca "$PKI/ca.crt" --attack idle --wait 6 "$@" >"$T/$name.out" 2>&1
	tail -n 1 "$T/$name.out"
}
out=$(peer nocred --id home)
case "$out" in
*"code=AUTH"*"text=no_client_certificate_and_no_token"*) ;;
*) fail "no credential: $out" ;;
esac
ok "HELLO with neither certificate nor token: GOAWAY AUTH"
out=$(peer unannounced --id home --cert "$PKI/home.crt" --key "$PKI/home.key" \
    --token-file "$T/good.jwt")
case "$out" in
*"code=PROTOCOL"*"text=unexpected_AUTH"*) ;;
*) fail "unannounced AUTH: $out" ;;
esac
ok "an AUTH the HELLO did not announce: GOAWAY PROTOCOL"
out=$(peer garbage --id home --hello-flags 1 --token-file /dev/null)
case "$out" in
*"code=PROTOCOL"*) ;;
*) fail "empty AUTH: $out" ;;
esac
ok "an empty AUTH: GOAWAY PROTOCOL"

# 4. exp ends a live tunnel.
token "$T/short.jwt" --secret-file "$T/hs.secret" --sub home --ttl 4s \
    --expose web
token_agent_conf "$T/a-short.yaml" home "$T/short.jwt" "$ECHO" "$PUB"
n=$(log_lines relay)
start_agent short "$T/a-short.yaml"
exposed_port short web 10 >/dev/null || fail "short token not accepted"
wait_log short "relay refused this agent: token expired" 15 ||
    fail "the tunnel outlived its token"
tail -n "+$((n + 1))" "$T/relay.log" | grep -q "home: token expired: ending the tunnel" ||
    fail "relay did not log the expiry"
stop_bg short
ok "the token's exp ends the tunnel (GOAWAY AUTH)"

# 5. A relay without auth.jwt wants a certificate at the TLS layer.
stop_bg relay
relay_conf "$T/relay-cert.yaml"
start_relay relaycert "$T/relay-cert.yaml"
start_agent nojwt "$T/agent.yaml"
wait_log nojwt "certificate required|did not return a certificate|handshake" 10 ||
    fail "a token-only agent got past a relay without auth.jwt"
stop_bg nojwt
ok "relay without auth.jwt: a token-only agent fails the TLS handshake"
stop_bg relaycert

# 6. ES256: the relay holds the public key only.
jwt_relay_conf "    es256_public_keys: [ $T/es.pub ]"
start_relay relayes "$T/relay.yaml"
token "$T/es.jwt" --key "$T/es.key" --sub home --ttl 1h --expose web
token_agent_conf "$T/a-es.yaml" home "$T/es.jwt" "$ECHO" "$PUB"
start_agent es "$T/a-es.yaml"
exposed_port es web 10 >/dev/null || fail "ES256 token not accepted"
client echo --port "$PUB" --streams 2 --bytes 100000 || fail "echo over ES256"
stop_bg es
ok "ES256 token: service works"
token_agent_conf "$T/a-hs.yaml" home "$T/good.jwt" "$ECHO" "$PUB"
start_agent hsones "$T/a-hs.yaml"
wait_log hsones "relay refused this agent: token refused: .*HS256" 10 ||
    fail "an HS256 token passed a relay with ES256 keys only"
stop_bg hsones
ok "HS256 token against ES256 keys: refused"

stop_bg agent 2>/dev/null
finish

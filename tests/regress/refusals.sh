#!/bin/bash
# Refusals, each with its clear reason, and the relay unharmed afterwards.
#  TLS: a cert from another CA, an expired cert, a revoked cert (tls.crl):
#       the relay logs the peer address and OpenSSL's verify error.
#  Identity: a valid cert whose CN differs from the agent's config id: both
#       sides say so.
#  Ports: outside public.port_range, not in agents.<id>.ports, in use: the
#       agent logs "service NAME refused by relay: REASON" and its other
#       services go on.
# Then a good agent's service still works.
. "$(dirname "$0")/lib.sh"
need ss curl openssl

tunnel_setup good
pki_issue free agent
pki_issue alice agent
pki_issue revoked agent
"$BIN/atlax-pki" revoke --dir "$T/pki" --cn revoked >"$T/pki.out" 2>&1 ||
    fail "atlax-pki revoke: $(cat "$T/pki.out")"
"$BIN/atlax-pki" crl --dir "$T/pki" >"$T/pki.out" 2>&1 ||
    fail "atlax-pki crl: $(cat "$T/pki.out")"
[ -s "$T/pki/ca.crl" ] || fail "atlax-pki crl wrote no $T/pki/ca.crl"
export RELAY_CRL=$T/pki/ca.crl	# read by relay_conf
PKI_DIR=$T/other pki_init "$T/other"
PKI_DIR=$T/other pki_issue stranger agent
sh "$HELPERS/expired_cert.sh" "$T/pki" old "$T/pki/old" 2>"$T/exp.out" ||
    fail "expired cert: $(cat "$T/exp.out")"

mkdir -p "$T/www"
echo "still serving" >"$T/www/index.html"
WEB=$(free_port)
start_bg web "$PY" -u -m http.server --bind 127.0.0.1 --directory "$T/www" "$WEB"
wait_listening "$WEB" || fail "http.server did not start"
BUSY=$((PUB_LO + 3))
start_svc busy echo --port "$BUSY"
helper_port busy >/dev/null

relay_conf "$T/relay.yaml" "agents:
  good:
    ports: [$((PUB_LO + 1)), $BUSY]
    auto: 1"
start_relay relay "$T/relay.yaml"

web=$(svc_yaml web "$WEB")
agent_conf "$T/good.yaml" good good "$web
$(svc_yaml web2 "$WEB" "$((PUB_LO + 1))")
$(svc_yaml denied "$WEB" "$((PUB_LO + 2))")
$(svc_yaml busy "$WEB" "$BUSY")"
agent_conf "$T/free.yaml" free free "$(svc_yaml far "$WEB" "$((PUB_HI + 100))")
$(svc_yaml near "$WEB" "$((PUB_LO + 4))")"
agent_conf "$T/stranger.yaml" stranger "$T/other/stranger" "$web"
agent_conf "$T/old.yaml" old old "$web"
agent_conf "$T/revoked.yaml" revoked revoked "$web"
agent_conf "$T/bob.yaml" bob alice "$web"
for a in good free stranger old revoked bob; do
	start_agent "$a" "$T/$a.yaml"
done

# Port refusals: exact reasons, and the agent's other services go on.
W=$((10 * TM))
wait_log good "service denied refused by relay: .*port $((PUB_LO + 2)) not allowed for identity good" $W ||
    fail "no 'not allowed' refusal for service denied"
ok "port not in agents.good.ports refused: $(grep -Eo 'service denied refused.*' "$T/good.log" | head -n 1)"
wait_log good "service busy refused by relay: .*port $BUSY in use" $W ||
    fail "no 'in use' refusal for service busy"
ok "port in use refused: $(grep -Eo 'service busy refused.*' "$T/good.log" | head -n 1)"
wait_log free "service far refused by relay: .*port $((PUB_HI + 100)) outside range $PUB_LO-$PUB_HI" $W ||
    fail "no 'outside range' refusal for service far"
ok "port outside the range refused: $(grep -Eo 'service far refused.*' "$T/free.log" | head -n 1)"
PG=$(exposed_port good web2) || fail "good: web2 not exposed beside the refused ones"
expect_eq "good: web2 on its requested port" "$((PUB_LO + 1))" "$PG"
exposed_port good web >/dev/null || fail "good: web not exposed"
PN=$(exposed_port free near) || fail "free: near not exposed beside the refused one"
expect_eq "free: near on its requested port" "$((PUB_LO + 4))" "$PN"

# TLS refusals, logged by the relay with the peer address and the reason.
for why in "unable to get local issuer certificate" "certificate has expired" \
    "certificate revoked"; do
	wait_log relay "$why" $W || fail "relay never logged '$why'"
	line=$(grep -E "$why" "$T/relay.log" | head -n 1)
	echo "$line" | grep -Eq '127\.0\.0\.1(:[0-9]+)?' ||
	    fail "relay's '$why' line has no peer address: $line"
	ok "relay: $line"
done

# Identity: CN alice, config id bob.
wait_log bob 'relay refused this agent' $W || fail "agent bob: no refusal logged"
ok "agent: $(grep -Eo 'relay refused this agent.*' "$T/bob.log" | head -n 1)"
grep -E 'alice' "$T/relay.log" | grep -Eq 'bob' ||
    fail "relay did not log the alice/bob mismatch"
ok "relay: $(grep -E 'alice' "$T/relay.log" | grep -E 'bob' | head -n 1)"

for a in stranger old revoked bob; do
	grep -Eq 'exposed at' "$T/$a.log" && fail "agent $a got a service exposed"
done
ok "no refused agent got a port"

# The relay is unharmed: still running and serving the good agent.
kill -0 "$(pid_of relay)" 2>/dev/null || fail "relay died"
for port in "$PG" "$PN"; do
	body=$(curl -sS --max-time 10 "http://127.0.0.1:$port/") ||
	    fail "curl on $port failed after the refusals"
	expect_eq "body through port $port" "still serving" "$body"
done

finish

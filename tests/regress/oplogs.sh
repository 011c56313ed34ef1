#!/bin/bash
# oplogs: the log lines an operator reads, end to end.
#  1. journald: with JOURNAL_STREAM naming stderr a start-up failure is one
#     "<3>" line (priority error, no timestamp of ours).
#  2. Scanner noise: 50 connections that send no TLS cost at most
#     RELAY_NOISE_LOGGED lines per 10 s window plus "N more handshake
#     failures suppressed in the last 10s"; logged + suppressed = 50.
#  3. A relay whose CRL is past its next update: the expiry guard says so
#     at start, the refusal names the CRL and the agent's CN, and the agent
#     does not blame its own (valid) certificate.  An agent whose own
#     certificate expired is told that instead.
#  4. An agent that never reached the relay says "cannot connect to relay",
#     never "tunnel lost".
#  5. Two agents with one identity: one warning naming both addresses.
. "$(dirname "$0")/lib.sh"
need openssl stat

tunnel_setup home
sh "$HELPERS/expired_cert.sh" "$T/pki" old "$T/pki/old" 2>"$T/exp.out" ||
    fail "expired cert: $(cat "$T/exp.out")"
W=$((10 * TM))

# 1. journald format for a fatal start-up error.
printf 'listen: "127.0.0.1:1"\nbogus: 1\n' >"$T/bad.yaml"
: >"$T/journal.log"
rc=0
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log") \
    "$BIN/atlax-relay" -c "$T/bad.yaml" 2>>"$T/journal.log" || rc=$?
expect_eq "journald: exit status" 2 "$rc"
expect_eq "journald: the line" "<3>config: $T/bad.yaml:2:1: bogus: unknown key" \
    "$(cat "$T/journal.log")"

# 2. Scanner noise, rate-limited.
relay_conf "$T/relay.yaml"
start_relay relay "$T/relay.yaml"
"$PY" - "$RELAY_PORT" <<'PY' || fail "garbage sender failed"
import socket, sys
for i in range(50):
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.sendall(b"GET / HTTP/1.0\r\n\r\n" if i % 2 else b"\x00" * 64)
	s.settimeout(5)
	try:
		s.recv(100)	# the relay's alert or its close
	except OSError:
		pass
	s.close()
PY
wait_log relay "more handshake failures suppressed in the last 10s" $((15 * TM)) ||
    fail "no summary line within 15 s"
sleep 0.5
logged=$(grep -Ec 'warn tls: TLS handshake with 127\.0\.0\.1:[0-9]+ failed' "$T/relay.log")
quiet=$(sed -nE 's/.* ([0-9]+) more handshake failures suppressed in the last 10s$/\1/p' \
    "$T/relay.log" | awk '{ n += $1 } END { print n + 0 }')
summaries=$(grep -c 'more handshake failures suppressed' "$T/relay.log")
# The burst may straddle two windows: 5 lines each at most.
[ "$logged" -ge 1 ] && [ "$logged" -le $((5 * summaries)) ] ||
    fail "noise: $logged lines logged with $summaries summaries"
expect_eq "noise: logged + suppressed" 50 "$((logged + quiet))"
ok "noise: $logged lines and $summaries summary line(s) for 50 connections: $(grep -o '[0-9]* more handshake.*' "$T/relay.log" | head -n 1)"
stop_bg relay

# 3. A stale CRL: valid for one second (openssl ca; atlax-pki crl takes
#    whole days), then past its next update.
cat >"$T/crl.cnf" <<C
[ca]
default_ca = c
[c]
database = $T/crl-index.txt
crlnumber = $T/crlnumber
default_md = sha256
C
: >"$T/crl-index.txt"
echo 1000 >"$T/crlnumber"
openssl ca -config "$T/crl.cnf" -gencrl -cert "$T/pki/ca.crt" \
    -keyfile "$T/pki/ca.key" -crlsec 1 -out "$T/stale.crl" 2>"$T/crl.err" ||
    fail "openssl ca -gencrl: $(cat "$T/crl.err")"
sleep 2
RELAY_CRL=$T/stale.crl relay_conf "$T/relay.yaml"
start_relay relay2 "$T/relay.yaml"
wait_log relay2 "error relay: CRL $T/stale.crl \\(next update\\) expired on [0-9-]+; renew it with atlax-pki crl, then reload" 5 ||
    fail "the expiry guard did not report the stale CRL at start"
ok "guard at start: $(grep -o 'CRL .*expired on [0-9-]*' "$T/relay2.log" | head -n 1)"
svc=$(svc_yaml web 9 "$PUB_LO")
agent_conf "$T/home.yaml" home home "$svc"
agent_conf "$T/old.yaml" old old "$svc"
start_agent home "$T/home.yaml"
wait_log relay2 "TLS handshake with 127\\.0\\.0\\.1:[0-9]+ failed: CRL expired \\(tls\\.crl is past its next update\\): renew it with atlax-pki crl, then reload \\(certificate CN \"home\"\\)" $W ||
    fail "relay: no CRL-expired refusal naming home"
wait_log home "cannot connect to relay 127\\.0\\.0\\.1:$RELAY_PORT: the relay refused this agent with the alert certificate_expired, but our certificate $T/pki/home\\.crt is valid until [0-9-]+: the relay's CRL has probably passed its next update" $W ||
    fail "agent: CRL refusal not explained"
grep -q 'certificate expired\|tunnel lost' "$T/home.log" &&
    fail "agent blamed its certificate or called it a lost tunnel"
ok "stale CRL: relay and agent say so"
stop_bg home
# An agent certificate that did expire: the agent says it is its own.
RELAY_CRL= relay_conf "$T/relay.yaml"
kill -HUP "$(pid_of relay2)"
wait_log relay2 "configuration reloaded" 5 || fail "relay2 did not reload"
start_agent old "$T/old.yaml"
wait_log relay2 "failed: certificate has expired \\(certificate CN \"old\"\\)" $W ||
    fail "relay: the expired agent certificate not named"
wait_log old "cannot connect to relay [^ ]+: the relay refused this agent: our certificate $T/pki/old\\.crt expired on 2020-02-01" $W ||
    fail "agent: its own expiry not said"
ok "expired agent certificate: $(grep -o 'the relay refused this agent: our.*' "$T/old.log" | head -n 1)"
stop_bg old

# 4. Nobody listening.
DEAD=$(free_port)
sed "s/127\\.0\\.0\\.1:$RELAY_PORT/127.0.0.1:$DEAD/" "$T/home.yaml" >"$T/dead.yaml"
start_agent dead "$T/dead.yaml"
wait_log dead "warn agent: cannot connect to relay 127\\.0\\.0\\.1:$DEAD: Connection refused; retrying in [0-9]+ ms" $W ||
    fail "no 'cannot connect' line"
grep -q 'tunnel lost' "$T/dead.log" && fail "'tunnel lost' for a tunnel never up"
ok "never connected: $(grep -o 'cannot connect.*' "$T/dead.log" | head -n 1)"
stop_bg dead

# 5. Two agents with the identity home.
start_agent home1 "$T/home.yaml"
start_agent home2 "$T/home.yaml"
wait_log relay2 "identity home is used by two agents: 127\\.0\\.0\\.1:[0-9]+ and 127\\.0\\.0\\.1:[0-9]+; each replaces the other" $((20 * TM)) ||
    fail "no warning about two agents sharing home"
line=$(grep -Eo 'identity home is used by two agents: .*' "$T/relay2.log" | head -n 1)
a=$(echo "$line" | sed -E 's/.*agents: ([^ ]+) and ([^;]+);.*/\1/')
b=$(echo "$line" | sed -E 's/.*agents: ([^ ]+) and ([^;]+);.*/\2/')
[ "$a" != "$b" ] || fail "the warning names one address twice: $line"
grep -q "home: ready (from $a, " "$T/relay2.log" || fail "$a is not an agent's address"
grep -q "home: ready (from $b, " "$T/relay2.log" || fail "$b is not an agent's address"
expect_eq "flap warnings (rate-limited)" 1 "$(grep -c 'used by two agents' "$T/relay2.log")"
ok "flapping: $line"
finish
echo "oplogs: all passed"

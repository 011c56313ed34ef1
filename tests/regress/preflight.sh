#!/bin/bash
# preflight: `-t` checks the files a configuration names, as the invoking
# user, and says which one is wrong and why, with exit 2:
#  a missing file, a key group/others may read, a key of another agent, an
#  id that is not the certificate's CN, an agent certificate on the relay,
#  an expired certificate, an expired CRL, a key the user may not read;
# exit 0 with a warning for a certificate that expires within 14 days and
# for an agent that dials an IP with no tls.server_name; a sound pair of
# configurations prints "configuration OK" and exits 0.
. "$(dirname "$0")/lib.sh"
need openssl setpriv

tunnel_setup home
pki_issue other agent
pki_issue soon agent --days 5
sh "$HELPERS/expired_cert.sh" "$T/pki" old "$T/pki/old" 2>"$T/exp.out" ||
    fail "expired cert: $(cat "$T/exp.out")"
"$BIN/atlax-pki" crl --dir "$T/pki" >"$T/pki.out" 2>&1 ||
    fail "atlax-pki crl: $(cat "$T/pki.out")"

run() {	# cmd...: stdout in $T/out, stderr in $T/err, status in $rc
	rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
}

expect_t() {	# what prog conf status stderr (exact)
	run "$BIN/atlax-$2" -t -c "$3"
	[ "$rc" = "$4" ] || fail "$1: status $rc, want $4 (stderr: $(cat "$T/err"))"
	[ "$(cat "$T/err")" = "$5" ] ||
	    fail "$1: stderr '$(cat "$T/err")', want '$5'"
	if [ "$4" = 0 ]; then
		expect_eq "$1: stdout" "configuration OK" "$(cat "$T/out")"
	else
		expect_eq "$1: stdout" "" "$(cat "$T/out")"
	fi
	ok "$1: exit $rc${5:+, $5}"
}

svc=$(svc_yaml web 8080 0)
RELAY_CRL=$T/pki/ca.crl relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$svc"
expect_t "sound relay" relay "$T/relay.yaml" 0 ""
expect_t "sound agent" agent "$T/agent.yaml" 0 ""

# A missing file: the shell's words, not OpenSSL's "system lib".
sed "s|ca: $T/pki/ca.crt|ca: $T/pki/none.crt|" "$T/agent.yaml" >"$T/a.yaml"
expect_t "missing ca" agent "$T/a.yaml" 2 \
    "atlax-agent: tls.ca $T/pki/none.crt: No such file or directory"

# A key group and others may read.
cp -p "$T/pki/home.crt" "$T/pki/loose.crt"
cp -p "$T/pki/home.key" "$T/pki/loose.key"
chmod 0644 "$T/pki/loose.key"
agent_conf "$T/a.yaml" home loose "$svc"
expect_t "0644 key" agent "$T/a.yaml" 2 \
    "atlax-agent: tls.key $T/pki/loose.key: permissions 0644 are too open (group or others may access it); chmod 600 it"

# Another agent's key with home's certificate.
cp -p "$T/pki/home.crt" "$T/pki/mixed.crt"
cp -p "$T/pki/other.key" "$T/pki/mixed.key"
agent_conf "$T/a.yaml" home mixed "$svc"
expect_t "key of another agent" agent "$T/a.yaml" 2 \
    "atlax-agent: tls.key $T/pki/mixed.key does not belong to tls.cert $T/pki/mixed.crt (the key of another certificate?)"

# id is not the certificate's CN.
agent_conf "$T/a.yaml" bob home "$svc"
expect_t "id not the CN" agent "$T/a.yaml" 2 \
    "atlax-agent: id \"bob\" does not match the CN \"home\" of tls.cert $T/pki/home.crt (the relay would refuse it)"

# An agent certificate on the relay.
sed "s|$T/pki/$RELAY_CN\.|$T/pki/home.|" "$T/relay.yaml" >"$T/r.yaml"
expect_t "agent cert on the relay" relay "$T/r.yaml" 2 \
    "atlax-relay: tls.cert $T/pki/home.crt: not a relay certificate: its extended key usage lacks serverAuth (issue it with atlax-pki issue --role relay)"

# Expired: an error.  Five days left: a warning, exit 0.
agent_conf "$T/a.yaml" old old "$svc"
expect_t "expired certificate" agent "$T/a.yaml" 2 \
    "atlax-agent: agent certificate $T/pki/old.crt expired on 2020-02-01; renew it with atlax-pki issue --force, then reload"
agent_conf "$T/a.yaml" soon soon "$svc"
d=$(date -u -d "$(openssl x509 -in "$T/pki/soon.crt" -noout -enddate | cut -d= -f2)" +%F)
run "$BIN/atlax-agent" -t -c "$T/a.yaml"
expect_eq "5 days left: status" 0 "$rc"
grep -Eqx "atlax-agent: warning: agent certificate $T/pki/soon.crt expires in [45] days \\($d\\); renew it with atlax-pki issue --force, then reload" "$T/err" ||
    fail "5 days left: stderr '$(cat "$T/err")'"
ok "5 days left: $(cat "$T/err")"

# A CRL past its next update, made with openssl ca (atlax-pki crl takes
# whole days): valid for one second, then expired.
cat >"$T/crl.cnf" <<C
[ca]
default_ca = c
[c]
database = $T/crl-index.txt
crlnumber = $T/crlnumber
default_md = sha256
C
echo 1000 >"$T/crlnumber"
: >"$T/crl-index.txt"
openssl ca -config "$T/crl.cnf" -gencrl -cert "$T/pki/ca.crt" \
    -keyfile "$T/pki/ca.key" -crlsec 1 -out "$T/stale.crl" 2>"$T/crl.err" ||
    fail "openssl ca -gencrl: $(cat "$T/crl.err")"
sleep 2
RELAY_CRL=$T/stale.crl relay_conf "$T/r.yaml"
d=$(date -u -d "$(openssl crl -in "$T/stale.crl" -noout -nextupdate | cut -d= -f2)" +%F)
expect_t "expired CRL" relay "$T/r.yaml" 2 \
    "atlax-relay: CRL $T/stale.crl (next update) expired on $d; renew it with atlax-pki crl, then reload"

# An IP for relay and no tls.server_name: a warning about the IP SAN.
AGENT_SERVER_NAME=127.0.0.1 agent_conf "$T/a.yaml" home home "$svc"
sed -i '/server_name:/d' "$T/a.yaml"
expect_t "IP relay, no server_name" agent "$T/a.yaml" 0 \
    "atlax-agent: warning: relay 127.0.0.1 is an IP address and tls.server_name is not set: the relay's certificate must carry IP:127.0.0.1 as a subject alternative name (atlax-pki issue --role relay --san IP:127.0.0.1)"

# As another user: the key (0600, root's) cannot be read.
chmod 0755 "$T" "$T/pki"
chmod 0644 "$T/pki/home.crt" "$T/pki/ca.crt" "$T/agent.yaml"
run setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$BIN/atlax-agent" -t -c "$T/agent.yaml"
expect_eq "as nobody: status" 2 "$rc"
expect_eq "as nobody: stderr" \
    "atlax-agent: tls.key $T/pki/home.key: Permission denied" "$(cat "$T/err")"
ok "as nobody: $(cat "$T/err")"
echo "preflight: all passed"

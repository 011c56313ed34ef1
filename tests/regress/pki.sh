#!/bin/bash
# atlax-pki end to end: the real binary builds a CA, issues relay and agent
# certificates, revokes one and publishes a CRL; the openssl command checks
# every artefact (verify, x509 -text, crl -text, verify -crl_check) and a TLS
# 1.3 handshake with client certificates; every refusal is checked for its
# exact message and exit status.
. "$(dirname "$0")/lib.sh"

PKI=$BIN/atlax-pki
CA=$T/ca
[ -x "$PKI" ] || fail "$PKI: not built"
command -v openssl >/dev/null || fail "openssl command missing (tests/deps.sh)"

# run CMD...: RC, OUT, ERR; every output is also kept in $T/all.out.
run() {
	"$@" >"$T/stdout" 2>"$T/stderr"
	RC=$?
	OUT=$(cat "$T/stdout")
	ERR=$(cat "$T/stderr")
	cat "$T/stdout" "$T/stderr" >>"$T/all.out"
}

# must CMD...: succeed, nothing on stderr.
must() {
	run "$@"
	[ "$RC" = 0 ] || fail "$*: exit $RC: $ERR"
	[ -z "$ERR" ] || fail "$*: unexpected stderr: $ERR"
}

# refuse CODE MESSAGE CMD...: exit CODE, exactly MESSAGE on stderr, no stdout.
refuse() {
	local code=$1 msg=$2
	shift 2
	run "$@"
	[ "$RC" = "$code" ] || fail "$*: exit $RC, want $code (stderr: $ERR)"
	[ "$ERR" = "$msg" ] || fail "$*: stderr
  got:  $ERR
  want: $msg"
	[ -z "$OUT" ] || fail "$*: unexpected stdout: $OUT"
	ok "refused ($code): ${msg#atlax-pki: }"
}

mode() { stat -c %a "$1"; }

text() { openssl x509 -in "$1" -noout -text; }

# The line after "X509v3 NAME:" in x509 -text (the extension's value).
ext() {	# cert name
	text "$1" | awk -v n="$2" 'f { sub(/^ +/, ""); print; exit }
		index($0, n) { f = 1 }'
}

# Whole days between notBefore and notAfter.
days() {
	local nb na
	nb=$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)
	na=$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)
	echo $(( ($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s)) / 86400 ))
}

serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# --- help -----------------------------------------------------------------
for c in init issue list revoke crl keygen token; do
	must "$PKI" "$c" --help
	case "$OUT" in "usage: atlax-pki $c "*) ;; *) fail "$c --help: $OUT" ;; esac
	must "$PKI" "$c" -h
done
ok "--help on every subcommand"
must "$PKI" --help
case "$OUT" in "usage: atlax-pki COMMAND"*) ;; *) fail "--help: $OUT" ;; esac
must "$PKI" --version
expect_eq "--version" "atlax-pki 0.1.0" "$OUT"

# --- refusals before there is a CA ----------------------------------------
refuse 2 "atlax-pki: missing command (init, issue, list, revoke, crl, keygen, token; see 'atlax-pki --help')" \
	"$PKI"
refuse 2 "atlax-pki: unknown command 'frobnicate' (see 'atlax-pki --help')" \
	"$PKI" frobnicate
refuse 1 "atlax-pki: issue: $CA: no CA here (run 'atlax-pki init --dir $CA' first)" \
	"$PKI" issue --dir "$CA" --cn home-nas --role agent
refuse 1 "atlax-pki: list: $CA: no CA here (run 'atlax-pki init --dir $CA' first)" \
	"$PKI" list --dir "$CA"
refuse 1 "atlax-pki: revoke: $CA: no CA here (run 'atlax-pki init --dir $CA' first)" \
	"$PKI" revoke --dir "$CA" --cn home-nas
refuse 1 "atlax-pki: crl: $CA: no CA here (run 'atlax-pki init --dir $CA' first)" \
	"$PKI" crl --dir "$CA"
refuse 2 "atlax-pki: init: --dir is required (see 'atlax-pki init --help')" \
	"$PKI" init
refuse 2 "atlax-pki: init: CN 'my ca' is invalid: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} (see 'atlax-pki init --help')" \
	"$PKI" init --dir "$CA" --cn "my ca"
refuse 2 "atlax-pki: init: --days '0': expected a number from 1 to 36500 (see 'atlax-pki init --help')" \
	"$PKI" init --dir "$CA" --days 0
refuse 1 "atlax-pki: init: $T/no/such: No such file or directory" \
	"$PKI" init --dir "$T/no/such"
[ ! -e "$CA" ] || fail "a refused init created $CA"

# --- init -----------------------------------------------------------------
must "$PKI" init --dir "$CA" --cn atlax-test-ca
expect_eq "init output" "created CA $CA/ca.crt (CN atlax-test-ca, 3650 days)" "$OUT"
expect_eq "CA folder mode" 700 "$(mode "$CA")"
expect_eq "ca.key mode" 600 "$(mode "$CA/ca.key")"
expect_eq "ca.crt mode" 644 "$(mode "$CA/ca.crt")"
head -n 1 "$CA/ca.key" | grep -qx -- "-----BEGIN PRIVATE KEY-----" ||
	fail "ca.key is not an unencrypted PKCS#8 PEM key"
openssl pkey -in "$CA/ca.key" -noout -text 2>/dev/null | grep -q "NIST CURVE: P-256" ||
	fail "ca.key is not a P-256 key"
expect_eq "CA self-verifies" "$CA/ca.crt: OK" \
	"$(openssl verify -x509_strict -CAfile "$CA/ca.crt" "$CA/ca.crt" 2>&1)"
expect_eq "CA subject" "subject=CN = atlax-test-ca" \
	"$(openssl x509 -in "$CA/ca.crt" -noout -subject)"
text "$CA/ca.crt" | grep -q "X509v3 Basic Constraints: critical" ||
	fail "CA basicConstraints not critical"
expect_eq "CA basicConstraints" "CA:TRUE" "$(ext "$CA/ca.crt" "Basic Constraints")"
text "$CA/ca.crt" | grep -q "X509v3 Key Usage: critical" || fail "CA keyUsage not critical"
expect_eq "CA keyUsage" "Certificate Sign, CRL Sign" "$(ext "$CA/ca.crt" "X509v3 Key Usage")"
ski=$(ext "$CA/ca.crt" "Subject Key Identifier")
[ -n "$ski" ] || fail "CA has no SKI"
expect_eq "CA AKI = SKI" "$ski" "$(ext "$CA/ca.crt" "Authority Key Identifier")"
expect_eq "CA validity days" 3650 "$(days "$CA/ca.crt")"
expect_eq "CA signature" "ecdsa-with-SHA256" \
	"$(text "$CA/ca.crt" | awk '/Signature Algorithm/ { print $3; exit }')"

refuse 1 "atlax-pki: init: $CA/ca.key: already exists (use --force to replace it)" \
	"$PKI" init --dir "$CA"

# --- issue ----------------------------------------------------------------
must "$PKI" issue --dir "$CA" --cn home-nas --role agent --days 30
agent_serial=$(serial "$CA/home-nas.crt")
expect_eq "issue output" "issued agent certificate home-nas serial $agent_serial until $(awk -F'\t' '$5 == "home-nas" { print $3 }' "$CA/index.txt"): $CA/home-nas.crt $CA/home-nas.key" "$OUT"
expect_eq "agent key mode" 600 "$(mode "$CA/home-nas.key")"
expect_eq "agent cert mode" 644 "$(mode "$CA/home-nas.crt")"
expect_eq "agent verifies" "$CA/home-nas.crt: OK" \
	"$(openssl verify -x509_strict -purpose sslclient -CAfile "$CA/ca.crt" "$CA/home-nas.crt" 2>&1)"
openssl verify -purpose sslserver -CAfile "$CA/ca.crt" "$CA/home-nas.crt" >/dev/null 2>&1 &&
	fail "an agent certificate passes as a TLS server"
expect_eq "agent subject" "subject=CN = home-nas" \
	"$(openssl x509 -in "$CA/home-nas.crt" -noout -subject)"
expect_eq "agent issuer" "issuer=CN = atlax-test-ca" \
	"$(openssl x509 -in "$CA/home-nas.crt" -noout -issuer)"
expect_eq "agent EKU" "TLS Web Client Authentication" \
	"$(ext "$CA/home-nas.crt" "Extended Key Usage")"
expect_eq "agent keyUsage" "Digital Signature" "$(ext "$CA/home-nas.crt" "X509v3 Key Usage")"
text "$CA/home-nas.crt" | grep -q "X509v3 Key Usage: critical" || fail "agent keyUsage not critical"
expect_eq "agent basicConstraints" "CA:FALSE" "$(ext "$CA/home-nas.crt" "Basic Constraints")"
expect_eq "agent AKI = CA SKI" "$ski" "$(ext "$CA/home-nas.crt" "Authority Key Identifier")"
text "$CA/home-nas.crt" | grep -q "Subject Alternative Name" && fail "agent cert has a SAN"
expect_eq "agent validity days" 30 "$(days "$CA/home-nas.crt")"
[[ $agent_serial =~ ^[4-7][0-9A-F]{31}$ ]] || fail "serial $agent_serial is not a positive 128-bit number"
ok "agent serial $agent_serial"

must "$PKI" issue --dir "$CA" --cn relay.example.com --role relay \
	--san IP:127.0.0.1 --san IP:::1 --san DNS:localhost --san DNS:relay.example.com
R=$CA/relay.example.com
relay_serial=$(serial "$R.crt")
[ "$relay_serial" != "$agent_serial" ] || fail "two certificates share a serial"
expect_eq "relay verifies" "$R.crt: OK" \
	"$(openssl verify -x509_strict -purpose sslserver -CAfile "$CA/ca.crt" "$R.crt" 2>&1)"
openssl verify -purpose sslclient -CAfile "$CA/ca.crt" "$R.crt" >/dev/null 2>&1 &&
	fail "a relay certificate passes as a TLS client"
expect_eq "relay EKU" "TLS Web Server Authentication" "$(ext "$R.crt" "Extended Key Usage")"
expect_eq "relay keyUsage" "Digital Signature" "$(ext "$R.crt" "X509v3 Key Usage")"
expect_eq "relay SAN" "DNS:relay.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost" \
	"$(ext "$R.crt" "Subject Alternative Name")"
expect_eq "relay validity days" 365 "$(days "$R.crt")"
expect_eq "relay key mode" 600 "$(mode "$R.key")"

# A relay without --san still names itself.
must "$PKI" issue --dir "$CA" --cn relay2 --role relay --out "$T/r2"
expect_eq "default SAN" "DNS:relay2" "$(ext "$T/r2.crt" "Subject Alternative Name")"
[ -f "$T/r2.key" ] && [ ! -e "$CA/relay2.crt" ] || fail "--out ignored"
ok "--out PREFIX"

# Keys are 0600 even under a permissive umask.
(umask 000 && "$PKI" issue --dir "$CA" --cn umask-agent --role agent >/dev/null) ||
	fail "issue under umask 000"
expect_eq "key mode under umask 000" 600 "$(mode "$CA/umask-agent.key")"

# A TLS 1.3 handshake with these certificates, as relay and agent make it.
# tls_try NAME CLIENT-PREFIX [s_server options]: HS gets the client's view,
# $T/NAME.log the server's.  s_server quits when its stdin ends, and start_bg
# would give it /dev/null: it reads a FIFO this shell holds open instead.
tls_try() {
	local name=$1 client=$2 port
	shift 2
	port=$(free_port)
	mkfifo "$T/$name.in"
	exec 3<>"$T/$name.in"
	timeout 20 openssl s_server -accept "127.0.0.1:$port" -tls1_3 \
		-cert "$R.crt" -key "$R.key" -CAfile "$CA/ca.crt" -Verify 2 \
		-verify_return_error -naccept 1 "$@" <&3 >"$T/$name.log" 2>&1 &
	_PIDS[$name]=$!
	# Not wait_port: its probe would use up the one accepted connection.
	wait_log "$name" '^ACCEPT' 10 || fail "s_server did not start"
	HS=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
		-tls1_3 -cert "$client.crt" -key "$client.key" \
		-CAfile "$CA/ca.crt" -verify_return_error \
		-verify_hostname relay.example.com -brief 2>&1)
	wait_log "$name" '^CONNECTION CLOSED' 10
	stop_bg "$name"
	exec 3>&-
}

must "$PKI" issue --dir "$CA" --cn tls-agent --role agent --days 2
tls_try s_server "$CA/tls-agent"
grep -q "Verification: OK" <<<"$HS" || fail "TLS handshake: $HS"
grep -q "Protocol version: TLSv1.3" <<<"$HS" || fail "TLS handshake: $HS"
grep -q "^subject=CN = tls-agent" "$T/s_server.log" || fail "server did not see the agent"
rm -f "$T/s_server.log"	# session secrets of a throwaway key; noise in fail()
ok "TLS 1.3 handshake with relay and agent certificates"

# --- refusals of issue ----------------------------------------------------
H="(see 'atlax-pki issue --help')"
refuse 1 "atlax-pki: issue: $CA/home-nas.key: already exists (use --force to replace it)" \
	"$PKI" issue --dir "$CA" --cn home-nas --role agent
refuse 2 "atlax-pki: issue: CN 'bad cn' is invalid: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} $H" \
	"$PKI" issue --dir "$CA" --cn "bad cn" --role agent
refuse 2 "atlax-pki: issue: CN '-lead' is invalid: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} $H" \
	"$PKI" issue --dir "$CA" --cn=-lead --role agent
long=$(printf 'a%.0s' {1..65})
refuse 2 "atlax-pki: issue: CN '$long' is invalid: it must match [A-Za-z0-9][A-Za-z0-9._-]{0,63} $H" \
	"$PKI" issue --dir "$CA" --cn "$long" --role agent
refuse 2 "atlax-pki: issue: unknown role 'server' (expected agent or relay) $H" \
	"$PKI" issue --dir "$CA" --cn x --role server
refuse 2 "atlax-pki: issue: --role is required (agent or relay) $H" \
	"$PKI" issue --dir "$CA" --cn x
refuse 2 "atlax-pki: issue: --cn is required $H" \
	"$PKI" issue --dir "$CA" --role agent
refuse 2 "atlax-pki: issue: --dir is required $H" \
	"$PKI" issue --cn x --role agent
refuse 2 "atlax-pki: issue: --san 'FOO:x': expected DNS:name or IP:address $H" \
	"$PKI" issue --dir "$CA" --cn x --role relay --san FOO:x
refuse 2 "atlax-pki: issue: --san 'DNS:bad name': not a valid DNS name $H" \
	"$PKI" issue --dir "$CA" --cn x --role relay --san "DNS:bad name"
refuse 2 "atlax-pki: issue: --san 'IP:10.0.0.256': not a valid IP address $H" \
	"$PKI" issue --dir "$CA" --cn x --role relay --san IP:10.0.0.256
refuse 2 "atlax-pki: issue: --san 'IP:fe80::zz': not a valid IP address $H" \
	"$PKI" issue --dir "$CA" --cn x --role relay --san IP:fe80::zz
refuse 2 "atlax-pki: issue: --san applies to relay certificates only $H" \
	"$PKI" issue --dir "$CA" --cn x --role agent --san DNS:x
refuse 2 "atlax-pki: issue: --days 'ten': expected a number from 1 to 36500 $H" \
	"$PKI" issue --dir "$CA" --cn x --role agent --days ten
refuse 2 "atlax-pki: issue: --days '0': expected a number from 1 to 36500 $H" \
	"$PKI" issue --dir "$CA" --cn x --role agent --days 0
ca_end=$(date -u -d "$(openssl x509 -in "$CA/ca.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
refuse 1 "atlax-pki: issue: --days 4000: the certificate would outlive the CA certificate (valid until $ca_end)" \
	"$PKI" issue --dir "$CA" --cn x --role agent --days 4000
refuse 2 "atlax-pki: issue: unknown option '--colour' $H" \
	"$PKI" issue --dir "$CA" --cn x --role agent --colour
refuse 2 "atlax-pki: issue: unknown option '-q' $H" \
	"$PKI" issue --dir "$CA" --cn x --role agent -q
refuse 2 "atlax-pki: issue: option '--cn' needs a value $H" \
	"$PKI" issue --dir "$CA" --role agent --cn
refuse 2 "atlax-pki: issue: unexpected argument 'extra' $H" \
	"$PKI" issue --dir "$CA" --cn x --role agent extra
refuse 1 "atlax-pki: issue: $T/nonexist/x.key: No such file or directory" \
	"$PKI" issue --dir "$CA" --cn x --role agent --out "$T/nonexist/x"
[ ! -e "$CA/x.key" ] && [ ! -e "$CA/x.crt" ] || fail "a refused issue wrote files"
refuse 1 "atlax-pki: issue: $CA/ca: refusing to replace the CA's own files" \
	"$PKI" issue --dir "$CA" --cn ca --role agent --force

# --force replaces the pair, with a new key and serial; the index keeps both.
old_key=$(sha256sum <"$CA/home-nas.key")
must "$PKI" issue --dir "$CA" --cn home-nas --role agent --days 30 --force
[ "$(sha256sum <"$CA/home-nas.key")" != "$old_key" ] || fail "--force kept the old key"
expect_eq "forced key mode" 600 "$(mode "$CA/home-nas.key")"
new_serial=$(serial "$CA/home-nas.crt")
[ "$new_serial" != "$agent_serial" ] || fail "--force reused the serial"
ok "issue --force"

# An expired certificate, for the daemons' refusal tests.
must "$PKI" issue --dir "$CA" --cn old-agent --role agent --days 1 --backdate 2
openssl verify -CAfile "$CA/ca.crt" "$CA/old-agent.crt" 2>&1 | grep -q "certificate has expired" ||
	fail "--backdate did not produce an expired certificate"
ok "issue --backdate"

# --- list -----------------------------------------------------------------
must "$PKI" list --dir "$CA"
expect_eq "list header" "CN                       ROLE  SERIAL                           NOT-AFTER            STATUS" \
	"$(head -n 1 <<<"$OUT")"
expect_eq "list rows" 7 "$(tail -n +2 <<<"$OUT" | wc -l)"
row=$(grep "^relay.example.com " <<<"$OUT")
expect_eq "list relay row" "relay.example.com relay $relay_serial valid" \
	"$(awk '{ print $1, $2, $3, $5 }' <<<"$row")"
expect_eq "list expired row" "old-agent agent expired" \
	"$(grep '^old-agent ' <<<"$OUT" | awk '{ print $1, $2, $5 }')"
expect_eq "index lines" 7 "$(grep -vc '^#' "$CA/index.txt")"
expect_eq "index entry" "agent	$agent_serial	-	home-nas" \
	"$(awk -F'\t' -v s="$agent_serial" '$2 == s { print $1 "\t" $2 "\t" $4 "\t" $5 }' "$CA/index.txt")"

# --- revoke and CRL -------------------------------------------------------
H="(see 'atlax-pki revoke --help')"
refuse 2 "atlax-pki: revoke: give exactly one of --cn and --serial $H" \
	"$PKI" revoke --dir "$CA"
refuse 2 "atlax-pki: revoke: give exactly one of --cn and --serial $H" \
	"$PKI" revoke --dir "$CA" --cn home-nas --serial "$agent_serial"
refuse 2 "atlax-pki: revoke: --serial 'xyz': not a hexadecimal serial of at most 20 octets $H" \
	"$PKI" revoke --dir "$CA" --serial xyz
refuse 1 "atlax-pki: revoke: no certificate with serial ABCDEF" \
	"$PKI" revoke --dir "$CA" --serial abcdef
refuse 1 "atlax-pki: revoke: no certificate with CN nobody" \
	"$PKI" revoke --dir "$CA" --cn nobody

must "$PKI" revoke --dir "$CA" --cn home-nas
expect_eq "revoke output" "revoked agent $agent_serial home-nas
revoked agent $new_serial home-nas
2 certificates revoked; run 'atlax-pki crl --dir $CA' to publish" "$OUT"
refuse 1 "atlax-pki: revoke: every certificate of CN home-nas is already revoked" \
	"$PKI" revoke --dir "$CA" --cn home-nas
# By serial, as openssl prints it (lowercase, colons).
colon=$(openssl x509 -in "$T/r2.crt" -noout -text | awk '/Serial Number:/ { getline; gsub(/ /, ""); print; exit }')
must "$PKI" revoke --dir "$CA" --serial "$colon"
r2_serial=$(serial "$T/r2.crt")
expect_eq "revoke by serial" "revoked relay $r2_serial relay2" "$(head -n 1 <<<"$OUT")"
when=$(awk -F'\t' -v s="$r2_serial" '$2 == s { print $4 }' "$CA/index.txt")
refuse 1 "atlax-pki: revoke: certificate $r2_serial (CN relay2) was already revoked at ${when:0:4}-${when:4:2}-${when:6:2}T${when:8:2}:${when:10:2}:${when:12:2}Z" \
	"$PKI" revoke --dir "$CA" --serial "$r2_serial"

refuse 2 "atlax-pki: crl: --days '0': expected a number from 1 to 36500 (see 'atlax-pki crl --help')" \
	"$PKI" crl --dir "$CA" --days 0
must "$PKI" crl --dir "$CA" --days 7
expect_eq "crl output" "wrote $CA/ca.crl: CRL number 1, 3 revoked, next update in 7 days" "$OUT"
expect_eq "ca.crl mode" 644 "$(mode "$CA/ca.crl")"
crl=$(openssl crl -in "$CA/ca.crl" -noout -text)
for s in "$agent_serial" "$new_serial" "$r2_serial"; do
	grep -q "Serial Number: $s\$" <<<"$crl" || fail "CRL lacks $s: $crl"
done
grep -q "Serial Number: $relay_serial" <<<"$crl" && fail "CRL lists an unrevoked serial"
grep -A1 "X509v3 CRL Number" <<<"$crl" | grep -qx " *1" || fail "CRL number is not 1: $crl"
expect_eq "CRL issuer" "issuer=CN = atlax-test-ca" "$(openssl crl -in "$CA/ca.crl" -noout -issuer)"
expect_eq "CRL signature" "verify OK" \
	"$(openssl crl -in "$CA/ca.crl" -CAfile "$CA/ca.crt" -noout 2>&1)"
ok "CRL lists the revoked serials"

v=$(openssl verify -crl_check -CAfile "$CA/ca.crt" -CRLfile "$CA/ca.crl" "$CA/home-nas.crt" 2>&1)
[ $? -ne 0 ] || fail "a revoked certificate verifies against the CRL"
grep -q "certificate revoked" <<<"$v" || fail "verify -crl_check: $v"
expect_eq "unrevoked cert with CRL" "$R.crt: OK" \
	"$(openssl verify -crl_check -CAfile "$CA/ca.crt" -CRLfile "$CA/ca.crl" "$R.crt" 2>&1)"

# A server that loads the CRL refuses the revoked agent's handshake.
tls_try s_server_crl "$CA/home-nas" -crl_check -CRL "$CA/ca.crl"
# (In TLS 1.3 the client may finish before the server rejects its
# certificate, so the server's side is the one that tells.)
grep -q "verify error:certificate revoked" "$T/s_server_crl.log" ||
	fail "server did not refuse the revoked agent"
grep -q "^CIPHER is" "$T/s_server_crl.log" && fail "server accepted the revoked agent"
rm -f "$T/s_server_crl.log"
ok "TLS server with the CRL refuses the revoked agent"

must "$PKI" crl --dir "$CA"
expect_eq "second CRL" "wrote $CA/ca.crl: CRL number 2, 3 revoked, next update in 30 days" "$OUT"

# --- a damaged index stops every command that reads it ---------------------
cp "$CA/index.txt" "$T/index.good"
printf 'agent\tnot-hex\t20271123133858Z\t-\tx\n' >>"$CA/index.txt"
n=$(wc -l <"$CA/index.txt")
bad="$CA/index.txt:$n: malformed entry"
refuse 1 "atlax-pki: list: $bad" "$PKI" list --dir "$CA"
refuse 1 "atlax-pki: issue: $bad" "$PKI" issue --dir "$CA" --cn y --role agent
refuse 1 "atlax-pki: revoke: $bad" "$PKI" revoke --dir "$CA" --cn relay2
refuse 1 "atlax-pki: crl: $bad" "$PKI" crl --dir "$CA"
[ ! -e "$CA/y.key" ] || fail "issue wrote a key despite the damaged index"
cp "$T/index.good" "$CA/index.txt"

# --- JWT: signing keys ----------------------------------------------------
J=$T/jwt
mkdir -p "$J"
must "$PKI" keygen --hs256 --out "$J/hs.secret"
expect_eq "keygen --hs256 output" "wrote HS256 secret $J/hs.secret" "$OUT"
expect_eq "HS256 secret mode" 600 "$(mode "$J/hs.secret")"
expect_eq "secret file: 44 base64 characters and a newline" 45 "$(wc -c <"$J/hs.secret")"
expect_eq "secret: 32 random bytes" 32 "$(base64 -d "$J/hs.secret" | wc -c)"
old=$(cat "$J/hs.secret")
refuse 1 "atlax-pki: keygen: $J/hs.secret exists (--force replaces it)" \
	"$PKI" keygen --hs256 --out "$J/hs.secret"
expect_eq "a refused keygen keeps the secret" "$old" "$(cat "$J/hs.secret")"
must "$PKI" keygen --hs256 --out "$J/hs.secret" --force
[ "$(cat "$J/hs.secret")" != "$old" ] || fail "keygen --force kept the old secret"
expect_eq "replaced secret mode" 600 "$(mode "$J/hs.secret")"
secret=$(cat "$J/hs.secret")

must "$PKI" keygen --es256 --out "$J/es"
expect_eq "keygen --es256 output" "wrote ES256 key $J/es.key and public key $J/es.pub" "$OUT"
expect_eq "ES256 key mode" 600 "$(mode "$J/es.key")"
expect_eq "ES256 public key mode" 644 "$(mode "$J/es.pub")"
openssl pkey -in "$J/es.key" -noout -text 2>/dev/null | grep -q "NIST CURVE: P-256" ||
	fail "es.key is not a P-256 key"
expect_eq "es.pub is the public half of es.key" "$(cat "$J/es.pub")" \
	"$(openssl pkey -in "$J/es.key" -pubout)"
refuse 1 "atlax-pki: keygen: $J/es.key exists (--force replaces it)" \
	"$PKI" keygen --es256 --out "$J/es"
refuse 2 "atlax-pki: keygen: exactly one of --hs256 and --es256 is needed (see 'atlax-pki keygen --help')" \
	"$PKI" keygen --out "$J/x"
refuse 2 "atlax-pki: keygen: exactly one of --hs256 and --es256 is needed (see 'atlax-pki keygen --help')" \
	"$PKI" keygen --hs256 --es256 --out "$J/x"
refuse 2 "atlax-pki: keygen: --out is required (see 'atlax-pki keygen --help')" \
	"$PKI" keygen --hs256
refuse 2 "atlax-pki: keygen: unexpected argument 'extra' (see 'atlax-pki keygen --help')" \
	"$PKI" keygen --hs256 --out "$J/x" extra
[ ! -e "$J/x" ] || fail "a refused keygen wrote $J/x"

# --- JWT: tokens, checked by openssl ---------------------------------------
b64d() {	# base64url without padding -> bytes
	local x
	x=$(printf %s "$1" | tr '_-' '/+')
	while [ $(( ${#x} % 4 )) != 0 ]; do x="$x="; done
	printf %s "$x" | base64 -d
}
b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
claim() { printf %s "$1" | jq -c ".$2"; }	# payload name

before=$(date +%s)
must "$PKI" token --secret-file "$J/hs.secret" --sub home-nas --ttl 24h \
	--expose smb --expose 8080 --connect office/rdp --aud atlax --iss ops --jti t-1
after=$(date +%s)
IFS=. read -r th tp ts <<<"$OUT"
expect_eq "HS256 header" '{"alg":"HS256","typ":"JWT"}' "$(b64d "$th")"
payload=$(b64d "$tp")
expect_eq "sub" '"home-nas"' "$(claim "$payload" sub)"
expect_eq "iss" '"ops"' "$(claim "$payload" iss)"
expect_eq "aud" '"atlax"' "$(claim "$payload" aud)"
expect_eq "jti" '"t-1"' "$(claim "$payload" jti)"
expect_eq "expose" '["smb","8080"]' "$(claim "$payload" expose)"
expect_eq "connect" '["office/rdp"]' "$(claim "$payload" connect)"
iat=$(claim "$payload" iat)
[ "$iat" -ge "$before" ] && [ "$iat" -le "$after" ] || fail "iat $iat not in $before..$after"
expect_eq "exp = iat + 24h" $((iat + 86400)) "$(claim "$payload" exp)"
mac=$(printf %s "$th.$tp" | openssl dgst -sha256 -mac HMAC -macopt "key:$secret" -binary | b64u)
expect_eq "HS256 signature (openssl HMAC over the secret file's text)" "$mac" "$ts"

must "$PKI" token --key "$J/es.key" --sub office --ttl 90s
IFS=. read -r th tp ts <<<"$OUT"
expect_eq "ES256 header" '{"alg":"ES256","typ":"JWT"}' "$(b64d "$th")"
payload=$(b64d "$tp")
expect_eq "ES256 ttl" 90 $(( $(claim "$payload" exp) - $(claim "$payload" iat) ))
claim "$payload" jti | grep -Eqx '"[0-9a-f]{32}"' || fail "default jti: $(claim "$payload" jti)"
expect_eq "no expose claim when none given" null "$(claim "$payload" expose)"
# JOSE r || s to DER for openssl dgst -verify.
hex=$(b64d "$ts" | xxd -p | tr -d '\n')
expect_eq "ES256 signature length (hex digits)" 128 "${#hex}"
printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' \
	"${hex:0:64}" "${hex:64:64}" >"$J/sig.cnf"
openssl asn1parse -genconf "$J/sig.cnf" -out "$J/sig.der" >/dev/null ||
	fail "cannot build the DER signature"
printf %s "$th.$tp" >"$J/signed"
expect_eq "ES256 signature (openssl dgst -verify with es.pub)" "Verified OK" \
	"$(openssl dgst -sha256 -verify "$J/es.pub" -signature "$J/sig.der" "$J/signed" 2>&1)"
printf %s "$th.${tp}x" >"$J/signed"
openssl dgst -sha256 -verify "$J/es.pub" -signature "$J/sig.der" "$J/signed" >/dev/null 2>&1 &&
	fail "openssl verified a changed payload"
ok "a changed payload does not verify"
must "$PKI" token --secret-file "$J/hs.secret" --sub a --ttl 30d
expect_eq "ttl in days" 2592000 $(( $(claim "$(b64d "$(echo "$OUT" | cut -d. -f2)")" exp) - \
	$(claim "$(b64d "$(echo "$OUT" | cut -d. -f2)")" iat) ))

# --- JWT: refusals ----------------------------------------------------------
TU="(see 'atlax-pki token --help')"
refuse 2 "atlax-pki: token: exactly one of --secret-file and --key is needed $TU" \
	"$PKI" token --sub a --ttl 1h
refuse 2 "atlax-pki: token: exactly one of --secret-file and --key is needed $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --key "$J/es.key" --sub a --ttl 1h
refuse 2 "atlax-pki: token: --sub is required $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --ttl 1h
refuse 2 "atlax-pki: token: --ttl is required $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --sub a
for ttl in 0 1.5h 90 500ms 3651d -1h; do
	refuse 2 "atlax-pki: token: --ttl: expected whole seconds, minutes, hours or days from 1s to 3650d (90s, 15m, 24h, 30d) $TU" \
		"$PKI" token --secret-file "$J/hs.secret" --sub a --ttl "$ttl"
done
refuse 2 "atlax-pki: token: sub must be an identity ([A-Za-z0-9][A-Za-z0-9._-], at most 64) $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --sub "a b" --ttl 1h
refuse 2 "atlax-pki: token: bad expose entry (want a service name or a port 1..65535) $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --sub a --ttl 1h --expose 70000
refuse 2 "atlax-pki: token: bad connect entry (want AGENT/SERVICE) $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --sub a --ttl 1h --connect office
refuse 2 "atlax-pki: token: unknown option '--alg' $TU" \
	"$PKI" token --secret-file "$J/hs.secret" --sub a --ttl 1h --alg none
printf 'too-short\n' >"$J/short.secret"
chmod 644 "$J/short.secret"
refuse 1 "atlax-pki: token: $J/short.secret: permissions 0644 are too open (group or others may access it); chmod 600 it" \
	"$PKI" token --secret-file "$J/short.secret" --sub a --ttl 1h
chmod 600 "$J/short.secret"
refuse 1 "atlax-pki: token: $J/short.secret: secret of 9 bytes, at least 32 are needed (atlax-pki keygen --hs256 makes one)" \
	"$PKI" token --secret-file "$J/short.secret" --sub a --ttl 1h
refuse 1 "atlax-pki: token: $J/es.pub: no PEM private key" \
	"$PKI" token --key "$J/es.pub" --sub a --ttl 1h
refuse 1 "atlax-pki: token: $J/none.key: No such file or directory" \
	"$PKI" token --key "$J/none.key" --sub a --ttl 1h
grep -qF -- "$secret" "$T/all.out" && fail "the HS256 secret in the output"
ok "the HS256 secret never printed"

# --- the CA key is never printed ------------------------------------------
keyline=$(sed -n 2p "$CA/ca.key")
grep -qF -- "$keyline" "$T/all.out" && fail "CA key material in the output"
grep -q "PRIVATE KEY" "$T/all.out" && fail "a private key in the output"
ok "no key material in any output"

# --- concurrent commands do not lose each other's index update -------------
pids=()
for i in 1 2 3 4 5 6 7 8; do
	"$PKI" issue --dir "$CA" --cn "par-$i" --role agent --days 5 >/dev/null 2>>"$T/par.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent issue failed: $(cat "$T/par.err")"; done
expect_eq "concurrent issues recorded" 8 "$(grep -c '	par-[1-8]$' "$CA/index.txt")"
expect_eq "distinct serials" "$(grep -vc '^#' "$CA/index.txt")" \
	"$(grep -v '^#' "$CA/index.txt" | cut -f2 | sort -u | wc -l)"
ls "$CA" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$CA")"
ok "no temporary files left behind"

# --- a forced init starts over --------------------------------------------
must "$PKI" init --dir "$CA" --force --days 10
[ ! -e "$CA/ca.crl" ] && [ ! -e "$CA/crlnumber" ] || fail "forced init kept the old CRL"
expect_eq "index after forced init" 0 "$(grep -vc '^#' "$CA/index.txt")"
openssl verify -CAfile "$CA/ca.crt" "$R.crt" >/dev/null 2>&1 &&
	fail "a certificate of the replaced CA still verifies"
expect_eq "new CA validity" 10 "$(days "$CA/ca.crt")"
ok "init --force"

echo "pki: all checks passed"

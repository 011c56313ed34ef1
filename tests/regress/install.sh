#!/bin/bash
# `make install` into a DESTDIR: binaries that run, man pages that lint
# clean, systemd units generated for the PREFIX (ExecStart=/usr/bin/... for
# PREFIX=/usr, never a left-over @BINDIR@), a security exposure of at most
# 1.5 by `systemd-analyze security`, the docs; then `make uninstall` with the
# same arguments leaves no file behind.  The binaries under test are
# installed as built (make -o all: nothing is rebuilt or relinked), and the
# generated units go to $T, so the source tree is left as it was.
. "$(dirname "$0")/lib.sh"
need make mandoc systemd-analyze

# mk PREFIX DEST TARGET: make TARGET for PREFIX into DESTDIR DEST.
mk() {
	make -s -C "$TOP" -o all BUILD="$T/build" BINDIR="$BIN" \
	    PREFIX="$1" DESTDIR="$2" "$3" >"$T/make-$3.out" 2>&1 ||
	    fail "make $3 PREFIX=$1: $(cat "$T/make-$3.out")"
}

R=$T/root
mk /usr "$R" install
U=$R/usr/lib/systemd/system
for p in atlax-relay atlax-agent atlax-pki; do
	[ -x "$R/usr/bin/$p" ] || fail "$p not installed in /usr/bin"
	expect_eq "installed $p --version" "$p 0.1.0" "$("$R/usr/bin/$p" --version)"
done
for m in man1/atlax-pki.1 man5/atlax-agent.yaml.5 man5/atlax-relay.yaml.5 \
    man8/atlax-relay.8 man8/atlax-agent.8; do
	[ -f "$R/usr/share/man/$m" ] || fail "man page $m not installed"
done
ok "binaries and man pages installed"

# The pages this test holds to mandoc's warning level (links to pages of
# other packages cannot resolve here; those are style notes, not warnings).
for m in man1/atlax-pki.1 man5/atlax-agent.yaml.5 man5/atlax-relay.yaml.5 \
    man8/atlax-relay.8 man8/atlax-agent.8; do
	mandoc -Tlint -W warning "$R/usr/share/man/$m" >"$T/lint.out" 2>&1 ||
	    fail "mandoc -Tlint $m: $(cat "$T/lint.out")"
done
ok "mandoc -Tlint -W warning: clean"

for d in CONFIG.md OPERATIONS.md relay.yaml agent.yaml relay-low-ports.conf; do
	[ -s "$R/usr/share/doc/atlax/$d" ] || fail "doc $d not installed"
done
ok "docs installed"

for u in atlax-relay atlax-agent atlax-agent@; do
	f=$U/$u.service
	[ -f "$f" ] || fail "unit $u.service not installed"
	grep -q '@[A-Z]*@' "$f" && fail "$u.service: unreplaced $(grep -o '@[A-Z]*@' "$f" | head -n 1)"
	for want in Type=notify NotifyAccess=main WatchdogSec=30s \
	    RestartPreventExitStatus=2 DevicePolicy=closed; do
		grep -qx "$want" "$f" || fail "$u.service: no $want"
	done
done
expect_eq "relay ExecStart" "ExecStart=/usr/bin/atlax-relay -c /etc/atlax/relay.yaml" \
    "$(grep '^ExecStart=' "$U/atlax-relay.service")"
expect_eq "agent ExecStart" "ExecStart=/usr/bin/atlax-agent -c /etc/atlax/agent.yaml" \
    "$(grep '^ExecStart=' "$U/atlax-agent.service")"
expect_eq "template ExecStart" "ExecStart=/usr/bin/atlax-agent -c /etc/atlax/agent-%i.yaml" \
    "$(grep '^ExecStart=' "$U/atlax-agent@.service")"
grep -q '^ExecReload=/usr/bin/atlax-relay -t -c /etc/atlax/relay.yaml$' \
    "$U/atlax-relay.service" || fail "relay ExecReload does not check the config"

# systemd-analyze scores an instance, not a template.
cp "$U/atlax-agent@.service" "$T/atlax-agent@nas.service"
for f in "$U/atlax-relay.service" "$U/atlax-agent.service" "$T/atlax-agent@nas.service"; do
	systemd-analyze security --offline=true "$f" >"$T/sec.out" 2>&1
	score=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' "$T/sec.out")
	[ -n "$score" ] || fail "systemd-analyze security $(basename "$f"): $(tail -n 5 "$T/sec.out")"
	awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }' ||
	    fail "$(basename "$f"): exposure $score > 1.5: $(grep '✗' "$T/sec.out")"
	ok "$(basename "$f"): exposure $score"
done

# The installed example configs run as they are once atlax-pki has written
# the files they name (with the commands in their comments), with only the
# addresses moved to loopback and free ports.
need ss
E=$T/etc
mkdir -p "$E"
pki_init
pki_issue relay.example.com relay
pki_issue home-nas agent
for f in ca.crt relay.example.com.crt relay.example.com.key home-nas.crt home-nas.key; do
	cp -p "$T/pki/$f" "$E/"
done
RELAY_PORT=$(free_port)
pick_range 20
start_svc echo echo
ECHO=$(helper_port echo)
sed -e "s/\"0.0.0.0:4443\"/\"127.0.0.1:$RELAY_PORT\"/" \
    -e 's/bind: "0.0.0.0"/bind: "127.0.0.1"/' \
    -e "s/\"10000-20000\"/\"$PUB_LO-$PUB_HI\"/" \
    -e "s/\[10445, 10080\]/[$PUB_LO, $((PUB_LO + 1))]/" \
    "$R/usr/share/doc/atlax/relay.yaml" >"$E/relay.yaml"
sed -e "s/\"relay.example.com:4443\"/\"127.0.0.1:$RELAY_PORT\"/" \
    -e "s/127.0.0.1:445\"/127.0.0.1:$ECHO\"/" \
    -e "s/127.0.0.1:8080\"/127.0.0.1:$ECHO\"/" \
    -e "s/remote_port: 10445/remote_port: $PUB_LO/" \
    -e "s/remote_port: 10080/remote_port: $((PUB_LO + 1))/" \
    "$R/usr/share/doc/atlax/agent.yaml" >"$E/agent.yaml"
# -t with the files in place, as the daemons will see them.
"$BIN/atlax-relay" -t -c "$E/relay.yaml" >"$T/t.out" 2>&1 ||
    fail "relay -t on the example: $(cat "$T/t.out")"
"$BIN/atlax-agent" -t -c "$E/agent.yaml" >"$T/t.out" 2>&1 ||
    fail "agent -t on the example: $(cat "$T/t.out")"
start_relay relay "$E/relay.yaml"
start_agent agent "$E/agent.yaml"
expect_eq "example smb port" "$PUB_LO" "$(exposed_port agent smb)"
W=$(exposed_port agent web) || fail "example web service not exposed"
expect_eq "example web port" "$((PUB_LO + 1))" "$W"
client echo --port "$PUB_LO" --bytes 100000 >"$T/echo.out" 2>&1 ||
    fail "echo through the example configs: $(cat "$T/echo.out")"
client echo --port "$W" --bytes 100000 >"$T/echo.out" 2>&1 ||
    fail "echo through web: $(cat "$T/echo.out")"
ok "example configs: tunnel up, smb at $PUB_LO and web at $W, bytes echoed"
finish

# Another PREFIX: the units follow it (they are generated at each install).
R2=$T/root2
mk /opt/atlax "$R2" install
grep -qx 'ExecStart=/opt/atlax/bin/atlax-relay -c /etc/atlax/relay.yaml' \
    "$R2/opt/atlax/lib/systemd/system/atlax-relay.service" ||
    fail "PREFIX=/opt/atlax: $(grep '^ExecStart=' "$R2/opt/atlax/lib/systemd/system/atlax-relay.service")"
ok "PREFIX=/opt/atlax: units point at /opt/atlax/bin"

mk /usr "$R" uninstall
left=$(find "$R" ! -type d | sed "s|^$R||")
[ -z "$left" ] || fail "left behind by make uninstall: $left"
[ -d "$R/usr/share/doc/atlax" ] && fail "make uninstall left share/doc/atlax"
mk /opt/atlax "$R2" uninstall
left=$(find "$R2" ! -type d | sed "s|^$R2||")
[ -z "$left" ] || fail "left behind by make uninstall (PREFIX=/opt/atlax): $left"
ok "make uninstall: no file left behind"

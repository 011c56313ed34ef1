#!/bin/bash
# Samba through the tunnel: Debian's smbd on a high loopback port, with its own
# smb.conf and state folders under $T, exposed by the agent; smbclient puts and
# gets a 50 MB random file through the relay's public port; sha256 equal.
. "$(dirname "$0")/lib.sh"
need smbd smbclient smbpasswd setsid sha256sum ss
[ "$(id -u)" -eq 0 ] || fail "samba.sh runs smbd and needs root"

S=$T/smb
mkdir -p "$S"/private "$S"/lock "$S"/state "$S"/cache "$S"/pid \
    "$S"/ncalrpc "$S"/log "$S"/share "$S"/local
SMB=$(free_port)
cat >"$S/smb.conf" <<C
[global]
	workgroup = ATLAX
	server role = standalone server
	smb ports = $SMB
	interfaces = 127.0.0.1
	bind interfaces only = yes
	disable netbios = yes
	private dir = $S/private
	lock directory = $S/lock
	state directory = $S/state
	cache directory = $S/cache
	pid directory = $S/pid
	ncalrpc dir = $S/ncalrpc
	log file = $S/log/%m.log
	passdb backend = tdbsam
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	server min protocol = SMB2_10
	client min protocol = SMB2_10
[atlax]
	path = $S/share
	read only = no
C
PASS=atlax-$RANDOM$RANDOM
printf '%s\n%s\n' "$PASS" "$PASS" |
    smbpasswd -c "$S/smb.conf" -a -s root >"$T/smbpasswd.out" 2>&1 ||
    fail "smbpasswd: $(cat "$T/smbpasswd.out")"
# smbd --no-process-group signals its whole process group when it exits,
# which would be ours: setsid gives it its own (same PID, so stop_bg works).
start_bg smbd setsid smbd -s "$S/smb.conf" --foreground --no-process-group \
    --debug-stdout
wait_listening "$SMB" 15 || fail "smbd not listening on $SMB"

tunnel_setup home
relay_conf "$T/relay.yaml"
agent_conf "$T/agent.yaml" home home "$(svc_yaml smb "$SMB" "$((PUB_LO + 5))")"
start_relay relay "$T/relay.yaml"
start_agent agent "$T/agent.yaml"
P=$(exposed_port agent smb) || fail "service smb never exposed"
expect_eq "smb public port (requested)" "$((PUB_LO + 5))" "$P"

head -c $((50 * 1024 * 1024)) /dev/urandom >"$S/local/big.bin"
smbc() {
	smbclient -s "$S/smb.conf" "//127.0.0.1/atlax" -p "$P" -t 60 \
	    -U "root%$PASS" -c "$1" >"$T/smbclient.out" 2>&1 ||
	    fail "smbclient '$1': $(cat "$T/smbclient.out")"
}
t0=$(now_ms)
smbc "lcd $S/local; put big.bin up.bin"
t1=$(now_ms)
smbc "lcd $S/local; get up.bin down.bin"
t2=$(now_ms)
want=$(sha256sum <"$S/local/big.bin")
expect_eq "sha256 of the file smbd stored" "$want" "$(sha256sum <"$S/share/up.bin")"
expect_eq "sha256 of the file read back" "$want" "$(sha256sum <"$S/local/down.bin")"
ok "50 MB put in $((t1 - t0)) ms, get in $((t2 - t1)) ms through the tunnel"

smbc "ls"
grep -q 'up.bin' "$T/smbclient.out" || fail "ls does not list up.bin"
ok "share listing through the tunnel"

finish

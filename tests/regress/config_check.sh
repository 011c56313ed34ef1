#!/bin/bash
# config_check: `-t -c FILE` on both daemons.  A good file prints
# "configuration OK" and exits 0; a bad one prints its one error line
# (FILE:LINE:COLUMN: KEY: problem) and exits 2.  -h and --version exit 0.
# -t also opens the certificate files (preflight.sh): the files the
# examples name are minted next to them, as atlax-pki names them.
. "$(dirname "$0")/lib.sh"

pki_init "$T"
PKI_DIR=$T pki_issue relay.example.com relay
PKI_DIR=$T pki_issue home-nas agent

run() {	# cmd...: stdout in $T/out, stderr in $T/err, status in $rc
	rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
}

for prog in relay agent; do
	bin=$BIN/atlax-$prog

	# The shipped example, as shipped, with atlax-pki's files next to it.
	cp "$TOP/config/$prog.yaml" "$T/$prog.yaml"
	run "$bin" -t -c "$T/$prog.yaml"
	expect_eq "$prog example: status" 0 "$rc"
	expect_eq "$prog example: stdout" "configuration OK" "$(cat "$T/out")"
	expect_eq "$prog example: stderr" "" "$(cat "$T/err")"
	# Long option too, and a relative path from the file's folder.
	run bash -c "cd '$T' && '$bin' -t --config $prog.yaml"
	expect_eq "$prog relative: status" 0 "$rc"

	# An unknown key on line 3.
	{ head -n 2 "$T/$prog.yaml"; echo "tlss: 1"; tail -n +3 "$T/$prog.yaml"; } \
		>"$T/bad.yaml"
	run "$bin" -t -c "$T/bad.yaml"
	expect_eq "$prog unknown key: status" 2 "$rc"
	expect_eq "$prog unknown key: stderr" \
		"atlax-$prog: $T/bad.yaml:3:1: tlss: unknown key" "$(cat "$T/err")"
	expect_eq "$prog unknown key: stdout" "" "$(cat "$T/out")"

	# A log level that does not exist.
	sed 's/level: info/level: loud/' "$T/$prog.yaml" >"$T/bad.yaml"
	line=$(grep -n 'level: loud' "$T/bad.yaml" | cut -d: -f1)
	run "$bin" -t -c "$T/bad.yaml"
	expect_eq "$prog log level: status" 2 "$rc"
	expect_eq "$prog log level: stderr" \
		"atlax-$prog: $T/bad.yaml:$line:10: log.level: \"loud\" is not a log level (error, warn, info, debug)" \
		"$(cat "$T/err")"

	# Empty, missing, not a regular file.
	: >"$T/empty.yaml"
	run "$bin" -t -c "$T/empty.yaml"
	expect_eq "$prog empty: status" 2 "$rc"
	expect_eq "$prog empty: stderr" \
		"atlax-$prog: $T/empty.yaml:1:1: empty configuration" "$(cat "$T/err")"
	run "$bin" -t -c "$T/none.yaml"
	expect_eq "$prog missing: status" 2 "$rc"
	expect_eq "$prog missing: stderr" \
		"atlax-$prog: $T/none.yaml: No such file or directory" "$(cat "$T/err")"
	run "$bin" -t -c "$T"
	expect_eq "$prog folder: status" 2 "$rc"
	expect_eq "$prog folder: stderr" "atlax-$prog: $T: not a regular file" \
		"$(cat "$T/err")"

	# Help, version, bad usage.
	run "$bin" -h
	expect_eq "$prog -h: status" 0 "$rc"
	grep -q "^usage: atlax-$prog " "$T/out" || fail "$prog -h: no usage line"
	run "$bin" --help
	expect_eq "$prog --help: status" 0 "$rc"
	run "$bin" --version
	expect_eq "$prog --version: status" 0 "$rc"
	grep -Eq "^atlax-$prog [0-9]+\.[0-9]+\.[0-9]+$" "$T/out" ||
		fail "$prog --version: got '$(cat "$T/out")'"
	run "$bin" --no-such-option
	expect_eq "$prog bad option: status" 2 "$rc"
	run "$bin" -t -c "$T/$prog.yaml" extra
	expect_eq "$prog extra argument: status" 2 "$rc"
done

# The brief's examples, whole files.
cat >"$T/relay.yaml" <<'YAML'
listen: "0.0.0.0:4443"
tls:
  cert: relay.crt
  key: relay.key
  ca: ca.crt
public:
  port_range: "20000-10000"
YAML
run "$BIN/atlax-relay" -t -c "$T/relay.yaml"
expect_eq "relay range: status" 2 "$rc"
expect_eq "relay range: stderr" \
	"atlax-relay: $T/relay.yaml:7:15: public.port_range: start 20000 is greater than end 10000" \
	"$(cat "$T/err")"

cat >"$T/agent.yaml" <<'YAML'
id: home-nas
relay: "relay.example.com:4443"
tls:
  cert: home-nas.crt
  key: home-nas.key
  ca: ca.crt
services:
  - name: smb
    target: "127.0.0.1:445"
  - name: smb
    target: "127.0.0.1:8080"
    remote_port: 10080
YAML
run "$BIN/atlax-agent" -t -c "$T/agent.yaml"
expect_eq "agent duplicate: status" 2 "$rc"
expect_eq "agent duplicate: stderr" \
	"atlax-agent: $T/agent.yaml:10:11: services[1].name: duplicate service name \"smb\" (also services[0])" \
	"$(cat "$T/err")"
sed -i 's/10080/70000/' "$T/agent.yaml"
sed -i '10s/smb/web/' "$T/agent.yaml"
run "$BIN/atlax-agent" -t -c "$T/agent.yaml"
expect_eq "agent remote_port: stderr" \
	"atlax-agent: $T/agent.yaml:12:18: services[1].remote_port: port 70000 out of range 0..65535" \
	"$(cat "$T/err")"
sed -i '12s/remote_port: 70000/idle_timeout: 10/' "$T/agent.yaml"
run "$BIN/atlax-agent" -t -c "$T/agent.yaml"
expect_eq "agent idle_timeout: status" 2 "$rc"
expect_eq "agent idle_timeout: stderr" \
	"atlax-agent: $T/agent.yaml:12:19: services[1].idle_timeout: \"10\" needs a unit (ms, s, m, h)" \
	"$(cat "$T/err")"

# The newer keys: checked across keys, and a file that sets only the older
# one still loads (the newer default gives way).
new_relay() {	# extra lines under limits:
	cat >"$T/relay.yaml" <<YAML
listen: "0.0.0.0:4443"
tls:
  cert: relay.example.com.crt
  key: relay.example.com.key
  ca: ca.crt
public:
  port_range: "10000-20000"
agents:
  locked:
    ports: []
  nas:
    ports: [10445]
    auto: ${AUTO:-2}
timeouts:
  stall: 0
  idle: 30m
limits:
  max_streams_per_agent: 100
  tunnel_buffer: 1MiB
YAML
	[ -n "${1:-}" ] && echo "  $1" >>"$T/relay.yaml"
	run "$BIN/atlax-relay" -t -c "$T/relay.yaml"
}
new_relay
expect_eq "relay new keys: status" 0 "$rc"
expect_eq "relay new keys: stdout" "configuration OK" "$(cat "$T/out")"
new_relay "stream_window_max: 256KiB"
expect_eq "relay stream_window_max: status" 2 "$rc"
expect_eq "relay stream_window_max: stderr" \
	"atlax-relay: $T/relay.yaml:20:22: limits.stream_window_max: 256KiB is smaller than limits.stream_window 512KiB" \
	"$(cat "$T/err")"
new_relay "streams_per_service: 200"
expect_eq "relay streams_per_service: stderr" \
	"atlax-relay: $T/relay.yaml:20:24: limits.streams_per_service: 200 is greater than limits.max_streams_per_agent 100" \
	"$(cat "$T/err")"
AUTO=-1 new_relay
expect_eq "relay auto: stderr" \
	"atlax-relay: $T/relay.yaml:13:11: agents.nas.auto: \"-1\" is not a number" \
	"$(cat "$T/err")"
echo "config_check: all passed"

# shellcheck shell=bash
# wan_lib.sh — an atlax tunnel whose agent ↔ relay connection crosses the
# link emulator (tests/bench/linkem.c), for tests/regress/wan.sh and
# tests/regress/wan_window.sh.  Sourced after tests/regress/lib.sh.
#
#   linkem_build                  compiles linkem into $T (zero warnings)
#   linkem_start NAME TO-PORT DELAY-MS RATE-MBIT
#                                 starts it on a free port, sets LINK_PORT
#   wan_tunnel DELAY-MS RATE-MBIT STREAM-WINDOW SERVICES
#                                 PKI, relay, linkem in front of the relay,
#                                 agent dialling linkem; SERVICES is the
#                                 services: YAML of the agent

LINKEM_QUEUE=${LINKEM_QUEUE:-1048576}	# bottleneck queue, bytes
LINKEM_WINDOW=${LINKEM_WINDOW:-6291456}	# Debian's tcp_rmem maximum
LINKEM_DURATION=${LINKEM_DURATION:-300}	# s: the emulator stops by itself

linkem_build() {
	cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow \
	    -Wpointer-arith -Wformat=2 -Wmissing-prototypes \
	    -o "$T/linkem" "$TOP/tests/bench/linkem.c" >"$T/linkem-cc.out" 2>&1 ||
	    fail "cannot build linkem: $(cat "$T/linkem-cc.out")"
}

linkem_start() {	# name to-port delay-ms rate-mbit
	local i
	start_bg "$1" "$T/linkem" --listen 127.0.0.1:0 --to "127.0.0.1:$2" \
	    --delay-ms "$3" --rate-mbit "$4" --queue-bytes "$LINKEM_QUEUE" \
	    --window-bytes "$LINKEM_WINDOW" --duration "$LINKEM_DURATION"
	LINK_PORT=""
	for ((i = 0; i < 50; i++)); do
		LINK_PORT=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' \
		    "$T/$1.log" 2>/dev/null)
		[ -n "$LINK_PORT" ] && return 0
		sleep 0.1
	done
	fail "$1 did not start"
}

wan_tunnel() {	# delay-ms rate-mbit stream-window services
	local lim
	lim=$(printf 'limits:\n  stream_window: %s\n%s' "$3" \
	    "${WAN_LIMITS_EXTRA:-}")
	tunnel_setup
	relay_conf "$T/relay.yaml" "$lim"
	start_relay relay "$T/relay.yaml"
	linkem_start link "$RELAY_PORT" "$1" "$2"
	# The agent dials the emulator, which forwards to the relay.
	local real=$RELAY_PORT
	RELAY_PORT=$LINK_PORT
	agent_conf "$T/agent.yaml" home home "$4" "$lim"
	RELAY_PORT=$real
	start_agent agent "$T/agent.yaml"
}

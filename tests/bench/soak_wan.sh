#!/bin/bash
# soak_wan.sh — `make soak-wan`: one bulk stream across the link emulator for
# ten minutes, with an interactive stream probed on the same tunnel every
# minute.  A measurement, not a test: it prints a table and asserts nothing
# but that the tunnel came up and the transfer ran.
#
# Why ten minutes: stream windows are sized against the tunnel's minimum
# RTT, and a minimum older than two minutes gives way to the lowest sample
# taken since.  Under a bulk transfer that never pauses every later sample
# carries some of the bulk stream's own queue, so the minimum can only rise,
# and windows sized on it with it.  If that crept, the bulk rate would hold
# while the round trip of the interactive stream beside it grew minute after
# minute; the short runs of `make bench WAN=1` cannot show it.
#
# Per minute: the bulk rate (iperf3's interval), the 1-byte round trip p50 /
# p99 of a second stream on the tunnel (10 s of loadgen rtt near the end of
# the minute), the relay's view of the tunnel RTT (/api/v1/status, PING
# based), the largest receive window of a stream on the relay and on the
# agent (the relay grows the bulk stream's when it runs service -> client,
# SOAK_REVERSE=1, the agent when it runs the other way; the other side stays
# at limits.stream_window), and the resident memory of relay, agent and
# emulator.  The first row is the idle tunnel before the bulk stream starts.
#
# Environment (all optional):
#   SOAK_S=600          bulk seconds (a multiple of 60)
#   SOAK_RTT_MS=50      round-trip time of the emulated link
#   SOAK_RATE=1000      link rate, Mbit/s
#   SOAK_WINDOW=512KiB  limits.stream_window on both sides
#   SOAK_REVERSE=1      bulk service -> client (default client -> service)
#   SOAK_OUT=FILE       also write the table there
d=$(dirname "$0")
# shellcheck source=tests/regress/lib.sh
. "$d/../regress/lib.sh"
# shellcheck source=tests/bench/wan_lib.sh
. "$d/wan_lib.sh"

SOAK_S=${SOAK_S:-600}
SOAK_RTT_MS=${SOAK_RTT_MS:-50}
SOAK_RATE=${SOAK_RATE:-1000}
SOAK_WINDOW=${SOAK_WINDOW:-512KiB}
PROBE_S=10
case $SOAK_S in
''|*[!0-9]*) fail "SOAK_S=$SOAK_S: not a number of seconds" ;;
esac
if [ "$SOAK_S" -lt 60 ] || [ $((SOAK_S % 60)) -ne 0 ]; then
	fail "SOAK_S=$SOAK_S: must be a multiple of 60"
fi
need cc iperf3 curl ss

linkem_build
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
    -o "$T/loadgen" "$TOP/tests/bench/loadgen.c" -lpthread ||
    fail "cannot build loadgen"

S_IPERF=$(free_port)
S_ECHO=$(free_port)
start_bg iperf3-service iperf3 -s -B 127.0.0.1 -p "$S_IPERF"
start_bg echo-service "$T/loadgen" serve -p "$S_ECHO"
wait_port "$S_IPERF" 5 || fail "iperf3 server did not start"
wait_port "$S_ECHO" 5 || fail "echo service did not start"

# The relay's admin endpoint gives its PING RTT of the tunnel; both give
# their streams' windows.
tunnel_setup
ADMIN=$(free_port)
ADMIN_A=$(free_port)
printf 'soak-admin-token\n' >"$T/admin.token"
chmod 600 "$T/admin.token"
lim=$(printf 'limits:\n  stream_window: %s' "$SOAK_WINDOW")
relay_conf "$T/relay.yaml" "$lim
admin:
  listen: \"127.0.0.1:$ADMIN\"
  token_file: $T/admin.token"
start_relay relay "$T/relay.yaml"
# linkem stops by itself, well after the soak.
export LINKEM_DURATION=$((SOAK_S + 300))
linkem_start link "$RELAY_PORT" "$(awk -v r="$SOAK_RTT_MS" \
    'BEGIN { print r / 2 }')" "$SOAK_RATE"
real=$RELAY_PORT
RELAY_PORT=$LINK_PORT
agent_conf "$T/agent.yaml" home home \
    "$(svc_yaml iperf "$S_IPERF"; svc_yaml echo "$S_ECHO")" "$lim
admin:
  listen: \"127.0.0.1:$ADMIN_A\""
RELAY_PORT=$real
start_agent agent "$T/agent.yaml"
P_IPERF=$(exposed_port agent iperf 15) || fail "iperf not exposed"
P_ECHO=$(exposed_port agent echo 15) || fail "echo not exposed"
echo "soak: tunnel through linkem at RTT $SOAK_RTT_MS ms, $SOAK_RATE Mbit/s," \
    "stream_window $SOAK_WINDOW; bulk for $SOAK_S s"

# The largest receive window of a stream in a status document, in KiB.
max_window() {
	"$PY" -c '
import json, sys
s = json.load(sys.stdin)
if "agents" in s:
	s = s["agents"][0] if s["agents"] else {}
w = [x["window"] for x in s.get("streams", [])]
print("%d" % (max(w) // 1024) if w else "-")'
}

# One row of probes: "p50_ms p99_ms tunnel_rtt_ms relay_window_kib
# agent_window_kib relay_kib agent_kib linkem_kib".
probe() {
	local r p50 p99 rs rtt
	r=$("$T/loadgen" rtt -p "$P_ECHO" -n 1000000 -t "$PROBE_S" 2>&1)
	p50=$(sed -nE 's/.*p50_us=([0-9.]+).*/\1/p' <<<"$r")
	p99=$(sed -nE 's/.*p99_us=([0-9.]+).*/\1/p' <<<"$r")
	[ -n "$p99" ] || fail "rtt probe failed: $r"
	rs=$(curl -sS -m 5 -H "Authorization: Bearer soak-admin-token" \
	    "http://127.0.0.1:$ADMIN/api/v1/status?streams=1")
	rtt=$("$PY" -c '
import json, sys
a = json.load(sys.stdin)["agents"]
r = a[0].get("rtt_seconds") if a else None
print("-" if r is None else "%.1f" % (r * 1e3))' <<<"$rs")
	awk -v a="$p50" -v b="$p99" \
	    'BEGIN { printf "%.1f %.1f", a / 1e3, b / 1e3 }'
	echo " $rtt $(max_window <<<"$rs")" \
	    "$(curl -sS -m 5 "http://127.0.0.1:$ADMIN_A/api/v1/status?streams=1" |
	    max_window)" \
	    "$(rss_kb "$(pid_of relay)") $(rss_kb "$(pid_of agent)")" \
	    "$(rss_kb "$(pid_of link)")"
}

: >"$T/rows"
echo "idle $(probe)" >>"$T/rows"
rev=()
[ -n "${SOAK_REVERSE:-}" ] && [ "$SOAK_REVERSE" != 0 ] && rev=(-R)
start_bg iperf3-client iperf3 -c 127.0.0.1 -p "$P_IPERF" -t "$SOAK_S" \
    -i 60 -J "${rev[@]}"
t0=$SECONDS
for ((m = 1; m <= SOAK_S / 60; m++)); do
	# The probe ends 5 s before the minute does: inside iperf3's interval.
	while [ $((SECONDS - t0)) -lt $((m * 60 - PROBE_S - 5)) ]; do
		sleep 1
	done
	kill -0 "$(pid_of iperf3-client)" 2>/dev/null ||
	    fail "iperf3 client ended early: $(tail -n 5 "$T/iperf3-client.log")"
	echo "$m $(probe)" >>"$T/rows"
	echo "soak: minute $m: $(tail -n 1 "$T/rows")"
done
wait_exit "$(pid_of iperf3-client)" 60 || fail "iperf3 client did not end"

"$PY" - "$T/iperf3-client.log" "$T/rows" "$SOAK_RTT_MS" "${SOAK_OUT:-}" <<'PY'
import json, sys
log, rows, rtt, out = sys.argv[1:5]
j = json.load(open(log))
if "error" in j:
	sys.exit("iperf3: " + j["error"])
rate = [iv["sum"]["bits_per_second"] / 1e6 for iv in j["intervals"]]
lines = ["| minute | bulk Mbit/s | probe p50 ms | probe p99 ms | tunnel RTT ms "
	 "| relay window KiB | agent window KiB | relay RSS KiB | agent RSS KiB "
	 "| linkem RSS KiB |",
	 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in open(rows):
	f = r.split()
	m = f[0]
	b = "-" if m == "idle" else "%.0f" % rate[int(m) - 1] \
	    if int(m) - 1 < len(rate) else "?"
	lines.append("| %s | %s | %s |" % (m, b, " | ".join(f[1:])))
total = j["end"]["sum_received"]["bits_per_second"] / 1e6
lines.append("")
lines.append("base RTT %s ms; bulk over the whole run: %.0f Mbit/s" %
	     (rtt, total))
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
if out:
	open(out, "w").write(text)
PY

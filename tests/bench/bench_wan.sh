# shellcheck shell=bash
# bench_wan.sh — `make bench WAN=1`: the paths across an emulated WAN link.
# Sourced by bench.sh (its process bookkeeping, set-up and measurements are
# used as they are); not run on its own.
#
#   make bench WAN=1            about 9 minutes; the tables go to
#                               docs/PERFORMANCE.md between the bench-wan markers
#   make bench WAN=1 QUICK=1    about 5 minutes; build/bench/wan-quick.md
#
# Every link is tests/bench/linkem.c: per direction a one-way delay of RTT/2,
# 1 Gbit/s, a 1 MiB bottleneck queue, and a 6 MiB window (Debian's default
# tcp_rmem maximum).  Only the connection that crosses the WAN in real life
# goes through it; clients and services stay on loopback:
#   plain   iperf3/loadgen client -> linkem -> service (one TCP connection
#           per client connection: the reference)
#   ssh     client -> sshd ==[linkem]== ssh -N -R -> service
#   atlax   client -> relay ==[linkem]== agent -> service
# Before the RTT steps, the emulator's own ceiling: iperf3 direct, through
# linkem with no delay and no rate limit, and with no delay at 1 Gbit/s, with
# the CPU share linkem used meanwhile.
#
# Environment (all optional, besides bench.sh's BENCH_INSTALL, BENCH_KEEP,
# BENCH_OUT, BENCH_REPS, QUICK):
#   BENCH_WAN_RTTS="20 50 100"  round-trip times in ms
#   BENCH_WAN_RATE=1000         link rate in Mbit/s
#   BENCH_PATHS="plain ssh atlax"
#   BENCH_WAN_CEILING=0         skip the emulator's ceiling (comparing builds)
#   BENCH_WAN_WINDOW=6291456    the emulated per-connection TCP window, bytes
#                               (a host with net.ipv4.tcp_rmem raised: larger)

WAN_QUEUE=1048576
WAN_WINDOW=${BENCH_WAN_WINDOW:-6291456}
case $WAN_WINDOW in
''|*[!0-9]*) echo "BENCH_WAN_WINDOW=$WAN_WINDOW: not a number of bytes" >&2
	exit 2 ;;
esac

# The link emulator in front of PORT for this RTT step; sets VIA.
via() {	# port
	local lp
	read -r lp <<<"$(free_ports 1)"
	start "linkem-$1" "$LINKEM" --listen "127.0.0.1:$lp" --to "127.0.0.1:$1" \
	    --delay-ms "$(awk -v r="$WAN_RTT" 'BEGIN { print r / 2 }')" \
	    --rate-mbit "$WAN_RATE" --queue-bytes "$WAN_QUEUE" \
	    --window-bytes "$WAN_WINDOW" --duration 1800
	wait_port "$lp" 5 || { note "linkem in front of $1 did not start"; return 1; }
	TPIDS[link]="${TPIDS[link]:-} $LAST"
	VIA=$lp
}

# plain: each service behind its own link.
setup_plain() {
	via "$S_ECHO" || return 1
	PORT[plain.echo]=$VIA
	if [ -n "$S_IPERF" ]; then
		via "$S_IPERF" || return 1
		PORT[plain.iperf]=$VIA
	fi
}

wan_build() {
	build_tools
	local cf="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow
	    -Wpointer-arith -Wformat=2 -Wmissing-prototypes"
	# shellcheck disable=SC2086
	cc $cf -o "$W/linkem" "$HERE/linkem.c" ||
	    { say "cannot build linkem"; exit 1; }
	LINKEM=$W/linkem
}

wan_services() {
	read -r S_IPERF S_ECHO <<<"$(free_ports 2)"
	S_HTTP=""
	S_HTTP_OK=""
	start echo-service "$LOADGEN" serve -p "$S_ECHO"
	wait_port "$S_ECHO" 5 || { say "echo service did not start"; exit 1; }
	if have iperf3; then
		start iperf3-service iperf3 -s -B 127.0.0.1 -p "$S_IPERF"
		wait_port "$S_IPERF" 5 || { note "iperf3 server did not start"; S_IPERF=""; }
	else
		note "iperf3 not installed: no throughput figures"
		S_IPERF=""
	fi
}

# iperf3 for IPERF_T seconds to PORT: "Mbit/s CPU%" of PID meanwhile.
ceiling_run() {	# port pid iperf3-args...
	local port=$1 pid=$2 c0="" c1="" res
	shift 2
	[ "$pid" = - ] || c0=$("$LOADGEN" cpu "$pid" 2>/dev/null)
	timeout -k 2 $((IPERF_T + 20)) iperf3 -c 127.0.0.1 -p "$port" -t "$IPERF_T" \
	    --connect-timeout 3000 -J "$@" >"$W/iperf.json" 2>>"$W/iperf-client.log" ||
	    return 0
	[ "$pid" = - ] || c1=$("$LOADGEN" cpu "$pid" 2>/dev/null)
	res=$(python3 - "$W/iperf.json" <<'PY' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
print("%.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))
PY
	) || return 0
	if [ -n "$c0" ] && [ -n "$c1" ]; then
		echo "$res $(awk -v a="$c0" -v b="$c1" -v t="$IPERF_T" \
		    'BEGIN { printf "%.0f", (b - a) / t * 100 }')"
	else
		echo "$res -"
	fi
	sleep 0.2
}

# The emulator's ceiling: what it forwards with nothing to emulate, and how
# close it gets to the link rate.  Lines "ceiling NAME MBIT CPU%" in RESULTS.
wan_ceiling() {
	local base=${#PIDS[@]} lp out spec
	[ -n "$S_IPERF" ] || return 0
	out=$(ceiling_run "$S_IPERF" -)
	[ -n "$out" ] && echo "ceiling direct1 $out" >>"$W/ceiling"
	out=$(ceiling_run "$S_IPERF" - -P 8)
	[ -n "$out" ] && echo "ceiling direct8 $out" >>"$W/ceiling"
	for spec in "free 0 0" "rate 0 $WAN_RATE"; do
		set -- $spec
		read -r lp <<<"$(free_ports 1)"
		start "linkem-ceiling-$1" "$LINKEM" --listen "127.0.0.1:$lp" \
		    --to "127.0.0.1:$S_IPERF" --delay-ms "$2" --rate-mbit "$3" \
		    --queue-bytes "$WAN_QUEUE" --window-bytes "$WAN_WINDOW" --duration 600
		wait_port "$lp" 5 || { note "linkem did not start"; continue; }
		out=$(ceiling_run "$lp" "$LAST")
		[ -n "$out" ] && echo "ceiling ${1}1 $out" >>"$W/ceiling"
		out=$(ceiling_run "$lp" "$LAST" -P 8)
		[ -n "$out" ] && echo "ceiling ${1}8 $out" >>"$W/ceiling"
		say "ceiling $1: $(grep " ${1}[18] " "$W/ceiling" | tr '\n' ' ')"
	done
	stop_pids "${PIDS[@]:$base}"
}

wan_step() {	# rtt
	local p base=${#PIDS[@]} ok=""
	WAN_RTT=$1
	RESULTS=$W/results-$1
	: >"$RESULTS"
	ATLAX_RUN=-$1
	TPIDS[link]=""
	for p in $WAN_PATHS; do
		case $p in
		plain) setup_plain ;;
		ssh) setup_ssh ssh ;;
		atlax) setup_atlax ;;
		*) note "unknown path $p"; false ;;
		esac
		if [ $? -eq 0 ] && path_ok "$p"; then
			ok="$ok $p"
		else
			note "RTT $1 ms: path $p unavailable; left out"
		fi
	done
	say "RTT $1 ms: paths$ok"
	for ((REP = 1; REP <= REPS; REP++)); do
		for p in $ok; do iperf_run "$p" up; done
		for p in $ok; do iperf_run "$p" down -R; done
		for p in $ok; do iperf_run "$p" p8 -P 8; done
		for p in $ok; do rtt_run "$p" rtt; done
		for p in $ok; do rtt_run "$p" lrtt loaded; done
	done
	stop_pids "${PIDS[@]:$base}"
}

wan_meta() {
	local commit dirty
	commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null | head -c1)
	[ -n "$dirty" ] && commit="$commit (with uncommitted changes)"
	{
		echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "mode=$MODE"
		echo "reps=$REPS"
		echo "nproc=$(nproc)"
		echo "cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)"
		echo "kernel=$(uname -r)"
		echo "commit=$commit"
		echo "load_start=$LOAD_START"
		echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
		echo "rtts=$WAN_RTTS"
		echo "rate=$WAN_RATE"
		echo "queue=$WAN_QUEUE"
		echo "window=$WAN_WINDOW"
		echo "iperf_t=$IPERF_T"
		echo "rtt_t=$RTT_T"
		echo "lrtt_t=$LRTT_T"
		echo "openssh=$(ssh -V 2>&1 | cut -d, -f1)"
		echo "elapsed=$SECONDS"
	} >"$W/meta"
}

wan_main() {
	local r
	if [ -n "$QUICK" ]; then
		MODE=wan-quick; IPERF_T=3; RTT_T=3; LRTT_T=3
	else
		MODE=wan; IPERF_T=8; RTT_T=6; LRTT_T=6
	fi
	REPS=${BENCH_REPS:-1}
	RTT_N=100000	# bounded by time: a round trip takes RTT_T / RTT
	WAN_RTTS=${BENCH_WAN_RTTS:-"20 50 100"}
	WAN_RATE=${BENCH_WAN_RATE:-1000}
	WAN_PATHS=${BENCH_PATHS:-"plain ssh atlax"}
	if [ -n "${BENCH_OUT:-}" ]; then
		OUT=$BENCH_OUT
	elif [ "$MODE" = wan ]; then
		OUT=$TOP/docs/PERFORMANCE.md
	else
		OUT=$BUILD/$MODE.md
	fi
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	say "mode $MODE, RTT $WAN_RTTS ms at $WAN_RATE Mbit/s, work dir $W"
	install_missing "iperf3 openssh-server openssh-client python3"
	have python3 || { say "python3 is required"; exit 1; }
	wan_build
	raise_fd_limit
	wan_services
	: >"$W/ceiling"
	[ "${BENCH_WAN_CEILING:-1}" = 0 ] || wan_ceiling
	for r in $WAN_RTTS; do
		wan_step "$r"
	done
	wan_meta
	mkdir -p "$(dirname "$OUT")"
	python3 "$HERE/wan_table.py" "$W/meta" "$W/ceiling" "$NOTES" "$OUT" \
	    "$W"/results-* || { say "table failed"; exit 1; }
	say "table written to $OUT (${SECONDS}s)"
}

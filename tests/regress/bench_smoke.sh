# bench_smoke.sh — `make bench` starts, measures and tears down.
#
# Runs tests/bench/bench.sh in its tiniest mode on the direct path only, with
# no package installation (iperf3, nginx and wrk are used only if already
# there), and checks that it printed and wrote a table and left no process
# behind.  Timings are never asserted: this machine's load decides them.
. "$(dirname "$0")/lib.sh"

tag="bench-smoke-$$-$RANDOM"
out=$T/perf.md
pidlog=$T/pids

BENCH_SMOKE=1 BENCH_INSTALL=0 BENCH_OUT=$out BENCH_PIDLOG=$pidlog \
    BENCH_TAG=$tag timeout -k 5 180 bash "$TOP/tests/bench/bench.sh" \
    >"$T/bench.log" 2>"$T/bench-err.log"
rc=$?
expect_eq "bench.sh exit status" 0 "$rc"

# The table, on stdout and in the output file between the markers.
for f in "$T/bench.log" "$out"; do
	grep -q '^| metric | unit | direct |$' "$f" ||
	    fail "$(basename "$f"): no table header for the direct path"
	grep -Eq '^\| 1-byte RTT p50, idle \| µs \| [0-9.]+ \|$' "$f" ||
	    fail "$(basename "$f"): no RTT row with a number"
	grep -Eq '^\| new connections/s, 8 client threads \| conn/s \| [0-9]+ \|$' "$f" ||
	    fail "$(basename "$f"): no connection-rate row with a number"
done
ok "table printed and written"
grep -q '^<!-- bench:begin -->$' "$out" && grep -q '^<!-- bench:end -->$' "$out" ||
    fail "perf.md: markers missing"
grep -Eq '^- machine: [0-9]+ × .*, Linux ' "$out" || fail "perf.md: machine line missing"
# The commit, or "unknown" when the tree is not a git checkout (a release
# tarball): the run must not depend on git.
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	want='^- commit: [0-9a-f]{7,}'
else
	want='^- commit: unknown'
fi
grep -Eq "$want" "$out" || fail "perf.md: commit line missing"
ok "date, machine and commit recorded"

# A second run replaces the section instead of appending another one.
BENCH_SMOKE=1 BENCH_INSTALL=0 BENCH_OUT=$out BENCH_PIDLOG=$pidlog \
    BENCH_TAG=$tag timeout -k 5 180 bash "$TOP/tests/bench/bench.sh" \
    >"$T/bench2.log" 2>"$T/bench2-err.log" || fail "second run failed"
expect_eq "sections after two runs" 1 "$(grep -c '^<!-- bench:begin -->$' "$out")"

# Nothing left behind: every process the runs stopped is gone (a zombie
# waiting for init to reap it no longer runs), none carries the run's tag,
# and the work folder is removed.
[ -s "$pidlog" ] || fail "bench.sh logged no process"
running() {	# pid starttime
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- "$2" $s
	[ "$2" != Z ] && [ "${21}" = "$1" ]
}
for i in $(seq 1 20); do
	left=""
	while read -r pid st; do
		running "$pid" "$st" && left="$left $pid"
	done <"$pidlog"
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] || fail "processes left behind:$left"
tagged=$(grep -lsxF "ATLAX_BENCH_RUN=$tag" --null-data /proc/[0-9]*/environ || true)
[ -z "$tagged" ] || fail "processes with the run's tag still exist: $tagged"
ok "$(wc -l <"$pidlog") processes stopped, none left"
for f in "$T/bench-err.log" "$T/bench2-err.log"; do
	wd=$(sed -n 's/.*work dir \(\/tmp\/atlax-bench\.[A-Za-z0-9]*\)$/\1/p' "$f")
	[ -n "$wd" ] || fail "$(basename "$f"): no work dir reported"
	[ ! -e "$wd" ] || fail "work dir $wd left behind"
done
ok "work dirs removed"

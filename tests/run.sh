#!/bin/sh
# Test runner for `make check` and `make asan`.
#
#   sh tests/run.sh [unit|fuzz|regress|NAME ...]
#
# Runs every unit suite (build/tests/check_*), a short run of each fuzz target
# and every end-to-end script in tests/regress/.  Each counts as one test; the
# last line is "N passed, M failed" and the exit status is 0 only when nothing
# failed.  A failed test's output is printed in full.
set -u

: "${ATLAX_BIN:?ATLAX_BIN must name the folder of the binaries}"
: "${ATLAX_UNITS:?ATLAX_UNITS must name the folder of the unit test binaries}"
: "${ATLAX_FUZZ:=}"
: "${FUZZ_CHECK_SECONDS:=20}"
export ATLAX_BIN ATLAX_UNITS

top=$(cd "$(dirname "$0")/.." && pwd)
logdir=$(mktemp -d /tmp/atlax-tests.XXXXXX)
passed=0
failed=0
failures=""

run_one() {	# name, command...
	name=$1; shift
	log="$logdir/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		printf 'PASS  %-40s %4ss\n' "$name" $(( $(date +%s) - start ))
	else
		rc=$?
		failed=$((failed + 1))
		failures="$failures $name"
		printf 'FAIL  %-40s %4ss (exit %s)\n' "$name" $(( $(date +%s) - start )) "$rc"
		sed 's/^/    | /' "$log" | tail -n 200
	fi
}

want() {	# kind name
	[ $# -ge 2 ] || return 1
	[ -z "$SEL" ] && return 0
	for w in $SEL; do
		case "$w" in "$1"|"$2") return 0 ;; esac
	done
	return 1
}

SEL="$*"

for t in "$ATLAX_UNITS"/check_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	want unit "$n" || continue
	run_one "unit/$n" env CK_DEFAULT_TIMEOUT=120 "$t"
done

for f in $ATLAX_FUZZ; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	want fuzz "$n" || continue
	corpus="$top/tests/fuzz/corpus/$n"
	work="$logdir/corpus-$n"
	mkdir -p "$work"
	run_one "fuzz/$n" "$f" -max_total_time="$FUZZ_CHECK_SECONDS" \
		-rss_limit_mb=512 -malloc_limit_mb=256 -print_final_stats=1 "$work" "$corpus"
done

for s in "$top"/tests/regress/*.sh; do
	[ -f "$s" ] || continue
	n=$(basename "$s" .sh)
	[ "$n" = lib ] && continue	# the harness, not a test
	want regress "$n" || continue
	run_one "regress/$n" timeout 600 bash "$s"
done

echo
[ -n "$failures" ] && echo "failed:$failures"
echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

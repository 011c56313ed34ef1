#!/bin/bash
# The tunnel across an emulated WAN link: the agent reaches the relay through
# tests/bench/linkem.c at an RTT of 40 ms (20 ms each way, 1 Gbit/s, 1 MiB
# bottleneck queue, 6 MiB window), with the stream window set to 1 MiB on
# both sides.  16 concurrent streams echo their own random data through it
# and one stream sends and receives a digest-checked transfer: every byte must
# come back intact both ways.  Throughput is printed, never asserted here
# (tests/regress/wan_window.sh holds the ratio to W/RTT).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/bench/wan_lib.sh"

need cc ss
linkem_build
start_svc echo echo
ECHO=$(helper_port echo)
start_svc digest digest --reply-bytes $((8 * 1024 * 1024))
DIGEST=$(helper_port digest)
wan_tunnel 20 1000 1MiB "$(svc_yaml echo "$ECHO"; svc_yaml digest "$DIGEST")"
pe=$(exposed_port agent echo 15) || fail "echo not exposed through the link"
pd=$(exposed_port agent digest 15) || fail "digest not exposed through the link"
ok "tunnel up through linkem (RTT 40 ms), echo at $pe, digest at $pd"

# The path really crosses the link: no round trip can beat the emulated RTT
# (a bound the emulator guarantees, not a timing of this machine).
"$PY" - "$pe" >"$T/rtt.out" 2>&1 <<'PY' || fail "round trips: $(cat "$T/rtt.out")"
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
ms = []
for i in range(11):
	t = time.monotonic()
	c.sendall(b"x")
	if c.recv(1) != b"x":
		sys.exit("echo lost")
	ms.append((time.monotonic() - t) * 1000)
print("min_ms %d" % min(ms[1:]))
PY
m=$(sed -n 's/^min_ms //p' "$T/rtt.out")
[ -n "$m" ] && [ "$m" -ge 40 ] || fail "1-byte round trip of $m ms, below the 40 ms RTT: not through the link"
ok "1-byte round trips take at least $m ms (RTT 40 ms)"

t0=$(now_ms)
client echo --port "$pe" --streams 16 --bytes $((1024 * 1024)) --timeout 30 \
    >"$T/c16.out" 2>&1 || fail "16 echo streams: $(cat "$T/c16.out")"
t=$(( $(now_ms) - t0 ))
ok "16 concurrent streams, 1 MiB each way each, bytes equal ($t ms): $(tail -n 1 "$T/c16.out")"

t0=$(now_ms)
client digest --port "$pd" --bytes $((8 * 1024 * 1024)) --reply-bytes $((8 * 1024 * 1024)) \
    --timeout 30 >"$T/cd.out" 2>&1 || fail "digest: $(cat "$T/cd.out")"
t=$(( $(now_ms) - t0 ))
ok "8 MiB up, 8 MiB down, digests equal ($t ms): $(cat "$T/cd.out")"

finish
# Everything went through the emulator: its counters, printed on SIGTERM,
# hold at least the 16 + 8 MiB each way.
stop_bg link
ln=$(grep '^linkem: ' "$T/link.log")
fwd=$(sed -n 's/.*bytes_fwd=\([0-9]*\).*/\1/p' <<<"$ln")
back=$(sed -n 's/.*bytes_back=\([0-9]*\).*/\1/p' <<<"$ln")
[ "${fwd:-0}" -ge $((24 * 1024 * 1024)) ] && [ "${back:-0}" -ge $((24 * 1024 * 1024)) ] ||
    fail "linkem carried less than the test sent: $ln"
ok "linkem carried it all: $ln"

#!/usr/bin/env python3
"""Hostile public clients and hostile tunnel peers for the regress tests.

    hostile.py SUBCOMMAND [options]

Written from docs/PROTOCOL.md alone, stdlib only, 127.0.0.1 only.  Every load
is bounded in count and time and stops by itself.  Each subcommand prints one
summary line last, "NAME key=value ...", which the scripts parse; exit status
0 unless the tool itself could not run (an attack the relay survives is not
an error of the tool).

Public side (plain TCP to a relay public port):
  churn     --port P --count N [--rate R]: N connections that connect and
            reset at once (SO_LINGER 0) without sending; R per second, 0 =
            as fast as possible.
  uploads   --port P --count N --bytes B --hold S: N connections each sending
            up to B bytes into a service that does not read, for S seconds,
            then all reset.  Prints "connected K" once all are up and
            "accepted BYTES" every half second (bytes the kernel took).
  slowloris --port P --count N --seconds S: N connections that send 1 byte
            per second each.
  halfclose --port P --count N [--seconds S]: connect, send a little, shut
            down the write side, never read, hold S seconds.
  plaintext --port P: a scanner's plain bytes to the relay's agent port.

Tunnel side (TLS 1.3 with a client certificate, the frame format of
docs/PROTOCOL.md):
  peer --relay HOST:PORT [--cert C --key K] --ca CA --id ID --attack NAME
            [--hello-flags F] [--token-file T]
            completes HELLO, then one attack, then reports what the relay
            answered: "peer attack=NAME hello=ok result=goaway code=NAME(N)
            text=... ms=T" (or result=closed / result=open when no GOAWAY).
            Without --cert no client certificate is shown; --hello-flags
            sets HELLO's flags (1: a token follows) and --token-file sends
            the file's token in an AUTH right after the HELLO.
            Attacks: truncated, oversize, window, window0, flood, badtype,
            churn, garbage, nohello, idle (nothing: the relay's verdict on
            the HELLO and AUTH alone).
"""
import argparse
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

HOST = "127.0.0.1"

# docs/PROTOCOL.md section 2 and 7.
T_HELLO, T_REGISTER, T_REGISTER_OK, T_REGISTER_ERR, T_UNREGISTER = 1, 2, 3, 4, 5
T_OPEN, T_ACCEPT, T_REFUSE, T_FIN, T_RESET, T_WINDOW = \
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15
T_PING, T_PONG, T_GOAWAY = 0x20, 0x21, 0x30
T_AUTH = 0x06
MAGIC = 0x41544C58
CODES = ["NONE", "PROTOCOL", "INTERNAL", "FLOW", "FRAME_SIZE", "VERSION",
    "FLOOD", "LIMIT", "CANCEL", "REFUSED", "UNREACHABLE", "UNKNOWN_SERVICE",
    "PORT_IN_USE", "PORT_RANGE", "PORT_DENIED", "NO_PORTS", "AUTH",
    "SHUTDOWN", "REPLACED", "TIMEOUT", "TUNNEL_LOST", "DUPLICATE"]
CTL_MAX = 3 + 8192	# an AUTH with the longest token


def code_name(c):
	return "%s(%d)" % (CODES[c] if c < len(CODES) else "UNKNOWN", c)


def say(msg):
	print(msg, flush=True)


def rst_close(s):
	"""Close with a TCP reset, the way a crashed or hostile client leaves."""
	try:
		s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
		    struct.pack("ii", 1, 0))
	except OSError:
		pass
	s.close()


def ms_since(t0):
	return int((time.monotonic() - t0) * 1000)


# ---------------------------------------------------------------- public side

def cmd_churn(a):
	t0 = time.monotonic()
	conn = failed = 0
	for i in range(a.count):
		if a.rate > 0:
			due = t0 + i / a.rate
			d = due - time.monotonic()
			if d > 0:
				time.sleep(d)
		s = socket.socket()
		s.settimeout(5)
		try:
			s.connect((HOST, a.port))
			conn += 1
		except OSError:
			failed += 1
		rst_close(s)
		if time.monotonic() - t0 > a.max_seconds:
			break
	say("churn count=%d connected=%d failed=%d ms=%d" %
	    (a.count, conn, failed, ms_since(t0)))
	return 0


def open_many(port, n, rcvbuf=0):
	socks, failed = [], 0
	for _ in range(n):
		s = socket.socket()
		if rcvbuf:
			s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
		s.settimeout(5)
		try:
			s.connect((HOST, port))
			socks.append(s)
		except OSError:
			failed += 1
			s.close()
	return socks, failed


def cmd_uploads(a):
	t0 = time.monotonic()
	socks, failed = open_many(a.port, a.count)
	say("connected %d" % len(socks))
	left = {s: a.bytes for s in socks}
	for s in socks:
		s.setblocking(False)
	block = bytes(64 * 1024)
	total, dead, last = 0, 0, 0.0
	end = time.monotonic() + a.hold
	while time.monotonic() < end:
		busy = [s for s in socks if left.get(s, 0) > 0]
		if busy:
			_, w, _ = select.select([], busy[:1000], [], 0.1)
		else:
			w = []
			time.sleep(0.1)
		for s in w:
			try:
				n = s.send(block[:min(len(block), left[s])])
				left[s] -= n
				total += n
			except BlockingIOError:
				pass
			except OSError:
				left[s] = 0
				dead += 1
		if time.monotonic() - last >= 0.5:
			last = time.monotonic()
			say("accepted %d" % total)
	for s in socks:
		rst_close(s)
	say("uploads count=%d connected=%d failed=%d accepted=%d "
	    "closed_by_peer=%d ms=%d" % (a.count, len(socks), failed, total,
	    dead, ms_since(t0)))
	return 0


def cmd_slowloris(a):
	t0 = time.monotonic()
	socks, failed = open_many(a.port, a.count)
	say("connected %d" % len(socks))
	alive = list(socks)
	sent = 0
	end = time.monotonic() + a.seconds
	while alive and time.monotonic() < end:
		for s in list(alive):
			try:
				s.send(b"x")
				sent += 1
			except OSError:
				alive.remove(s)
				s.close()
		time.sleep(min(1.0, max(0.0, end - time.monotonic())))
	for s in alive:
		s.close()
	say("slowloris count=%d connected=%d failed=%d alive_at_end=%d "
	    "bytes=%d ms=%d" % (a.count, len(socks), failed, len(alive), sent,
	    ms_since(t0)))
	return 0


def cmd_halfclose(a):
	t0 = time.monotonic()
	socks, failed = open_many(a.port, a.count, rcvbuf=4096)
	half = 0
	for s in socks:
		try:
			s.sendall(b"half-closed hello\n")
			s.shutdown(socket.SHUT_WR)
			half += 1
		except OSError:
			pass
	say("connected %d" % len(socks))
	time.sleep(a.seconds)
	for s in socks:
		s.close()
	say("halfclose count=%d connected=%d failed=%d shut=%d ms=%d" %
	    (a.count, len(socks), failed, half, ms_since(t0)))
	return 0


def cmd_plaintext(a):
	t0 = time.monotonic()
	s = socket.create_connection((HOST, a.port), timeout=a.wait)
	msg = b"GET / HTTP/1.1\r\nHost: scanner\r\n\r\n" + bytes(range(256)) * 4
	sent = 0
	how = "timeout"
	got = b""
	try:
		s.sendall(msg)
		sent = len(msg)
		while True:
			b = s.recv(65536)
			if not b:
				how = "eof"
				break
			got += b
	except socket.timeout:
		how = "timeout"
	except ConnectionResetError:
		how = "reset"
	except OSError as e:
		how = "error:%s" % e.errno
	s.close()
	# A TLS alert record starts with content type 21 (0x15).
	say("plaintext sent=%d got=%d first=%s result=%s ms=%d" % (sent,
	    len(got), got[:1].hex() or "-", how, ms_since(t0)))
	return 0


# ---------------------------------------------------------------- tunnel side

def frame(sid, payload):
	return struct.pack(">II", sid, len(payload)) + payload


def ctl(payload):
	return frame(0, payload)


def str8(b):
	return struct.pack(">B", len(b)) + b


def str16(b):
	return struct.pack(">H", len(b)) + b


def msg_hello(ident, sw, tw, mf, ms, flags=0):
	return ctl(struct.pack(">BIHHIIII", T_HELLO, MAGIC, 1, flags, sw, tw,
	    mf, ms) + str8(ident.encode()))


def msg_auth(token):
	return ctl(bytes([T_AUTH]) + str16(token))


class Peer:
	"""One TLS tunnel to the relay, read in one thread (no concurrent use
	of the SSL object), frames parsed as they arrive."""

	def __init__(self, a):
		self.a = a
		ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
		ctx.minimum_version = ssl.TLSVersion.TLSv1_3
		if a.cert:
			ctx.load_cert_chain(a.cert, a.key)
		ctx.load_verify_locations(a.ca)
		host, port = a.relay.rsplit(":", 1)
		raw = socket.create_connection((host, int(port)), timeout=a.wait)
		self.s = ctx.wrap_socket(raw, server_hostname=a.server_name)
		self.inbuf = b""
		self.closed = None	# how the relay ended the connection
		self.goaway = None	# (code, text)
		self.hello = None
		self.frames = []	# (sid, payload) not yet consumed
		self.stats = {}
		self.refused = {}	# STREAM_REFUSE code -> count

	def send(self, b):
		"""Send; a relay that already hung up is recorded, not raised."""
		try:
			self.s.sendall(b)
			return True
		except (OSError, ssl.SSLError) as e:
			if self.closed is None:
				self.closed = "send-" + type(e).__name__
			return False

	def _recv(self, timeout):
		self.s.settimeout(timeout)
		try:
			b = self.s.recv(65536)
		except socket.timeout:
			return None
		except ssl.SSLZeroReturnError:
			b = b""
		except (OSError, ssl.SSLError) as e:
			self.closed = self.closed or "recv-" + type(e).__name__
			return b""
		if not b and self.closed is None:
			self.closed = "eof"
		return b

	def pump(self, timeout):
		"""Reads what arrives within timeout (or until the end), parses
		whole frames.  Returns False once the connection has ended."""
		if self.closed and not self.closed.startswith("send-"):
			return False
		b = self._recv(timeout)
		if b is None:
			return True
		if not b:
			return False
		self.inbuf += b
		while len(self.inbuf) >= 8:
			sid, n = struct.unpack(">II", self.inbuf[:8])
			if len(self.inbuf) < 8 + n:
				break
			p = self.inbuf[8:8 + n]
			self.inbuf = self.inbuf[8 + n:]
			self._seen(sid, p)
		return True

	def _seen(self, sid, p):
		if sid != 0:
			self.stats["data"] = self.stats.get("data", 0) + len(p)
			return
		t = p[0] if p else -1
		self.stats[t] = self.stats.get(t, 0) + 1
		if t == T_HELLO and self.hello is None and len(p) >= 26:
			(_, magic, ver, _, sw, tw, mf, ms) = struct.unpack(
			    ">BIHHIIII", p[:25])
			self.hello = {"stream_window": sw, "tunnel_window": tw,
			    "max_frame": mf, "max_streams": ms, "version": ver}
		elif t == T_GOAWAY and len(p) >= 11 and self.goaway is None:
			_, last, code, n = struct.unpack(">BIIH", p[:11])
			self.goaway = (code, p[11:11 + n].decode("utf-8",
			    "replace"))
		elif t == T_REFUSE and len(p) >= 11:
			c = code_name(struct.unpack(">I", p[5:9])[0])
			self.refused[c] = self.refused.get(c, 0) + 1
		elif t == T_PING and len(p) == 9 and self.a.answer_pings:
			self.send(ctl(bytes([T_PONG]) + p[1:]))
		self.frames.append((sid, p))

	def wait_for(self, pred, secs):
		"""Pumps until pred(sid, payload) matches a frame (returned and
		removed) or secs pass or the connection ends."""
		end = time.monotonic() + secs
		while True:
			for i, (sid, p) in enumerate(self.frames):
				if pred(sid, p):
					del self.frames[i]
					return sid, p
			left = end - time.monotonic()
			if left <= 0 or self.goaway:
				return None
			if not self.pump(min(left, 0.5)):
				return None

	def wait_end(self, secs):
		"""Until the relay ends the connection (EOF/reset) or secs pass."""
		end = time.monotonic() + secs
		while time.monotonic() < end:
			if not self.pump(min(0.5, end - time.monotonic())):
				return True
		return False

	def drain(self):
		"""Non-blocking read of whatever is waiting (keeps the relay's
		output moving while we write)."""
		while True:
			if not self.s.pending():
				r, _, _ = select.select([self.s], [], [], 0)
				if not r:
					return True
			if not self.pump(0.05):
				return False


def is_type(t):
	return lambda sid, p: sid == 0 and p[:1] == bytes([t])


def open_stream(pr, a):
	"""Registers a service, connects to its public port as a public client
	and accepts the stream the relay opens: the hostile side then owns a
	stream in state OPEN.  Returns (stream id, public socket)."""
	pr.send(ctl(struct.pack(">BIH", T_REGISTER, 0, 0) + str8(b"hostile")))
	f = pr.wait_for(lambda sid, p: sid == 0 and p[:1] in
	    (bytes([T_REGISTER_OK]), bytes([T_REGISTER_ERR])), a.wait)
	if f is None or f[1][0] != T_REGISTER_OK:
		raise RuntimeError("REGISTER not accepted: %r" % (f,))
	port = struct.unpack(">H", f[1][1:3])[0]
	pub = socket.socket()
	# Small buffers: the relay cannot park much in the kernel for us.
	pub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
	pub.settimeout(5)
	pub.connect((HOST, port))
	f = pr.wait_for(is_type(T_OPEN), a.wait)
	if f is None:
		raise RuntimeError("no STREAM_OPEN for the public client")
	sid = struct.unpack(">I", f[1][1:5])[0]
	pr.send(ctl(struct.pack(">BI", T_ACCEPT, sid)))
	pr.drain()
	return sid, pub


def attack_truncated(pr, a):
	# A control header promising 1000 bytes (legal, <= 1024), 5 of them
	# sent, then silence: only liveness can end this.
	pr.send(struct.pack(">II", 0, 1000) + bytes([T_PING, 0, 0, 0, 0]))
	return "promised=1000 sent=5"


def attack_oversize(pr, a):
	sid, pub = open_stream(pr, a)
	mf = pr.hello["max_frame"]
	# The header alone must be refused: no payload follows it.
	pr.send(struct.pack(">II", sid, mf + 1))
	pr.stats["pub"] = pub
	return "stream=%d length=%d max_frame=%d" % (sid, mf + 1, mf)


def attack_window(pr, a):
	sid, pub = open_stream(pr, a)
	sw, mf = pr.hello["stream_window"], pr.hello["max_frame"]
	want = sw + 1
	sent = 0
	buf = b""
	# One frame when it fits, so no credit the relay returns meanwhile
	# can make the excess legal.
	while sent < want:
		n = min(mf, want - sent)
		buf += frame(sid, bytes(n))
		sent += n
	pr.send(buf)
	pr.stats["pub"] = pub
	return "stream=%d bytes=%d stream_window=%d frames=%d" % (sid, sent,
	    sw, (want + mf - 1) // mf)


def attack_flood(pr, a):
	# Frames that cost work and move no data: unsolicited PONGs, PINGs
	# sent faster than their PONGs can leave, tunnel WINDOW_UPDATEs of 1.
	n = a.count
	kinds = [ctl(struct.pack(">BQ", T_PONG, 7)),
	    ctl(struct.pack(">BQ", T_PING, 9)),
	    ctl(struct.pack(">BII", T_WINDOW, 0, 1))]
	sent = 0
	for i in range(0, n, 300):
		k = min(300, n - i)
		if not pr.send(b"".join(kinds[(i + j) % 3] for j in range(k))):
			break
		sent += k
		if not pr.drain():
			break
	return "frames=%d" % sent


def attack_window0(pr, a):
	pr.send(ctl(struct.pack(">BII", T_WINDOW, 0, 0)))
	return "increment=0"


def attack_badtype(pr, a):
	pr.send(ctl(bytes([0x7e]) + b"unknown type"))
	return "type=0x7e"


def attack_churn(pr, a):
	# Agent-opened streams (even IDs, allowed "either" way), each reset
	# at once before any data: the Rapid Reset pattern.
	sid = 2
	done = 0
	for i in range(0, a.count, 100):
		buf = b""
		for _ in range(min(100, a.count - i)):
			buf += ctl(struct.pack(">BIB16sH", T_OPEN, sid, 4,
			    bytes([127, 0, 0, 1]) + bytes(12), 9) +
			    str8(b"churn"))
			buf += ctl(struct.pack(">BII", T_RESET, sid, 8))
			sid += 2
			done += 1
		if not pr.send(buf) or not pr.drain():
			break
	pr.wait_for(lambda sid, p: False, 1.0)	# the last answers
	return "opened_reset=%d relay_max_streams=%d refused=%s" % (done,
	    pr.hello["max_streams"], ",".join("%s:%d" % kv for kv in
	    sorted(pr.refused.items())) or "none")


def attack_garbage(pr, a):
	rnd = random.Random(a.seed)
	g = rnd.randbytes(4096)
	pr.send(g)
	sid, n = struct.unpack(">II", g[:8])
	return "bytes=4096 seed=%d first_header=sid:%d,len:%d" % (a.seed, sid, n)


def attack_nohello(pr, a):
	return "silent"


def attack_idle(pr, a):
	return "idle"


ATTACKS = {"truncated": attack_truncated, "oversize": attack_oversize,
    "window": attack_window, "flood": attack_flood, "badtype": attack_badtype,
    "churn": attack_churn, "window0": attack_window0, "garbage": attack_garbage,
    "nohello": attack_nohello, "idle": attack_idle}


def cmd_peer(a):
	t0 = time.monotonic()
	try:
		pr = Peer(a)
	except (OSError, ssl.SSLError) as e:
		say("peer attack=%s hello=no result=tls-failed error=%s" %
		    (a.attack, str(e).replace(" ", "_")))
		return 1
	if a.attack != "nohello":
		pr.send(msg_hello(a.id, 256 * 1024, 1 << 20, 128 * 1024, 64,
		    a.hello_flags))
	if a.token_file:
		with open(a.token_file, "rb") as f:
			pr.send(msg_auth(f.read().strip()))
	pr.wait_for(is_type(T_HELLO), a.wait)
	if pr.hello is None and a.attack != "nohello":
		say("peer attack=%s hello=no result=%s" % (a.attack,
		    pr.closed or "open"))
		return 1
	info = ""
	try:
		info = ATTACKS[a.attack](pr, a)
	except RuntimeError as e:
		say("peer attack=%s hello=ok result=setup-failed error=%s" %
		    (a.attack, str(e).replace(" ", "_")))
		return 1
	t1 = time.monotonic()
	pr.a.answer_pings = False	# from now on the peer is silent
	ended = pr.wait_end(a.wait)
	res = "goaway" if pr.goaway else ("closed" if ended else "open")
	code = code_name(pr.goaway[0]) if pr.goaway else "-"
	text = pr.goaway[1].replace(" ", "_") if pr.goaway else "-"
	say("peer attack=%s hello=%s %s result=%s code=%s text=%s end=%s "
	    "ms=%d total_ms=%d" % (a.attack, "ok" if pr.hello else "no", info,
	    res, code, text, pr.closed or "-", ms_since(t1), ms_since(t0)))
	return 0


def main():
	p = argparse.ArgumentParser()
	sub = p.add_subparsers(dest="cmd", required=True)

	def public(name, fn, **extra):
		q = sub.add_parser(name)
		q.add_argument("--port", type=int, required=True)
		q.add_argument("--count", type=int, default=1)
		for k, v in extra.items():
			q.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
		q.set_defaults(fn=fn)
	public("churn", cmd_churn, rate=0.0, max_seconds=30.0)
	public("uploads", cmd_uploads, bytes=1 << 20, hold=5.0)
	public("slowloris", cmd_slowloris, seconds=5.0)
	public("halfclose", cmd_halfclose, seconds=5.0)
	public("plaintext", cmd_plaintext, wait=10.0)
	q = sub.add_parser("peer")
	q.add_argument("--relay", required=True)
	q.add_argument("--cert", default="")
	q.add_argument("--key", default="")
	q.add_argument("--hello-flags", type=int, default=0)
	q.add_argument("--token-file", default="")
	q.add_argument("--ca", required=True)
	q.add_argument("--id", required=True)
	q.add_argument("--attack", required=True, choices=sorted(ATTACKS))
	q.add_argument("--server-name", default="relay.test")
	q.add_argument("--count", type=int, default=3000)
	q.add_argument("--seed", type=int, default=1)
	q.add_argument("--wait", type=float, default=10.0)
	q.set_defaults(fn=cmd_peer, answer_pings=True)
	a = p.parse_args()
	if getattr(a, "count", 1) > 10000:
		p.error("--count above 10000: loads here stay bounded")
	return a.fn(a)


if __name__ == "__main__":
	sys.exit(main())

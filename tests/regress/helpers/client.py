#!/usr/bin/env python3
"""Public-side clients for the regress tests (connect to 127.0.0.1:PORT).

    client.py MODE --port N [options]

Exit status 0 when what came back is exactly what was expected, 1 otherwise
with one line saying what differs; every socket has a timeout (--timeout).

Modes:
  echo      --streams K --bytes N: K concurrent connections to an echo
            service, each sends N bytes of its own random data (then
            half-closes) while reading the echo back; every digest must match.
  paced     --bytes N --seconds S: one echo stream spread over S seconds;
            prints "progress N" lines while it runs.
  digest    --bytes N --reply-bytes M: sends N bytes, shuts down its write
            side, then must read "N SHA256\\n" and M pattern(7) bytes, then EOF.
  greet     --reply-bytes M --bytes N: reads M pattern(9) bytes up to EOF
            first, then sends N bytes and half-closes; prints the digest sent
            so the caller can compare it with the service's log.
  hold      sends "ping\\n" to an echo service, reads it back, prints "held",
            then blocks reading until the connection ends and prints how:
            "closed eof" or "closed reset".
  idle      connects, prints "connected", never reads, sleeps --seconds.
  flood     sends up to --bytes for at most --seconds to a service that does
            not read; prints "sent N" every half second and at the end.
"""
import argparse
import hashlib
import random
import socket
import sys
import threading
import time

CHUNK = 256 * 1024


def pattern(seed, n):
	return random.Random(seed).randbytes(n)


def connect(args):
	c = socket.create_connection(("127.0.0.1", args.port),
	    timeout=args.timeout)
	return c


def read_exact(c, n):
	buf = bytearray()
	while len(buf) < n:
		b = c.recv(min(CHUNK, n - len(buf)))
		if not b:
			break
		buf += b
	return bytes(buf)


def read_to_eof(c):
	h = hashlib.sha256()
	n = 0
	while True:
		b = c.recv(CHUNK)
		if not b:
			return n, h.hexdigest()
		h.update(b)
		n += len(b)


def one_echo(i, args, results):
	try:
		data = pattern(1000 + i, args.bytes)
		want = hashlib.sha256(data).hexdigest()
		c = connect(args)

		def sender():
			mv = memoryview(data)
			for off in range(0, len(data), CHUNK):
				c.sendall(mv[off:off + CHUNK])
			c.shutdown(socket.SHUT_WR)
		t = threading.Thread(target=sender, daemon=True)
		t.start()
		n, got = read_to_eof(c)
		t.join(args.timeout)
		c.close()
		if n != args.bytes or got != want:
			results[i] = "stream %d: got %d bytes %s, want %d %s" % (
			    i, n, got[:16], args.bytes, want[:16])
		else:
			results[i] = None
	except OSError as e:
		results[i] = "stream %d: %s" % (i, e)


def mode_echo(args):
	results = ["not finished"] * args.streams
	ts = [threading.Thread(target=one_echo, args=(i, args, results),
	    daemon=True) for i in range(args.streams)]
	t0 = time.monotonic()
	for t in ts:
		t.start()
	for t in ts:
		t.join(args.timeout * 4)
	dt = time.monotonic() - t0
	bad = [r for r in results if r]
	for r in bad[:10]:
		print(r)
	print("%d/%d streams ok, %d MB each way in %.1f s" % (
	    args.streams - len(bad), args.streams,
	    args.streams * args.bytes >> 20, dt))
	return 1 if bad else 0


def mode_paced(args):
	data = pattern(77, args.bytes)
	want = hashlib.sha256(data).hexdigest()
	c = connect(args)
	steps = 50
	step = (len(data) + steps - 1) // steps
	res = {}

	def reader():
		try:
			res["r"] = read_to_eof(c)
		except OSError as e:
			res["e"] = str(e)
	t = threading.Thread(target=reader, daemon=True)
	t.start()
	for k in range(steps):
		c.sendall(data[k * step:(k + 1) * step])
		print("progress %d" % min(len(data), (k + 1) * step), flush=True)
		time.sleep(args.seconds / steps)
	c.shutdown(socket.SHUT_WR)
	t.join(args.timeout)
	if "e" in res or "r" not in res:
		print("paced: reader failed: %s" % res.get("e", "timeout"))
		return 1
	n, got = res["r"]
	if n != len(data) or got != want:
		print("paced: got %d bytes %s, want %d %s" % (n, got, len(data),
		    want))
		return 1
	print("paced ok %d" % n)
	return 0


def mode_digest(args):
	data = pattern(5, args.bytes)
	c = connect(args)
	c.sendall(data)
	c.shutdown(socket.SHUT_WR)
	head = b""
	while not head.endswith(b"\n") and len(head) < 200:
		b = c.recv(1)
		if not b:
			break
		head += b
	want = ("%d %s\n" % (len(data), hashlib.sha256(data).hexdigest()))
	if head.decode(errors="replace") != want:
		print("digest: service saw %r, sent %r" % (head, want))
		return 1
	n, got = read_to_eof(c)
	rwant = hashlib.sha256(pattern(7, args.reply_bytes)).hexdigest()
	if n != args.reply_bytes or got != rwant:
		print("digest: reply %d bytes %s, want %d %s" % (n, got,
		    args.reply_bytes, rwant))
		return 1
	print("digest ok: sent %d, received %d after half-close" % (
	    len(data), n))
	return 0


def mode_greet(args):
	c = connect(args)
	n, got = read_to_eof(c)
	rwant = hashlib.sha256(pattern(9, args.reply_bytes)).hexdigest()
	if n != args.reply_bytes or got != rwant:
		print("greet: received %d bytes %s, want %d %s" % (n, got,
		    args.reply_bytes, rwant))
		return 1
	data = pattern(11, args.bytes)
	c.sendall(data)
	c.shutdown(socket.SHUT_WR)
	# The service closes after reading our EOF.
	rest = c.recv(1)
	if rest:
		print("greet: unexpected data after EOF")
		return 1
	print("sent %d %s" % (len(data), hashlib.sha256(data).hexdigest()))
	return 0


def mode_hold(args):
	c = connect(args)
	c.sendall(b"ping\n")
	if read_exact(c, 5) != b"ping\n":
		print("hold: no echo")
		return 1
	print("held", flush=True)
	c.settimeout(None)
	try:
		b = c.recv(1)
		print("closed eof" if not b else "closed data %r" % b, flush=True)
	except ConnectionResetError:
		print("closed reset", flush=True)
	return 0


def mode_idle(args):
	c = connect(args)
	c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
	print("connected", flush=True)
	time.sleep(args.seconds)
	c.close()
	return 0


def mode_flood(args):
	c = connect(args)
	c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
	c.settimeout(0.5)
	block = pattern(4, CHUNK)
	sent = 0
	end = time.monotonic() + args.seconds
	last = 0
	while sent < args.bytes and time.monotonic() < end:
		try:
			sent += c.send(block[:min(CHUNK, args.bytes - sent)])
		except socket.timeout:
			pass
		if time.monotonic() - last >= 0.5:
			print("sent %d" % sent, flush=True)
			last = time.monotonic()
	print("sent %d" % sent, flush=True)
	c.close()
	return 0


MODES = {"echo": mode_echo, "paced": mode_paced, "digest": mode_digest,
    "greet": mode_greet, "hold": mode_hold, "idle": mode_idle,
    "flood": mode_flood}


def main():
	p = argparse.ArgumentParser()
	p.add_argument("mode", choices=sorted(MODES))
	p.add_argument("--port", type=int, required=True)
	p.add_argument("--streams", type=int, default=1)
	p.add_argument("--bytes", type=int, default=1 << 20)
	p.add_argument("--reply-bytes", type=int, default=1 << 20)
	p.add_argument("--seconds", type=float, default=5)
	p.add_argument("--timeout", type=float, default=60)
	args = p.parse_args()
	try:
		return MODES[args.mode](args)
	except OSError as e:
		print("%s: %s" % (args.mode, e))
		return 1


if __name__ == "__main__":
	sys.exit(main())

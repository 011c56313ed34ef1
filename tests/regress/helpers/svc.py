#!/usr/bin/env python3
"""Private services for the regress tests, on 127.0.0.1.

    svc.py MODE [--port N] [options]

Prints "listening on 127.0.0.1:PORT" once bound (port 0 = any free port),
then serves each connection in its own thread until killed.

Modes:
  echo      writes back every byte it reads; on EOF it shuts down its write
            side (so a client's half-close comes back as FIN).
  digest    reads until EOF, then replies "LEN SHA256HEX\\n" followed by
            --reply-bytes bytes of pattern(seed 7), then closes.
  greet     sends --reply-bytes bytes of pattern(seed 9), shuts down its write
            side, then reads until EOF and prints "got LEN SHA256HEX".
  flood     sends --bytes bytes (pattern) as fast as the peer takes them and
            prints "sent N" every half second, "flood done N" at the end.
  idle      accepts and never reads (a local service that stopped reading).
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


def log(msg):
	print(msg, flush=True)


def read_all(c):
	h = hashlib.sha256()
	n = 0
	while True:
		b = c.recv(CHUNK)
		if not b:
			return n, h.hexdigest()
		h.update(b)
		n += len(b)


def mode_echo(c, args):
	while True:
		b = c.recv(CHUNK)
		if not b:
			break
		c.sendall(b)
	c.shutdown(socket.SHUT_WR)


def mode_digest(c, args):
	n, hx = read_all(c)
	log("got %d %s" % (n, hx))
	c.sendall(("%d %s\n" % (n, hx)).encode())
	c.sendall(pattern(7, args.reply_bytes))
	c.shutdown(socket.SHUT_WR)


def mode_greet(c, args):
	c.sendall(pattern(9, args.reply_bytes))
	c.shutdown(socket.SHUT_WR)
	n, hx = read_all(c)
	log("got %d %s" % (n, hx))


flood_sent = [0]


def mode_flood(c, args):
	block = pattern(3, CHUNK)
	left = args.bytes
	while left > 0:
		k = min(left, CHUNK)
		c.sendall(block[:k])
		left -= k
		flood_sent[0] += k
	log("flood done %d" % flood_sent[0])


def flood_reporter():
	while True:
		time.sleep(0.5)
		log("sent %d" % flood_sent[0])


def mode_idle(c, args):
	c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
	log("idle connection")
	time.sleep(3600)


MODES = {"echo": mode_echo, "digest": mode_digest, "greet": mode_greet,
    "flood": mode_flood, "idle": mode_idle}


def handle(c, fn, args):
	try:
		fn(c, args)
	except OSError as e:
		log("connection error: %s" % e)
	finally:
		c.close()


def main():
	p = argparse.ArgumentParser()
	p.add_argument("mode", choices=sorted(MODES))
	p.add_argument("--port", type=int, default=0)
	p.add_argument("--bytes", type=int, default=1 << 30)
	p.add_argument("--reply-bytes", type=int, default=1 << 20)
	args = p.parse_args()
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("127.0.0.1", args.port))
	s.listen(256)
	log("listening on 127.0.0.1:%d" % s.getsockname()[1])
	if args.mode == "flood":
		threading.Thread(target=flood_reporter, daemon=True).start()
	fn = MODES[args.mode]
	while True:
		c, _ = s.accept()
		threading.Thread(target=handle, args=(c, fn, args),
		    daemon=True).start()


if __name__ == "__main__":
	sys.exit(main())

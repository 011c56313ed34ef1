#!/usr/bin/env python3
"""Starts a TLS handshake with PORT on 127.0.0.1 and stalls in the middle.

    stall_handshake.py PORT [SECONDS]

Sends a real ClientHello, reads whatever the server answers, prints
"stalled after N bytes" and then sends nothing more for SECONDS (default
30): the server is left with a connection in its handshake state.  Then it
sends a TLS record the server cannot accept (so the handshake fails on the
server's side at a moment the caller chose), prints "sent garbage" and waits
up to 5 s for the server to close.
"""
import socket
import ssl
import sys
import time


def main():
	port = int(sys.argv[1])
	secs = float(sys.argv[2]) if len(sys.argv) > 2 else 30
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
	obj = ctx.wrap_bio(inc, out, server_hostname="relay")
	try:
		obj.do_handshake()
	except ssl.SSLWantReadError:
		pass
	s = socket.create_connection(("127.0.0.1", port), timeout=5)
	s.sendall(out.read())
	got = 0
	try:
		while got == 0 or s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
			b = s.recv(65536)
			if not b:
				break
			got += len(b)
	except (BlockingIOError, socket.timeout):
		pass
	print("stalled after %d bytes" % got, flush=True)
	time.sleep(secs)
	try:
		# An application-data record with a bogus body, mid-handshake.
		s.sendall(bytes([23, 3, 3, 0, 32]) + bytes(32))
		print("sent garbage", flush=True)
		s.settimeout(5)
		while s.recv(65536):
			pass
	except OSError:
		pass
	s.close()
	return 0


if __name__ == "__main__":
	sys.exit(main())

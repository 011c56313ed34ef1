#!/usr/bin/env python3
"""Samples a process's resident set size from /proc/PID/status (VmRSS).

    rss.py PID SECONDS [INTERVAL]

Prints "rss KB" for every sample and "max_rss_kb KB" last; exits 1 if the
process vanished before the first sample.
"""
import sys
import time


def vmrss(pid):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith("VmRSS:"):
				return int(line.split()[1])
	return 0


def main():
	pid = int(sys.argv[1])
	end = time.monotonic() + float(sys.argv[2])
	step = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
	best = -1
	while time.monotonic() < end:
		try:
			kb = vmrss(pid)
		except OSError:
			break
		print("rss %d" % kb, flush=True)
		best = max(best, kb)
		time.sleep(step)
	print("max_rss_kb %d" % best, flush=True)
	return 0 if best >= 0 else 1


if __name__ == "__main__":
	sys.exit(main())

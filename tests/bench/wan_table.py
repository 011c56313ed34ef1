#!/usr/bin/env python3
"""wan_table.py — turn one `make bench WAN=1` run into markdown tables.

    python3 wan_table.py META CEILING NOTES OUT RESULTS-RTT...

META holds key=value lines, CEILING "ceiling NAME MBIT CPU%" lines, NOTES
free text, each RESULTS-RTT file (named results-<rtt in ms>) "metric path
value" lines as bench.sh records them (throughput in Gbit/s, round trips in
µs).  The section is printed on stdout and written into OUT between
"<!-- bench-wan:begin -->" and "<!-- bench-wan:end -->" (appended with the
markers when OUT has none), so the loopback section of a full run is never
touched.
"""
import os
import re
import statistics
import sys

BEGIN = "<!-- bench-wan:begin -->"
END = "<!-- bench-wan:end -->"
PATHS = [("plain", "plain TCP"), ("ssh", "ssh -R"), ("atlax", "atlax")]
MIB = 1024 * 1024
# The largest a stream window grows to by default: a quarter of
# limits.tunnel_window (32 MiB), below limits.stream_window_max (16 MiB).
STREAM_WINDOW = 8 * MIB


def load_kv(path):
    d = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                d[k] = v
    return d


def load_results(paths):
    """{rtt: {(metric, path): [values]}}"""
    out = {}
    for p in paths:
        m = re.search(r"results-([0-9.]+)$", p)
        if not m:
            continue
        res = out.setdefault(float(m.group(1)), {})
        with open(p) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                try:
                    res.setdefault((parts[0], parts[1]), []).append(float(parts[2]))
                except ValueError:
                    pass
    return out


def med(res, m, p, scale=1.0):
    v = res.get((m, p))
    return statistics.median(v) * scale if v else None


def f0(v):
    return "-" if v is None else "%.0f" % v


def f1(v):
    return "-" if v is None else ("%.1f" % v if v < 100 else "%.0f" % v)


def rtt_label(r):
    return "%g ms" % r


def section(meta, ceiling, notes, results):
    rate = float(meta.get("rate", "1000"))
    window = float(meta.get("window", str(6 * MIB)))
    queue = float(meta.get("queue", str(MIB)))
    out = []
    out.append("### WAN run of %s (%s)" % (meta.get("date", "?"), meta.get("mode", "?")))
    out.append("")
    # Say the figures are noisy only when the machine was busy: a load
    # average above half its CPUs at either end of the run.
    busy = False
    try:
        cpus = float(meta.get("nproc", "1"))
        for k in ("load_start", "load_end"):
            busy = busy or float(meta.get(k, "0").split()[0]) > cpus / 2
    except ValueError:
        pass
    out.append("- machine: %s × %s, Linux %s; load average %s at start, %s at end%s"
               % (meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"),
                  meta.get("load_start", "?"), meta.get("load_end", "?"),
                  " — the machine was busy with other work, so the figures are noisy"
                  if busy else ""))
    out.append("- commit: %s; %s" % (meta.get("commit", "?"), meta.get("openssh", "?")))
    out.append("- link: tests/bench/linkem.c, RTT/2 each way, %g Mbit/s, %g MiB queue, "
               "%g MiB window; iperf3 %s s per run; round trips for %s s idle and %s s "
               "under a bulk stream; %s repetition(s); whole run %s s"
               % (rate, queue / MIB, window / MIB, meta.get("iperf_t"),
                  meta.get("rtt_t"), meta.get("lrtt_t"), meta.get("reps"),
                  meta.get("elapsed")))
    out.append("")
    if ceiling:
        out.append("The emulator's own ceiling (iperf3, Mbit/s, and the CPU share of "
                   "linkem's one thread meanwhile):")
        out.append("")
        out.append("| path | 1 stream | linkem CPU | 8 streams | linkem CPU |")
        out.append("|---|---:|---:|---:|---:|")
        for key, label in (("direct", "direct, no emulator"),
                           ("free", "linkem, no delay, no rate limit"),
                           ("rate", "linkem, no delay, %g Mbit/s" % rate)):
            one = ceiling.get(key + "1", ("-", "-"))
            eight = ceiling.get(key + "8", ("-", "-"))
            cpu = lambda c: c if c == "-" else c + " %"
            out.append("| %s | %s | %s | %s | %s |" % (label, one[0], cpu(one[1]),
                                                      eight[0], cpu(eight[1])))
        out.append("")
    rtts = sorted(results)
    out.append("Bounds: *plain* is min(rate, streams × TCP window / RTT), what plain TCP can "
               "reach with one connection per stream; *atlax* is also bounded by its one TCP "
               "connection (TCP window / RTT) and by streams × the largest its stream "
               "windows grow to by default (8 MiB, a quarter of the tunnel window) / RTT: "
               "what it reaches if auto-tuning keeps every window full.")
    out.append("")
    for m, k, label in (("up", 1, "one stream, client → service"),
                        ("down", 1, "one stream, service → client (`-R`)"),
                        ("p8", 8, "8 parallel streams, client → service (`-P 8`)")):
        if not any((m, p) in results[r] for r in rtts for p, _ in PATHS):
            continue
        out.append("Throughput, %s, Mbit/s:" % label)
        out.append("")
        out.append("| RTT | plain bound | atlax bound | " +
                   " | ".join(n for _, n in PATHS) + " |")
        out.append("|---|---:|---:|" + "---:|" * len(PATHS))
        for r in rtts:
            bdp = 8 / (r / 1000) / 1e6	# bytes in flight -> Mbit/s
            bound = min(rate, k * window * bdp)
            swin = min(rate, window * bdp, k * STREAM_WINDOW * bdp)
            cells = [f0(med(results[r], m, p, 1000)) for p, _ in PATHS]
            out.append("| %s | %.0f | %.0f | %s |" % (rtt_label(r), bound, swin,
                                                      " | ".join(cells)))
        out.append("")
    if any(("rtt_p50", p) in results[r] for r in rtts for p, _ in PATHS):
        out.append("1-byte round trips (ms), idle and while one bulk stream runs "
                   "service → client through the same path (the same tunnel for ssh -R "
                   "and atlax, the same link for plain TCP):")
        out.append("")
        out.append("| RTT | path | idle p50 | idle p99 | under bulk p50 | under bulk p99 "
                   "| bulk stream, Mbit/s |")
        out.append("|---|---|---:|---:|---:|---:|---:|")
        for r in rtts:
            for p, n in PATHS:
                res = results[r]
                if not any(k[1] == p for k in res):
                    continue
                out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    rtt_label(r), n,
                    f1(med(res, "rtt_p50", p, 1e-3)), f1(med(res, "rtt_p99", p, 1e-3)),
                    f1(med(res, "lrtt_p50", p, 1e-3)), f1(med(res, "lrtt_p99", p, 1e-3)),
                    f0(med(res, "lrtt_bulk", p, 1000))))
        out.append("")
    if notes:
        out.append("Notes from the run:")
        out.append("")
        for n in notes:
            out.append("- " + n)
        out.append("")
    return "\n".join(out)


def splice(path, text):
    body = BEGIN + "\n" + text + "\n" + END + "\n"
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + body + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = (old + "\n" if old else "") + body
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def main():
    if len(sys.argv) < 6:
        sys.stderr.write("usage: wan_table.py META CEILING NOTES OUT RESULTS-RTT...\n")
        return 2
    meta = load_kv(sys.argv[1])
    ceiling = {}
    with open(sys.argv[2]) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "ceiling":
                ceiling[parts[1]] = (parts[2], parts[3])
    with open(sys.argv[3]) as f:
        notes = [n.strip() for n in f if n.strip()]
    results = load_results(sys.argv[5:])
    if not any(results.values()):
        sys.stderr.write("wan_table.py: no results\n")
        return 1
    text = section(meta, ceiling, notes, results)
    print(text)
    splice(sys.argv[4], text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

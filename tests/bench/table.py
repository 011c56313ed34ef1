#!/usr/bin/env python3
"""table.py — turn one bench.sh run into the tables of docs/PERFORMANCE.md.

    python3 table.py META RESULTS NOTES OUT

META holds key=value lines (date, machine, commit, knobs), RESULTS one
"metric path value" line per measurement (several per metric and path when
the run repeated), NOTES free text lines.  The markdown section is printed on
stdout and written into OUT between the markers
"<!-- bench:begin -->" and "<!-- bench:end -->" (OUT is created with a
short header when it does not exist or has no markers).
"""
import os
import statistics
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

PATHS = [
    ("direct", "direct"),
    ("socat", "socat"),
    ("stunnel", "stunnel pair"),
    ("ssh", "ssh -R"),
    ("sshnd", "ssh -R nodelay"),
    ("atlax", "atlax"),
]

# key, label, unit, which way is better
METRICS = [
    ("up", "throughput, 1 stream, client → service", "Gbit/s", "hi"),
    ("down", "throughput, 1 stream, service → client", "Gbit/s", "hi"),
    ("p8", "throughput, 8 streams, client → service", "Gbit/s", "hi"),
    ("cpu_gb", "CPU of the tunnel processes per GB (1-stream runs)", "s/GB", "lo"),
    ("rtt_p50", "1-byte RTT p50, idle", "µs", "lo"),
    ("rtt_p99", "1-byte RTT p99, idle", "µs", "lo"),
    ("lrtt_p50", "1-byte RTT p50, bulk stream on the same path", "µs", "lo"),
    ("lrtt_p99", "1-byte RTT p99, bulk stream on the same path", "µs", "lo"),
    ("lrtt_n", "round trips done under load (time-bounded)", "", "hi"),
    ("lrtt_bulk", "the bulk stream's rate meanwhile", "Gbit/s", "hi"),
    ("conn1", "new connections/s, 1 client thread", "conn/s", "hi"),
    ("conn8", "new connections/s, 8 client threads", "conn/s", "hi"),
    ("ka_rps", "HTTP keep-alive, nginx 1 KiB (wrk -t2 -c16)", "req/s", "hi"),
    ("ka_p99", "HTTP keep-alive p99", "ms", "lo"),
    ("close_rps", "HTTP Connection: close", "req/s", "hi"),
    ("close_p99", "HTTP Connection: close p99", "ms", "lo"),
    ("mem1000_pub", "RSS per idle stream, 1,000 streams, public side", "B", "lo"),
    ("mem1000_svc", "RSS per idle stream, 1,000 streams, service side", "B", "lo"),
    ("mem10000_pub", "RSS per idle stream, 10,000 streams, public side", "B", "lo"),
    ("mem10000_svc", "RSS per idle stream, 10,000 streams, service side", "B", "lo"),
    ("rss10000_pub", "RSS with 10,000 idle streams, public side", "MiB", "lo"),
    ("rss10000_svc", "RSS with 10,000 idle streams, service side", "MiB", "lo"),
]


def fmt(v, unit=""):
    if unit == "B" or unit == "":
        return "{:,.0f}".format(v)
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3f" % v


def load(meta_path, results_path, notes_path):
    meta = {}
    with open(meta_path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    res = {}
    with open(results_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            try:
                v = float(parts[2])
                if parts[0].startswith("rss"):
                    v /= 1024 * 1024   # recorded in bytes, shown in MiB
                res.setdefault((parts[0], parts[1]), []).append(v)
            except ValueError:
                pass
    with open(notes_path) as f:
        notes = [n.strip() for n in f if n.strip()]
    return meta, res, notes


def med(res, m, p):
    v = res.get((m, p))
    return statistics.median(v) if v else None


def ssh_best(res, m, better):
    """The stronger ssh -R variant's median for metric m (None if neither)."""
    vals = [v for v in (med(res, m, "ssh"), med(res, m, "sshnd")) if v is not None]
    if not vals:
        return None
    return max(vals) if better == "hi" else min(vals)


def section(meta, res, notes):
    paths = [(k, n) for k, n in PATHS if any(p == k for (_, p) in res)]
    reps = int(meta.get("reps", "1"))
    out = []
    out.append("### Run of %s (%s)" % (meta.get("date", "?"), meta.get("mode", "?")))
    out.append("")
    out.append("- machine: %s × %s, Linux %s; load average %s at start, %s at end"
               % (meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"),
                  meta.get("load_start", "?"), meta.get("load_end", "?")))
    out.append("- commit: %s; %s" % (meta.get("commit", "?"), meta.get("openssh", "?"))
               + ("; stunnel %s" % meta["stunnel"] if meta.get("stunnel") else ""))
    out.append("- %d repetition(s), paths interleaved; iperf3 %s s per run, %s round trips "
               "(loaded: at most %s s), connections %s s, wrk %s s; idle streams held: %s; "
               "whole run %s s"
               % (reps, meta.get("iperf_t"), meta.get("rtt_n"), meta.get("lrtt_t"),
                  meta.get("conn_t"), meta.get("http_t"), meta.get("hold") or "none",
                  meta.get("elapsed")))
    out.append("")
    out.append("Median" + (" (min–max)" if reps > 1 else "") + " over the repetitions.")
    out.append("")
    out.append("| metric | unit | " + " | ".join(n for _, n in paths) + " |")
    out.append("|---|---|" + "---:|" * len(paths))
    for m, label, unit, _ in METRICS:
        if not any((m, p) in res for p, _ in paths):
            continue
        cells = []
        for p, _ in paths:
            v = res.get((m, p))
            if not v:
                cells.append("-")
            elif len(v) > 1:
                cells.append("%s (%s–%s)" % (fmt(statistics.median(v), unit),
                                             fmt(min(v), unit), fmt(max(v), unit)))
            else:
                cells.append(fmt(v[0], unit))
        out.append("| %s | %s | %s |" % (label, unit, " | ".join(cells)))
    out.append("")
    out.append("Ratios of medians: ÷ direct / ÷ the stronger ssh -R variant for that metric "
               "(for µs, ms, s/GB and B lower is better).")
    out.append("")
    rpaths = [(k, n) for k, n in paths if k != "direct"]
    out.append("| metric | " + " | ".join(n for _, n in rpaths) + " |")
    out.append("|---|" + "---:|" * len(rpaths))
    for m, label, unit, better in METRICS:
        if m in ("lrtt_n", "lrtt_bulk") or not any((m, p) in res for p, _ in rpaths):
            continue
        d = med(res, m, "direct")
        s = ssh_best(res, m, better)
        cells = []
        for p, _ in rpaths:
            v = med(res, m, p)
            if v is None:
                cells.append("-")
                continue
            a = ("%.2f" % (v / d)) if d else "-"
            b = ("%.2f" % (v / s)) if s else "-"
            cells.append("%s / %s" % (a, b))
        out.append("| %s | %s |" % (label, " | ".join(cells)))
    out.append("")
    t = targets(res)
    if t:
        out.append("Performance targets for atlax (against the stronger ssh -R variant):")
        out.append("")
        out.append("| target | atlax | reference | met |")
        out.append("|---|---:|---:|:---:|")
        out.extend(t)
        out.append("")
    for path in meta.get("profile_paths", "").split():
        f = os.path.join(meta.get("profile_dir", ""), "profile-%s.txt" % path)
        if not os.path.exists(f) or os.path.getsize(f) == 0:
            continue
        with open(f) as fh:
            prof = fh.read().rstrip("\n")
        out.append("Where %s's CPU goes during one iperf3 stream client → service "
                   "(perf, self time, symbols above 1 %%):" % path)
        out.append("")
        out.append("```")
        out.append(prof)
        out.append("```")
        out.append("")
    if notes:
        out.append("Notes from the run:")
        out.append("")
        for n in notes:
            out.append("- " + n)
        out.append("")
    return "\n".join(out)


def targets(res):
    """One row per performance target that this run can judge."""
    rows = []

    def row(name, a, ref, ok, unit):
        rows.append("| %s | %s | %s | %s |" % (name, fmt(a, unit) + " " + unit,
                                            ref, "yes" if ok else "**no**"))

    def rel(m, better, factor, name, unit):
        a, s = med(res, m, "atlax"), ssh_best(res, m, better)
        if a is None or s is None:
            return
        lim = s * factor
        ok = a >= lim if better == "hi" else a <= lim
        row(name, a, "%s %s %s (%s× %s)" % ("≥" if better == "hi" else "≤",
                                            fmt(lim, unit), unit, factor, fmt(s, unit)),
            ok, unit)

    rel("up", "hi", 1.2, "1 stream client → service ≥ 1.2× ssh", "Gbit/s")
    rel("down", "hi", 1.2, "1 stream service → client ≥ 1.2× ssh", "Gbit/s")
    rel("p8", "hi", 1.2, "8 streams ≥ 1.2× ssh", "Gbit/s")
    rel("cpu_gb", "lo", 0.6, "CPU per GB ≤ 0.6× ssh", "s/GB")
    rel("rtt_p50", "lo", 0.8, "RTT p50 ≤ 0.8× ssh", "µs")
    a, s = med(res, "rtt_p50", "atlax"), med(res, "rtt_p50", "socat")
    if a is not None and s is not None:
        row("RTT p50 ≤ 1.1× socat", a, "≤ %s µs" % fmt(1.1 * s, "µs"), a <= 1.1 * s, "µs")
    rel("rtt_p99", "lo", 1.0, "RTT p99 ≤ ssh", "µs")
    a = med(res, "lrtt_p99", "atlax")
    if a is not None:
        row("RTT p99 under bulk ≤ 2 ms", a, "≤ 2000 µs", a <= 2000, "µs")
    rel("lrtt_p99", "lo", 0.5, "RTT p99 under bulk ≤ 0.5× ssh", "µs")
    rel("conn1", "hi", 2, "new connections/s, 1 thread ≥ 2× ssh", "conn/s")
    rel("conn8", "hi", 3, "new connections/s, 8 threads ≥ 3× ssh", "conn/s")
    for side in ("pub", "svc"):
        a = med(res, "mem10000_" + side, "atlax")
        if a is not None:
            row("RSS per idle stream at 10,000, %s side ≤ 4 KiB"
                % ("relay" if side == "pub" else "agent"), a, "≤ 4,096 B", a <= 4096, "B")
    rel("ka_rps", "hi", 1.2, "HTTP keep-alive req/s ≥ 1.2× ssh", "req/s")
    rel("ka_p99", "lo", 1.0, "HTTP keep-alive p99 ≤ ssh", "ms")
    return rows


def splice(path, text):
    header = ("# Performance\n\nWritten by `make bench` (tests/bench/bench.sh); see "
              "docs/PERFORMANCE.md in the repository for what each figure means.\n\n")
    body = BEGIN + "\n" + text + "\n" + END + "\n"
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + body + old[old.index(END) + len(END):].lstrip("\n")
    else:
        new = (old if old else header) + ("\n" if old else "") + body
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: table.py META RESULTS NOTES OUT\n")
        return 2
    meta, res, notes = load(sys.argv[1], sys.argv[2], sys.argv[3])
    if not res:
        sys.stderr.write("table.py: no results\n")
        return 1
    text = section(meta, res, notes)
    print(text)
    splice(sys.argv[4], text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""wrk, run and read: the HTTP benchmarks' one way to load the daemon and
print a case next to its limit (bench_opendata.py, bench_static.py)."""
import re
import subprocess

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(port, path, duration, headers=(), script=None):
    """Runs wrk (2 threads, 64 connections) for duration seconds; returns
    (requests/s, p50 ms, p99 ms, non-2xx/3xx answers, transfer/s)."""
    cmd = ["wrk", "-t2", "-c64", "-d%ss" % duration, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + ["http://127.0.0.1:%d%s" % (port, path)], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % pct, out)
        lat[pct] = float(m.group(1)) * UNITS[m.group(2)]
    codes = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    transfer = re.search(r"Transfer/sec:\s+(\S+)", out).group(1)
    return rps, lat["50"], lat["99"], int(codes.group(1)) if codes else 0, transfer


def report(name, result, limit=None, of="the limit", width=44):
    """One line: the case's figures, and its share of the limit's rate."""
    rps, p50, p99, bad, transfer = result
    share = " (%3.0f%% of %s)" % (100 * rps / limit, of) if limit else ""
    print("  %-*s %9.0f req/s%s  p50 %6.2f ms  p99 %6.2f ms  %s/s%s" % (
        width, name, rps, share, p50, p99, transfer, "  NON-2xx/3xx: %d" % bad if bad else ""), flush=True)

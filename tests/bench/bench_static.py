#!/usr/bin/env python3
"""bench_static: a plugin's pages (host->http_static) under load from wrk
(64 connections), each figure next to the same server's limit measured in
the same run: a plugin route answering the same number of fixed bytes from
memory, the cheapest answer the server can give.

    python3 tests/bench/bench_static.py [build-dir]

Needs a build with -DMESTYS_BENCH=ON (benchplug) and wrk (scripts/deps.sh
installs it).  Prints requests/s and p50/p99 latency as wrk measures them
for a 5-KB and a 100-KB JavaScript file (as is, gzip'ed, and answered 304),
a folder's index.html, and the routes of the same sizes.  Nothing here
asserts a time; on a shared machine compare the ratios of one run."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import wrkrun
import json

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
DURATION = os.environ.get("BENCH_SECONDS", "8")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def module(size):
    """JavaScript of about `size` bytes that compresses as real code does
    (names and numbers vary line to line)."""
    lines, n, i = [], 0, 0
    while n < size:
        line = "export function station%d(map, id) { return map.get(id + %d) ?? { id, power: %d }; }\n" % (
            i, i * 7919 % 10007, i * 13 % 350)
        lines.append(line)
        n += len(line)
        i += 1
    return "".join(lines)[:size]


def get(port, path, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def start(port):
    d = tempfile.mkdtemp(prefix="mestys-bench-static-")
    shutil.copy(os.path.join(SOURCE, "tests", "lua", "pages.lua"), d)
    os.makedirs(os.path.join(d, "www", "lib"))
    for name, size in (("small.js", 5 * 1024), ("large.js", 100 * 1024)):
        with open(os.path.join(d, "www", "lib", name), "w") as f:
            f.write(module(size))
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<!doctype html><html lang=\"cs\"><head><meta charset=\"utf-8\"><title>Město</title>"
                "<script type=\"module\" src=\"/lib/small.js\"></script></head><body><main></main></body></html>\n")
    plug = os.path.join(BUILD, "tests", "bench", "benchplug.so")
    cfg = {"node": {"name": "bench", "state_dir": os.path.join(d, "state"), "log_level": "warn",
                    "http": {"listen": "127.0.0.1:%d" % port}},
           "plugins": [{"use": os.path.join(d, "pages.lua"), "name": "site", "config": {"prefix": ""}},
                       {"use": plug, "name": "r5k", "config": {"role": "static", "size": 5 * 1024}},
                       {"use": plug, "name": "r100k", "config": {"role": "static", "size": 100 * 1024}}]}
    path = os.path.join(d, "mestys.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    proc = subprocess.Popen([os.path.join(BUILD, "mestysd"), "-c", path], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(d, "log"), "w"))
    for _ in range(500):
        try:
            if get(port, "/api/pages")[0] == 200:
                return proc, d
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("mestysd did not start:\n" + open(os.path.join(d, "log")).read())


def wrk(port, path, headers=(), script=None):
    return wrkrun.wrk(port, path, DURATION, headers, script)


def report(name, result, limit=None):
    wrkrun.report(name, result, limit, of='the route', width=40)


def main():
    if not shutil.which("wrk"):
        raise SystemExit("bench_static needs wrk: sudo apt-get install wrk (scripts/deps.sh does)")
    port = free_port()
    proc, d = start(port)
    try:
        _, h, _ = get(port, "/lib/small.js")
        small_tag = h["ETag"]
        _, hg, large_gz = get(port, "/lib/large.js", {"Accept-Encoding": "gzip"})
        assert hg.get("Content-Encoding") == "gzip"
        print("mestysd, wrk -t2 -c64 -d%ss, %d cores (shared: figures vary; compare within one run):" % (
            DURATION, os.cpu_count()))
        limit5 = wrk(port, "/api/r5k/static")
        report("limit: 5-KB answer of a route", limit5)
        report("5-KB file (small.js)", wrk(port, "/lib/small.js"), limit5[0])
        report("  the same, gzip", wrk(port, "/lib/small.js", ["Accept-Encoding: gzip"]), limit5[0])
        report("  the same, answered 304", wrk(port, "/lib/small.js", ["If-None-Match: " + small_tag]),
               limit5[0])
        report("folder / (index.html)", wrk(port, "/"), limit5[0])
        limit100 = wrk(port, "/api/r100k/static")
        report("limit: 100-KB answer of a route", limit100)
        report("100-KB file (large.js)", wrk(port, "/lib/large.js"), limit100[0])
        report("  the same, gzip (%d KB)" % (len(large_gz) // 1024),
               wrk(port, "/lib/large.js", ["Accept-Encoding: gzip"]), limit100[0])
        _, _, metrics = get(port, "/metrics")
        misses = re.search(rb'mestys_http_static_cache_total\{result="miss"\} (\S+)', metrics)
        print("  file reads from disk during the run: %s (cache misses)" % (misses.group(1).decode()
                                                                          if misses else "0"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

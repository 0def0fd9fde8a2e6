#!/usr/bin/env python3
"""bench_daemon: start-up to ready (/health answers) and the RSS of an idle
mestysd on the example town config, each next to its limit.

    python3 tests/bench/bench_daemon.py [build-dir]

Start-up is measured from fork/exec to the first 200 from /health, median
of 15 runs, next to the same wait for `true` (what exec alone costs here).
RSS is VmRSS of the idle daemon after 2 s, next to VmRSS of a bare
libuv+libwebsockets process measured as the daemon with no plugins."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
MESTYSD = os.path.join(BUILD, "mestysd")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def town_config(port, plugins=True):
    """The example town, on a free port, with its state in a fresh directory."""
    d = tempfile.mkdtemp(prefix="mestys-bench-")
    with open(os.path.join(SOURCE, "examples", "town", "mestys.json")) as f:
        text = f.read()
    text = text.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
    shutil.copytree(os.path.join(SOURCE, "examples", "town", "lua"), os.path.join(d, "lua"))
    path = os.path.join(d, "mestys.json")
    with open(path, "w") as f:
        if plugins:
            f.write(text)
        else:
            json.dump({"node": {"http": {"listen": "127.0.0.1:%d" % port}}}, f)
    return d, path


def health_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def startup_once(plugins=True):
    port = free_port()
    d, path = town_config(port, plugins)
    t0 = time.perf_counter()
    p = subprocess.Popen([MESTYSD, "-c", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not health_ok(port):
        if p.poll() is not None:
            raise SystemExit("mestysd exited early")
        time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    p.terminate()
    p.wait()
    shutil.rmtree(d)
    return elapsed


def exec_floor():
    t0 = time.perf_counter()
    subprocess.run(["true"])
    return time.perf_counter() - t0


def rss_kb(plugins=True):
    port = free_port()
    d, path = town_config(port, plugins)
    p = subprocess.Popen([MESTYSD, "-c", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not health_ok(port):
        time.sleep(0.005)
    time.sleep(2)
    with open("/proc/%d/status" % p.pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    p.terminate()
    p.wait()
    shutil.rmtree(d)
    return rss


def main():
    starts = sorted(startup_once() for _ in range(15))
    floor = statistics.median(exec_floor() for _ in range(15))
    bare = statistics.median(startup_once(plugins=False) for _ in range(5))
    print("bench_daemon: mestysd on examples/town/mestys.json (%s)" % MESTYSD)
    print("start-up to /health   median %6.1f ms  p90 %6.1f ms  (target: under 100 ms)"
          % (1000 * statistics.median(starts), 1000 * starts[int(len(starts) * 0.9)]))
    print("  limit: exec of `true` %.1f ms; mestysd with no plugins %.1f ms" % (1000 * floor, 1000 * bare))
    town, empty = rss_kb(), rss_kb(plugins=False)
    print("idle RSS              %6.1f MB  (target: under 8 MB)" % (town / 1024))
    print("  limit: the same daemon with no plugins %.1f MB (libc, libuv, nng, lws, Lua, SQLite mapped)" % (empty / 1024))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench_daemon: start-up to ready (/health answers) and the RSS of an idle
mestysd on the example town config, each next to its limit.

    python3 tests/bench/bench_daemon.py [build-dir]

Start-up is measured from fork/exec to the first 200 from /health, median
of 15 runs, next to the same wait for `true` (what exec alone costs here).
RSS is VmRSS of the idle daemon after 2 s, next to VmRSS of a bare
libuv+libwebsockets process measured as the daemon with no plugins; then
where it goes: anonymous memory (the daemon's own heap, stacks and library
data it wrote) apart from file pages (shared-library code and read-only data
mapped from the page cache, which every process using the library shares),
what each plugin of the town adds when the plugins are started one more at a
time, and the largest mappings."""
import collections
import json
import os
import re
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


def town_plugins():
    """The example town's config as data (its // comments removed)."""
    with open(os.path.join(SOURCE, "examples", "town", "mestys.json")) as f:
        text = f.read()
    # a comment starts at // outside a string and runs to the end of its line
    return json.loads(re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*', lambda m: m.group(1) or "", text))


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


def smaps(pid):
    """VmRSS split by kind and by mapping, in kB."""
    rollup = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                rollup[parts[0].rstrip(":")] = int(parts[1])
    by_map, name = collections.Counter(), None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
            if m:
                name = os.path.basename(m.group(1)) or "[anon: thread stacks, malloc arenas]"
            elif line.startswith("Rss:"):
                by_map[name] += int(line.split()[1])
    return rollup, by_map


def idle_memory(plugins=True, config=None):
    port = free_port()
    d, path = town_config(port, plugins)
    if config is not None:
        config["node"]["http"]["listen"] = "127.0.0.1:%d" % port
        with open(path, "w") as f:
            json.dump(config, f)
    p = subprocess.Popen([MESTYSD, "-c", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not health_ok(port):
        if p.poll() is not None:
            raise SystemExit("mestysd exited early")
        time.sleep(0.005)
    time.sleep(2)
    rollup, by_map = smaps(p.pid)
    p.terminate()
    p.wait()
    shutil.rmtree(d)
    return rollup, by_map


def memory_by_plugin():
    """Each plugin's share: the town started with its first k plugins, k = 0..n."""
    town = town_plugins()
    rows, before = [], None
    for k in range(len(town["plugins"]) + 1):
        cfg = json.loads(json.dumps(town))
        cfg["plugins"] = cfg["plugins"][:k]
        rollup, _ = idle_memory(config=cfg)
        if before is not None:
            plugin = town["plugins"][k - 1]
            rows.append((plugin.get("name", plugin["use"]), rollup["Rss"] - before["Rss"],
                         rollup["Anonymous"] - before["Anonymous"]))
        before = rollup
    return rows


def main():
    starts = sorted(startup_once() for _ in range(15))
    floor = statistics.median(exec_floor() for _ in range(15))
    bare = statistics.median(startup_once(plugins=False) for _ in range(5))
    print("bench_daemon: mestysd on examples/town/mestys.json (%s)" % MESTYSD)
    print("start-up to /health   median %6.1f ms  p90 %6.1f ms  (target: under 100 ms)"
          % (1000 * statistics.median(starts), 1000 * starts[int(len(starts) * 0.9)]))
    print("  limit: exec of `true` %.1f ms; mestysd with no plugins %.1f ms" % (1000 * floor, 1000 * bare))
    (town, by_map), (empty, _) = idle_memory(), idle_memory(plugins=False)
    print("idle RSS              %6.1f MB  (target: under 8 MB)" % (town["Rss"] / 1024))
    print("  limit: the same daemon with no plugins %.1f MB (libc, libuv, nng, lws, Lua, SQLite mapped)"
          % (empty["Rss"] / 1024))
    print("  of which anonymous  %6.1f MB (heap, stacks, written library data); no plugins %.1f MB"
          % (town["Anonymous"] / 1024, empty["Anonymous"] / 1024))
    print("  of which file pages %6.1f MB (library code and read-only data, shared through the page cache)"
          % ((town["Rss"] - town["Anonymous"]) / 1024))
    print("  proportional (PSS)  %6.1f MB; private dirty %.1f MB" % (town["Pss"] / 1024, town["Private_Dirty"] / 1024))
    print("  what each plugin adds, started one more at a time (RSS / of it anonymous):")
    for name, rss, anon in memory_by_plugin():
        print("    %-12s %+6.2f MB / %+6.2f MB" % (name, rss / 1024, anon / 1024))
    print("  largest mappings of the whole town:")
    for name, kb in by_map.most_common(10):
        print("    %6.2f MB  %s" % (kb / 1024, name))


if __name__ == "__main__":
    main()

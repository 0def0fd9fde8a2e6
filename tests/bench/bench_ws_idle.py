#!/usr/bin/env python3
"""bench_ws_idle: the RSS one idle WebSocket connection costs mestysd, with
the handshake hook and per-connection data (testplug's cp/* endpoint, as
the charging plugin's stations connect) and without (its plain ws/*), next
to the figure measured earlier for bare libwebsockets on these machines
(about 6.5 KB per idle connection with 5,000 clients, 4 KB of it lws's
receive buffer).

    python3 tests/bench/bench_ws_idle.py [build-dir] [connections]

VmRSS of the daemon with the connections open and idle (after 2 s), minus
its VmRSS before, over the number of connections; the clients are one node
process (the npm ws package from tests/integration/node_modules)."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
BARE_LWS_KB = 6.5  # measured earlier: bare lws, 5,000 idle clients


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def measure(path, auth):
    port = free_port()
    d = tempfile.mkdtemp(prefix="mestys-bench-ws-")
    cfg = {"node": {"state_dir": "state", "log_level": "warn",
                    "http": {"listen": "127.0.0.1:%d" % port, "max_connections": N + 512}},
           "plugins": [{"use": "testplug", "config": {"label": "bench"}}]}
    with open(os.path.join(d, "mestys.json"), "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, MESTYS_PLUGIN_PATH=os.path.join(BUILD, "tests", "plugins"))
    daemon = subprocess.Popen([os.path.join(BUILD, "mestysd"), "-c", os.path.join(d, "mestys.json")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
                break
            except OSError:
                time.sleep(0.02)
        time.sleep(1)
        before = rss_kb(daemon.pid)
        base = "ws://127.0.0.1:%d/api/testplug/%s" % (port, path)
        clients = subprocess.Popen(["node", os.path.join(HERE, "ws_idle.js"), base, str(N)] + ([auth] if auth else []),
                                   env=dict(os.environ, NODE_PATH=os.path.join(SOURCE, "tests", "integration",
                                                                               "node_modules")),
                                   stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        ready = clients.stdout.readline().split()
        time.sleep(2)
        after = rss_kb(daemon.pid)
        clients.stdin.close()
        clients.wait(timeout=60)
        return int(ready[1]), before, after
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def main():
    for label, path, auth in (("with the handshake hook (cp/*)", "cp/CP-", "Basic Q1AtMTpzZWNyZXQ="),
                              ("without a hook (ws/*)", "ws/", None)):
        opened, before, after = measure(path, auth)
        print("%-32s %5d idle connections: RSS %d -> %d KiB, %.2f KiB per connection (bare lws: ~%.1f KB)"
              % (label, opened, before, after, (after - before) / max(opened, 1), BARE_LWS_KB))


if __name__ == "__main__":
    main()

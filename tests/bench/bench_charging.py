#!/usr/bin/env python3
"""bench_charging: OCPP-J charge points against the charging plugin of a real mestysd, next to the same
load against a raw libwebsockets server answering the same frames (the limit of this machine).

    python3 tests/bench/bench_charging.py [build-dir] [connections] [rate] [seconds]

Defaults: 500 connections, 2,000 messages/s, 10 s.  The targets of issue 9 are 10,000 connected charge
points under 8 KB of RSS each and 2,000 messages/s with p99 under 50 ms; run 10,000 only on a machine
nothing else is building on (ulimit -n must allow connections + 256 for the generator and the daemon).

The config is generated: the stations CP-BENCH-1..N registered and accepted, with a password each
(security profile 1, HTTP Basic), given through the API in one request.  Passwords are hashed with
password_iterations 1000 (the minimum; the default 10,000 costs ~10 ms of the loop per handshake, which
is the plugin's deliberate price of a connection, not its capacity).  The generator (bench_charging, one
process, one loop) runs on the same cores as the daemon."""
import base64
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
CONNECTIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 500
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
SECONDS = int(sys.argv[4]) if len(sys.argv) > 4 else 10
PASSWORD = "bench-password-0123456789"
TOKEN = "bench-operator-token-0123456789"
GENERATOR = os.path.join(BUILD, "tests", "bench", "bench_charging")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, CONNECTIONS + 512)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < CONNECTIONS + 256:
        sys.exit("ulimit -n allows %d descriptors; %d connections need about %d" % (hard, CONNECTIONS, CONNECTIONS + 256))


def request(url, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.status, r.read()


def start_daemon(d):
    http = free_port()
    cfg = {"node": {"name": "bench", "state_dir": os.path.join(d, "state"), "log_level": "warn",
                    "http": {"listen": "127.0.0.1:%d" % http, "max_connections": CONNECTIONS + 256}},
           "plugins": [{"use": "charging", "name": "charging", "config": {
               "password_iterations": 1000, "heartbeat_interval_s": 3600, "auth_fail_limit": 100000}}],
           "tokens": [{"name": "bench", "token": TOKEN, "role": "operator"}]}
    path = os.path.join(d, "mestys.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    daemon = subprocess.Popen([os.path.join(BUILD, "mestysd"), "-c", path],
                              stderr=open(os.path.join(d, "daemon.log"), "w"))
    base = "http://127.0.0.1:%d" % http
    for _ in range(1000):
        try:
            urllib.request.urlopen(base + "/health", timeout=1).read()
            break
        except OSError:
            if daemon.poll() is not None:
                sys.exit("mestysd exited: see %s" % os.path.join(d, "daemon.log"))
            time.sleep(0.01)
    stations = [{"id": "CP-BENCH-%d" % i, "security_profile": 1, "accepted": True, "password": PASSWORD}
                for i in range(1, CONNECTIONS + 1)]
    t = time.monotonic()
    try:
        # In batches: the core refuses a body over node.http.max_body (10,000 stations are ~1 MiB).
        for i in range(0, len(stations), 1000):
            status, _ = request(base + "/api/charging/stations", stations[i:i + 1000])
    except BaseException:
        daemon.terminate()
        raise
    print("registered %d stations with passwords in %.1f s (HTTP %d)" % (CONNECTIONS, time.monotonic() - t, status),
          file=sys.stderr)
    return daemon, http


def generate(args, load=True):
    sizes = ["--connections", str(CONNECTIONS), "--rate", str(RATE), "--seconds", str(SECONDS)] if load else []
    out = subprocess.run([GENERATOR] + sizes + args, capture_output=True, text=True, timeout=3600)
    sys.stderr.write(out.stderr)
    figures = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        figures[key] = value
    if not figures:
        sys.exit("bench_charging printed no figures (exit %d)" % out.returncode)
    return figures


def main():
    raise_fd_limit()
    d = tempfile.mkdtemp(prefix="mestys-bench-charging-")
    daemon, http = start_daemon(d)
    try:
        ours = generate(["--url", "ws://127.0.0.1:%d/api/charging/ocpp" % http, "--password", PASSWORD,
                         "--pid", str(daemon.pid)])
        metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http, timeout=10).read().decode()
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    limit = generate(["--echo"])
    parse = generate(["--parse", "200000"], load=False)

    rows = [("connections held", "held", "%d" % CONNECTIONS),
            ("boot p50 / p99 ms", ("boot_p50_ms", "boot_p99_ms"), ""),
            ("messages/s answered (offered %d)" % RATE, "messages_per_s", ">= 2,000"),
            ("reply p50 ms", "p50_ms", ""),
            ("reply p99 ms", "p99_ms", "< 50"),
            ("reply max ms / answers over 50 ms", ("max_ms", "over_50ms"), ""),
            ("RSS per connection KB", "rss_per_connection_kb", "< 8"),
            ("RSS before / connected / after KB", ("rss_before_kb", "rss_connected_kb", "rss_after_kb"), ""),
            ("CALLERRORs / bad replies / unexpected", ("call_errors", "bad_replies", "unexpected"), "0"),
            ("calls from the server answered", "server_calls", ""),
            ("sends skipped (all stations waiting)", "throttled", "0")]
    print("bench_charging: %d OCPP-J 1.6 connections, %d msg/s offered for %d s (Heartbeat and MeterValues)"
          % (CONNECTIONS, RATE, SECONDS))
    print("%-42s %18s %18s %10s" % ("", "mestysd charging", "raw lws (limit)", "target"))
    for title, key, target in rows:
        keys = key if isinstance(key, tuple) else (key,)
        print("%-42s %18s %18s %10s" % (title, " / ".join(ours.get(k, "-") for k in keys),
                                         " / ".join(limit.get(k, "-") for k in keys), target))
    print("slowest answer of each second, daemon (ms): %s" % ours.get("worst_ms_each_second", "-"))
    print("slowest answer of each second, raw lws (ms): %s" % limit.get("worst_ms_each_second", "-"))
    refused = [l for l in metrics.splitlines()
               if l.startswith("mestys_charging_handshakes_refused_total") and not l.endswith(" 0")]
    if refused:
        print("daemon refused handshakes: " + "; ".join(refused))
    print("reading one %s-byte MeterValues CALL (strict JSON, frame, schema): %s/s; cJSON_Parse alone: %s/s"
          % (parse["message_bytes"], parse["parse_validate_per_s"], parse["cjson_parse_per_s"]))
    print("daemon log: %s" % os.path.join(d, "daemon.log"))


if __name__ == "__main__":
    main()

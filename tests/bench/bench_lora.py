#!/usr/bin/env python3
"""bench_lora: LoRa end to end - 1,000 devices behind 3 gateways (every
frame arrives three times), the Lua temperature-humidity decoder (3
readings per uplink), from UDP datagram to committed SQLite rows.

    python3 tests/bench/bench_lora.py [build-dir] [rate ...]

For each offered rate it prints uplinks/s and readings/s achieved, loss,
and p50/p99 latency from datagram to commit, next to the raw limits
measured in the same run (bench_lora_limits).  The simulator runs on the
same 2 cores as the daemon.

The figures agree with each other: accepted = sent - lost (the daemon's
mestys_lora_uplinks_total against the simulator's count), and a rate is
a count over the time from the first datagram sent until the last of them
was handled (never shorter than the sending itself), so no rate can be
above the offered one.  Datagrams the kernel dropped (the socket's queue
full) come from the daemon's own mestys_udp_dropped_total."""
import bisect
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
RATES = [int(r) for r in sys.argv[2:]] or [10000, 25000, 50000]
SECONDS = 8
DEVICES, GATEWAYS = 1000, 3


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(text, name):
    """The sum of a family's series (one series for most)."""
    return sum(float(v) for v in re.findall(r"^%s\{[^}]*\} (\S+)$" % re.escape(name), text, re.M))


def run(rate):
    d = tempfile.mkdtemp(prefix="mestys-bench-lora-")
    devices, gateways = os.path.join(d, "devices.json"), os.path.join(d, "gateways.json")
    subprocess.run([os.path.join(BUILD, "mestys"), "simulate", "lora", "--devices", str(DEVICES),
                    "--gateways", str(GATEWAYS), "--devices-json", devices, "--gateways-json", gateways], check=True)
    http, udp = free_port(), free_port(socket.SOCK_DGRAM)
    cfg = {"node": {"http": {"listen": "127.0.0.1:%d" % http}, "log_level": "warn"},
           "bus": {"queue_depth": 8192},
           "plugins": [{"use": "lora", "config": {"listen": "127.0.0.1", "port": udp, "dedup_ms": 100,
                                                  "receive_buffer": 67108864, "devices": json.load(open(devices)),
                                                  "gateways": json.load(open(gateways))}},
                       {"use": "store", "config": {"commit_ms": 100}}]}
    path = os.path.join(d, "mestys.json")
    json.dump(cfg, open(path, "w"))
    daemon = subprocess.Popen([os.path.join(BUILD, "mestysd"), "-c", path], stderr=open(os.path.join(d, "log"), "w"))
    url = "http://127.0.0.1:%d/metrics" % http
    for _ in range(500):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            time.sleep(0.01)
    samples, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            samples.append((time.monotonic(), metric(text, "mestys_store_readings_stored_total"),
                            metric(text, "mestys_lora_uplinks_total"), text))
            time.sleep(0.02)
    poller = threading.Thread(target=poll)
    poller.start()
    sim = subprocess.run([os.path.join(BUILD, "mestys"), "simulate", "lora", "--to", "127.0.0.1:%d" % udp,
                          "--devices", str(DEVICES), "--gateways", str(GATEWAYS), "--rate", str(rate),
                          "--seconds", str(SECONDS), "--batch", "16", "--progress"],
                         capture_output=True, text=True, check=True)
    # the simulator's clock is CLOCK_MONOTONIC, like time.monotonic()
    progress = [(float(t), int(n)) for t, n in re.findall(r"^progress (\S+) (\d+)$", sim.stdout, re.M)]
    sent = progress[-1][1]
    datagrams = int(re.search(r" in (\d+) datagrams", sim.stdout).group(1))
    # until everything sent was handled: nothing waits for the store's disk
    # and neither count moved for 2 s (an overloaded daemon may work on one
    # batch for a second: stopping then would count its uplinks as lost)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        last = samples[-1]
        moved = max(t for t, s, u, _ in samples if (s, u) != (last[1], last[2])) if any(
            (s, u) != (last[1], last[2]) for _, s, u, _ in samples) else samples[0][0]
        if last[0] - moved >= 2.0 and metric(last[3], "mestys_store_pending_bytes") == 0:
            break
    stop.set()
    poller.join()
    daemon.terminate()
    daemon.wait()
    last = samples[-1]
    uplinks, stored = last[2], last[1]
    start, sent_until = progress[0][0], progress[-1][0]
    # when the last uplink was accepted and the last reading stored: a rate
    # is over the time from the first datagram to then, and never over less
    # than the sending took
    accepted_at = max(sent_until, next(t for t, _, u, _ in samples if u >= uplinks))
    stored_at = max(sent_until, next(t for t, s, _, _ in samples if s >= stored))
    # Latency of the uplinks a commit made visible: the first sample at which
    # the stored count reached them, minus when the simulator sent them.
    # (A later sample with the same count says nothing new: counting those
    # would charge the idle time after the run as latency.)
    latencies, steady = [], []
    sent_times, sent_counts = [t for t, _ in progress], [n for _, n in progress]
    seen = 0
    for t, s, _, _ in samples:
        if s <= seen:
            continue
        seen = s
        k = int(s // 3)  # this many uplinks are committed at t
        i = bisect.bisect_left(sent_counts, k)
        if 0 < k and i < len(progress) and t > start:
            latencies.append(t - sent_times[i])
            if sent_times[i] - start >= 1.0:
                steady.append(t - sent_times[i])
    latencies.sort()
    steady.sort()
    p = lambda q, v=latencies: v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float("nan")
    return {"rate": rate, "sent": sent, "uplinks": uplinks, "stored": stored,
            "uplinks_s": uplinks / (accepted_at - start), "readings_s": stored / (stored_at - start),
            "sim_rate": sent / (sent_until - start), "loss": sent - uplinks, "p50": p(0.5), "p99": p(0.99),
            "steady_p50": p(0.5, steady), "steady_p99": p(0.99, steady), "datagrams": datagrams,
            "kernel_dropped": metric(last[3], "mestys_udp_dropped_total"),
            "refused": metric(last[3], "mestys_lora_rejected_total"),
            "store_dropped": metric(last[3], "mestys_store_messages_dropped_total"),
            "published": metric(last[3], "mestys_lora_readings_total"),
            "bus_refused": metric(last[3], "mestys_bus_backpressure_total")}


def main():
    print("bench_lora: %d devices x %d gateways, Lua decoder (3 readings/uplink), UDP -> SQLite commit" %
          (DEVICES, GATEWAYS))
    limits = subprocess.run([os.path.join(BUILD, "tests", "bench", "bench_lora_limits")], capture_output=True,
                            text=True, check=True).stdout
    print(limits.rstrip())
    for rate in RATES:
        r = run(rate)
        assert r["uplinks"] + r["loss"] == r["sent"] and r["uplinks_s"] <= r["sim_rate"] * 1.0001, r
        assert r["stored"] <= r["published"], r
        print("offered %6d uplinks/s (simulator reached %6.0f): accepted %d = sent %d - lost %d (%.1f %%): "
              "%7.0f uplinks/s; readings published %d, stored %d: %7.0f readings/s; kernel dropped %d of %d "
              "datagrams, refused %d, bus refused %d batches (backpressure), store dropped %d messages; "
              "latency datagram->commit p50 %.0f ms p99 %.0f ms (after the first second: %.0f / %.0f ms)"
              % (r["rate"], r["sim_rate"], r["uplinks"], r["sent"], r["loss"], 100.0 * r["loss"] / r["sent"],
                 r["uplinks_s"], r["published"], r["stored"], r["readings_s"], r["kernel_dropped"], r["datagrams"],
                 r["refused"], r["bus_refused"], r["store_dropped"], r["p50"], r["p99"], r["steady_p50"],
                 r["steady_p99"]))
    print("targets: 50,000 uplinks/s (150,000 readings/s), zero loss, p99 under 250 ms")


if __name__ == "__main__":
    main()

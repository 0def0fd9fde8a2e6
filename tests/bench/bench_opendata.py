#!/usr/bin/env python3
"""bench_opendata: the open-data API under load from wrk (64 connections),
with 10 million readings in the store, each figure next to the same
server's limit: a static 2-KiB answer from a plugin route.

    python3 tests/bench/bench_opendata.py [build-dir] [readings]

Needs a build with -DMESTYS_BENCH=ON (benchplug, bench_store) and wrk
(scripts/deps.sh installs it).  The store file is filled once per day and
size by bench_store and reused from /tmp.  Prints, for each case,
requests/s and p50/p99 latency as wrk measures them."""
import datetime
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import wrkrun

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
READINGS = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
DURATION = os.environ.get("BENCH_SECONDS", "10")
DAY = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=2)
DAY_NO = (DAY - datetime.date(1970, 1, 1)).days
T0_MS = DAY_NO * 86400000
PAGE_BYTES = 12 * 1024  # about what a 100-row JSON page weighs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dataset(id, source):
    return {"id": id, "title": {"cs": id}, "description": {"cs": id}, "keywords": {"cs": [id]},
            "themes": ["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
            "frequency": "http://publications.europa.eu/resource/authority/frequency/CONT",
            "ruian": ["https://linked.cuzk.cz/resource/ruian/obec/500496"], "source": source}


def opendata(cache_ms, bulk_days, datasets):
    return {"base_url": "https://data.example/api/x",
            "catalog": {"title": {"cs": "bench"}, "description": {"cs": "bench"},
                        "publisher": "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00000001"},
            "datasets": datasets, "cache_ms": cache_ms, "cache_mb": 256, "max_page": 10000,
            "rate_limit": {"per_second": 0}, "bulk_days": bulk_days, "bulk_delay_ms": 0}


def store_file():
    path = "/tmp/mestys-bench-opendata-%s-%d.sqlite" % (DAY.isoformat(), READINGS)
    if os.path.exists(path):
        print("store: reusing %s" % path)
        return path
    for old in glob.glob("/tmp/mestys-bench-opendata-*.sqlite"):  # another day's: 600 MB each
        os.unlink(old)
    print("store: filling %s with %d readings from %s (once per day; takes a minute)" % (path, READINGS, DAY))
    subprocess.run([os.path.join(BUILD, "tests", "bench", "bench_store"), "fill", str(READINGS), path + ".tmp",
                    DAY.isoformat()], check=True, stdout=subprocess.DEVNULL)
    os.rename(path + ".tmp", path)
    return path


def start(port):
    d = tempfile.mkdtemp(prefix="mestys-bench-opendata-")
    os.makedirs(os.path.join(d, "state", "store"))
    shutil.copy(store_file(), os.path.join(d, "state", "store", "store.sqlite"))
    sensors20 = ["sensor-%04d" % i for i in range(20)]
    cfg = {
        "node": {"name": "bench", "state_dir": "state", "log_level": "info",
                 "http": {"listen": "127.0.0.1:%d" % port}},
        "plugins": [
            {"use": "store", "config": {"retention_days": 36500, "query_threads": int(os.environ.get("QT", "2"))}},
            {"use": "opendata", "config": opendata(60000, 1, [dataset("all", {})])},
            {"use": "opendata", "name": "nocache", "config": opendata(0, 1, [
                dataset("all", {}), dataset("teplota", {"metrics": ["temperature"], "sensors": sensors20})])},
            {"use": "opendata", "name": "bulk", "config": opendata(60000, 3, [
                dataset("teplota", {"metrics": ["temperature"], "sensors": sensors20})])},
            {"use": os.path.join(BUILD, "tests", "bench", "benchplug.so"), "name": "bench",
             "config": {"role": "static", "size": 2048}},
            {"use": os.path.join(BUILD, "tests", "bench", "benchplug.so"), "name": "bench12k",
             "config": {"role": "static", "size": PAGE_BYTES}},
        ],
    }
    path = os.path.join(d, "mestys.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    log = open(os.path.join(d, "mestysd.log"), "w")
    proc = subprocess.Popen([os.path.join(BUILD, "mestysd"), "-c", path], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
            return proc, d
        except OSError:
            time.sleep(0.02)
    proc.kill()
    with open(os.path.join(d, "mestysd.log")) as f:
        raise SystemExit("mestysd did not start:\n" + f.read())


def get(port, path, headers=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.headers, r.read()


def bulk_seconds(d):
    """From the daily check starting to the file written, by the daemon's log."""
    stamps = {}
    with open(os.path.join(d, "mestysd.log")) as f:
        for line in f:
            if "[opendata:bulk]" in line and ("running" in line or "written" in line):
                t = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
                stamps["written" if "written" in line else "running"] = t
    if len(stamps) < 2:
        return "(not in the log)"
    # the first check runs 1 s after start
    return "%.0f ms" % ((stamps["written"] - stamps["running"]).total_seconds() * 1000 - 1000)


def wrk(port, path, headers=(), script=None):
    return wrkrun.wrk(port, path, DURATION, headers, script)


def report(name, result, limit=None):
    wrkrun.report(name, result, limit, of='static', width=44)


def main():
    if not shutil.which("wrk"):
        raise SystemExit("bench_opendata needs wrk: sudo apt-get install wrk (scripts/deps.sh does)")
    port = free_port()
    proc, d = start(port)
    try:
        t = time.monotonic()
        bulk = "/api/bulk/datasets/teplota/bulk/%s.csv" % DAY.isoformat()
        while True:
            try:
                status, _, body = get(port, bulk)
                break
            except urllib.error.HTTPError:
                time.sleep(0.05)
        print("bulk: %s of 'teplota' (20 sensors x 1 metric, %d rows, %d bytes) written off the loop in %s" % (
            DAY, body.count(b"\n") - 1, len(body), bulk_seconds(d)))
        page = "/api/opendata/datasets/all/data.json?limit=100&from=%sT06:00:00Z" % DAY.isoformat()
        _, headers, body_page = get(port, page)
        etag = headers["ETag"]
        assert len(json.loads(body_page)["data"]) == 100
        script = os.path.join(d, "cursor.lua")
        with open(script, "w") as f:
            f.write("""
math.randomseed(%d)
request = function()
  local path = string.format("/api/nocache/datasets/all/data.json?limit=100&cursor=%d.%%d.%%d.%%d",
    math.random(1, 2000), math.random(1, 5), %d + 60000 * math.random(0, 900))
  return wrk.format("GET", path)
end
""" % (os.getpid(), DAY_NO, T0_MS))
        csv_api = "/api/nocache/datasets/teplota/data.csv?from=%s&to=%s&limit=10000" % (
            DAY.isoformat(), (DAY + datetime.timedelta(days=1)).isoformat())
        _, _, body = get(port, csv_api)
        print("mestysd, %d readings in the store, wrk -t2 -c64 -d%ss, on %d cores:" % (READINGS, DURATION,
                                                                                      os.cpu_count()))
        static = wrk(port, "/api/bench/static")
        report("limit: static 2-KiB answer (plugin route)", static)
        limit = static[0]
        same = wrk(port, "/api/bench12k/static")
        report("limit: static %d-KiB answer (a page's size)" % (PAGE_BYTES // 1024), same, limit)
        report("100-row JSON page (%d KiB), cached" % (len(body_page) // 1024), wrk(port, page), limit)
        gz_page = len(get(port, page, {"Accept-Encoding": "gzip"})[2])
        report("  the same, gzip (%d KiB; Accept-Encoding: gzip)" % (gz_page // 1024 or 1),
               wrk(port, page, headers=["Accept-Encoding: gzip"]), limit)
        report("100-row JSON page, uncached (keyset cursor)", wrk(port, "/", script=script), limit)
        report("conditional request answered 304", wrk(port, page, headers=["If-None-Match: " + etag]), limit)
        report("CSV day file (bulk, %d KiB)" % (len(get(port, bulk)[2]) // 1024), wrk(port, bulk), limit)
        gz = len(get(port, bulk, {"Accept-Encoding": "gzip"})[2])
        report("  the same, gzip (%d KiB)" % (gz // 1024), wrk(port, bulk, headers=["Accept-Encoding: gzip"]), limit)
        report("CSV day via API, uncached (10,000 rows, %d KiB)" % (len(body) // 1024), wrk(port, csv_api), limit)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

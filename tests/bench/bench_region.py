#!/usr/bin/env python3
"""bench_region: a region on PostgreSQL 15, every figure next to the same
run's limit, all on one private cluster (tests/integration/pg.py):

  (a) the limit: `psql \\copy` of N rows (CSV, sorted by the primary key as
      pgstore sorts a group) into pgstore's own schema, through `readings`
      and straight into the day partition `r_<day>`; rows/s;
  (b) pgstore's writer: the same number of rows posted as town batches
      (gzip NDJSON, docs/plugins/pgstore.md) by 8 and by 32 parallel
      simulated towns, one batch on the wire per town as uplink does
      (pgstore writes one group per commit_ms tick, so the towns in
      parallel bound a group's rows; how many commits, and how long the
      writer was busy, is printed from the region's /metrics); rows/s counted
      as committed (every batch answered 200, then count(*) in PostgreSQL),
      and % of (a) (target 80 %);
  (c) end to end: 50 uplink instances in ONE town daemon (50 simulated
      towns, each its own token, epoch and outbox) -> the region daemon ->
      PostgreSQL; rows/s from the first publish to the last row in
      PostgreSQL, % of (a) (target 50 %); then the realistic 830 readings/s
      (50 towns x 1,000 sensors x one a minute) and its lag;
  (d) backlog drain: the region stopped (SIGTERM) while the towns' outboxes
      fill with BACKLOG_S seconds' worth at 830/s (pre-filled as fast as the
      town takes it, not waited for in real time), then started: seconds
      until every row is committed, and the drain rate.

    python3 tests/bench/bench_region.py [build-dir]

Environment: BENCH_REGION_ROWS (N, default 200000), BENCH_REGION_RUNS
(repeats of (a) and (b), medians printed; default 3), BENCH_REGION_BACKLOG_S
(default 60; 600 is the issue's ten minutes, ~500k messages),
BENCH_REGION_WRITER_TOWNS (towns in parallel in (b), default "8,32"),
BENCH_REGION_TOWN_THREADS (UV_THREADPOOL_SIZE of the town daemon, default
64: each uplink's send holds a libuv worker thread until the region
commits, so 50 uplinks in one daemon on libuv's default 4 threads have at
most 4 batches in flight, where 50 real towns, each its own daemon, have
50; 4 shows what one daemon with 50 uplinks does),
BENCH_REGION_LAG_S (seconds of the 830/s case, default 20).  A benchmark, not
a test: nothing is asserted about time; a lost or doubled row stops it."""
import datetime
import gzip
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
os.environ.setdefault("MESTYS_BUILD_DIR", BUILD)
os.environ.setdefault("MESTYS_SOURCE_DIR", SOURCE)
os.environ.setdefault("MESTYS_TEST_PLUGIN_DIR", os.path.join(BUILD, "tests", "plugins"))
os.environ.setdefault("MESTYS_TEST_LUA_DIR", os.path.join(SOURCE, "tests", "lua"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
from harness import OPERATOR, Daemon, config, free_port  # noqa: E402
from pg import BIN, Cluster  # noqa: E402

ROWS = int(os.environ.get("BENCH_REGION_ROWS", "200000"))
RUNS = int(os.environ.get("BENCH_REGION_RUNS", "3"))
BACKLOG_S = int(os.environ.get("BENCH_REGION_BACKLOG_S", "60"))
LAG_S = int(os.environ.get("BENCH_REGION_LAG_S", "20"))
TOWNS = 50              # simulated towns of (c) and (d): uplink instances
# parallel towns of (b): each has one batch on the wire, and pgstore writes one group per commit_ms tick,
# so the towns in parallel bound the rows of a group
WRITER_TOWNS = [int(n) for n in os.environ.get("BENCH_REGION_WRITER_TOWNS", "8,32").split(",")]
SENSORS = 1000          # per town
BATCH = 2000            # messages per batch: uplink's batch_max_messages default
PER_MESSAGE = 50        # readings per published message in (c)'s throughput case (a gateway's burst)
TOWN_THREADS = int(os.environ.get("BENCH_REGION_TOWN_THREADS", "64"))
REALISTIC = 830         # readings/s: 50 towns x 1,000 sensors x one a minute
DAY = int(time.time()) // 86400 - 1  # yesterday: its partition exists from the start
T0_MS = DAY * 86400000


def token(k):
    return "bench-town-token-%02d-0123456789abcdef" % k


def town_name(k):
    return "town%02d" % k


def region_daemon(pg_conninfo, towns):
    cfg = config(free_port(), plugins=[{"use": "pgstore", "name": "pg", "config": {
        "conninfo": pg_conninfo, "town": "region",
        "towns": [{"town": town_name(k), "token": token(k)} for k in range(towns)]}}])
    cfg["node"]["http"]["body_limit"] = 4 << 20
    cfg["node"]["log_level"] = "warn"
    return Daemon(cfg)


def town_daemon(region_port, towns):
    # the region's defaults except a shorter retry cap, so (d) measures the drain and not a 60 s wait
    uplinks = [{"use": "uplink", "name": "up%02d" % k, "config": {
        "region_url": "http://127.0.0.1:%d/api/pg" % region_port, "town": town_name(k), "token": token(k),
        "retry_base_ms": 500, "retry_cap_ms": 2000}} for k in range(towns)]
    cfg = config(free_port(), plugins=uplinks + [{"use": os.path.join(SOURCE, "tests", "lua", "inject.lua")}])
    cfg["node"]["http"]["body_limit"] = 1 << 20
    cfg["node"]["log_level"] = "warn"
    return Daemon(cfg)


def rows_of(n, towns):
    """n readings: towns x SENSORS sensors, one a minute each, in outbox
    order (time, then sensor), as (town, sensor, minute) triples."""
    per_sensor = -(-n // (towns * SENSORS))
    out = []
    for i in range(per_sensor):
        for k in range(towns):
            for s in range(SENSORS):
                out.append((k, s, i))
                if len(out) == n:
                    return out
    return out


def value(k, s, i):
    return (k * 7 + s * 3 + i) * 0.25


# ---------------------------------------------------------------- (a) limit
def limit(pg, rows, tmp):
    """psql \\copy of the rows, sorted by (sensor_id, metric_id, t), into
    readings and into its day partition; median rows/s of RUNS each."""
    path = os.path.join(tmp, "rows.csv")
    with open(path, "w") as f:
        for k, s, i in sorted(rows, key=lambda r: (r[0] * SENSORS + r[1], r[2])):
            stamp = datetime.datetime.fromtimestamp((T0_MS + i * 60000) / 1000, datetime.timezone.utc)
            f.write("%d,1,%s,%r\n" % (k * SENSORS + s + 1, stamp.isoformat(), value(k, s, i)))
    result = {}
    for target in ("readings", '"r_%d"' % DAY):
        rates = []
        for _ in range(RUNS):
            pg.sql("TRUNCATE readings", db="region")
            copy = "\\copy %s(sensor_id,metric_id,t,value) FROM '%s' WITH (FORMAT csv)" % (target, path)
            started = time.monotonic()
            psql(pg, copy)
            rates.append(len(rows) / (time.monotonic() - started))
        result[target] = statistics.median(rates)
    pg.sql("TRUNCATE readings", db="region")
    return result


def psql(pg, command):
    p = subprocess.run([os.path.join(BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.dir,
                        "-p", str(pg.port), "-U", "postgres", "-d", "region", "-c", command],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("psql %r failed: %s" % (command, p.stderr))


# -------------------------------------------------------------- (b) writer
def batches_of(rows, towns, epoch):
    """Each town's rows as gzip'ed batches of BATCH messages (one reading
    each), built before the clock starts: the generator's JSON and gzip are
    not the writer's cost."""
    per_town = [[] for _ in range(towns)]
    for k, s, i in rows:
        per_town[k].append((s, i))
    out = []
    for k in range(towns):
        bodies = []
        mine = per_town[k]
        for first in range(0, len(mine), BATCH):
            chunk = mine[first:first + BATCH]
            lines = [json.dumps({"epoch": epoch, "first": first + 1, "last": first + len(chunk), "replay": False})]
            for j, (s, i) in enumerate(chunk):
                lines.append('{"o":%d,"t":"reading","b":{"sensor":"s%04d","metric":"temperature","unit":"Cel",'
                             '"value":%r,"time":%d}}' % (first + 1 + j, s, value(k, s, i), T0_MS + i * 60000))
            bodies.append(gzip.compress(("\n".join(lines) + "\n").encode(), 1))
        out.append(bodies)
    return out


def post_all(port, k, bodies, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": "Bearer " + token(k), "Content-Type": "application/x-ndjson",
               "Content-Encoding": "gzip"}
    for body in bodies:
        while True:
            conn.request("POST", "/api/pg/towns/%s/batches" % town_name(k), body, headers)
            resp = conn.getresponse()
            text = resp.read()
            if resp.status == 200:
                break
            if resp.status != 503:
                errors.append("%s: %d %s" % (town_name(k), resp.status, text[:200]))
                return
            time.sleep(0.05)
    conn.close()


def commit_stats(region):
    """(commits, seconds in groups) so far, from the region's /metrics."""
    commits = seconds = 0.0
    for line in region.get("/metrics")[2].decode().splitlines():
        if line.startswith("mestys_pgstore_commits_total{"):
            commits = float(line.split()[-1])
        elif line.startswith("mestys_pgstore_commit_seconds_sum{"):
            seconds = float(line.split()[-1])
    return commits, seconds


def writer(pg, region, rows, towns):
    rates = []
    groups = []
    for _ in range(RUNS):
        pg.sql("TRUNCATE readings, latest, hourly", db="region")
        per_town = batches_of(rows, towns, random.randrange(1, 1 << 52))
        errors = []
        threads = [threading.Thread(target=post_all, args=(region.port, k, per_town[k], errors))
                   for k in range(towns)]
        before = commit_stats(region)
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        after = commit_stats(region)
        groups.append((after[0] - before[0], after[1] - before[1], elapsed))
        if errors:
            raise SystemExit("a batch was refused: %s" % errors[0])
        count = int(pg.sql("SELECT count(*) FROM readings", db="region"))
        if count != len(rows):
            raise SystemExit("(b) %d rows committed, %d sent" % (count, len(rows)))
        rates.append(len(rows) / elapsed)
    return statistics.median(rates), groups


# ----------------------------------------------------------- (c), (d) e2e
class Publisher:
    """Publishes readings on the town's bus through inject.lua, over one
    kept-alive connection; every uplink instance gets each message."""

    def __init__(self, town):
        self.conn = http.client.HTTPConnection("127.0.0.1", town.port, timeout=30)
        self.headers = {"Authorization": "Bearer " + OPERATOR, "Content-Type": "application/json"}
        self.sent = 0

    def publish(self, records):
        body = "[" + ",".join('{"sensor":"s%04d","metric":"temperature","unit":"Cel","value":%r,"time":%d}'
                              % (s, value(0, s, i), T0_MS + i * 60000) for s, i in records) + "]"
        self.conn.request("POST", "/api/inject/publish/reading", body.encode(), self.headers)
        resp = self.conn.getresponse()
        text = resp.read()
        if resp.status != 202:
            raise SystemExit("publish: %d %s" % (resp.status, text))
        self.sent += len(records)


def stored(pg):
    return int(pg.sql("SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id "
                      "WHERE s.town LIKE 'town%'", db="region"))


def outbox_total(town):
    total = 0.0
    for line in town.get("/metrics")[2].decode().splitlines():
        if line.startswith("mestys_uplink_outbox_messages{"):
            total += float(line.split()[-1])
    return int(total)


def wait_rows(pg, want, timeout, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        n = stored(pg)
        if n >= want:
            if n != want:
                raise SystemExit("%d rows stored, %d sent: a row twice" % (n, want))
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit("only %d of %d rows after %d s" % (n, want, timeout))
        time.sleep(every)


def reset(pg):
    pg.sql("TRUNCATE readings, latest, hourly", db="region")


def end_to_end(pg, town, rows_per_town, minute0):
    """(c) throughput: rows_per_town readings published in messages of
    PER_MESSAGE, each stored once per town; from the first publish to the
    last row in PostgreSQL."""
    reset(pg)
    pub = Publisher(town)
    records = [(s, minute0 + i) for i in range(-(-rows_per_town // SENSORS)) for s in range(SENSORS)]
    records = records[:rows_per_town]
    started = time.monotonic()
    for j in range(0, len(records), PER_MESSAGE):
        pub.publish(records[j:j + PER_MESSAGE])
    published = time.monotonic() - started
    done = wait_rows(pg, TOWNS * len(records), 600)
    return TOWNS * len(records) / (done - started), published


def realistic(pg, town, minute0):
    """830 readings/s in all: each second REALISTIC / TOWNS single-reading
    messages, each reaching all 50 towns' outboxes; the lag is read from
    PostgreSQL's count every 0.25 s against when that row was published."""
    reset(pg)
    pub = Publisher(town)
    per_s = REALISTIC / TOWNS
    marks = []  # (rows at the region once this publish is stored, when it was published)
    lags = []
    started = time.monotonic()
    next_poll = started + 0.25
    n = 0
    while True:
        now = time.monotonic()
        if now - started >= LAG_S:
            break
        due = int((now - started) * per_s) + 1
        while n < due:
            pub.publish([(n % SENSORS, minute0 + n // SENSORS)])
            n += 1
            marks.append((TOWNS * n, time.monotonic()))
        if now >= next_poll:
            have = stored(pg)
            at = time.monotonic()
            # the newest publish that is wholly in PostgreSQL, and how long ago it was published
            done = [t for want, t in marks if want <= have]
            if done:
                lags.append(at - done[-1])
            next_poll += 0.25
        time.sleep(max(0.0, started + n / per_s - time.monotonic()))
    end = wait_rows(pg, TOWNS * n, 120, every=0.05)
    return TOWNS * n / LAG_S, lags, end - marks[-1][1]


def backlog(pg, region, town, minute0):
    """(d) the region stopped, BACKLOG_S x 830/s messages put in the towns'
    outboxes as fast as the town takes them, the region started."""
    reset(pg)
    region.stop()
    pub = Publisher(town)
    per_town = BACKLOG_S * REALISTIC // TOWNS
    started = time.monotonic()
    for n in range(per_town):
        pub.publish([(n % SENSORS, minute0 + n // SENSORS)])
    deadline = time.monotonic() + 600
    while outbox_total(town) < TOWNS * per_town:
        if time.monotonic() > deadline:
            raise SystemExit("the outboxes never held the backlog: %d" % outbox_total(town))
        time.sleep(0.5)
    filled = time.monotonic() - started
    depth = outbox_total(town)
    region.start()
    restarted = region.started
    done = wait_rows(pg, TOWNS * per_town, 1800, every=0.5)
    while outbox_total(town):
        time.sleep(0.1)
    return depth, filled, done - restarted


def pg_settings(pg):
    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level",
             "max_wal_size", "checkpoint_timeout")
    rows = pg.sql("SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name IN (%s) ORDER BY name"
                  % ",".join("'%s'" % n for n in names))
    return ", ".join("%s=%s%s" % tuple(r.split("|")) for r in rows.splitlines())


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    print("bench_region: %d rows, %d run(s) of (a) and (b), backlog %d s at %d/s, %d cores, load %s"
          % (ROWS, RUNS, BACKLOG_S, REALISTIC, os.cpu_count(), loadavg()), flush=True)
    tmp = tempfile.mkdtemp(prefix="mestys-bench-region-")
    pg = Cluster().start()
    region = town = None
    try:
        conninfo = pg.create_database("region")
        print("PostgreSQL: %s" % pg_settings(pg), flush=True)
        region = region_daemon(conninfo, TOWNS).start()  # makes the schema and the partitions
        rows = rows_of(ROWS, WRITER_TOWNS[0])

        lim = limit(pg, rows, tmp)
        best = lim["readings"]
        print("(a) limit: psql \\copy, CSV sorted by key          (median of %d, load %s)" % (RUNS, loadavg()))
        for target, rate in lim.items():
            print("      into %-24s %9.0f rows/s" % (target, rate))
        for towns in WRITER_TOWNS:
            rate, groups = writer(pg, region, rows if towns == WRITER_TOWNS[0] else rows_of(ROWS, towns), towns)
            print("(b) pgstore writer: %d towns posting batches of %d     (median of %d, load %s)"
                  % (towns, BATCH, RUNS, loadavg()))
            print("      committed                     %9.0f rows/s  (%3.0f%% of (a) into readings; target 80%%)"
                  % (rate, 100 * rate / best))
            for commits, seconds, elapsed in groups:
                print("      run: %.1f s, %d commits of %.0f rows, writer busy %.1f s (%.0f%% of the run)"
                      % (elapsed, commits, len(rows) / max(commits, 1), seconds, 100 * seconds / elapsed), flush=True)

        os.environ["UV_THREADPOOL_SIZE"] = str(TOWN_THREADS)  # the town's only: the region restarts without it
        town = town_daemon(region.port, TOWNS).start()
        del os.environ["UV_THREADPOOL_SIZE"]
        per_town = max(PER_MESSAGE, ROWS // TOWNS)
        rate, published = end_to_end(pg, town, per_town, 0)
        print("(c) end to end: 1 town daemon (UV_THREADPOOL_SIZE=%d), %d uplinks -> region -> PostgreSQL   (load %s)"
              % (TOWN_THREADS, TOWNS, loadavg()))
        print("      committed                     %9.0f rows/s  (%3.0f%% of (a); target 50%%); %d rows, "
              "published in %.1f s in messages of %d" % (rate, 100 * rate / best, TOWNS * per_town, published,
                                                          PER_MESSAGE), flush=True)
        minute0 = -(-per_town // SENSORS) + 1
        rate, lags, tail = realistic(pg, town, minute0)
        lags.sort()
        print("    realistic: %.0f readings/s for %d s, one reading a message (uplink/pgstore commit_ms 500)"
              % (rate, LAG_S))
        if lags:
            print("      lag publish -> committed      p50 %.2f s  p90 %.2f s  max %.2f s  (%d samples); "
                  "last row %.2f s after its publish" % (lags[len(lags) // 2], lags[int(len(lags) * 0.9)],
                                                         lags[-1], len(lags), tail), flush=True)
        minute0 += LAG_S * REALISTIC // TOWNS // SENSORS + 2
        depth, filled, drained = backlog(pg, region, town, minute0)
        print("(d) backlog: region stopped, %d messages in %d outboxes (%d s at %d/s; filled in %.1f s)"
              % (depth, TOWNS, BACKLOG_S, REALISTIC, filled))
        print("      drained in %.1f s from the region's start  %9.0f rows/s  (%3.0f%% of (a)); load %s"
              % (drained, depth / drained, 100 * depth / drained / best, loadavg()), flush=True)
    finally:
        for d in (town, region):
            if d and d.proc and d.proc.poll() is None:
                d.stop()
        pg.close()
        for path in [tmp] + [d.dir for d in (town, region) if d]:
            subprocess.run(["rm", "-rf", path])


if __name__ == "__main__":
    main()

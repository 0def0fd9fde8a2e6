"""pgstore: a region's daemon takes towns' batches into a private PostgreSQL
15 cluster (tests/integration/pg.py), checked with psql: stored once,
duplicates acknowledged, refusals counted, PostgreSQL down and back,
partitions ahead, retention."""
import gzip
import json
import os
import re
import time
import unittest

from harness import TEST_LUA, Daemon, config, eventually, free_port, main
from pg import Cluster

INJECT = os.path.join(TEST_LUA, "inject.lua")
OPERATOR = "operator-token-0123456789"
LHOTA = "lhota-token-0123456789abcdef"
HORKA = "horka-token-0123456789abcdef"
DAY = 86400000


def now_ms():
    return int(time.time() * 1000)


def pgstore_config(port, conninfo, **extra):
    cfg = {"conninfo": conninfo, "commit_ms": 50, "town": "region",
           "towns": [{"town": "lhota", "token": LHOTA}, {"town": "horka", "token": HORKA}]}
    cfg.update(extra)
    return config(port, [{"use": "pgstore", "name": "pg", "config": cfg}, {"use": INJECT}],
                  tokens=[{"token": OPERATOR, "role": "operator"}])


def batch(epoch, msgs, replay=False, first=None, last=None):
    """NDJSON of the wire format: header, then {"o","t","b"} lines."""
    os_ = [m[0] for m in msgs]
    head = {"epoch": epoch, "first": first or min(os_), "last": last or max(os_), "replay": replay}
    lines = [json.dumps(head)] + [json.dumps({"o": o, "t": "reading", "b": b}) for o, b in msgs]
    return ("\n".join(lines) + "\n").encode()


def reading(sensor, t, value, metric="temperature"):
    return {"sensor": sensor, "metric": metric, "value": value, "unit": "Cel", "time": t,
            "lat": 49.59, "lon": 17.25, "tags": {"kind": "air"}}


def metric(d, name, **labels):
    want = ['plugin="pgstore"', 'instance="pg"'] + ['%s="%s"' % kv for kv in labels.items()]
    for line in d.get("/metrics")[2].decode().splitlines():
        if line.startswith("mestys_pgstore_%s{" % name) and all(w in line for w in want):
            return float(line.split()[-1])
    return 0.0


class PgStore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.d = Daemon(pgstore_config(free_port(), cls.pg.conninfo)).start()
        cls.t0 = now_ms() - 3600000  # an hour ago: inside the window

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.pg.close()

    def post(self, town, body, token, gz=True, headers=None):
        h = {"Content-Type": "application/x-ndjson"}
        if gz:
            h["Content-Encoding"] = "gzip"
            body = gzip.compress(body)
        h.update(headers or {})
        status, hdrs, resp = self.d.request("POST", "/api/pg/towns/%s/batches" % town, body, token=token, headers=h)
        return status, hdrs, json.loads(resp) if resp else None

    def count(self, town):
        return int(self.pg.sql("SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id "
                               "WHERE s.town = '%s'" % town))

    def test_1_stored_then_duplicate(self):
        msgs = [(o, [reading("s-%d" % o, self.t0 + o * 1000, 20.5 + o), reading("s-%d" % o, self.t0 + o * 1000, 1,
                                                                             metric="humidity")])
                for o in range(1, 4)]
        body = batch(1001, msgs)
        status, _, r = self.post("lhota", body, LHOTA)
        self.assertEqual(status, 200, r)
        self.assertEqual(r, {"town": "lhota", "epoch": 1001, "committed": 3, "stored": 6, "duplicate": 0,
                             "out_of_window": 0})
        self.assertEqual(self.count("lhota"), 6)
        self.assertEqual(self.pg.sql("SELECT value FROM readings r JOIN sensors s ON s.id = r.sensor_id "
                                     "JOIN metrics m ON m.id = r.metric_id WHERE s.town = 'lhota' "
                                     "AND s.name = 's-2' AND m.name = 'temperature'"), "22.5")
        self.assertEqual(self.pg.sql("SELECT last_id FROM deliveries WHERE town = 'lhota' AND epoch = 1001"), "3")
        self.assertEqual(self.pg.sql("SELECT tags->>'kind' FROM sensors WHERE town = 'lhota' AND name = 's-1'"), "air")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM latest"), "6")
        # the same batch again: acknowledged, not stored twice
        status, _, r = self.post("lhota", body, LHOTA)
        self.assertEqual((status, r["stored"], r["duplicate"], r["committed"]), (200, 0, 6, 3))
        self.assertEqual(self.count("lhota"), 6)
        self.assertEqual(metric(self.d, "batches_total", result="duplicate"), 1)
        # the position a restarting town asks for
        status, _, p = self.d.request("GET", "/api/pg/towns/lhota/position", token=LHOTA)
        self.assertEqual((status, json.loads(p)), (200, {"epoch": 1001, "committed": 3}))

    def test_2_recut_ranges_dedup_per_message(self):
        msgs = [(o, reading("r-%d" % o, self.t0 + o, o)) for o in range(1, 6)]
        status, _, r = self.post("horka", batch(77, msgs[:3]), HORKA)
        self.assertEqual((status, r["stored"]), (200, 3))
        # after a crash the town cuts 2..5: 2 and 3 are duplicates, 4 and 5 new
        status, _, r = self.post("horka", batch(77, msgs[1:]), HORKA)
        self.assertEqual((status, r["stored"], r["duplicate"], r["committed"]), (200, 2, 2, 5))
        self.assertEqual(self.count("horka"), 5)
        # a new epoch (a recreated outbox) starts its own mark; the same rows replace, not double
        status, _, r = self.post("horka", batch(78, msgs[:2]), HORKA)
        self.assertEqual((status, r["stored"], r["committed"]), (200, 2, 2))
        self.assertEqual(self.count("horka"), 5)
        # gzip is optional; out of the window is acknowledged, not stored
        old = [(9, reading("old", self.t0 - 400 * DAY, 1))]
        status, _, r = self.post("horka", batch(78, old), HORKA, gz=False)
        self.assertEqual((status, r["stored"], r["out_of_window"], r["committed"]), (200, 0, 1, 9))

    def test_3_refusals_counted_and_logged_once(self):
        body = batch(5, [(1, reading("x", self.t0, 1))])
        for _ in range(2):
            status, hdrs, r = self.post("lhota", body, None)
            self.assertEqual(status, 401)
            self.assertEqual(hdrs.get("www-authenticate"), "Bearer")
            self.assertEqual(self.post("lhota", body, "unknown-token-0123456789")[0], 401)
            status, _, r = self.post("lhota", body, HORKA)  # horka's token posting as lhota
            self.assertEqual(status, 403, r)
            status, _, r = self.post("lhota", b'{"epoch": 5, "first": 1, "last": 2}\n{"o": 1, "t": "reading"}\n',
                                     LHOTA)
            self.assertEqual(status, 400)
            self.assertTrue(r["error"].startswith("line 2:"), r)
            status, _, r = self.post("lhota", b"\x1f\x8b not gzip", LHOTA, gz=False,
                                     headers={"Content-Encoding": "gzip"})
            self.assertEqual(status, 400, r)
            # a gzip bomb: 17 MiB of spaces inflate past max_batch_mb (16)
            bomb = b'{"epoch": 5, "first": 1, "last": 1}\n' + b" " * (17 << 20)
            status, _, r = self.post("lhota", bomb, LHOTA)
            self.assertEqual(status, 413, r)
        self.assertEqual(metric(self.d, "refused_total", reason="token"), 4)
        self.assertEqual(metric(self.d, "refused_total", reason="town"), 2)
        self.assertEqual(metric(self.d, "refused_total", reason="format"), 4)
        self.assertEqual(metric(self.d, "refused_total", reason="size"), 2)
        self.assertEqual(metric(self.d, "batches_total", result="refused"), 12)
        out = self.d.output()
        self.assertEqual(out.count("without a known town token"), 1, out)
        self.assertEqual(out.count("token used for town"), 1, out)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM sensors WHERE name = 'x'"), "0")

    def test_4_postgresql_down_then_back(self):
        self.pg.stop()
        try:
            body = batch(900, [(1, reading("down", self.t0, 1))])
            for _ in range(3):
                status, hdrs, r = self.post("lhota", body, LHOTA)
                self.assertEqual(status, 503, r)
                self.assertGreaterEqual(int(hdrs["retry-after"]), 1)

            def sick():
                status, h = self.d.json("/health")
                inst = [i for i in h["instances"] if i["name"] == "pg"][0]
                assert h["status"] == "degraded" and inst["problem"].startswith("PostgreSQL unreachable"), h
            eventually(sick)
            self.assertEqual(metric(self.d, "db_up"), 0)
            time.sleep(1.0)  # probes go on while it is down: still logged once
            self.assertEqual(self.d.output().count("PostgreSQL unreachable"), 1, self.d.output())
        finally:
            self.pg.start()

        def accepted():
            status, _, r = self.post("lhota", body, LHOTA)
            assert status == 200 and r["stored"] == 1, (status, r)
        eventually(accepted, timeout=30, every=0.2)
        status, h = self.d.json("/health")
        self.assertEqual(h["status"], "ok", h)
        self.assertNotIn("problem", [i for i in h["instances"] if i["name"] == "pg"][0])
        self.assertEqual(self.d.output().count("PostgreSQL is reachable again"), 1)
        self.assertGreaterEqual(metric(self.d, "batches_total", result="unavailable"), 3)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM sensors WHERE town = 'lhota' AND name = 'down'"), "1")

    def test_5_partitions_ahead(self):
        today = now_ms() // DAY
        names = set(self.pg.sql("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                "WHERE i.inhparent = 'readings'::regclass").split())
        for d in range(today - 1, today + 3):
            self.assertIn("r_%d" % d, names)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c "
                                     "ON c.oid = p.partrelid WHERE c.relname = 'readings' AND p.partdefid <> 0"), "0")

    def test_6_local_readings_under_the_region_town(self):
        r = reading("own-1", self.t0, 7.5)
        status, _, body = self.d.request("POST", "/api/inject/publish/reading", json.dumps([r, {"bad": 1}]).encode(),
                                         token=OPERATOR)
        self.assertEqual(status, 202, body)
        eventually(lambda: self.assertEqual(self.count("region"), 1), timeout=10)
        eventually(lambda: self.assertEqual(metric(self.d, "local_dropped_total"), 1))
        eventually(lambda: self.assertEqual(metric(self.d, "pending_bytes"), 0))


    def test_7_events_kept_once(self):
        at = self.t0 + 5
        lines = [json.dumps({"epoch": 55, "first": 1, "last": 2}),
                 json.dumps({"o": 1, "t": "charging/session", "at": at, "b": {"kwh": 3.25, "station": "CP-1"}}),
                 json.dumps({"o": 2, "t": "reading", "b": reading("ev", at, 1)})]
        body = ("\n".join(lines) + "\n").encode()
        for stored, dup in ((2, 0), (0, 2)):
            status, _, r = self.post("lhota", body, LHOTA)
            self.assertEqual((status, r["stored"], r["duplicate"]), (200, stored, dup), r)
        self.assertEqual(self.pg.sql("SELECT town, topic, body->>'kwh', (extract(epoch FROM at) * 1000)::bigint "
                                     "FROM events WHERE topic = 'charging/session'"),
                         "lhota|charging/session|3.25|%d" % at)


class NoDatabaseYet(unittest.TestCase):
    def test_server_up_database_missing_logged_once(self):
        """PQping says the server is there, the writer cannot use it: one log line, not one per probe."""
        with Cluster() as pg:
            info = pg.conninfo.replace("dbname=postgres", "dbname=region")
            d = Daemon(pgstore_config(free_port(), info)).start()
            try:
                def refused():
                    req = gzip.compress(batch(3, [(1, reading("a", now_ms(), 1))]))
                    status, _, _ = d.request("POST", "/api/pg/towns/lhota/batches", req, token=LHOTA,
                                             headers={"Content-Encoding": "gzip"})
                    assert status == 503, status
                eventually(refused, timeout=10)
                time.sleep(3)  # several probes and writer tries meanwhile
                self.assertEqual(d.output().count('database "region" does not exist'), 1, d.output())
                _, h = d.json("/health")
                self.assertIn('database "region" does not exist', h["instances"][0]["problem"])
                pg.sql("CREATE DATABASE region")

                def accepted():
                    req = gzip.compress(batch(3, [(1, reading("a", now_ms(), 1))]))
                    status, _, body = d.request("POST", "/api/pg/towns/lhota/batches", req, token=LHOTA,
                                                headers={"Content-Encoding": "gzip"})
                    assert status == 200, (status, body)
                eventually(accepted, timeout=40, every=0.3)
                self.assertEqual(d.output().count("PostgreSQL is reachable again"), 1)
                self.assertEqual(d.output().count("PostgreSQL unreachable"), 1)
                self.assertEqual(pg.sql("SELECT count(*) FROM readings", db="region"), "1")
            finally:
                d.stop()


class Retention(unittest.TestCase):
    def test_old_partition_dropped_at_start(self):
        with Cluster() as pg:
            # commit_ms a minute: the local reading is still waiting when the daemon stops
            d = Daemon(pgstore_config(free_port(), pg.conninfo, retention_days=3, commit_ms=60000)).start()
            try:
                eventually(lambda: self.assertIn("r_%d" % (now_ms() // DAY + 2), pg.sql(
                    "SELECT string_agg(relname, ' ') FROM pg_class WHERE relname LIKE 'r\\_%'")), timeout=10)
                status, _, _ = d.request("POST", "/api/inject/publish/reading",
                                         json.dumps(reading("last", now_ms(), 1)).encode(), token=OPERATOR)
                self.assertEqual(status, 202)
                # the bus delivers after the 202: stop only once pgstore holds it
                eventually(lambda: self.assertGreater(metric(d, "pending_bytes"), 0), timeout=10)
            finally:
                out = d.stop()
            self.assertIn("committed the last 1 local reading(s)", out)
            self.assertEqual(pg.sql("SELECT count(*) FROM readings"), "1")
            old = now_ms() // DAY - 10
            pg.sql("CREATE TABLE \"r_%d\" PARTITION OF readings FOR VALUES FROM ('%s') TO ('%s')" % (
                old, time.strftime("%Y-%m-%d", time.gmtime(old * 86400)),
                time.strftime("%Y-%m-%d", time.gmtime((old + 1) * 86400))))
            pg.sql("INSERT INTO readings VALUES (1, 1, '%s', 1)" % time.strftime("%Y-%m-%dT12:00:00Z",
                                                                                 time.gmtime(old * 86400)))
            d = Daemon(pgstore_config(free_port(), pg.conninfo, retention_days=3)).start()
            try:
                eventually(lambda: self.assertEqual(pg.sql("SELECT to_regclass('\"r_%d\"') IS NULL" % old), "t"),
                           timeout=15)
                d.wait_log("retention: 1 day partition(s) dropped")
            finally:
                d.stop()


if __name__ == "__main__":
    main()

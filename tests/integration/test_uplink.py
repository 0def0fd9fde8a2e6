"""The uplink plugin: a town's readings to its region, exactly once.

The region here is tests/integration/uplink_region.py, pgstore's frozen wire
format in Python (gzip NDJSON, per-(town, epoch) high-water mark), so every
answer can be forced: 503 + Retry-After, 400, 401, 413, a commit whose
answer is lost, and kill -9 of the town's daemon in the middle."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from harness import MESTYS, OPERATOR, TEST_LUA, Daemon, config, eventually, free_port, main
from pg import Cluster
from uplink_region import Region

INJECT = os.path.join(TEST_LUA, "inject.lua")
TOKEN = "town-token-lhota-0123456789"


def town_config(region, port, store=False, **extra):
    cfg = {"region_url": region.url, "town": "lhota", "token": TOKEN, "commit_ms": 50,
           "retry_base_ms": 50, "retry_cap_ms": 400, "timeout_ms": 5000}
    cfg.update(extra)
    plugins = [{"use": "uplink", "config": cfg}, {"use": INJECT}]
    if store:
        plugins.append({"use": "store", "config": {"commit_ms": 50}})
    return config(port, plugins)


def publish(d, body, topic="reading"):
    status, _, text = d.request("POST", "/api/inject/publish/" + topic, json.dumps(body).encode(), token=OPERATOR)
    assert status == 202, text


def reading(i, **extra):
    r = {"sensor": "lhota-%d" % (i % 7), "metric": "temperature", "value": i / 4, "unit": "Cel",
         "time": 1795384800000 + i * 1000}
    r.update(extra)
    return r


def metric(d, name, **labels):
    want = ",".join(['plugin="uplink"', 'instance="uplink"'] + ['%s="%s"' % kv for kv in labels.items()])
    for line in d.get("/metrics")[2].decode().splitlines():
        if line.startswith("mestys_uplink_%s{%s}" % (name, want)):
            return float(line.split()[-1])
    return 0.0


class Uplink(unittest.TestCase):
    def setUp(self):
        self.region = Region({TOKEN: "lhota", "town-token-hradek-012345678": "hradek"})
        self.town = None

    def tearDown(self):
        if self.town and self.town.proc and self.town.proc.poll() is None:
            self.town.stop()
        self.region.close()

    def start_town(self, **cfg):
        store = cfg.pop("store", False)
        self.town = Daemon(town_config(self.region, free_port(), store=store, **cfg)).start()
        return self.town

    def wait_delivered(self, n, town="lhota"):
        def check():
            self.assertEqual(len(self.region.os(town)), n)
        eventually(check, timeout=30)

    def test_every_message_arrives_once_gzip_with_token(self):
        d = self.start_town(topics=["reading", "charging/#"])
        for k in range(20):
            publish(d, [reading(k * 10 + i) for i in range(10)])
        publish(d, {"station": "CP-1", "kwh": 7.5}, topic="charging/session")
        self.wait_delivered(21)
        os_ = self.region.os()
        self.assertEqual(os_, sorted(set(os_)), "every outbox id once, in order")
        bodies = self.region.bodies()
        values = sorted(r["value"] for b in bodies if isinstance(b, list) for r in b)
        self.assertEqual(values, sorted(i / 4 for i in range(200)))
        events = [m for m in self.region.messages if m[3] == "charging/session"]
        self.assertEqual(events[0][4], {"station": "CP-1", "kwh": 7.5})
        self.assertEqual(self.region.duplicates, 0)
        self.assertGreaterEqual(self.region.positions, 1, "the town asked its position at start")
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 0))
        self.assertGreaterEqual(metric(d, "batches_sent_total"), 1)
        self.assertEqual(metric(d, "messages_dropped_total"), 0)
        # a body that is not JSON never reaches the region, and is counted
        status, _, _ = d.request("POST", "/api/inject/publish/reading", b"{not json", token=OPERATOR)
        self.assertEqual(status, 202)
        publish(d, [reading(999)])
        self.wait_delivered(22)
        eventually(lambda: self.assertEqual(metric(d, "messages_invalid_total"), 1))

    def test_503_is_retried_after_retry_after(self):
        self.region.forced = [(503, [("Retry-After", "2")], {"error": "PostgreSQL is down"})]
        d = self.start_town()
        publish(d, [reading(i) for i in range(5)])
        self.wait_delivered(1)
        tries = [b for b in self.region.batches]
        self.assertEqual(tries[0].get("forced"), 503)
        self.assertEqual(tries[1].get("answered"), 200)
        # Retry-After is a floor, whatever the backoff (50..400 ms here) says
        self.assertGreaterEqual(tries[1]["at"] - tries[0]["at"], 2.0)
        self.assertEqual(metric(d, "batches_retried_total"), 1)
        out = d.output()
        self.assertEqual(out.count("the region is not taking batches"), 1, out)
        self.assertIn("the region takes batches again", out)

    def test_unreachable_region_keeps_everything(self):
        region_url = "http://127.0.0.1:%d/api/pgstore" % free_port()  # nobody listens
        self.region.url, real = region_url, self.region.url
        d = self.start_town()
        for k in range(5):
            publish(d, [reading(k)])
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 5))
        eventually(lambda: self.assertGreaterEqual(metric(d, "batches_retried_total"), 3))
        self.assertEqual(d.output().count("the region is not taking batches"), 1)
        d.stop()
        # the same town, now pointing at the region: the outbox file kept them
        self.region.url = real
        self.town = Daemon(town_config(self.region, d.port))
        self.town.dir, self.town.path = d.dir, d.path
        self.town.write(town_config(self.region, d.port))
        self.town.start()
        self.wait_delivered(5)

    def test_400_drops_the_batch_and_counts_it(self):
        self.region.refuse = lambda header, rows: (400, {"error": "line 2: bad row"}) \
            if any(isinstance(r["b"], dict) and r["b"].get("bad") for r in rows) else None
        d = self.start_town()
        publish(d, {"bad": True})
        eventually(lambda: self.assertEqual(metric(d, "batches_refused_total", status="400"), 1))
        publish(d, [reading(1)])
        self.wait_delivered(1)
        self.assertEqual(metric(d, "messages_dropped_total"), 1)
        self.assertIn("line 2: bad row", d.output())

    def test_413_splits_and_drops_a_single_huge_message(self):
        def too_large(header, rows):
            if len(rows) > 3 or any(isinstance(r["b"], dict) and "huge" in r["b"] for r in rows):
                return 413, {"error": "batch too large"}
            return None
        self.region.refuse = too_large
        self.region.hold = threading.Event()  # let the outbox fill before the first send
        d = self.start_town()
        publish(d, {"huge": "x" * 1000})
        for i in range(10):
            publish(d, [reading(i)])
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 11))
        self.region.hold.set()
        self.wait_delivered(10)
        self.assertTrue(all(b["n"] <= 3 for b in self.region.batches if b.get("answered") == 200))
        self.assertEqual(metric(d, "messages_dropped_total"), 1)
        self.assertGreaterEqual(metric(d, "batches_refused_total", status="413"), 2)

    def test_401_keeps_the_outbox_and_retries_at_the_cap(self):
        d = self.start_town(token="town-token-nobody-0123456789")
        publish(d, [reading(1)])
        eventually(lambda: self.assertGreaterEqual(metric(d, "batches_refused_total", status="401"), 2))
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 1))
        self.assertEqual(self.region.os(), [])
        self.assertEqual(d.output().count("does not know this town's token (401)"), 1)
        health = d.json("/health")[1]
        mine = [i for i in health["instances"] if i["name"] == "uplink"][0]
        self.assertEqual(health["status"], "degraded")
        self.assertIn("does not know this town's token (401)", mine["problem"])
        # the region's operator adds the token: the kept message goes, the problem clears
        self.region.tokens["town-token-nobody-0123456789"] = "lhota"
        self.wait_delivered(1)
        def healthy():
            health = d.json("/health")[1]
            self.assertEqual(health["status"], "ok", health)
        eventually(healthy)

    def test_403_token_of_another_town(self):
        d = self.start_town(token="town-token-hradek-012345678")
        publish(d, [reading(1)])
        eventually(lambda: self.assertGreaterEqual(metric(d, "batches_refused_total", status="403"), 1))
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 1))
        self.assertEqual(self.region.os(), [])

    def test_bound_drops_the_oldest_counted_and_logged_once(self):
        self.region.forced = [(503, [], {"error": "down"})] * 10 ** 6  # the region takes nothing
        d = self.start_town(max_outbox_mb=1, retry_base_ms=1000, retry_cap_ms=1000)
        pad = "p" * 900
        for k in range(30):  # ~1.6 MiB in all, ~54 KiB per message
            publish(d, [reading(k * 60 + i, tags={"pad": pad}) for i in range(60)])
        eventually(lambda: self.assertGreater(metric(d, "messages_dropped_total"), 0))
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages") + metric(d, "messages_dropped_total"), 30))
        # the two figures come from two /metrics reads: let the last append
        # settle (commit_ms) and read them again, the same way both times
        time.sleep(1)
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages") + metric(d, "messages_dropped_total"), 30))
        self.assertLessEqual(metric(d, "outbox_bytes"), 1 << 20)
        out = d.output()
        self.assertEqual(out.count("over max_outbox_mb"), 1, out)
        kept = int(metric(d, "outbox_messages"))
        self.region.forced = []
        self.wait_delivered(kept)
        # the newest survived: the last message published is there, the first is not
        firsts = [b[0]["value"] for b in self.region.bodies()]
        self.assertIn(29 * 60 / 4, firsts)
        self.assertNotIn(0, firsts)

    def test_kill9_of_the_town_loses_nothing_and_doubles_nothing(self):
        self.region.hold = threading.Event()  # the first batch hangs on the wire
        d = self.start_town(batch_max_messages=5)
        for k in range(40):
            publish(d, [reading(k)])
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 40))
        eventually(lambda: self.assertEqual(self.region.holding, 1))
        d.proc.kill()  # SIGKILL with a batch in flight
        d.proc.wait()
        d.log.close()
        self.region.hold.set()  # the region commits that batch anyway: its answer goes nowhere
        time.sleep(0.2)
        self.region.hold = None
        self.town = Daemon(None)
        self.town.dir, self.town.path, self.town.port = d.dir, d.path, d.port
        self.town.log_path = os.path.join(d.dir, "mestysd2.log")
        self.town.start()
        self.wait_delivered(40)
        os_ = self.region.os()
        self.assertEqual(len(os_), len(set(os_)), "no message twice")
        values = sorted(b[0]["value"] for b in self.region.bodies())
        self.assertEqual(values, sorted(k / 4 for k in range(40)))

    def test_stop_abandons_a_hanging_send_and_keeps_its_rows(self):
        self.region.hold = threading.Event()  # the region never answers
        d = self.start_town(timeout_ms=120000)
        publish(d, [reading(1)])
        eventually(lambda: self.assertEqual(self.region.holding, 1))
        d.stop()  # harness: within 30 s and exit 0, though the send's timeout is 120 s
        self.region.hold = None
        self.town = Daemon(None)
        self.town.dir, self.town.path, self.town.port = d.dir, d.path, d.port
        self.town.log_path = os.path.join(d.dir, "mestysd2.log")
        self.town.start()
        self.wait_delivered(1)

    def test_lost_answer_after_commit_is_a_duplicate_not_a_double(self):
        self.region.commit_then_drop = 2
        d = self.start_town(batch_max_messages=4)
        for k in range(10):
            publish(d, [reading(k)])
        self.wait_delivered(10)
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 0))
        os_ = self.region.os()
        self.assertEqual(len(os_), len(set(os_)))
        self.assertGreater(self.region.duplicates, 0, "the resent batches were seen as delivered")

    def test_backfill_refills_from_the_store(self):
        # live readings go nowhere (topics); the store has them; the backfill sends them as replay
        d = self.start_town(store=True, topics=["nothing/live"])
        publish(d, [reading(i, time="2026-11-21T10:%02d:00Z" % (i % 60)) for i in range(120)]
                + [reading(500, time="2026-11-23T10:00:00Z")])
        time.sleep(0.5)
        env = dict(os.environ, MESTYS_TOKEN=OPERATOR)
        url = "http://127.0.0.1:%d/api/uplink" % d.port
        p = subprocess.run([MESTYS, "region", "backfill", "--from", "2026-11-21", "--to", "2026-11-22",
                            "--url", url], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"2026-11-21\.\.2026-11-22: \d+ reading\(s\) in the outbox")
        def all_there():
            rows = [r for b in self.region.bodies() for r in b]
            self.assertEqual(len(rows), 120)
        eventually(all_there, timeout=30)
        readings = [r for b in self.region.bodies() for r in b]
        got = {(r["sensor"], r["time"]) for r in readings}
        want = {("lhota-%d" % (i % 7), "2026-11-21T10:%02d:00.000Z" % (i % 60)) for i in range(120)}
        self.assertEqual(got, want)
        self.assertTrue(all(b.get("replay") for b in self.region.batches if b.get("answered") == 200))
        # a bad day is refused by the route, and the tool says so
        p = subprocess.run([MESTYS, "region", "backfill", "--from", "21.11.2026", "--url", url],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("from: a day as YYYY-MM-DD is required", p.stderr)
        p = subprocess.run([MESTYS, "region", "backfill"], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 2)


def region_config(port, conninfo):
    return config(port, [{"use": "pgstore", "name": "pg", "config": {
        "conninfo": conninfo, "commit_ms": 50, "town": "region",
        "towns": [{"town": "lhota", "token": TOKEN}, {"town": "horka", "token": "town-token-horka-0123456789"}]}}])


class RealRegion(unittest.TestCase):
    """Town daemon (uplink) -> region daemon (pgstore) -> a private
    PostgreSQL 15 (tests/integration/pg.py), rows compared with psql."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.region = Daemon(region_config(free_port(), cls.pg.conninfo)).start()
        cls.t0 = (int(time.time()) - 3600) * 1000  # an hour ago: inside the region's window
        cls.sent = set()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.region.stop()
        finally:
            cls.pg.close()

    def town(self, region_port, **extra):
        url = type("R", (), {"url": "http://127.0.0.1:%d/api/pg" % region_port})
        return Daemon(town_config(url, free_port(), retry_base_ms=50, retry_cap_ms=300, **extra))

    def publish_rows(self, d, start, n, per_message=10):
        for k in range(start, start + n, per_message):
            rows = [{"sensor": "lhota-%d" % (i % 5), "metric": "temperature", "unit": "Cel",
                     "value": i * 0.25, "time": self.t0 + i * 1000} for i in range(k, k + per_message)]
            publish(d, rows)
            self.sent |= {("lhota", r["sensor"], "temperature", r["time"], r["value"]) for r in rows}

    def rows_in_postgres(self):
        out = self.pg.sql("SELECT s.town, s.name, m.name, (extract(epoch FROM r.t) * 1000)::bigint, r.value "
                          "FROM readings r JOIN sensors s ON s.id = r.sensor_id JOIN metrics m ON m.id = r.metric_id "
                          "WHERE s.town = 'lhota'")
        rows = [line.split("|") for line in out.splitlines() if line]
        return [(t, s, m, int(ms), float(v)) for t, s, m, ms, v in rows]

    def assert_exactly_once(self):
        def same():
            rows = self.rows_in_postgres()
            self.assertEqual(len(rows), len(self.sent))
        eventually(same, timeout=60, every=0.2)
        rows = self.rows_in_postgres()
        self.assertEqual(len(rows), len(set(rows)), "a row twice")
        self.assertEqual(set(rows) - self.sent, set(), "in PostgreSQL but never sent")
        self.assertEqual(self.sent - set(rows), set(), "sent but not in PostgreSQL")

    def test_town_to_postgres_exactly_once_through_kill9_of_both_daemons(self):
        region_port = self.region.port
        d = self.town(region_port, batch_max_messages=7).start()
        self.publish_rows(d, 0, 300)
        self.assert_exactly_once()
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 0))
        epoch, last = self.pg.sql("SELECT epoch, last_id FROM deliveries WHERE town = 'lhota'").split("|")
        self.assertGreaterEqual(int(last), 30)
        self.assertGreater(metric(d, "batches_sent_total"), 4, "batches of at most 7 messages")

        # the region's daemon dies (kill -9): the town keeps everything and retries
        self.region.proc.kill()
        self.region.proc.wait()
        self.region.log.close()
        self.publish_rows(d, 300, 200)
        eventually(lambda: self.assertEqual(metric(d, "outbox_messages"), 20))
        eventually(lambda: self.assertGreaterEqual(metric(d, "batches_retried_total"), 1))
        # ... and then the town's too, with all of it in the outbox
        d.proc.kill()
        d.proc.wait()
        d.log.close()
        self.region.log_path = os.path.join(self.region.dir, "mestysd2.log")
        self.region.start()
        again = Daemon(None)
        again.dir, again.path, again.port = d.dir, d.path, d.port
        again.log_path = os.path.join(d.dir, "mestysd2.log")
        again.start()
        try:
            self.assert_exactly_once()
            self.assertEqual(self.pg.sql("SELECT epoch FROM deliveries WHERE town = 'lhota'"), epoch,
                             "the same outbox, the same epoch")
        finally:
            again.stop()

    def test_a_town_with_a_wrong_token_sends_nothing(self):
        d = self.town(self.region.port, token="town-token-horka-0123456789").start()  # horka's, as lhota
        try:
            publish(d, [{"sensor": "x", "metric": "m", "value": 1, "time": self.t0}])
            eventually(lambda: self.assertGreaterEqual(metric(d, "batches_refused_total", status="403"), 1))
            self.assertEqual(self.pg.sql("SELECT count(*) FROM sensors WHERE name = 'x'"), "0")
            self.assertEqual(metric(d, "outbox_messages"), 1)
        finally:
            d.stop()


if __name__ == "__main__":
    main()

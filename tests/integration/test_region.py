"""A region end to end, exactly once: TOWNS simulated towns (uplink
instances of one town daemon, each with its own town name, token, epoch and
outbox file) -> a region daemon (pgstore) -> a private PostgreSQL 15
(tests/integration/pg.py).  Readings are published in three parts; between
them a PostgreSQL backend is killed (kill -9) in the middle of the writer's
COPY, the region's daemon is killed (kill -9) with batches on the wire, and
the town's daemon is killed (kill -9) with its outboxes full.  At the end the
rows in PostgreSQL equal the rows sent, compared in SQL in both directions
(EXCEPT each way, and the counts).  A second test stops the region's daemon
(SIGTERM) for several seconds while the towns publish: their outboxes grow,
then drain once it is back, every row once.

MESTYS_REGION_READINGS sets the readings per town (default below: what
runs in about three minutes on the 2-core CI machine)."""
import os
import signal
import time
import unittest

from harness import OPERATOR, TEST_LUA, Daemon, config, eventually, free_port, main
from pg import Cluster

INJECT = os.path.join(TEST_LUA, "inject.lua")
TOWNS = 10
PER_TOWN = int(os.environ.get("MESTYS_REGION_READINGS", "100000"))  # 1M in all: 102 s here, load 17
PER_MESSAGE = 500
SENSORS = 100


def token(k):
    return "town-token-%02d-0123456789abcdef" % k


def big_http(cfg, body_limit):
    cfg["node"]["http"]["body_limit"] = body_limit
    return cfg


def region_config(port, conninfo):
    return big_http(config(port, [{"use": "pgstore", "name": "pg", "config": {
        "conninfo": conninfo, "commit_ms": 200, "town": "region",
        "towns": [{"town": "town%02d" % k, "token": token(k)} for k in range(TOWNS)]}}]), 4 << 20)


def town_config(port, region_port):
    uplinks = [{"use": "uplink", "name": "up%02d" % k, "config": {
        "region_url": "http://127.0.0.1:%d/api/pg" % region_port, "town": "town%02d" % k, "token": token(k),
        "commit_ms": 200, "retry_base_ms": 100, "retry_cap_ms": 1000, "batch_max_kb": 512, "gzip_level": 1}}
        for k in range(TOWNS)]
    return big_http(config(port, uplinks + [{"use": INJECT}]), 8 << 20)


class Region(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.region = Daemon(region_config(free_port(), cls.pg.conninfo)).start()
        cls.town = Daemon(town_config(free_port(), cls.region.port)).start()
        cls.t0 = (int(time.time()) - 2 * 86400) * 1000  # two days ago: inside the window, three partitions
        cls.logs = 1

    @classmethod
    def tearDownClass(cls):
        for d in (cls.town, cls.region):
            if d.proc and d.proc.poll() is None:
                d.stop()
        cls.pg.close()

    def publish(self, start, stop):
        for k in range(start, stop, PER_MESSAGE):
            rows = ",".join('{"sensor":"s%d","metric":"temperature","unit":"Cel","value":%s,"time":%d}'
                            % (i % SENSORS, repr(i * 0.25), self.t0 + i * 1000)
                            for i in range(k, min(stop, k + PER_MESSAGE)))
            status, _, text = self.town.request("POST", "/api/inject/publish/reading", ("[" + rows + "]").encode(),
                                                token=OPERATOR)
            self.assertEqual(status, 202, text)

    def outbox_total(self):
        total = 0.0
        for line in self.town.get("/metrics")[2].decode().splitlines():
            if line.startswith("mestys_uplink_outbox_messages{"):
                total += float(line.split()[-1])
        return total

    def stored(self):
        return int(self.pg.sql("SELECT count(*) FROM readings"))

    def restart(self, d):
        self.__class__.logs += 1
        d.log_path = os.path.join(d.dir, "mestysd%d.log" % self.logs)
        d.start()

    def kill9(self, d):
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.log.close()

    def copy_backend(self):
        return self.pg.sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'mestys-pgstore' "
                           "AND query ILIKE 'COPY%' AND state = 'active' LIMIT 1")

    def test_exactly_once_through_three_kill9(self):
        third = PER_TOWN // 3
        started = time.monotonic()
        # 1. a PostgreSQL backend killed in the middle of the writer's COPY
        self.publish(0, third)
        deadline, pid = time.monotonic() + 60, ""
        while not pid and time.monotonic() < deadline and self.stored() < TOWNS * third:
            pid = self.copy_backend()
        self.assertTrue(pid, "never saw the writer's COPY running")
        os.kill(int(pid), signal.SIGKILL)  # the postmaster restarts every backend; the COPY's transaction is gone
        eventually(lambda: self.assertIn("(PID %s) was terminated by signal 9" % pid, self.pg.server_log()), timeout=30)
        eventually(lambda: self.assertEqual(self.stored(), TOWNS * third), timeout=120, every=0.5)

        # 2. the region's daemon killed with batches on the wire
        self.publish(third, 2 * third)
        eventually(lambda: self.assertGreater(self.stored(), TOWNS * third), timeout=60, every=0.05)
        self.kill9(self.region)
        self.restart(self.region)
        eventually(lambda: self.assertEqual(self.stored(), TOWNS * 2 * third), timeout=120, every=0.5)

        # 3. the town's daemon killed with everything of the last part in its outboxes
        self.kill9(self.region)
        self.publish(2 * third, PER_TOWN)
        eventually(lambda: self.assertGreaterEqual(self.outbox_total(), TOWNS * len(range(2 * third, PER_TOWN,
                                                                                     PER_MESSAGE))), timeout=60)
        self.kill9(self.town)
        self.restart(self.region)
        self.restart(self.town)
        eventually(lambda: self.assertEqual(self.stored(), TOWNS * PER_TOWN), timeout=180, every=0.5)
        eventually(lambda: self.assertEqual(self.outbox_total(), 0), timeout=30)
        elapsed = time.monotonic() - started

        expected = ("SELECT 'town' || lpad(k::text, 2, '0') AS town, 's' || (i %% %d) AS sensor, "
                    "'temperature'::text AS metric, %d + i * 1000::bigint AS ms, i * 0.25::float8 AS value "
                    "FROM generate_series(0, %d) k, generate_series(0, %d) i" % (SENSORS, self.t0, TOWNS - 1, PER_TOWN - 1))
        actual = ("SELECT s.town, s.name, m.name, (extract(epoch FROM r.t) * 1000)::bigint, r.value "
                  "FROM readings r JOIN sensors s ON s.id = r.sensor_id JOIN metrics m ON m.id = r.metric_id "
                  "WHERE s.town LIKE 'town%'")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM (%s EXCEPT %s) x" % (expected, actual)), "0",
                         "sent but not stored")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM (%s EXCEPT %s) x" % (actual, expected)), "0",
                         "stored but never sent")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM (%s) x" % actual), str(TOWNS * PER_TOWN), "a row twice")
        marks = self.pg.sql("SELECT count(DISTINCT town), count(*) FROM deliveries WHERE town LIKE 'town%'")
        self.assertEqual(marks, "%d|%d" % (TOWNS, TOWNS), "one epoch per town: the outboxes survived kill -9")
        print("\n%d readings from %d towns exactly once through three kill -9 in %.1f s"
              % (TOWNS * PER_TOWN, TOWNS, elapsed))

    def test_region_down_for_a_while(self):
        """The region's daemon stopped (SIGTERM, not killed) while the towns
        keep publishing: their outboxes grow, nothing is lost or doubled
        once it is back.  Its own metric, so it is independent of the
        kill -9 test's rows."""
        per_town, metric = 6000, "humidity"

        def publish(start, stop):
            for k in range(start, stop, PER_MESSAGE):
                rows = ",".join('{"sensor":"s%d","metric":"%s","unit":"%%","value":%s,"time":%d}'
                                % (i % SENSORS, metric, repr(i * 0.5), self.t0 + i * 1000)
                                for i in range(k, min(stop, k + PER_MESSAGE)))
                status, _, text = self.town.request("POST", "/api/inject/publish/reading",
                                                    ("[" + rows + "]").encode(), token=OPERATOR)
                self.assertEqual(status, 202, text)

        eventually(lambda: self.assertEqual(self.outbox_total(), 0), timeout=60)
        self.region.stop()
        down = time.monotonic()
        publish(0, per_town // 2)
        half = TOWNS * len(range(0, per_town // 2, PER_MESSAGE))
        eventually(lambda: self.assertGreaterEqual(self.outbox_total(), half), timeout=60)
        first = self.outbox_total()
        publish(per_town // 2, per_town)
        full = TOWNS * len(range(0, per_town, PER_MESSAGE))
        eventually(lambda: self.assertGreaterEqual(self.outbox_total(), full), timeout=60)
        self.assertGreater(self.outbox_total(), first, "the outboxes grew while the region was down")
        time.sleep(max(0.0, 5 - (time.monotonic() - down)))  # down for several seconds: the towns retried
        retried = sum(float(line.split()[-1]) for line in self.town.get("/metrics")[2].decode().splitlines()
                      if line.startswith("mestys_uplink_batches_retried_total{"))
        self.assertGreater(retried, 0, "the towns tried the stopped region")

        self.restart(self.region)
        eventually(lambda: self.assertEqual(self.outbox_total(), 0), timeout=120, every=0.2)

        expected = ("SELECT 'town' || lpad(k::text, 2, '0') AS town, 's' || (i %% %d) AS sensor, "
                    "%d + i * 1000::bigint AS ms, i * 0.5::float8 AS value "
                    "FROM generate_series(0, %d) k, generate_series(0, %d) i" % (SENSORS, self.t0, TOWNS - 1, per_town - 1))
        actual = ("SELECT s.town, s.name, (extract(epoch FROM r.t) * 1000)::bigint, r.value "
                  "FROM readings r JOIN sensors s ON s.id = r.sensor_id JOIN metrics m ON m.id = r.metric_id "
                  "WHERE s.town LIKE 'town%%' AND m.name = '%s'" % metric)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM (%s EXCEPT %s) x" % (expected, actual)), "0",
                         "sent but not stored")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM (%s EXCEPT %s) x" % (actual, expected)), "0",
                         "stored but never sent")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM (%s) x" % actual), str(TOWNS * per_town), "a row twice")


if __name__ == "__main__":
    main()

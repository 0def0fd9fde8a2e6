"""The store plugin: readings in, store/query out, kill -9 in between."""
import json
import os
import re
import signal
import sqlite3
import time
import unittest

from harness import TEST_LUA, Daemon, ask, config, eventually, free_port, main

INJECT = os.path.join(TEST_LUA, "inject.lua")
ASKER = os.path.join(TEST_LUA, "asker.lua")


def store_config(port, commit_ms=100, **extra):
    return config(port, [
        {"use": "store", "config": dict({"commit_ms": commit_ms, "topics": ["charging/#"]}, **extra)},
        {"use": INJECT}, {"use": ASKER},
    ], tokens=[{"token": "operator-token-0123456789", "role": "operator"}])


def publish(d, readings, topic="reading"):
    status, _, body = d.request("POST", "/api/inject/publish/" + topic, json.dumps(readings).encode(),
                                token="operator-token-0123456789")
    assert status == 202, body


def reading(sensor, metric, minute, value, **extra):
    r = {"sensor": sensor, "metric": metric, "value": value, "unit": "Cel",
         "time": "2026-11-21T10:%02d:00.000Z" % minute}
    r.update(extra)
    return r


class Store(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(store_config(free_port())).start()
        batch = [reading("lhota-1", "temperature", m, 10 + m, lat=49.59, lon=17.25) for m in range(30)]
        batch += [reading("lhota-2", "temperature", m, 20 + m, lat=50.08, lon=14.42) for m in range(30)]
        batch += [reading("lhota-1", "humidity", m, 50, unit="%RH") for m in range(30)]
        publish(cls.d, batch)
        publish(cls.d, [reading("lhota-1", "temperature", 59, 99, time="2026-11-22T08:00:00+01:00")])
        publish(cls.d, [{"sensor": "x"}, {"sensor": "y", "metric": "m", "value": 1, "time": "yesterday"}, "nonsense"])
        eventually(lambda: cls.assert_count(cls.d, 91))

    @staticmethod
    def assert_count(d, n):
        status, r = ask(d, "store/query", {"limit": 1000})
        assert status == 200 and len(r["readings"]) == n, (status, r)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_by_sensor_metric_and_time(self):
        status, r = ask(self.d, "store/query", {"sensors": ["lhota-2"], "metrics": ["temperature"],
                                                 "from": "2026-11-21T10:10:00Z", "to": "2026-11-21T10:13:00Z"})
        self.assertEqual(status, 200)
        self.assertEqual([(x["sensor"], x["time"], x["value"]) for x in r["readings"]],
                         [("lhota-2", "2026-11-21T10:%02d:00.000Z" % m, 20 + m) for m in (10, 11, 12)])
        self.assertEqual(r["readings"][0]["unit"], "Cel")
        self.assertIsNone(r["next"])

    def test_time_zones_are_respected(self):
        status, r = ask(self.d, "store/query", {"from": "2026-11-22T07:00:00Z", "to": "2026-11-22T07:00:01Z"})
        self.assertEqual([x["value"] for x in r["readings"]], [99])

    def test_tags(self):
        publish(self.d, [reading("tag-1", "co2", 1, 400, tags={"street": "Husova", "kind": "air"}),
                         reading("tag-2", "co2", 1, 410, tags={"street": "Husova", "kind": "parking"}),
                         reading("tag-3", "co2", 1, 420)])
        def husova_air():
            status, r = ask(self.d, "store/query", {"tags": {"street": "Husova", "kind": "air"}})
            self.assertEqual(status, 200, r)
            self.assertEqual([x["sensor"] for x in r["readings"]], ["tag-1"])
        eventually(husova_air)
        status, r = ask(self.d, "store/query", {"tags": {"street": "Husova"}, "metrics": ["co2"]})
        self.assertEqual(sorted(x["sensor"] for x in r["readings"]), ["tag-1", "tag-2"])
        for bad in ({"street": ["a"]}, {"a'b": "x"}, {}, ["street"]):
            status, r = ask(self.d, "store/query", {"tags": bad})
            self.assertEqual(status, 502, bad)  # the asker's status for a refused query
            self.assertIn("tags", r["error"])

    def test_bbox(self):
        status, r = ask(self.d, "store/query", {"bbox": [14.0, 49.9, 15.0, 50.2], "limit": 100})
        self.assertEqual({x["sensor"] for x in r["readings"]}, {"lhota-2"})

    def test_latest_and_hourly(self):
        status, r = ask(self.d, "store/query", {"latest": True, "sensors": ["lhota-1"]})
        latest = {x["metric"]: (x["time"], x["value"]) for x in r["latest"]}
        self.assertEqual(latest, {"temperature": ("2026-11-22T07:00:00.000Z", 99), "humidity": ("2026-11-21T10:29:00.000Z", 50)})
        status, r = ask(self.d, "store/query", {"aggregate": "hour", "sensors": ["lhota-2"]})
        self.assertEqual(len(r["hourly"]), 1)
        h = r["hourly"][0]
        self.assertEqual((h["hour"], h["min"], h["max"], h["count"]), ("2026-11-21T10:00:00.000Z", 20, 49, 30))
        self.assertAlmostEqual(h["avg"], 34.5)

    def test_keyset_paging_while_readings_arrive(self):
        seen, cursor, pages = [], None, 0
        while True:
            q = {"limit": 7, "to": "2026-11-21T23:59:59Z"}
            if cursor:
                q["cursor"] = cursor
            status, r = ask(self.d, "store/query", q)
            self.assertEqual(status, 200, r)
            seen += [(x["sensor"], x["metric"], x["time"]) for x in r["readings"]]
            cursor = r["next"]
            pages += 1
            if pages == 2:  # new readings while we walk
                publish(self.d, [reading("lhota-0", "temperature", m, 0) for m in range(5)] +
                                [reading("lhota-9", "temperature", m, 0) for m in range(5)])
                time.sleep(0.3)
            if not cursor:
                break
        original = [s for s in seen if s[0] not in ("lhota-0", "lhota-9")]
        self.assertEqual(len(original), 90)
        self.assertEqual(len(set(seen)), len(seen), "a row came twice")

    def refused_counted(self):
        text = self.d.get("/metrics")[2].decode()
        return int(re.search(r'mestys_store_queries_refused_total\{[^}]*\} (\d+)', text).group(1))

    def test_bad_queries(self):
        before = self.refused_counted()
        bad = (({"limit": 0}, "limit"), ({"from": "yesterday"}, "from/to"),
               ({"from": "2026-11-22T00:00:00Z", "to": "2026-11-21T00:00:00Z"}, "from/to"),
               ({"bbox": [1, 2, 3]}, "bbox"), ({"cursor": "abc"}, "cursor"), ({"aggregate": "week"}, "aggregate"),
               # numbers no int64 holds: refused, not cast (undefined behaviour)
               ({"limit": 1e300}, "limit: must be 1..10000"), ({"limit": "5"}, "limit: must be 1..10000"),
               ({"cursor": "99999999999999999999.1.1.1"}, "cursor: not one this store gave"),
               ({"events": "charging/#", "cursor": "e99999999999999999999"}, "cursor: not one this store gave"))
        for q, word in bad:
            status, r = ask(self.d, "store/query", q)
            self.assertEqual(status, 502, q)
            self.assertIn(word, r["error"])
        self.assertEqual(self.refused_counted(), before + len(bad))
        # logged once, whatever a peer sends: the rest only counted
        self.assertEqual(self.d.output().count("store/query refused"), 1)
        status, r = ask(self.d, "store/query", {"limit": 10000})
        self.assertEqual(status, 200, r)

    def test_other_topics_kept_as_events(self):
        for i in range(3):
            publish(self.d, {"charge_point": "CP-%d" % i, "kwh": 7.5 + i}, topic="charging/session")
        publish(self.d, {"connector": 1, "status": "Available"}, topic="charging/status")

        def kept():
            status, r = ask(self.d, "store/query", {"events": "charging/session", "limit": 2})
            self.assertEqual(status, 200, r)
            self.assertEqual([e["body"]["charge_point"] for e in r["events"]], ["CP-0", "CP-1"])
            status, r2 = ask(self.d, "store/query", {"events": "charging/session", "cursor": r["next"]})
            self.assertEqual([e["body"]["kwh"] for e in r2["events"]], [9.5])
            self.assertIsNone(r2["next"])
            status, r3 = ask(self.d, "store/query", {"events": "charging/#"})
            self.assertEqual(sorted({e["topic"] for e in r3["events"]}), ["charging/session", "charging/status"])
        eventually(kept)

    def test_bad_readings_counted(self):
        text = self.d.get("/metrics")[2].decode()
        self.assertIn('mestys_store_readings_refused_total{plugin="store",instance="store"} 3', text)


class Retention(unittest.TestCase):
    def test_old_days_are_dropped_hourly_kept(self):
        d = Daemon(store_config(free_port(), retention_days=30, hourly_days=3650)).start()
        old = time.strftime("%Y-%m-%dT10:00:00Z", time.gmtime(time.time() - 45 * 86400))
        new = time.strftime("%Y-%m-%dT10:00:00Z", time.gmtime(time.time() - 3600))
        publish(d, [reading("r-1", "temperature", 0, 5, time=old), reading("r-1", "temperature", 0, 6, time=new)])

        def applied():
            status, r = ask(d, "store/query", {"sensors": ["r-1"]})
            self.assertEqual([x["value"] for x in r["readings"]], [6])
            status, h = ask(d, "store/query", {"sensors": ["r-1"], "aggregate": "hour"})
            self.assertEqual(sorted(x["max"] for x in h["hourly"]), [5, 6])
        eventually(applied)
        d.stop()


class Durability(unittest.TestCase):
    def test_kill_9_loses_at_most_the_last_commit_interval(self):
        cfg = store_config(free_port(), commit_ms=200)
        d = Daemon(cfg).start()
        sent = 0
        for batch in range(20):
            publish(d, [reading("s%d" % i, "temperature", batch, i) for i in range(100)])
            sent += 100

        def committed():
            text = d.get("/metrics")[2].decode()
            self.assertIn('mestys_store_readings_stored_total{plugin="store",instance="store"} %d' % sent, text)
        eventually(committed, timeout=10)  # every reading committed ...
        publish(d, [reading("late", "temperature", 0, 1)])  # ... and one more that may not be
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        db_path = os.path.join(d.dir, "state", "store", "store.sqlite")
        db = sqlite3.connect(db_path)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        days = [r[0] for r in db.execute("SELECT day FROM partition")]
        rows = sum(db.execute("SELECT count(*) FROM r_%d" % day).fetchone()[0] for day in days)
        db.close()
        self.assertIn(rows, (sent, sent + 1))  # nothing committed is lost
        # and it carries on after a restart
        again = Daemon(cfg)
        again.dir, again.path, again.log_path = d.dir, d.path, d.log_path + ".2"
        again.start()
        publish(again, [reading("s0", "temperature", 59, 1)])
        eventually(lambda: self.assertEqual(
            len(ask(again, "store/query", {"sensors": ["s0"], "limit": 100})[1]["readings"]), 21))
        again.stop()


if __name__ == "__main__":
    main()

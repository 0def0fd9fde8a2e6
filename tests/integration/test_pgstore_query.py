"""pgstore answers store/query as store does: the same readings published to
a town daemon with store and to a region daemon with pgstore (on a private
PostgreSQL cluster, tests/integration/pg.py), the same requests asked of
both, and the raw reply bodies compared byte for byte -- apart from the
documented naming, "<town>/<name>" for sensors on pgstore.  Pages are
followed through their cursors on both sides; every refusal must be the
same text; PostgreSQL stopped is an error answer, not a hang, and the
queries work again once it is back."""
import json
import os
import time
import unittest

from harness import OPERATOR, TEST_LUA, Daemon, config, eventually, free_port, main
from pg import Cluster

INJECT = os.path.join(TEST_LUA, "inject.lua")
ASKER = os.path.join(TEST_LUA, "asker.lua")
TOWN = "testov"
DAY = "2026-11-26"


def reading(sensor, metric, minute, value, day=DAY, **extra):
    r = {"sensor": sensor, "metric": metric, "value": value, "unit": "Cel" if metric == "temperature" else None,
         "time": "%sT10:%02d:00.000Z" % (day, minute)}
    if r["unit"] is None:
        del r["unit"]
    r.update(extra)
    return r


def publish(d, body, topic="reading"):
    status, _, resp = d.request("POST", "/api/inject/publish/" + topic, json.dumps(body).encode(), token=OPERATOR)
    assert status == 202, resp


def ask_raw(d, body):
    """store/query through tests/lua/asker.lua: (http status, the reply's bytes as the server sent them)."""
    text = body if isinstance(body, (bytes, str)) else json.dumps(body)
    # bytes go as they are, not UTF-8 perhaps: a type the core does not check as text
    status, _, resp = d.request("POST", "/api/asker/ask/store/query", text.encode() if isinstance(text, str) else text,
                                headers=None if isinstance(text, str) else {"Content-Type": "application/octet-stream"})
    assert status == 202, resp
    rid = json.loads(resp)["id"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, _, resp = d.get("/api/asker/answer?id=%d" % rid)
        if status != 404:
            return status, resp
        time.sleep(0.01)
    raise AssertionError("no answer to %r" % (body,))


def town_names(reply):
    """store's reply bytes with its sensors named as pgstore names them."""
    return reply.replace(b'"sensor":"', b'"sensor":"' + TOWN.encode() + b"/")


# (sensor, metric) in the order they first arrive: each is committed before
# the next comes, so both stores number sensors and metrics alike (the ids
# are in the cursors)
SERIES = [("lhota-1", "temperature", dict(lat=49.5938, lon=17.2509, tags={"street": "Husova", "n": 1})),
          ("lhota-1", "humidity", dict(lat=49.5938, lon=17.2509)),
          ("lhota-2", "temperature", dict(lat=50.08, lon=14.42, tags={"street": "Palackého", "ok": True})),
          ("lhota-3", "temperature", {}),
          ("lhota-2", "humidity", dict(lat=50.08, lon=14.42))]

QUERIES = [
    {}, {"limit": 7}, {"limit": 1}, {"limit": 10000},
    {"sensors": ["lhota-2"], "metrics": ["temperature"], "from": DAY + "T10:10:00Z", "to": DAY + "T10:13:00+00:00"},
    {"sensors": ["lhota-1", "nobody"], "limit": 5}, {"sensors": []}, {"metrics": ["humidity"], "limit": 4},
    {"fields": ["time", "sensor", "value"], "limit": 9}, {"fields": ["lat", "unit", "lon"], "limit": 3},
    {"fields": []}, {"bbox": [14.0, 49.9, 15.0, 50.2], "limit": 6}, {"bbox": [-180, -90, 180, 90], "limit": 50},
    {"tags": {"street": "Husova"}}, {"tags": {"n": 1}}, {"tags": {"n": 1.0, "street": "Husova"}},
    {"tags": {"ok": True}, "limit": 3}, {"tags": {"ok": 1}, "limit": 3}, {"tags": {"n": "1"}},
    {"latest": True}, {"latest": True, "limit": 2}, {"latest": True, "fields": ["sensor", "value"]},
    {"latest": True, "tags": {"street": "Palackého"}},
    {"aggregate": "hour"}, {"aggregate": "hour", "limit": 1}, {"aggregate": "hour", "from": DAY + "T10:30:00Z"},
    {"events": "charging/session"}, {"events": "charging/#", "limit": 2}, {"events": "charging"},
    {"from": "2026-11-27T00:00:00Z", "limit": 3}, {"to": DAY + "T10:05:00Z", "limit": 4},
    {"from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z"},
]

REFUSED = [
    {"limit": 0}, {"limit": 10001}, {"limit": 1.5}, {"limit": 1e300}, {"limit": "5"},
    {"from": "yesterday"}, {"from": "2026-11-22T00:00:00Z", "to": "2026-11-21T00:00:00Z"}, {"to": 5},
    {"bbox": [15, 49, 14, 50]}, {"bbox": [0, 0, 0]}, {"bbox": [0, -91, 0, 0]}, {"tags": {}}, {"tags": {"a b": "x"}},
    {"tags": {"a": [1]}}, {"sensors": "lhota-1"}, {"metrics": [1]}, {"cursor": "x"}, {"cursor": "1.2.3"},
    {"cursor": "1.2.3.4.5"}, {"cursor": " 1.2.3.4"}, {"cursor": "99999999999999999999.1.1.1"}, {"cursor": 5},
    {"aggregate": "day"}, {"fields": ["colour"]}, {"fields": "time"}, {"events": ""}, {"events": 1},
    {"events": "charging/#", "cursor": "1.2.3.4"}, {"events": "x", "limit": -1}, "[1]", "nonsense", "",
]


class SameAnswers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        common = [{"use": INJECT}, {"use": ASKER}]
        cls.store = Daemon(config(free_port(), [
            {"use": "store", "config": {"commit_ms": 50, "topics": ["charging/#"]}}] + common)).start()
        cls.region = Daemon(config(free_port(), [
            {"use": "pgstore", "config": {"conninfo": cls.pg.conninfo, "town": TOWN, "commit_ms": 50,
                                          "topics": ["charging/#"]}}] + common)).start()
        cls.both = (cls.store, cls.region)
        for n, (sensor, metric, extra) in enumerate(SERIES, 1):
            batch = [reading(sensor, metric, m, 10 + m / 4 + n, **extra) for m in range(0, 60, 3)]
            batch += [reading(sensor, metric, m, -m, day="2026-11-27", **extra) for m in range(3)]
            for d in cls.both:
                publish(d, batch)
            for d in cls.both:
                eventually(lambda: cls.count(d, {"latest": True}, "latest", n), timeout=15)
        for i in range(5):
            for d in cls.both:
                publish(d, {"station": "náměstí-%d" % i, "kwh": 10.5 + i, "at": [1, 2.5, None]}, "charging/session")
        for d in cls.both:
            publish(d, "not an object", "charging/plain")
            eventually(lambda: cls.count(d, {"events": "charging/#", "limit": 100}, "events", 6), timeout=15)

    @classmethod
    def count(cls, d, q, key, n):
        status, body = ask_raw(d, q)
        assert status == 200 and len(json.loads(body)[key]) == n, (status, body)

    @classmethod
    def tearDownClass(cls):
        for d in cls.both:
            d.stop()
        cls.pg.close()

    def pages(self, d, q):
        """Every page of q, following "next"; the raw bodies."""
        out, cursor = [], None
        for _ in range(200):
            body = dict(q, cursor=cursor) if cursor else q
            status, raw = ask_raw(d, body)
            self.assertEqual(status, 200, raw)
            out.append(raw)
            cursor = json.loads(raw)["next"]
            if cursor is None:
                return out
        self.fail("more than 200 pages")

    def region_query(self, q):
        """q as asked of the region: its sensor names carry the town."""
        q = dict(q)
        if "sensors" in q:
            q["sensors"] = [TOWN + "/" + s for s in q["sensors"]]
        return q

    def test_readings_latest_hourly_pages_identical(self):
        for q in QUERIES:
            if "events" in q:
                continue
            with self.subTest(q=q):
                mine, theirs = self.pages(self.store, q), self.pages(self.region, self.region_query(q))
                self.assertEqual(len(mine), len(theirs))
                for a, b in zip(mine, theirs):
                    self.assertEqual(town_names(a), b)
                self.assertGreater(len(mine[0]), 20)

    def test_events_identical_but_arrival_times(self):
        for q in QUERIES:
            if "events" not in q:
                continue
            with self.subTest(q=q):
                mine, theirs = self.pages(self.store, q), self.pages(self.region, q)
                self.assertEqual(len(mine), len(theirs))
                for a, b in zip(mine, theirs):
                    a, b = json.loads(a), json.loads(b)
                    for e in a["events"] + b["events"]:
                        self.assertRegex(e.pop("time"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                    self.assertEqual(a, b)

    def test_sensor_names_and_town_tag(self):
        status, raw = ask_raw(self.region, {"tags": {"town": TOWN}, "latest": True})
        self.assertEqual(status, 200)
        names = {r["sensor"] for r in json.loads(raw)["latest"]}
        self.assertEqual(names, {TOWN + "/lhota-1", TOWN + "/lhota-2", TOWN + "/lhota-3"})
        status, raw = ask_raw(self.region, {"tags": {"town": "elsewhere"}, "latest": True})
        self.assertEqual(json.loads(raw)["latest"], [])
        status, raw = ask_raw(self.region, {"sensors": ["lhota-1"], "latest": True})
        self.assertEqual(json.loads(raw)["latest"], [], "a name without its town is nobody's")
        # names PostgreSQL would refuse as text (not UTF-8): no sensor has them, as in store
        for body in (b'{"sensors": ["\xc3("], "latest": true}', b'{"tags": {"a": "\xed\xa0\x80"}}',
                     b'{"events": "charging/\xff#"}'):
            a, b = ask_raw(self.store, body), ask_raw(self.region, body)
            self.assertEqual(a[0], 200, a)
            self.assertEqual(a, b)

    def test_refusals_identical(self):
        for q in REFUSED:
            with self.subTest(q=q):
                a, b = ask_raw(self.store, q), ask_raw(self.region, q)
                self.assertEqual(a[0], 502, a)  # the asker's status for a refused query
                self.assertEqual(a, b)
                self.assertIn(b'"error"', b[1])

    def test_walk_sees_every_row_once_while_readings_arrive(self):
        first = self.pages(self.region, {"limit": 1000})
        before = {(r["sensor"], r["metric"], r["time"]) for r in json.loads(first[0])["readings"]}
        seen, cursor, m = [], None, 0
        while True:
            publish(self.region, [reading("lhota-%d" % (1 + m % 3), "temperature", 0, 1,
                                          time="%sT12:%02d:%02d.000Z" % (DAY, m // 60, m % 60))])
            m += 1
            status, raw = ask_raw(self.region, dict({"limit": 4}, **({"cursor": cursor} if cursor else {})))
            page = json.loads(raw)
            seen += [(r["sensor"], r["metric"], r["time"]) for r in page["readings"]]
            cursor = page["next"]
            if cursor is None:
                break
        self.assertEqual(len(seen), len(set(seen)), "a row came twice")
        self.assertEqual(before - set(seen), set(), "a row that was there when the walk began was missed")

    def test_postgresql_down_is_an_answer_then_back(self):
        logged = self.region.output().count("store/query: PostgreSQL did not answer")
        self.pg.stop()
        try:
            status, raw = ask_raw(self.region, {"latest": True})
            self.assertEqual(status, 502, raw)
            self.assertIn(b"not answering", raw)
            status, raw = ask_raw(self.region, {"limit": 0})
            self.assertEqual(json.loads(raw)["error"], "limit: must be 1..10000", "refusals need no database")
        finally:
            self.pg.start()
        eventually(lambda: self.count(self.region, {"latest": True}, "latest", 5), timeout=20)
        _, _, metrics = self.region.get("/metrics")
        self.assertRegex(metrics.decode(), r"mestys_pgstore_queries_failed_total\{[^}]*\} [1-9]")
        self.assertEqual(self.region.output().count("store/query: PostgreSQL did not answer"), logged + 1,
                         "logged once: " + self.region.output())


if __name__ == "__main__":
    main()

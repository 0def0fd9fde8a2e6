"""The opendata plugin: datasets over HTTP from the real store, checked with
clients nobody here wrote (curl, Python's csv module, ajv and jsonld).

The same tests run twice, the unchanged opendata plugin asking store/query of
each backend: the town's `store`, and a region's `pgstore` on a private
PostgreSQL cluster (tests/integration/pg.py), where a sensor is named
"<town>/<name>" (docs/plugins/pgstore-query.md)."""
import csv
import datetime
import gzip
import io
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import MESTYS, OPERATOR, SOURCE, TEST_LUA, Daemon, config, eventually, free_port, main
from pg import Cluster

INJECT = os.path.join(TEST_LUA, "inject.lua")
HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("MESTYS_DCAT_REFERENCE",
                           os.path.join(SOURCE, "..", "shared", "reference", "dcat-ap-cz"))
BASE = "https://data.testtown.example/api/opendata"
YESTERDAY = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).date()
DAY = YESTERDAY.isoformat()


def dataset(id, source, **extra):
    d = {
        "id": id,
        "title": {"cs": "Data " + id, "en": "Data " + id},
        "description": {"cs": "Popis " + id, "en": "About " + id},
        "keywords": {"cs": ["ovzduší"], "en": ["air"]},
        "themes": ["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
        "frequency": "http://publications.europa.eu/resource/authority/frequency/CONT",
        "ruian": ["https://linked.cuzk.cz/resource/ruian/obec/500496"],
        "source": source,
    }
    d.update(extra)
    return d


class Backend:
    """What serves store/query: "store", or "pgstore" on a cluster of its own
    (its readings kept under the town TOWN, so its sensors are TOWN/<name>)."""
    TOWN = "testov"

    def __init__(self, name):
        self.name = name
        self.pg = Cluster().start() if name == "pgstore" else None

    def entry(self, **cfg):
        if self.pg:
            cfg = dict(cfg, conninfo=self.pg.conninfo, town=self.TOWN)
        return {"use": self.name, "config": cfg}

    def sensor(self, name):
        return self.TOWN + "/" + name if self.pg else name

    def close(self):
        if self.pg:
            self.pg.close()


def opendata_config(S=str, **extra):
    c = {
        "base_url": BASE,
        "catalog": {
            "title": {"cs": "Otevřená data Testova", "en": "Testov open data"},
            "description": {"cs": "Data obce Testov."},
            "publisher": "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308",
            "homepage": "https://www.testtown.example/",
            "contact": {"name": {"cs": "Obecní úřad"}, "email": "podatelna@testtown.example"},
        },
        "datasets": [
            dataset("ovzdusi", {"sensors": [S("lhota-1"), S("lhota-2")], "metrics": ["temperature", "humidity"]},
                    terms={"author_work": "https://creativecommons.org/licenses/by/4.0/",
                           "author": {"cs": "Obec Testov"}}),
            dataset("nabijeni", {"topic": "charging/session"}, fields=["station", "kwh"],
                    themes=["http://publications.europa.eu/resource/authority/data-theme/TRAN"]),
            dataset("teploty", {"metrics": ["temperature"]}, fields=["time", "sensor", "value"]),
            dataset("husova", {"tags": {"street": "Husova"}}, fields=["time", "sensor", "metric", "value"]),
        ],
        "rate_limit": {"per_second": 0},
        "max_page": 500,
        "page_size": 50,
        "bulk_delay_ms": 0,
    }
    c.update(extra)
    return c


def reading(sensor, metric, minute, value, **extra):
    r = {"sensor": sensor, "metric": metric, "value": value, "unit": "Cel" if metric == "temperature" else "%RH",
         "time": "%sT10:%02d:00.000Z" % (DAY, minute)}
    r.update(extra)
    return r


def publish(d, body, topic="reading"):
    status, _, resp = d.request("POST", "/api/inject/publish/" + topic, json.dumps(body).encode(), token=OPERATOR)
    assert status == 202, resp


def curl(d, path, *args):
    """curl -i: (status, headers, body bytes) of the last response."""
    p = subprocess.run(["curl", "-s", "-i", "--path-as-is", *args, "http://127.0.0.1:%d%s" % (d.port, path)],
                       capture_output=True, timeout=30)
    raw = p.stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def local(url):
    """The daemon's own path for a public URL built from base_url."""
    assert url.startswith(BASE), url
    return "/api/opendata" + url[len(BASE):]


class OpenData(unittest.TestCase):
    backend = "store"

    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.be = Backend(cls.backend)
        S = cls.be.sensor
        cls.d = Daemon(config(port, [
            cls.be.entry(commit_ms=50, topics=["charging/#"]),
            {"use": INJECT},
            {"use": "opendata", "config": opendata_config(S)},
            {"use": "opendata", "name": "limited", "config": opendata_config(S, rate_limit={"per_second": 0.5,
                                                                                           "burst": 3})},
        ])).start()
        batch = []
        for m in range(30):
            batch.append(reading("lhota-1", "temperature", m, 10 + m / 4, lat=49.5938, lon=17.2509))
            batch.append(reading("lhota-2", "temperature", m, -3.25 + m, lat=50.08, lon=14.42))
            batch.append(reading("lhota-1", "humidity", m, 50 + m, lat=49.5938, lon=17.2509))
            batch.append(reading("lhota-3", "temperature", m, 99))  # not in "ovzdusi"
        batch.append(reading("husova-7", "noise", 0, 55.5, tags={"street": "Husova", "kind": "noise"}))
        publish(cls.d, batch)
        for i in range(5):
            publish(cls.d, {"station": "náměstí-%d" % i, "kwh": 10.5 + i, "user": "Jan Novák",
                            "card": "04A2B3C4D5"}, topic="charging/session")
        eventually(lambda: cls.count_rows("ovzdusi", 90), timeout=10)
        eventually(lambda: cls.count_rows("nabijeni", 5), timeout=10)

    @classmethod
    def count_rows(cls, ds, n):
        status, body = cls.d.json("/api/opendata/datasets/%s/data.json?limit=500" % ds)
        assert status == 200 and len(body["data"]) == n and body["next"] is None, (status, body)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.be.close()

    def S(self, name):
        return self.be.sensor(name)

    def walk(self, first, fmt="json"):
        """Follows next links from first; returns the rows of every page."""
        rows, url, pages = [], first, 0
        while url:
            status, _, body = self.d.get(url)
            self.assertEqual(status, 200, body)
            page = json.loads(body)
            rows += page["data"]
            url = local(page["next"]) if page["next"] else None
            pages += 1
        return rows, pages

    # --- metadata ---------------------------------------------------------

    def test_list_and_metadata(self):
        status, body = self.d.json("/api/opendata/datasets")
        self.assertEqual(status, 200)
        self.assertEqual([x["id"] for x in body["datasets"]], ["ovzdusi", "nabijeni", "teploty", "husova"])
        status, meta = self.d.json("/api/opendata/datasets/ovzdusi")
        self.assertEqual(meta["title"]["cs"], "Data ovzdusi")
        self.assertEqual(meta["links"]["csv"], BASE + "/datasets/ovzdusi/data.csv")
        self.assertEqual(meta["fields"], ["time", "sensor", "metric", "value", "unit", "lat", "lon"])

    def test_unknown_dataset(self):
        status, _, body = self.d.get("/api/opendata/datasets/nic/data.json")
        self.assertEqual(status, 404)
        err = json.loads(body)
        self.assertIn("no dataset \"nic\"", err["error"])
        self.assertIn("ovzdusi, nabijeni, teploty, husova", err["error"])

    # --- formats ----------------------------------------------------------

    def test_json_only_the_datasets_sensors_and_metrics(self):
        rows, _ = self.walk("/api/opendata/datasets/ovzdusi/data.json?limit=500")
        self.assertEqual(len(rows), 90)
        self.assertEqual({r["sensor"] for r in rows}, {self.S("lhota-1"), self.S("lhota-2")})
        r = next(r for r in rows if r["sensor"] == self.S("lhota-2") and r["time"] == "%sT10:05:00.000Z" % DAY)
        self.assertEqual((r["metric"], r["value"], r["unit"], r["lat"], r["lon"]),
                         ("temperature", 1.75, "Cel", 50.08, 14.42))

    def test_csv_parses_with_a_standard_parser(self):
        status, headers, body = curl(self.d, "/api/opendata/datasets/ovzdusi/data.csv?limit=500")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/csv"))
        self.assertFalse(body.startswith(b"\xef\xbb\xbf"))
        self.assertIn(b"\r\n", body)
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
        self.assertEqual(len(rows), 90)
        self.assertEqual(list(rows[0].keys()), ["time", "sensor", "metric", "value", "unit", "lat", "lon"])
        for r in rows:
            t = datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00"))
            self.assertIsNotNone(t.utcoffset(), "times carry their offset")
            self.assertEqual(t.date(), YESTERDAY)
        one = next(r for r in rows if r["sensor"] == self.S("lhota-1") and r["metric"] == "temperature"
                   and r["time"].endswith("T10:02:00.000Z"))
        self.assertEqual(float(one["value"]), 10.5)

    def test_csv_bom_on_request(self):
        status, _, body = self.d.get("/api/opendata/datasets/ovzdusi/data.csv?bom=1&limit=3")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"\xef\xbb\xbftime,sensor"))

    def test_csv_quotes_what_needs_quoting(self):
        publish(self.d, {"station": "Nádraží, \"sever\"\nvchod", "kwh": 1, "user": "x"}, topic="charging/session")

        def quoted():
            status, _, body = self.d.get("/api/opendata/datasets/nabijeni/data.csv?limit=500&from=2000-01-01")
            rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
            self.assertIn(["Nádraží, \"sever\"\nvchod", "1"], [r[1:] for r in rows])
        eventually(quoted, timeout=10)

    def test_geojson(self):
        status, body = self.d.json("/api/opendata/datasets/ovzdusi/data.geojson?sensor=%s&limit=500"
                                    % self.S("lhota-2"))
        self.assertEqual(status, 200)
        self.assertEqual(body["type"], "FeatureCollection")
        self.assertEqual(len(body["features"]), 30)
        f = body["features"][0]
        self.assertEqual(f["geometry"], {"type": "Point", "coordinates": [14.42, 50.08]})
        self.assertNotIn("lat", f["properties"])
        self.assertEqual(f["properties"]["sensor"], self.S("lhota-2"))

    def test_accept_header_picks_the_format(self):
        status, h, body = curl(self.d, "/api/opendata/datasets/ovzdusi/data?limit=2", "-H", "Accept: text/csv")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"time,sensor"))
        self.assertEqual(h.get("vary"), "Accept")
        status, h, body = curl(self.d, "/api/opendata/datasets/ovzdusi/data?limit=2", "-H",
                               "Accept: application/geo+json;q=0.9, text/html;q=0.1")
        self.assertEqual(json.loads(body)["type"], "FeatureCollection")
        status, h, body = curl(self.d, "/api/opendata/datasets/ovzdusi/data?limit=2", "-H", "Accept: application/xml")
        self.assertEqual(status, 406)
        self.assertIn("text/csv", json.loads(body)["error"])
        status, _, _ = curl(self.d, "/api/opendata/datasets/ovzdusi/data.xml")
        self.assertEqual(status, 404)

    def test_public_fields_only(self):
        rows, _ = self.walk("/api/opendata/datasets/nabijeni/data.json?limit=2")
        self.assertGreaterEqual(len(rows), 5)
        for r in rows:
            self.assertEqual(set(r), {"time", "station", "kwh"})
        for path in ("data.json?limit=500", "data.csv?limit=500", "bulk"):
            status, _, body = self.d.get("/api/opendata/datasets/nabijeni/" + path)
            self.assertNotIn("Novák".encode(), body)
            self.assertNotIn(b"04A2B3C4D5", body)
        status, body = self.d.json("/api/opendata/datasets/teploty/data.json?limit=500")
        self.assertEqual(set(body["data"][0]), {"time", "sensor", "value"})
        self.assertIn(self.S("lhota-3"), {r["sensor"] for r in body["data"]})

    def test_dataset_by_tags(self):
        status, body = self.d.json("/api/opendata/datasets/husova/data.json")
        self.assertEqual(status, 200, body)
        self.assertEqual([(r["sensor"], r["metric"], r["value"]) for r in body["data"]], [(self.S("husova-7"), "noise", 55.5)])

    # --- filters and paging -----------------------------------------------

    def test_filters(self):
        q = urllib.parse.urlencode({"sensor": self.S("lhota-1"), "metric": "temperature", "from": DAY + "T10:10:00+00:00",
                                    "to": DAY + "T11:13:00+01:00", "limit": 500})
        status, body = self.d.json("/api/opendata/datasets/ovzdusi/data.json?" + q)
        self.assertEqual(status, 200, body)
        self.assertEqual([r["time"][11:16] for r in body["data"]], ["10:10", "10:11", "10:12"])
        status, body = self.d.json("/api/opendata/datasets/ovzdusi/data.json?bbox=14.0,49.9,15.0,50.2&limit=500")
        self.assertEqual({r["sensor"] for r in body["data"]}, {self.S("lhota-2")})

    def test_paging_while_readings_arrive(self):
        before, _ = self.walk("/api/opendata/datasets/teploty/data.json?limit=500")
        keys = {(r["sensor"], r["time"]) for r in before}
        stop = threading.Event()

        def writer():
            m = 0
            while not stop.is_set():
                publish(self.d, [reading("lhota-%d" % (1 + m % 3), "temperature", 0, 1,
                                         time="%sT12:%02d:%02d.000Z" % (DAY, m // 60 % 60, m % 60))])
                m += 1
                time.sleep(0.005)
        t = threading.Thread(target=writer)
        t.start()
        try:
            rows, pages = self.walk("/api/opendata/datasets/teploty/data.json?limit=7")
        finally:
            stop.set()
            t.join()
        self.assertGreater(pages, 10)
        seen = [(r["sensor"], r["time"]) for r in rows]
        self.assertEqual(len(seen), len(set(seen)), "a row came twice")
        self.assertEqual(keys - set(seen), set(), "a row that was there when the walk began was missed")

    def test_next_link_is_stable_and_in_the_link_header(self):
        status, h, body = curl(self.d, "/api/opendata/datasets/ovzdusi/data.csv?limit=10&metric=humidity")
        link = h["link"]
        self.assertTrue(link.startswith("<" + BASE + "/datasets/ovzdusi/data.csv?limit=10&metric=humidity&cursor="))
        self.assertTrue(link.endswith('>; rel="next"'))
        status2, h2, _ = curl(self.d, "/api/opendata/datasets/ovzdusi/data.csv?limit=10&metric=humidity")
        self.assertEqual(h2["link"], link)

    # --- bad input ----------------------------------------------------------

    def error(self, path, status):
        got, headers, body = self.d.get(path)
        self.assertEqual(got, status, body)
        self.assertEqual(headers["content-type"], "application/json")
        return json.loads(body)["error"]

    def test_bad_requests_say_what_is_wrong(self):
        base = "/api/opendata/datasets/ovzdusi/data.json?"
        self.assertIn("time range is empty", self.error(base + "from=2026-11-21T10:00:00Z&to=2026-11-21T09:00:00Z", 400))
        self.assertIn("from: \"yesterday\" is not a time", self.error(base + "from=yesterday", 400))
        self.assertIn("2026-02-30", self.error(base + "to=2026-02-30", 400))
        self.assertIn("bbox", self.error(base + "bbox=14,50,13,49", 400))
        self.assertIn("bbox", self.error(base + "bbox=14,50,15", 400))
        self.assertIn("bbox", self.error(base + "bbox=14,50,15,nan", 400))
        self.assertIn("from 1 to 500", self.error(base + "limit=501", 400))
        self.assertIn("from 1 to 500", self.error(base + "limit=0", 400))
        self.assertIn("unknown parameter \"form\"", self.error(base + "form=2026-11-21", 400))
        self.assertIn("sensor \"%s\" is not in this dataset" % self.S("lhota-3"),
                      self.error(base + "sensor=" + self.S("lhota-3"), 400))
        self.assertIn("cursor", self.error(base + "cursor=../../etc", 400))
        self.assertIn("cursor", self.error(base + "cursor=99.x", 400))
        self.assertIn("comes from messages", self.error("/api/opendata/datasets/nabijeni/data?sensor=a", 400))
        status, body = self.d.json("/health")
        self.assertEqual(status, 200)

    def bad_requests_counted(self):
        _, _, body = self.d.get("/metrics")
        m = re.search(r'mestys_opendata_bad_requests_total\{[^}]*instance="opendata"[^}]*\} (\d+)', body.decode())
        return int(m.group(1)) if m else 0

    def test_two_bad_times_one_answer(self):
        # from and to both bad: one answer, about from, counted once; the
        # plugin answered twice before (found by fuzz_opendata)
        before = self.bad_requests_counted()
        self.assertIn("from: \"x\" is not a time",
                      self.error("/api/opendata/datasets/ovzdusi/data.json?from=x&to=y", 400))
        self.assertEqual(self.bad_requests_counted(), before + 1)

    def test_huge_query_string(self):
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            s.sendall(b"GET /api/opendata/datasets/ovzdusi/data.json?sensor=")
            try:
                for _ in range(10):
                    s.sendall(b"a" * (1 << 20))
                s.sendall(b" HTTP/1.1\r\nHost: x\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading: fine, as long as it said why or hung up
            answer = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        if answer:
            status = int(answer.split(b" ", 2)[1])
            self.assertIn(status, (400, 414, 431), answer[:200])
        status, _ = self.d.json("/api/opendata/datasets")
        self.assertEqual(status, 200)

    def test_path_traversal(self):
        for path in ("/api/opendata/datasets/../../admin/plugins",
                     "/api/opendata/datasets/..%2F..%2Fadmin%2Fplugins",
                     "/api/opendata/datasets/ovzdusi/bulk/..%2F..%2F..%2Fmestys.json",
                     "/api/opendata/datasets/ovzdusi/bulk/../../../mestys.json",
                     "/api/opendata/datasets/%2e%2e/data.json",
                     "/api/opendata/catalog/datasets/..%2F..%2Fstore"):
            status, _, body = curl(self.d, path)
            self.assertIn(status, (401, 404), path)
            self.assertNotIn(b"tokens", body)
            self.assertNotIn(b"operator-token", body)

    def test_head_and_methods(self):
        status, h, body = curl(self.d, "/api/opendata/datasets/ovzdusi/data.json?limit=5", "-I")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        _, h2, _ = curl(self.d, "/api/opendata/datasets/ovzdusi/data.json?limit=5")
        self.assertEqual(h["etag"], h2["etag"])
        status, h, _ = curl(self.d, "/api/opendata/datasets/ovzdusi/data.json", "-X", "DELETE")
        self.assertEqual(status, 405)
        self.assertIn("GET", h["allow"])
        status, _, _ = curl(self.d, "/api/opendata/datasets/ovzdusi/bulk/%s.csv" % DAY, "-X", "POST")
        self.assertEqual(status, 401, "writing a day again is for operators")

    # --- conditional requests and caching -------------------------------------

    def test_etag_and_last_modified(self):
        path = "/api/opendata/datasets/ovzdusi/data.csv?limit=20"
        status, h, body = curl(self.d, path)
        self.assertEqual(status, 200)
        self.assertRegex(h["etag"], r'^"[0-9a-f]{16}"$')
        self.assertIn("max-age=", h["cache-control"])
        status, h304, body = curl(self.d, path, "-H", "If-None-Match: " + h["etag"])
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(h304["etag"], h["etag"])
        status, _, _ = curl(self.d, path, "-H", 'If-None-Match: "0000000000000000", W/' + h["etag"])
        self.assertEqual(status, 304)
        status, _, _ = curl(self.d, path, "-H", "If-Modified-Since: " + h["last-modified"])
        self.assertEqual(status, 304)
        status, _, _ = curl(self.d, path, "-H", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT")
        self.assertEqual(status, 200)
        status, _, _ = curl(self.d, path, "-H", 'If-None-Match: "0000000000000000"')
        self.assertEqual(status, 200)
        for doc in ("/api/opendata/datasets", "/api/opendata/catalog", "/api/opendata/catalog/datasets/ovzdusi"):
            _, h, _ = curl(self.d, doc)
            status, _, _ = curl(self.d, doc, "-H", "If-None-Match: " + h["etag"])
            self.assertEqual(status, 304, doc)

    def test_gzip_for_clients_that_take_it(self):
        path = "/api/opendata/datasets/ovzdusi/data.json?limit=100"
        _, plain_h, plain = curl(self.d, path)
        status, h, body = curl(self.d, path, "-H", "Accept-Encoding: gzip, deflate")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertIn("Accept-Encoding", h["vary"])
        self.assertEqual(gzip.decompress(body), plain)
        self.assertLess(len(body), len(plain))
        self.assertNotEqual(h["etag"], plain_h["etag"], "each representation has its own ETag")
        status, _, _ = curl(self.d, path, "-H", "Accept-Encoding: gzip", "-H", "If-None-Match: " + h["etag"])
        self.assertEqual(status, 304)
        status, h, body = curl(self.d, path, "-H", "Accept-Encoding: gzip;q=0, identity")
        self.assertNotIn("content-encoding", h)
        self.assertEqual(body, plain)

    def test_rate_limit(self):
        codes = [curl(self.d, "/api/limited/datasets")[0] for _ in range(4)]
        self.assertEqual(codes[:3], [200, 200, 200])
        self.assertEqual(codes[3], 429)
        status, h, body = curl(self.d, "/api/limited/datasets/ovzdusi/data.json")
        self.assertEqual(status, 429)
        self.assertGreaterEqual(int(h["retry-after"]), 1)
        self.assertIn("too many requests", json.loads(body)["error"])
        status, _, _ = curl(self.d, "/api/opendata/datasets")
        self.assertEqual(status, 200, "the limit is per instance and client")
        _, _, metrics = self.d.get("/metrics")
        self.assertRegex(metrics.decode(), r'mestys_opendata_rate_limited_total\{[^}]*instance="limited"[^}]*\} [1-9]')

    # --- bulk files ----------------------------------------------------------

    def test_bulk_file_of_a_day(self):
        status, _, body = self.d.request("POST", "/api/opendata/datasets/ovzdusi/bulk/%s.csv" % DAY, token=OPERATOR)
        self.assertEqual(status, 202, body)

        def written():
            status, _, body = self.d.get("/api/opendata/datasets/ovzdusi/bulk/%s.csv" % DAY)
            self.assertEqual(status, 200)
            return body
        body = eventually(written, timeout=10)
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
        q = urllib.parse.urlencode({"from": DAY, "to": (YESTERDAY + datetime.timedelta(days=1)).isoformat(),
                                    "limit": 500})
        api = list(csv.DictReader(io.StringIO(self.d.get("/api/opendata/datasets/ovzdusi/data.csv?" + q)[2]
                                              .decode("utf-8"), newline="")))
        self.assertEqual(len(rows), 90)
        self.assertEqual(rows, api)
        status, h, latest = curl(self.d, "/api/opendata/datasets/ovzdusi/bulk/latest.csv")
        self.assertEqual(status, 200)
        self.assertEqual(latest, body)
        status, _, packed = curl(self.d, "/api/opendata/datasets/ovzdusi/bulk/latest.csv", "-H", "Accept-Encoding: gzip")
        self.assertEqual(gzip.decompress(packed), body)
        self.assertIn('filename="ovzdusi-%s.csv"' % DAY, h["content-disposition"])
        status, h304, _ = curl(self.d, "/api/opendata/datasets/ovzdusi/bulk/%s.csv" % DAY, "-H",
                               "If-None-Match: " + h["etag"])
        self.assertEqual(status, 304)
        status, index = self.d.json("/api/opendata/datasets/ovzdusi/bulk")
        self.assertEqual(index["days"][0]["day"], DAY)
        self.assertEqual(index["days"][0]["bytes"], len(body))
        self.assertIn("not a daily file", self.error("/api/opendata/datasets/ovzdusi/bulk/2026-13-01.csv", 404))
        self.assertIn("no file for", self.error("/api/opendata/datasets/ovzdusi/bulk/2001-01-01.csv", 404))

    # --- the catalogue ---------------------------------------------------------

    def test_catalogue_validates_and_expands(self):
        self.assertTrue(os.path.isdir(REFERENCE), "DCAT-AP-CZ reference files not found at " + REFERENCE)
        tmp = tempfile.mkdtemp(prefix="mestys-dcat-")
        files = []
        status, h, body = curl(self.d, "/api/opendata/catalog")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "application/ld+json")
        catalog = json.loads(body)
        self.assertEqual(catalog["iri"], BASE + "/catalog")
        for iri in [catalog["iri"]] + catalog["datová_sada"]:
            status, _, body = self.d.get(local(iri))
            self.assertEqual(status, 200, iri)
            path = os.path.join(tmp, "%d.jsonld" % len(files))
            with open(path, "wb") as f:
                f.write(body)
            files.append(path)
        with open(files[1]) as f:
            broken = json.load(f)
        del broken["téma"]
        broken["distribuce"][0]["přístupové_url"] = "ftp://nowhere"
        with open(os.path.join(tmp, "broken.jsonld"), "w") as f:
            json.dump(broken, f)
        files.append(os.path.join(tmp, "broken.jsonld"))
        out = subprocess.run(["node", os.path.join(HERE, "dcat_check.js"), REFERENCE, *files],
                             capture_output=True, text=True, timeout=60, cwd=HERE)
        self.assertEqual(out.returncode, 0, out.stderr)
        results = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual(len(results), len(files))
        self.assertEqual(results[0]["types"], ["http://www.w3.org/ns/dcat#Catalog"])
        for r in results[:-1]:
            self.assertTrue(r["valid"], r)
            self.assertGreater(r["triples"], 10)
        self.assertEqual(len(results) - 2, 4, "one record per dataset")
        for r in results[1:-1]:
            self.assertEqual(r["types"], ["http://www.w3.org/ns/dcat#Dataset"])
        self.assertFalse(results[-1]["valid"], "the validator must refuse a broken record")
        self.assertTrue(any("téma" in e for e in results[-1]["errors"]), results[-1]["errors"])

    def test_metrics(self):
        self.d.get("/api/opendata/datasets/ovzdusi/data.json?limit=9999")
        _, _, body = self.d.get("/metrics")
        text = body.decode()
        for name in ("opendata_requests_total", "opendata_bad_requests_total", "opendata_cache_hits_total",
                     "opendata_cache_misses_total", "opendata_not_modified_total", "opendata_bulk_files_total"):
            self.assertIn("mestys_" + name, text)
        self.assertRegex(text, r'mestys_opendata_bad_requests_total\{[^}]*instance="opendata"[^}]*\} [1-9]')


class WithoutStore(unittest.TestCase):
    def test_no_store_is_a_503_that_says_why(self):
        d = Daemon(config(free_port(), [{"use": "opendata", "config": opendata_config()}])).start()
        try:
            status, headers, body = d.get("/api/opendata/datasets/ovzdusi/data.json")
            self.assertEqual(status, 503)
            self.assertEqual(headers["retry-after"], "5")
            self.assertIn("store plugin", json.loads(body)["error"])
            status, _, _ = d.get("/api/opendata/catalog")
            self.assertEqual(status, 200, "the catalogue needs no store")
        finally:
            out = d.stop()
        self.assertEqual(out.count("store/query failed"), 1, "logged once")


class Check(unittest.TestCase):
    """`mestys check` refuses metadata NKOD would refuse, naming the key."""

    def check(self, **change):
        cfg = opendata_config()
        ds = cfg["datasets"][0]
        for k, v in change.items():
            if k == "base_url":
                cfg["base_url"] = v
            elif v is None:
                ds.pop(k, None)
            else:
                ds[k] = v
        d = Daemon(config(free_port(), [{"use": "store"}, {"use": "opendata", "config": cfg}]))
        p = subprocess.run([MESTYS, "check", d.path], capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def test_good_config_passes(self):
        rc, out = self.check()
        self.assertEqual(rc, 0, out)

    def test_refusals_name_the_key(self):
        cases = [
            ({"themes": ["ENVI"]}, "datasets[0].themes[0]", "data-theme"),
            ({"frequency": "daily"}, "datasets[0].frequency", "frequency IRI"),
            ({"ruian": []}, "datasets[0].ruian", "at least one"),
            ({"ruian": ["https://example.org/obec/1"]}, "datasets[0].ruian[0]", "linked.cuzk.cz"),
            ({"keywords": {"cs": [], "en": ["air"]}}, "datasets[0].keywords.cs", "Czech keyword"),
            ({"id": "../etc"}, "datasets[0].id", "cannot be a dataset id"),
            ({"base_url": "http://data.testtown.example/api/opendata"}, "base_url", "https://"),
            ({"source": {"topic": "charging/session"}, "fields": None}, "datasets[0].fields", "public fields"),
            ({"terms": {"author_work": "https://creativecommons.org/licenses/by/4.0/"}}, "datasets[0].terms.author_work",
             "needs \"author\""),
            ({"contact": {"email": "nobody"}}, "datasets[0].contact.email", "not an e-mail"),
            ({"fields": ["time", "value", "owner"]}, "datasets[0].fields[2]", "not a field of a reading"),
            ({"terms": {"personal_data": "maybe"}}, "datasets[0].terms.personal_data", "is not one of"),
            ({"source": {"tags": {"street name": "Husova"}}}, "datasets[0].source.tags", "word: value"),
            ({"source": {"topic": "charging/session", "tags": {"a": "b"}}, "fields": ["kwh"]}, "datasets[0].source",
             "not both"),
        ]
        for change, key, words in cases:
            rc, out = self.check(**change)
            self.assertEqual(rc, 2, (change, out))
            self.assertRegex(out, r"mestys\.json:\d+:\d+: error: plugins\[1\]\.config\.%s: " % key.replace("[", r"\[")
                             .replace("]", r"\]").replace(".", r"\."), (change, out))
            self.assertIn(words, out, change)


class OpenDataOnPgstore(OpenData):
    """Every test of OpenData, the readings in a region's PostgreSQL."""
    backend = "pgstore"


def iso_ago(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class SensorList(unittest.TestCase):
    """GET datasets/<id>/sensors: each sensor's newest values, public fields only, offline by the server's clock."""
    backend = "store"

    @classmethod
    def setUpClass(cls):
        cls.be = Backend(cls.backend)
        S = cls.be.sensor
        cls.d = Daemon(config(free_port(), [
            cls.be.entry(commit_ms=50, topics=["charging/#"]),
            {"use": INJECT},
            {"use": "opendata", "config": opendata_config(datasets=[
                dataset("ovzdusi", {"metrics": ["temperature", "humidity"]}, offline_after_ms=3600000),
                dataset("bez-mist", {"sensors": [S("s-1"), S("s-2")]}, fields=["time", "sensor", "metric", "value"]),
                dataset("anonymni", {"sensors": [S("s-1")]}, fields=["time", "value"]),
                dataset("nabijeni", {"topic": "charging/session"}, fields=["kwh"]),
            ])},
        ])).start()
        tags = {"street": "Husova"}
        publish(cls.d, [
            {"sensor": "s-1", "metric": "temperature", "value": 20.5, "unit": "Cel", "time": iso_ago(7200),
             "lat": 49.59, "lon": 17.25, "tags": tags},
            {"sensor": "s-1", "metric": "temperature", "value": 21.25, "unit": "Cel", "time": iso_ago(60),
             "lat": 49.59, "lon": 17.25, "tags": tags},
            {"sensor": "s-1", "metric": "humidity", "value": 40, "unit": "%RH", "time": iso_ago(120),
             "lat": 49.59, "lon": 17.25, "tags": tags},
            {"sensor": "s-2", "metric": "temperature", "value": -4, "unit": "Cel", "time": iso_ago(3 * 3600),
             "lat": 50.08, "lon": 14.42},
            {"sensor": "s-3", "metric": "noise", "value": 50, "unit": "dB", "time": iso_ago(30)},
        ])

        def arrived():
            status, body = cls.d.json("/api/opendata/datasets/ovzdusi/data.json?limit=500")
            assert status == 200 and len(body["data"]) == 4, body
        eventually(arrived, timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.be.close()

    def test_newest_values_and_offline(self):
        status, body = self.d.json("/api/opendata/datasets/ovzdusi/sensors")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["dataset"], "ovzdusi")
        self.assertEqual(body["offline_after_ms"], 3600000)
        now = datetime.datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
        self.assertLess(abs((now - datetime.datetime.now(datetime.timezone.utc)).total_seconds()), 60)
        S = self.be.sensor
        by_id = {s["sensor"]: s for s in body["sensors"]}
        self.assertEqual(set(by_id), {S("s-1"), S("s-2")}, "s-3 has no metric of the dataset")
        s1, s2 = by_id[S("s-1")], by_id[S("s-2")]
        self.assertEqual(set(s1), {"sensor", "lat", "lon", "time", "metrics", "offline"}, "no tags, nothing else")
        self.assertEqual((s1["lat"], s1["lon"], s1["offline"]), (49.59, 17.25, False))
        self.assertEqual(sorted((m["metric"], m["value"], m["unit"]) for m in s1["metrics"]),
                         [("humidity", 40, "%RH"), ("temperature", 21.25, "Cel")], "the newest value per metric")
        newest = max(m["time"] for m in s1["metrics"])
        self.assertEqual(s1["time"], newest)
        self.assertTrue(s2["offline"], "3 hours without a reading, offline after 1 hour")
        self.assertEqual([(m["metric"], m["value"]) for m in s2["metrics"]], [("temperature", -4)])

    def test_the_datasets_own_threshold_and_fields(self):
        status, body = self.d.json("/api/opendata/datasets/bez-mist/sensors")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["offline_after_ms"], 7200000, "the default: two hours")
        by_id = {s["sensor"][len(self.be.sensor("")):]: s for s in body["sensors"]}
        self.assertEqual(set(by_id["s-1"]), {"sensor", "time", "metrics", "offline"}, "lat and lon are not public")
        self.assertEqual(set(by_id["s-1"]["metrics"][0]), {"metric", "value", "time"}, "unit is not public")
        self.assertFalse(by_id["s-1"]["offline"])
        self.assertTrue(by_id["s-2"]["offline"], "3 hours, over the default 2")

    def test_metadata_links_it(self):
        status, meta = self.d.json("/api/opendata/datasets/ovzdusi")
        self.assertEqual(meta["links"]["sensors"], BASE + "/datasets/ovzdusi/sensors")
        self.assertEqual(meta["offline_after_ms"], 3600000)
        status, meta = self.d.json("/api/opendata/datasets/anonymni")
        self.assertNotIn("sensors", meta["links"])

    def test_refusals(self):
        for path, code, words in (("anonymni/sensors", 404, "does not publish which sensor"),
                                  ("nabijeni/sensors", 404, "comes from messages"),
                                  ("ovzdusi/sensors?metric=x", 400, "takes no parameters")):
            status, _, body = self.d.get("/api/opendata/datasets/" + path)
            self.assertEqual(status, code, body)
            self.assertIn(words, json.loads(body)["error"])

    def test_pages_are_served_unless_turned_off(self):
        status, headers, body = self.d.get("/opendata/")
        self.assertEqual(status, 200, body)
        self.assertIn("text/html", headers["content-type"])
        self.assertIn(b"sensors.js", body)
        status, _, _ = self.d.get("/opendata/sensors.js")
        self.assertEqual(status, 200)
        d = Daemon(config(free_port(), [{"use": "store"}, {"use": "opendata", "config": opendata_config(pages=False)}])).start()
        try:
            self.assertEqual(d.get("/opendata/")[0], 404)
            self.assertEqual(d.json("/api/opendata/datasets")[0], 200, "the API still runs")
        finally:
            d.stop()

    def test_offline_after_is_checked(self):
        cfg = opendata_config(datasets=[dataset("x", {"metrics": ["t"]}, offline_after_ms=10)])
        d = Daemon(config(free_port(), [{"use": "store"}, {"use": "opendata", "config": cfg}]))
        p = subprocess.run([MESTYS, "check", d.path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("offline_after_ms", p.stdout + p.stderr)


class SensorListOnPgstore(SensorList):
    """Every test of SensorList, the readings in a region's PostgreSQL."""
    backend = "pgstore"


if __name__ == "__main__":
    main()

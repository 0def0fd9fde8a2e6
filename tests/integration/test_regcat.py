"""The regional catalogue: two real town daemons running opendata, a third
town that is another LKOD (a small Python server here, serving one broken
record), and a region daemon running its own opendata and regcat, all over
HTTPS under public names (libcurl's CONNECT_TO maps them to 127.0.0.1).
The regional Katalog and every record it lists are checked with ajv and
jsonld (dcat_check.js); the second harvest is answered with 304s."""
import http.server
import json
import os
import re
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import MESTYS, OPERATOR, SOURCE, TEST_LUA, Daemon, config, eventually, free_port, main
from test_opendata import dataset

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("MESTYS_DCAT_REFERENCE",
                           os.path.join(SOURCE, "..", "shared", "reference", "dcat-ap-cz"))
CONTEXT = ("https://ofn.gov.cz/rozhraní-katalogů-otevřených-dat/2021-01-11/kontexty/"
           "rozhraní-katalogů-otevřených-dat.jsonld")
PUBLISHER = "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308"
NAMES = ["data.town-a.example", "data.town-b.example", "data.town-c.example", "data.region.example"]
REGION = "https://data.region.example/api/regcat"


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    san = ",".join(["DNS:" + n for n in NAMES] + ["IP:127.0.0.1"])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=data.region.example", "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True)
    return cert, key


def town_opendata(name, ids):
    return {
        "base_url": "https://%s/api/opendata" % name,
        "catalog": {"title": {"cs": "Data " + name}, "description": {"cs": "Data obce."}, "publisher": PUBLISHER},
        "datasets": [dataset(i, {"metrics": ["temperature"]}) for i in ids],
        "rate_limit": {"per_second": 0},
        "pages": False,
    }


def tls_daemon(cert, key, plugins):
    port = free_port()
    cfg = config(port, plugins)
    cfg["node"]["http"].update({"tls_cert": cert, "tls_key": key})
    d = Daemon(cfg)
    d.tls = ssl.create_default_context(cafile=cert)
    return d


def town(cert, key, name, ids):
    return tls_daemon(cert, key, [
        {"use": "store", "config": {"commit_ms": 50}},
        {"use": os.path.join(TEST_LUA, "inject.lua")},
        {"use": "opendata", "config": town_opendata(name, ids)},
    ])


def record(iri, **drop):
    r = {"@context": CONTEXT, "iri": iri, "typ": "Datová sada", "název": {"cs": "Hluk"}, "popis": {"cs": "Hluk."},
         "poskytovatel": PUBLISHER, "téma": ["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
         "periodicita_aktualizace": "http://publications.europa.eu/resource/authority/frequency/DAILY",
         "klíčové_slovo": {"cs": ["hluk"]}, "prvek_rúian": ["https://linked.cuzk.cz/resource/ruian/obec/500496"]}
    for k in drop:
        del r[k]
    return r


class OtherLkod(http.server.BaseHTTPRequestHandler):
    """Town C: another LKOD, one good record and one without "téma"."""
    base = "https://data.town-c.example/lkod"
    docs = {
        "/lkod/catalog": {"@context": CONTEXT, "iri": base + "/catalog", "typ": "Katalog", "název": {"cs": "C"},
                          "popis": {"cs": "Obec C."}, "poskytovatel": PUBLISHER,
                          "datová_sada": [base + "/hluk", base + "/rozbita"]},
        "/lkod/hluk": record(base + "/hluk"),
        "/lkod/rozbita": record(base + "/rozbita", téma=1),
    }

    def do_GET(self):
        doc = self.docs.get(self.path)
        body = json.dumps(doc, ensure_ascii=False).encode() if doc else b"{}"
        self.send_response(200 if doc else 404)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def region_config(ports, cert=None, key=None):
    """The region: its own opendata and regcat (TLS and the CA when cert is given)."""
    cfg = config(ports[3], [
        {"use": "opendata", "config": town_opendata(NAMES[3], ["kraj-ovzdusi"])},
        {"use": "regcat", "config": {
            "base_url": REGION,
            "catalog": {"title": {"cs": "Otevřená data regionu", "en": "Regional open data"},
                        "description": {"cs": "Data obcí regionu."}, "publisher": PUBLISHER,
                        "homepage": "https://www.region.example/",
                        "contact": {"name": {"cs": "Svazek obcí"}, "email": "data@region.example"}},
            "own_catalog": "https://data.region.example/api/opendata/catalog",
            "towns": [{"town": "a", "catalog": "https://data.town-a.example/api/opendata/catalog"},
                      {"town": "b", "catalog": "https://data.town-b.example/api/opendata/catalog",
                       "nkod": "direct"},
                      {"town": "c", "catalog": "https://data.town-c.example/lkod/catalog"}],
            "connect_to": ["%s:443:127.0.0.1:%d" % (n, p) for n, p in zip(NAMES, ports)],
            "timeout_ms": 3000,
        }},
    ])
    if cert:
        cfg["plugins"][1]["config"]["ca_file"] = cert
        cfg["node"]["http"].update({"tls_cert": cert, "tls_key": key})
    cfg["node"]["name"] = "region"
    return cfg


def metric(d, pattern):
    _, _, body = d.get("/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if re.match(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
    return total


class RegionalCatalogue(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mestys-regcat-")
        cls.cert, cls.key = make_cert(cls.tmp)
        cls.a = town(cls.cert, cls.key, NAMES[0], ["teplota", "vlhkost", "hluk"]).start()
        cls.b = town(cls.cert, cls.key, NAMES[1], ["srazky"]).start()
        cls.c = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtherLkod)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cls.cert, cls.key)
        cls.c.socket = ctx.wrap_socket(cls.c.socket, server_side=True)
        threading.Thread(target=cls.c.serve_forever, daemon=True).start()
        cls.r = tls_daemon(cls.cert, cls.key, [])
        ports = [cls.a.port, cls.b.port, cls.c.server_address[1], cls.r.port]
        cls.r.write(region_config(ports, cls.cert, cls.key))
        cls.r.cfg_ports = ports
        cls.r.start()
        batch = [{"sensor": "a-%d" % i, "metric": "temperature", "value": 3 + i, "unit": "Cel",
                  "time": 1795384800000 + i} for i in range(5)]
        st, _, _ = cls.a.request("POST", "/api/inject/publish/reading", json.dumps(batch).encode(), token=OPERATOR)
        assert st == 202
        cls.wait_round(cls.r, 0)

    @classmethod
    def tearDownClass(cls):
        cls.c.shutdown()
        for d in (cls.r, cls.a, cls.b):
            if d.proc and d.proc.poll() is None:
                d.stop()

    @staticmethod
    def wait_round(d, before):
        def done():
            st, body = d.json("/api/regcat/towns")
            assert st == 200 and body["rounds"] > before and not body["harvesting"], body
            return body
        return eventually(done, timeout=30)

    def harvest(self):
        _, before = self.r.json("/api/regcat/towns")
        st, _, body = self.r.request("POST", "/api/regcat/harvest", token=OPERATOR)
        self.assertEqual(st, 202, body)
        return self.wait_round(self.r, before["rounds"])

    def town_state(self, name):
        st, body = self.r.json("/api/regcat/towns/" + name)
        self.assertEqual(st, 200, body)
        return body

    def katalog(self):
        st, h, body = self.r.get("/api/regcat/catalog")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/ld+json")
        return json.loads(body), h

    def health_problem(self):
        """/health's problem for the regcat instance (the node is degraded while there is one)."""
        st, h = self.r.json("/health")
        inst = [i for i in h["instances"] if i["name"] == "regcat"][0]
        self.assertEqual(h["status"], "degraded" if "problem" in inst else "ok", h)
        return inst.get("problem")

    def local(self, iri):
        """(daemon, path) serving a public IRI."""
        for name, d in ((NAMES[3], self.r), (NAMES[0], self.a), (NAMES[1], self.b)):
            prefix = "https://%s" % name
            if iri.startswith(prefix):
                return d, iri[len(prefix):]
        raise AssertionError("no daemon serves " + iri)

    # --- the tests run in the order of their names ---------------------------

    def test_1_katalog_and_every_record_validate(self):
        kat, _ = self.katalog()
        self.assertEqual(kat["iri"], REGION + "/catalog")
        listed = kat["datová_sada"]
        own = [i for i in listed if i.startswith("https://data.region.example/api/opendata/")]
        served_a = [i for i in listed if i.startswith(REGION + "/catalog/towns/a/datasets/")]
        served_c = [i for i in listed if i.startswith(REGION + "/catalog/towns/c/datasets/")]
        self.assertEqual(len(own), 1, listed)
        self.assertEqual(len(served_a), 3, listed)
        self.assertEqual(len(served_c), 1, listed)  # the broken record is not listed
        self.assertEqual(len(listed), 5, listed)
        files = []
        path = os.path.join(self.tmp, "katalog.jsonld")
        with open(path, "w") as f:
            json.dump(kat, f, ensure_ascii=False)
        files.append(path)
        for iri in listed:
            d, p = self.local(iri)
            st, h, body = d.get(p)
            self.assertEqual(st, 200, iri)
            doc = json.loads(body)
            self.assertEqual(doc["iri"], iri, "a record's IRI is the URL it is served at")
            if iri in served_a:  # distributions still point at the town's API
                self.assertTrue(doc["distribuce"][0]["přístupové_url"].startswith("https://data.town-a.example/"))
            path = os.path.join(self.tmp, "r%d.jsonld" % len(files))
            with open(path, "wb") as f:
                f.write(body)
            files.append(path)
        out = subprocess.run(["node", os.path.join(HERE, "dcat_check.js"), REFERENCE, *files],
                             capture_output=True, text=True, timeout=60, cwd=HERE)
        self.assertEqual(out.returncode, 0, out.stderr)
        results = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual(len(results), len(files))
        self.assertEqual(results[0]["types"], ["http://www.w3.org/ns/dcat#Catalog"])
        for r in results:
            self.assertTrue(r["valid"], r)
        for r in results[1:]:
            self.assertEqual(r["types"], ["http://www.w3.org/ns/dcat#Dataset"])
            self.assertGreater(r["triples"], 5)

    def test_2_second_harvest_is_304s_both_ways(self):
        self.harvest()  # anything the first round left (none) settles
        r304, r200, rerr = (metric(self.r, r'mestys_regcat_fetches_total\{[^}]*result="%s"' % x)
                            for x in ("304", "200", "error"))
        a304 = metric(self.a, r"mestys_opendata_not_modified_total")
        b304 = metric(self.b, r"mestys_opendata_not_modified_total")
        own304 = metric(self.r, r'mestys_opendata_not_modified_total\{[^}]*instance="opendata"')
        kat1, h1 = self.katalog()
        self.harvest()
        # own: catalogue + 1 record, a: 1 + 3, b: 1 + 1 -- all 304; c (no validators) 1 + 2 answered 200
        self.assertEqual(metric(self.r, r'mestys_regcat_fetches_total\{[^}]*result="304"') - r304, 2 + 4 + 2)
        self.assertEqual(metric(self.r, r'mestys_regcat_fetches_total\{[^}]*result="200"') - r200, 3)
        self.assertEqual(metric(self.r, r'mestys_regcat_fetches_total\{[^}]*result="error"') - rerr, 0)
        self.assertEqual(metric(self.a, r"mestys_opendata_not_modified_total") - a304, 4)
        self.assertEqual(metric(self.b, r"mestys_opendata_not_modified_total") - b304, 2)
        self.assertEqual(metric(self.r, r'mestys_opendata_not_modified_total\{[^}]*instance="opendata"') - own304, 2)
        kat2, h2 = self.katalog()
        self.assertEqual(kat1, kat2)
        self.assertEqual(h1["etag"], h2["etag"])
        self.assertEqual(h1["last-modified"], h2["last-modified"])
        # NKOD's conditional GET of the regional Katalog
        st, h, body = self.r.request("GET", "/api/regcat/catalog", headers={"If-None-Match": h2["etag"]})
        self.assertEqual((st, body), (304, b""))
        st, _, _ = self.r.request("GET", "/api/regcat/catalog", headers={"If-Modified-Since": h2["last-modified"]})
        self.assertEqual(st, 304)
        st, _, _ = self.r.request("GET", "/api/regcat/catalog", headers={"If-None-Match": '"0000000000000000"'})
        self.assertEqual(st, 200)
        served = kat2["datová_sada"][1]
        d, p = self.local(served)
        st, h, _ = d.get(p)
        st, _, body = d.request("GET", p, headers={"If-None-Match": h["etag"]})
        self.assertEqual((st, body), (304, b""))
        self.assertGreaterEqual(metric(self.r, r"mestys_regcat_not_modified_total"), 3)

    def test_3_direct_town_listed_not_in_katalog(self):
        kat, _ = self.katalog()
        b = self.town_state("b")
        self.assertEqual(b["nkod"], "direct")
        self.assertEqual(b["datasets"], 1)
        self.assertFalse(b["listed"])
        self.assertFalse(b["stale"])
        self.assertEqual(b["records"][0]["iri"], "https://data.town-b.example/api/opendata/catalog/datasets/srazky")
        self.assertIsNone(b["records"][0]["served"])
        for iri in kat["datová_sada"]:
            self.assertNotIn("town-b", iri)
            self.assertNotIn("/towns/b/", iri)
        st, body = self.r.json("/api/regcat/catalog/towns/b/datasets/srazky")
        self.assertEqual(st, 404)
        self.assertIn("nkod: direct", body["error"])
        st, towns = self.r.json("/api/regcat/towns")
        self.assertEqual([t["town"] for t in towns["towns"]], ["a", "b", "c"])
        self.assertEqual(towns["own"]["nkod"], "own")
        self.assertEqual(towns["own"]["datasets"], 1)

    def test_4_broken_record_refused_and_counted(self):
        c = self.town_state("c")
        self.assertEqual(c["datasets"], 1)
        self.assertEqual(c["refused"], {"required": 1})
        self.assertEqual([r["iri"] for r in c["records"]], [OtherLkod.base + "/hluk"])
        self.assertGreaterEqual(metric(self.r, r'mestys_regcat_records_refused_total\{[^}]*town="c"[^}]*'
                                               r'reason="required"'), 1)
        log = self.r.output()
        self.assertEqual(log.count("refused https://data.town-c.example/lkod/rozbita"), 1, log)
        self.assertIn('no "téma"', log)

    def test_5_town_stopped_keeps_records_marked_stale(self):
        before, _ = self.katalog()
        a_before = self.town_state("a")
        self.a.stop()
        self.harvest()
        a = self.town_state("a")
        self.assertTrue(a["stale"], a)
        self.assertEqual(a["last_ok"], a_before["last_ok"])
        self.assertIsNotNone(a["last_error"])
        self.assertEqual(a["datasets"], 3)
        self.assertTrue(a["listed"])
        after, _ = self.katalog()
        self.assertEqual(before["datová_sada"], after["datová_sada"])
        self.assertEqual(metric(self.r, r"mestys_regcat_towns_stale"), 1)
        self.assertIn("a (last harvested %s)" % a_before["last_ok"], self.health_problem())
        self.assertEqual(self.r.output().count("a cannot be harvested"), 1)
        self.harvest()  # still down: logged once
        self.assertEqual(self.r.output().count("a cannot be harvested"), 1)
        # a restart of the region keeps the last records (SQLite), still stale
        self.r.stop()
        self.r.start()
        st, towns = self.r.json("/api/regcat/towns")
        a = [t for t in towns["towns"] if t["town"] == "a"][0]
        self.assertTrue(a["stale"])
        self.assertEqual(a["datasets"], 3)
        self.assertIn("a (last harvested", self.health_problem())
        kat, _ = self.katalog()
        self.assertEqual(kat["datová_sada"], before["datová_sada"])
        self.wait_round(self.r, 0)
        # the town is back: harvested again, no longer stale
        self.a.start()
        self.harvest()
        a = self.town_state("a")
        self.assertFalse(a["stale"], a)
        self.assertEqual(metric(self.r, r"mestys_regcat_towns_stale"), 0)
        self.assertIsNone(self.health_problem())
        self.assertIn("a is harvested again", self.r.output())


class Check(unittest.TestCase):
    """`mestys check` refuses what NKOD or the URLs could not take, naming the key."""

    def check(self, **change):
        cfg = region_config([1, 2, 3, free_port()])
        cfg["plugins"][1]["config"].update(change)
        d = tempfile.mkdtemp(prefix="mestys-regcat-check-")
        path = os.path.join(d, "mestys.json")
        with open(path, "w") as f:
            json.dump(cfg, f, ensure_ascii=False, indent=2)
        p = subprocess.run([MESTYS, "check", path], capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def test_refusals_name_the_key(self):
        rc, out = self.check()
        self.assertEqual(rc, 0, out)
        rc, out = self.check(base_url="http://data.region.example/api/regcat")
        self.assertNotEqual(rc, 0)
        self.assertIn("base_url: is not an https:// URL", out)
        towns = [{"town": "a", "catalog": "https://a.example/catalog"},
                 {"town": "a", "catalog": "https://b.example/catalog"}]
        rc, out = self.check(towns=towns)
        self.assertIn("towns[1].town: names a town listed before", out)
        rc, out = self.check(towns=[{"town": "Dolní Lhota", "catalog": "https://a.example/catalog"}])
        self.assertIn("towns[0].town: is not a name for URLs", out)
        rc, out = self.check(towns=[{"town": "a", "catalog": "https://a.example/catalog", "nkod": "both"}])
        self.assertNotEqual(rc, 0)
        self.assertIn("towns[0].nkod", out)


if __name__ == "__main__":
    main()

"""HTTPS when a certificate is configured (a self-signed one made here),
and client certificates verified against node.http.tls.client_ca (OCPP
security profile 3): made here with openssl, presented by the npm ws
client."""
import json
import os
import re
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from harness import MESTYS, TEST_PLUGINS, Daemon, config, eventually, free_port, main, testplug
from test_websocket import AUTH, peer


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d, name):
    key, cert = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name)
    return key, cert


def make_client(d, name, cn, ca):
    """A client certificate with subject CN=cn, signed by ca (key, cert)."""
    key, csr, cert = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=" + cn)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-out", cert,
            "-days", "2")
    return key, cert


def make_server(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
    return cert, key


class Tls(unittest.TestCase):
    def test_https_with_configured_certificate(self):
        d = tempfile.mkdtemp(prefix="mestys-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        port = free_port()
        cfg = config(port, [testplug()])
        cfg["node"]["http"].update({"tls_cert": cert, "tls_key": key})
        daemon = Daemon(cfg)
        daemon.start(wait=False)
        ctx = ssl.create_default_context(cafile=cert)
        url = "https://127.0.0.1:%d/api/testplug/info" % port
        body = None
        for _ in range(200):
            try:
                with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                import time
                time.sleep(0.02)
        try:
            self.assertEqual(body and body["label"], "first", daemon.output())
            self.assertIn("HTTP on https://127.0.0.1:%d" % port, daemon.output())
            # plain HTTP on the TLS port gets no answer it could mistake for one
            with self.assertRaises(Exception):
                urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=3).read()
        finally:
            daemon.stop()

    def test_missing_key_is_a_config_error(self):
        from harness import run_daemon_once
        cfg = config(free_port(), [])
        cfg["node"]["http"]["tls_cert"] = "cert.pem"
        rc, out, _ = run_daemon_once(json.dumps(cfg))
        self.assertEqual(rc, 2)
        self.assertIn("node.http: tls_cert and tls_key go together: give both or neither", out)


class ClientCertificates(unittest.TestCase):
    """testplug's cp/* hook accepts a station by its verified certificate's
    CN (which must name the station) or, without one, by Authorization."""

    @classmethod
    def setUpClass(cls):
        d = cls.dir = tempfile.mkdtemp(prefix="mestys-mtls-")
        cls.server_cert, key = make_server(d)
        stations = make_ca(d, "stations-ca")
        other = make_ca(d, "other-ca")
        cls.cp1 = make_client(d, "cp1", "CP-1", stations)
        cls.cp2 = make_client(d, "cp2", "CP-2", stations)
        cls.forged = make_client(d, "forged", "CP-1", other)  # right name, wrong CA
        port = free_port()
        cfg = config(port, [testplug()])
        cfg["node"]["http"].update({"tls_cert": cls.server_cert, "tls_key": key,
                                    "tls": {"client_ca": stations[1]}})
        cls.d = Daemon(cfg).start(wait=False)
        cls.base = "wss://127.0.0.1:%d/api/testplug/cp/" % port
        cls.https = "https://127.0.0.1:%d" % port
        ctx = ssl.create_default_context(cafile=cls.server_cert)
        eventually(lambda: cls.assert_up(ctx), timeout=20)

    @classmethod
    def assert_up(cls, ctx):
        try:
            urllib.request.urlopen(cls.https + "/health", context=ctx, timeout=5).read()
        except OSError as e:
            raise AssertionError(str(e))

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def station(self, path, client=None, **spec):
        if client:
            spec.update(key=client[0], cert=client[1])
        return peer(url=self.base + path, ca=self.server_cert, **spec)

    def fetch(self, path):
        ctx = ssl.create_default_context(cafile=self.server_cert)
        with urllib.request.urlopen(self.https + path, context=ctx, timeout=5) as r:
            return r.read()

    def stats(self):
        return json.loads(self.fetch("/api/testplug/cp-stats"))

    def refusals(self):
        return re.findall(r"mestys_ws_handshakes_refused_total\{.*", self.fetch("/metrics").decode())

    def test_a_verified_certificate_names_the_station(self):
        r = self.station("CP-1", self.cp1, send=["whoami"], closeAfter=2)
        self.assertTrue(r["opened"], r)
        self.assertEqual(r["got"][0]["cn"], "CP-1")
        self.assertEqual(r["got"][0]["auth"], "")  # no password needed with a certificate
        self.assertEqual(r["got"][1]["cn"], "CP-1")
        self.assertIn("client certificates verified against node.http.tls.client_ca", self.d.output())

    def test_the_hook_sees_which_station_the_certificate_names(self):
        r = self.station("CP-1", self.cp2)
        self.assertEqual(r.get("refused"), 403, r)

    def test_a_certificate_from_another_ca_ends_the_tls_handshake(self):
        before, refused = self.stats(), self.refusals()
        r = self.station("CP-1", self.forged, headers=AUTH)
        self.assertFalse(r.get("opened"), r)
        self.assertEqual(r.get("error"), "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", r)  # no upgrade, no HTTP status
        self.assertEqual(self.stats(), before)  # the hook never saw it
        self.assertEqual(self.refusals(), refused)

    def test_a_browser_without_a_certificate_is_still_served(self):
        ctx = ssl.create_default_context(cafile=self.server_cert)
        with urllib.request.urlopen(self.https + "/api/testplug/info", context=ctx, timeout=5) as r:
            self.assertEqual(json.loads(r.read())["label"], "first")
        # and a station without one falls back to its Authorization header
        r = self.station("CP-2", headers=AUTH, send=["whoami"], closeAfter=2)
        self.assertTrue(r["opened"], r)
        self.assertEqual(r["got"][0]["cn"], "")
        self.assertEqual(r["got"][0]["auth"], AUTH["Authorization"])
        self.assertEqual(self.station("CP-2").get("refused"), 401)


class ClientCaCheck(unittest.TestCase):
    def check(self, http):
        d = tempfile.mkdtemp(prefix="mestys-ca-")
        cfg = config(free_port(), [testplug()])
        cfg["node"]["http"].update(http)
        path = os.path.join(d, "mestys.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
        p = subprocess.run([MESTYS, "check", path], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, MESTYS_PLUGIN_PATH=TEST_PLUGINS))
        return p.returncode, p.stderr, d

    def test_check_reads_the_client_ca(self):
        d = tempfile.mkdtemp(prefix="mestys-ca-files-")
        cert, key = make_server(d)
        not_pem = os.path.join(d, "notes.txt")
        with open(not_pem, "w") as f:
            f.write("stations: CP-1, CP-2\n")
        cases = [
            ("missing.pem", r"node\.http\.tls\.client_ca: cannot read the client CA file %s: No such file"
             % re.escape(os.path.join(d, "missing.pem"))),
            (not_pem, r"node\.http\.tls\.client_ca: %s holds no PEM certificate" % re.escape(not_pem)),
        ]
        for ca, why in cases:
            rc, err, _ = self.check({"tls_cert": cert, "tls_key": key,
                                     "tls": {"client_ca": os.path.join(d, ca)}})
            self.assertEqual(rc, 2, err)
            self.assertRegex(err, r"mestys\.json:\d+:\d+: error: " + why)
        rc, err, _ = self.check({"tls_cert": cert, "tls_key": key, "tls": {"client_ca": cert}})
        self.assertEqual(rc, 0, err)
        rc, err, _ = self.check({"tls": {"client_ca": cert}})
        self.assertEqual(rc, 2, err)
        self.assertIn("node.http.tls.client_ca: client certificates come over HTTPS: set tls_cert and tls_key too",
                      err)


if __name__ == "__main__":
    main()

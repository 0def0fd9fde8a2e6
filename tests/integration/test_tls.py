"""HTTPS when a certificate is configured (a self-signed one made here)."""
import json
import os
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from harness import Daemon, config, free_port, main, testplug


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


if __name__ == "__main__":
    main()

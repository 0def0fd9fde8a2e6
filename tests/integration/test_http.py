"""HTTP: routes, roles, oversized bodies, unknown routes, the core's pages."""
import http.client
import json
import os
import re
import socket
import subprocess
import unittest

from harness import (ADMIN, MESTYS, OPERATOR, PUBLIC, TEST_LUA, TEST_PLUGINS, Daemon, config, eventually,
                     free_port, main, testplug)


def raw_exchange(port, data, host="127.0.0.1"):
    """Sends bytes as they are (no client library tidies them) and reads the answer."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(data)
        answer = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            answer += got
            if b"\r\n\r\n" in answer:
                head, _, body = answer.partition(b"\r\n\r\n")
                length = [l for l in head.lower().split(b"\r\n") if l.startswith(b"content-length:")]
                if length and len(body) >= int(length[0].split(b":")[1]):
                    break
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict((k.lower(), v.strip()) for k, v in (l.split(":", 1) for l in lines[1:]))
    return int(lines[0].split()[1]), headers, body


def answers(host, port):
    """Whether anything accepts a TCP connection at host:port."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as s:
            s.settimeout(2)
            s.connect((host, port))
            return True
    except OSError:
        return False


class Http(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        second = testplug(name="north-gate", label="second")
        second["config"]["serve_echo"] = False
        cls.d = Daemon(config(free_port(), [testplug(),
                                            {"use": "heartbeat", "config": {"interval_ms": 50}},
                                            second,
                                            {"use": os.path.join(TEST_LUA, "echo.lua"), "name": "echo"}])).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_public_route_and_query(self):
        status, headers, body = self.d.get("/api/testplug/info?since=2026-01-01")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        info = json.loads(body)
        self.assertEqual(info["label"], "first")
        self.assertEqual(info["query"], "since=2026-01-01")
        status, _, body = self.d.get("/api/testplug/info?a=1&b=2&c=x%26y%3Dz&d=%C3%A1+b")
        info = json.loads(body)
        self.assertEqual(info["query"], "a=1&b=2&c=x%26y%3Dz&d=%C3%A1%20b")
        self.assertEqual(info["c"], "x&y=z")
        # and in Lua, as req.params
        status, params = self.d.json("/api/echo/params?since=2026-01-01T00%3A00%3A00%2B01%3A00&bbox=14.1,50.0&bbox=x")
        self.assertEqual(params, {"since": "2026-01-01T00:00:00+01:00", "bbox": "14.1,50.0"})

    def test_roles(self):
        body = b"kolo\x00bin"
        status, _, _ = self.d.request("POST", "/api/testplug/echo/a/b", body)
        self.assertEqual(status, 401)
        status, headers, resp = self.d.request("POST", "/api/testplug/echo/a/b", body, token="not-a-token-at-all")
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("www-authenticate"), "Bearer")
        status, _, resp = self.d.request("POST", "/api/testplug/echo/a/b", body, token=PUBLIC)
        self.assertEqual(status, 403)
        self.assertIn("needs operator", json.loads(resp)["error"])
        status, headers, resp = self.d.request("POST", "/api/testplug/echo/a/b", body, token=OPERATOR)
        self.assertEqual(status, 200)
        self.assertEqual(resp, body)
        self.assertEqual(headers["x-echo-path"], "a/b")
        status, _, _ = self.d.get("/api/testplug/admin", token=OPERATOR)
        self.assertEqual(status, 403)
        status, _, _ = self.d.get("/api/testplug/admin", token=ADMIN)
        self.assertEqual(status, 200)

    def test_oversized_body(self):
        big = b"x" * 70000
        status, _, resp = self.d.request("POST", "/api/testplug/echo/x", big, token=OPERATOR)
        self.assertEqual(status, 413)
        self.assertIn("at most 65536", json.loads(resp)["error"])
        # chunked, so the size is only known while reading
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as s:
            s.sendall(("POST /api/testplug/echo/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n" % OPERATOR).encode())
            for _ in range(20):
                try:
                    s.sendall(b"1000\r\n" + b"y" * 4096 + b"\r\n")
                except OSError:
                    break
            answer = s.recv(4096).decode(errors="replace")
        self.assertIn(" 413 ", answer.splitlines()[0])
        # and the daemon carries on
        status, _, resp = self.d.request("POST", "/api/testplug/echo/x", b"small", token=OPERATOR)
        self.assertEqual((status, resp), (200, b"small"))

    def test_unknown_route_and_method(self):
        status, _, resp = self.d.get("/api/nowhere")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(resp), {"error": "no route /api/nowhere", "status": 404})
        status, headers, resp = self.d.request("DELETE", "/api/testplug/info")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET")
        status, headers, resp = self.d.request("HEAD", "/api/testplug/info")
        self.assertEqual((status, resp), (200, b""))

    def test_binds_only_the_configured_address(self):
        # 127.0.0.2 is this machine too (all of 127/8 is lo): only 127.0.0.1 may answer
        self.assertTrue(answers("127.0.0.1", self.d.port))
        self.assertFalse(answers("127.0.0.2", self.d.port))

    def test_chunked_body_reaches_the_route(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
        parts = [b"kolo ", "ř".encode(), b"\x00bin" * 1000]
        conn.request("POST", "/api/testplug/echo/chunks", body=iter(parts), encode_chunked=True,
                     headers={"Authorization": "Bearer " + OPERATOR,
                              "Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.read()), (200, b"".join(parts)))
        self.assertEqual(resp.getheader("connection"), "close")
        conn.close()
        # with a chunk extension and a trailer, by hand
        status, _, body = raw_exchange(self.d.port, (
            "POST /api/testplug/echo/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"
            % OPERATOR).encode())
        self.assertEqual((status, body), (200, b"abcde"))
        # broken framing is a clear 400, not a hang
        status, _, body = raw_exchange(self.d.port, (
            "POST /api/testplug/echo/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" % OPERATOR).encode())
        self.assertEqual((status, json.loads(body)["error"]), (400, "the chunked body is not well-formed"))

    def test_unknown_methods_get_json_501(self):
        for method in ("FOO", "PROPFIND"):
            status, headers, body = raw_exchange(
                self.d.port, ("%s /health HTTP/1.1\r\nHost: x\r\n\r\n" % method).encode())
            self.assertEqual(status, 501, method)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(json.loads(body), {"error": "method not supported", "status": 501})
        self.assertEqual(self.d.get("/health")[0], 200)
        self.assertRegex(self.d.get("/metrics")[2].decode(), r'mestys_http_requests_total\{code="501"\} [2-9]')

    def test_token_followed_by_nul_is_refused(self):
        for token, path in ((OPERATOR, "/api/testplug/echo/x"), (ADMIN, "/api/admin/plugins")):
            status, _, body = raw_exchange(self.d.port, (
                "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\x00junk\r\n\r\n"
                % (path, token)).encode())
            self.assertEqual(status, 400, body)
            self.assertIn("NUL", json.loads(body)["error"])
        # the token alone still works
        self.assertEqual(self.d.get("/api/admin/plugins", token=ADMIN)[0], 200)

    def test_text_bodies_must_be_utf8(self):
        bad = b'{"title":"Uzav\xedrka"}'  # Latin-1, not UTF-8
        auth = {"Authorization": "Bearer " + OPERATOR}
        for ctype in ("application/json", "application/json; charset=utf-8", "text/csv", "TEXT/PLAIN",
                      "application/ld+json", None):
            head = "POST /api/testplug/echo/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n" % OPERATOR
            if ctype:
                head += "Content-Type: %s\r\n" % ctype
            status, _, body = raw_exchange(self.d.port, (head + "Content-Length: %d\r\n\r\n" % len(bad)).encode()
                                           + bad)
            self.assertEqual(status, 400, ctype)
            self.assertIn("not valid UTF-8", json.loads(body)["error"])
        # binary bodies are the route's business; valid UTF-8 passes
        status, _, body = self.d.request("POST", "/api/testplug/echo/x", bad, token=OPERATOR,
                                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual((status, body), (200, bad))
        good = '{"title":"Uzavírka 🚧"}'.encode()
        status, _, body = self.d.request("POST", "/api/testplug/echo/x", good, token=OPERATOR,
                                         headers={"Content-Type": "application/json"})
        self.assertEqual((status, body), (200, good))
        # a chunked body is checked as well
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
        conn.request("POST", "/api/testplug/echo/x", body=iter([b"ok ", b"\xed\xa0\x80"]), encode_chunked=True,
                     headers=dict(auth, **{"Content-Type": "text/plain"}))
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()
        self.assertRegex(self.d.get("/metrics")[2].decode(), r'mestys_http_refused_total\{reason="invalid_utf8"\} [7-9]')

    def test_health(self):
        status, health = self.d.json("/health")
        self.assertEqual(status, 200)
        self.assertEqual(health["status"], "ok")
        self.assertEqual(health["node"], "testtown")
        self.assertEqual([(i["name"], i["state"]) for i in health["instances"]],
                         [("testplug", "running"), ("heartbeat", "running"), ("north-gate", "running"),
                          ("echo", "running")])

    def test_two_instances_of_one_plugin(self):
        self.assertEqual(self.d.json("/api/testplug/info")[1]["label"], "first")
        self.assertEqual(self.d.json("/api/north-gate/info")[1]["label"], "second")

    def test_metrics_count_what_happened(self):
        self.d.get("/api/testplug/admin")  # refused: no token
        status, _, body = self.d.get("/api/testplug/forbidden-topic")
        self.assertEqual(body, b"MST_EACCES")
        status, headers, body = self.d.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))

        def beaten():
            text = self.d.get("/metrics")[2].decode()
            self.assertRegex(text, r'mestys_heartbeat_beats_total\{plugin="heartbeat",instance="heartbeat"\} [1-9]')
            return text
        text = eventually(beaten)
        self.assertIn('mestys_bus_refused_total{topic="voting/ballot",reason="acl"} 1', text)
        self.assertRegex(text, r'mestys_http_refused_total\{reason="unauthorized"\} [1-9]')
        self.assertRegex(text, r'mestys_bus_messages_total\{topic="node/heartbeat"\} [1-9]')
        self.assertIn("mestys_http_request_seconds_bucket", text)

    def test_admin_plugins_hides_secrets(self):
        status, _ = self.d.json("/api/admin/plugins", token=OPERATOR)
        self.assertEqual(status, 403)
        status, plugins = self.d.json("/api/admin/plugins", token=ADMIN)
        self.assertEqual(status, 200)
        tp = plugins["instances"][0]
        self.assertEqual(tp["plugin"], "testplug")
        self.assertEqual(tp["abi"], 1)
        self.assertEqual(tp["publishes"], ["test/out", "test/echo-events/#"])
        self.assertEqual(tp["config"]["password"], "(secret)")
        self.assertEqual(tp["config"]["interval_ms"], 1000)

class FrontPage(unittest.TestCase):
    """GET /: a page a person can read, linking /health, the datasets and the docs."""

    def test_front_page(self):
        from test_opendata import opendata_config
        d = Daemon(config(free_port(), [{"use": "heartbeat"},
                                        {"use": "opendata", "name": "data", "config": opendata_config()}]))
        d.start()
        self.addCleanup(d.stop)
        status, headers, body = d.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        page = body.decode("utf-8")
        self.assertTrue(page.startswith("<!doctype html>"))
        self.assertIn('<meta charset="utf-8">', page)
        self.assertIn("<h1>testtown</h1>", page)
        self.assertIn('<a href="/health">', page)
        self.assertIn('<a href="/api/data/datasets">data</a> (opendata)', page)
        self.assertIn("share/doc/mestys", page)  # where the guides are installed
        self.assertNotRegex(page, r"(src=|https?://|<link|<script)")  # nothing from elsewhere
        # every link on the page answers
        for href in re.findall(r'href="([^"]+)"', page):
            self.assertEqual(d.get(href)[0], 200, href)
        self.assertEqual(d.request("HEAD", "/")[:1], (200,))

    def test_without_open_data(self):
        d = Daemon(config(free_port(), [{"use": "heartbeat"}]))
        d.start()
        self.addCleanup(d.stop)
        page = d.get("/")[2].decode()
        self.assertIn("<h1>testtown</h1>", page)
        self.assertNotIn("Open data", page)


class Listen(unittest.TestCase):
    """node.http.listen: every form binds what it says, `mestys check` refuses what cannot be bound."""

    def start(self, listen):
        port = free_port()
        cfg = config(port, [])
        cfg["node"]["http"]["listen"] = listen % port
        d = Daemon(cfg)
        d.port = port
        d.start(wait=False)
        self.addCleanup(d.stop)
        d.wait_log("HTTP on")
        return d, port

    def test_ipv6_literal(self):
        if not answers_v6_loopback():
            self.skipTest("no IPv6 loopback on this machine")
        d, port = self.start("[::1]:%d")
        self.assertTrue(eventually(lambda: answers("::1", port) or None))
        self.assertFalse(answers("127.0.0.1", port))

    def test_every_interface(self):
        d, port = self.start("*:%d")
        self.assertTrue(eventually(lambda: answers("127.0.0.2", port) or None))
        self.assertTrue(answers("127.0.0.1", port))

    def test_host_name(self):
        d, port = self.start("localhost:%d")
        first = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)[0][4][0]
        self.assertTrue(eventually(lambda: answers(first, port) or None))
        self.assertIn("HTTP on http://localhost:%d" % port, d.output())
        self.assertFalse(answers("127.0.0.2", port))

    def check(self, listen):
        cfg = config(free_port(), [])
        cfg["node"]["http"]["listen"] = listen
        d = Daemon(None, text=json.dumps(cfg, indent=2))
        p = subprocess.run([MESTYS, "check", d.path], capture_output=True, text=True,
                           env=dict(os.environ, MESTYS_PLUGIN_PATH=TEST_PLUGINS))
        return p.returncode, p.stderr

    def test_check_refuses_what_cannot_be_bound(self):
        for listen, why in (("127.0.0.1:0", "the port must be a number from 1 to 65535"),
                            ("127.0.0.1:65536", "the port must be a number from 1 to 65535"),
                            ("127.0.0.1", "is not ADDRESS:PORT"),
                            ("::1:8080", "is not ADDRESS:PORT"),
                            ("no-such-host.invalid:8080", "cannot resolve"),
                            ("10.99.99.99:8080", "cannot bind 10.99.99.99:8080: Cannot assign requested address")):
            rc, err = self.check(listen)
            self.assertEqual(rc, 2, (listen, err))
            self.assertRegex(err, r"mestys\.json:\d+:\d+: error: node\.http\.listen: .*" + re.escape(why))

    def test_check_warns_when_the_port_is_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            rc, err = self.check("127.0.0.1:%d" % s.getsockname()[1])
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: node.http.listen: cannot bind", err)
        self.assertIn("Address already in use", err)


def answers_v6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            return True
    except OSError:
        return False


class OpenFileLimit(unittest.TestCase):
    """lws indexes connections by descriptor only when its table covers ulimit -n: the daemon sets its
    soft limit to node.http.max_connections (at least 1024, at most the hard limit)."""

    def soft_limit(self, max_connections):
        cfg = config(free_port(), [testplug()])
        cfg["node"]["http"]["max_connections"] = max_connections
        d = Daemon(cfg).start()
        try:
            with open("/proc/%d/limits" % d.proc.pid) as f:
                line = next(l for l in f if l.startswith("Max open files"))
            return int(line.split()[3]), int(line.split()[4]) if line.split()[4].isdigit() else None
        finally:
            d.stop()

    def test_the_soft_limit_is_the_table_size(self):
        soft, hard = self.soft_limit(3000)
        self.assertEqual(soft, 3000 if hard is None or hard >= 3000 else hard)
        soft, hard = self.soft_limit(8)
        self.assertEqual(soft, 1024 if hard is None or hard >= 1024 else hard)


if __name__ == "__main__":
    main()

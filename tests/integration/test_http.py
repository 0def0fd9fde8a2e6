"""HTTP: routes, roles, oversized bodies, unknown routes, the core's pages."""
import json
import socket
import unittest

import os

from harness import ADMIN, OPERATOR, PUBLIC, TEST_LUA, Daemon, config, eventually, free_port, main, testplug


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


if __name__ == "__main__":
    main()

"""Reload is all or nothing: SIGHUP and POST /api/admin/reload."""
import json
import os
import signal
import unittest

from harness import ADMIN, TEST_LUA, Daemon, config, eventually, free_port, main, testplug


def names(d):
    status, health = d.json("/health")
    return [(i["name"], i["state"]) for i in health["instances"]]


class Reload(unittest.TestCase):
    def setUp(self):
        self.port = free_port()
        self.first = config(self.port, [testplug(label="first"),
                                         {"use": "heartbeat", "config": {"interval_ms": 1000}}])
        self.d = Daemon(self.first).start()

    def tearDown(self):
        self.d.stop()

    def test_bad_config_keeps_the_running_set(self):
        bad = json.loads(json.dumps(self.first))
        bad["plugins"][1]["config"]["intervall_ms"] = 5
        self.d.write(bad)
        self.d.send(signal.SIGHUP)
        self.d.wait_log("reload refused; the running plugins are untouched:\n")
        self.d.wait_log('plugins[1].config.intervall_ms: unknown key "intervall_ms"; valid keys: interval_ms')
        self.assertEqual(names(self.d), [("testplug", "running"), ("heartbeat", "running")])
        status, _, body = self.d.request("POST", "/api/admin/reload", token=ADMIN)
        self.assertEqual(status, 400)
        err = json.loads(body)["error"]
        self.assertIn("reload refused, nothing changed", err)
        self.assertIn("mestys.json:", err)
        self.assertIn("intervall_ms", err)
        status, info = self.d.json("/api/testplug/info")
        self.assertEqual(info["label"], "first")
        metrics = self.d.get("/metrics")[2].decode()
        self.assertIn('mestys_reloads_total{result="failed"} 2', metrics)

    def test_good_config_swaps(self):
        second = config(self.port, [testplug(label="second"),
                                    {"use": "heartbeat", "config": {"interval_ms": 500}},
                                    {"use": os.path.join(TEST_LUA, "echo.lua"), "name": "echo"}])
        self.d.write(second)
        self.d.send(signal.SIGHUP)

        def swapped():
            self.assertEqual(names(self.d), [("testplug", "running"), ("heartbeat", "running"),
                                             ("echo", "running")])
        eventually(swapped)
        status, info = self.d.json("/api/testplug/info")
        self.assertEqual(info["label"], "second")  # no reload callback: restarted
        self.d.wait_log("[heartbeat:heartbeat] reloaded its config")  # has one: reloaded in place
        third = config(self.port, [{"use": os.path.join(TEST_LUA, "echo.lua"), "name": "echo"}])
        self.d.write(third)
        status, _, body = self.d.request("POST", "/api/admin/reload", token=ADMIN)
        self.assertEqual((status, json.loads(body)), (200, {"reloaded": True}))
        self.assertEqual(names(self.d), [("echo", "running")])
        status, _, _ = self.d.get("/api/testplug/info")
        self.assertEqual(status, 404)
        metrics = self.d.get("/metrics")[2].decode()
        self.assertIn('mestys_reloads_total{result="ok"} 2', metrics)

    def test_failing_init_restores_the_previous_set(self):
        broken = json.loads(json.dumps(self.first))
        broken["plugins"][0]["config"]["label"] = "changed"
        broken["plugins"].append({"use": "init_fail"})
        self.d.write(broken)
        status, _, body = self.d.request("POST", "/api/admin/reload", token=ADMIN)
        self.assertEqual(status, 500)
        self.assertIn("previous configuration was restored", json.loads(body)["error"])
        self.assertEqual(names(self.d), [("testplug", "running"), ("heartbeat", "running")])
        status, info = self.d.json("/api/testplug/info")
        self.assertEqual(info["label"], "first")

    def test_reload_needs_admin(self):
        status, _, _ = self.d.request("POST", "/api/admin/reload")
        self.assertEqual(status, 401)


if __name__ == "__main__":
    main()

"""Lua plugins in the real daemon against a real HTTP client: a script
near its memory cap handed a request bigger than what it has left; a
script's /health problem."""
import json
import os
import unittest

from harness import TEST_LUA, Daemon, config, free_port, main

MEMORY = 'mestys_lua_budget_exceeded_total{plugin="hog",instance="hog",kind="memory"}'


class LuaSandbox(unittest.TestCase):
    def test_big_request_at_the_memory_cap(self):
        cfg = config(free_port(), [{"use": os.path.join(TEST_LUA, "hog.lua"), "lua": {"memory_mb": 4, "instructions": 10000000}}])
        cfg["node"]["http"]["body_limit"] = 1 << 20
        d = Daemon(cfg).start()
        try:
            status, _, body = d.request("POST", "/api/hog/fill", b"")
            self.assertEqual(status, 204, body)
            # building the request table for the handler runs out of memory
            status, _, body = d.request("POST", "/api/hog/keep", b"x" * (512 * 1024),
                                        headers={"Content-Type": "text/plain"})
            self.assertEqual(status, 500, body)
            self.assertIn("handler failed", json.loads(body)["error"])
            metrics = d.get("/metrics")[2].decode()
            self.assertIn(MEMORY + " 1", metrics)
            # the daemon and the plugin go on
            self.assertEqual(d.get("/health")[0], 200)
            status, alive = d.json("/api/hog/alive")
            self.assertEqual((status, alive), (200, {"alive": True}))
        finally:
            d.stop()
        self.assertIn("stopped: it tried to use more than its memory cap", d.output())


    def test_health_problem_set_and_cleared(self):
        d = Daemon(config(free_port(), [{"use": os.path.join(TEST_LUA, "sick.lua")}])).start()
        try:
            status, h = d.json("/health")
            self.assertEqual((status, h["status"]), (200, "degraded"))
            self.assertEqual(h["instances"][0]["problem"], "the feed answers 500")
            self.assertEqual(h["instances"][0]["state"], "running")
            self.assertEqual(d.request("POST", "/api/sick/well", b"")[0], 204)
            status, h = d.json("/health")
            self.assertEqual(h["status"], "ok")
            self.assertNotIn("problem", h["instances"][0])
        finally:
            d.stop()


if __name__ == "__main__":
    main()

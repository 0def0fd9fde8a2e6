"""Two mestysd processes on one bus over tcp://127.0.0.1: events and queries."""
import json
import os
import unittest

from harness import TEST_LUA, Daemon, config, eventually, free_port, main


class TwoNodes(unittest.TestCase):
    def test_events_and_queries_cross_nodes(self):
        ev, q = free_port(), free_port()
        region = os.path.join(TEST_LUA, "region.lua")
        a_cfg = config(free_port(), [{"use": region, "config": {"role": "sender"}}],
                       bus={"listen": {"events": ["tcp://127.0.0.1:%d" % ev], "queries": ["tcp://127.0.0.1:%d" % q]}})
        a_cfg["node"]["name"] = "town-a"
        b_cfg = config(free_port(), [{"use": region, "config": {"role": "receiver"}}],
                       bus={"peers": [{"events": "tcp://127.0.0.1:%d" % ev, "queries": "tcp://127.0.0.1:%d" % q}]})
        b_cfg["node"]["name"] = "town-b"
        a = Daemon(a_cfg).start()
        b = Daemon(b_cfg).start()
        try:
            def received():
                status, state = b.json("/api/region/state")
                self.assertEqual(status, 200)
                self.assertGreaterEqual(state["seen"], 3)
                self.assertIsNotNone(state.get("answer"), state)
                return state
            state = eventually(received, timeout=10)
            self.assertEqual(json.loads(state["last"]), {"from": "town-a"})
            self.assertEqual(json.loads(state["answer"]), {"node": "town-a", "echo": "from town-b"})
            metrics = b.get("/metrics")[2].decode()
            self.assertRegex(metrics, r'mestys_bus_received_total\{topic="region/hello"\} [1-9]')
        finally:
            b.stop()
            a.stop()

    def test_peer_down_is_not_fatal(self):
        port = free_port()
        cfg = config(free_port(), [], bus={"peers": [{"events": "tcp://127.0.0.1:%d" % port}]})
        d = Daemon(cfg).start()
        status, health = d.json("/health")
        self.assertEqual((status, health["status"]), (200, "ok"))
        d.stop()


if __name__ == "__main__":
    main()

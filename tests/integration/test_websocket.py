"""WebSocket endpoints with a real client (the npm `ws` package), and a
hand-written one (wsraw.py) for what a polite client would not do."""
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

import wsraw
from harness import OPERATOR, Daemon, config, eventually, free_port, main, testplug

HERE = os.path.dirname(os.path.abspath(__file__))
AUTH = {"Authorization": "Basic Q1AtMTpzZWNyZXQ="}  # what a charge point sends (profile 1/2)


def peer(**spec):
    """One ws_peer.js run to its end; returns what it printed."""
    p = subprocess.run(["node", os.path.join(HERE, "ws_peer.js"), json.dumps(spec)],
                       capture_output=True, text=True, timeout=60, cwd=HERE)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return json.loads(p.stdout)


def start_peer(**spec):
    """A ws_peer.js left running; returns (process, ready file)."""
    ready = tempfile.mktemp(prefix="mestys-ws-ready-")
    spec["readyFile"] = ready
    proc = subprocess.Popen(["node", os.path.join(HERE, "ws_peer.js"), json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
    return proc, ready


def metric(daemon, series):
    text = daemon.get("/metrics")[2].decode()
    m = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def client(url, protocol="", token=""):
    p = subprocess.run(["node", os.path.join(HERE, "ws_client.js"), url, protocol, token],
                       capture_output=True, text=True, timeout=30, cwd=HERE)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return json.loads(p.stdout)


class WebSocketEndpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cfg = config(free_port(), [testplug()])
        cfg["node"]["http"]["body_limit"] = 200000
        cls.d = Daemon(cfg).start()
        cls.base = "ws://127.0.0.1:%d" % cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_echo(self):
        r = client(self.base + "/api/testplug/ws/kiosk-1")
        self.assertEqual(r["got"], ["hello /api/testplug/ws/kiosk-1", "Dobrý den, radnice",
                                    {"binary": [0, 1, 2, 255]}, "len:100000"], r)
        # the plugin closed it (ws_close): a close frame with 1000, not a
        # dropped connection (1006)
        self.assertEqual(r["code"], 1000, r)
        self.assertNotIn("error", r)

    def test_subprotocol_and_role(self):
        r = client(self.base + "/api/testplug/ocpp/CP-001", "ocpp1.6")
        self.assertEqual(r.get("refused"), 401, r)
        r = client(self.base + "/api/testplug/ocpp/CP-001", "ocpp1.6", OPERATOR)
        self.assertEqual(r["protocol"], "ocpp1.6", r)
        self.assertEqual(r["got"][0], "hello /api/testplug/ocpp/CP-001")

    def test_unknown_endpoint_refused(self):
        r = client(self.base + "/api/nowhere/ws")
        self.assertIn(r.get("refused"), (403, 404), r)
        status, _, _ = self.d.get("/health")
        self.assertEqual(status, 200)


class HandshakeHook(unittest.TestCase):
    """testplug's cp/* endpoint decides as the charging plugin will: ids
    start with CP-, an Authorization header or a client certificate is
    needed, "refuse-NNN" answers NNN, the newer connection of a station
    closes the older."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config(free_port(), [testplug(config={"label": "hook", "ws_max_message": 65536})])).start()
        cls.base = "ws://127.0.0.1:%d/api/testplug/cp/" % cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def stats(self):
        return self.d.json("/api/testplug/cp-stats")[1]

    def test_accepted_with_its_data(self):
        before = self.stats()["closes"]
        r = peer(url=self.base + "CP-1", headers=AUTH, send=["whoami"], closeAfter=2)
        self.assertTrue(r["opened"], r)
        # the hook's conn_data comes back through ws_data in open() and message()
        self.assertEqual(r["got"][0], {"event": "open", "id": "CP-1", "cn": "", "auth": AUTH["Authorization"]})
        self.assertEqual(r["got"][1]["event"], "whoami")
        self.assertEqual(r["got"][1]["auth"], AUTH["Authorization"])
        self.assertEqual(r["code"], 1000)
        eventually(lambda: self.assertEqual(self.stats()["closes"], before + 1))

    def test_401_without_authorization(self):
        before = metric(self.d, 'mestys_ws_handshakes_refused_total{status="401"}')
        r = peer(url=self.base + "CP-1")
        self.assertEqual(r.get("refused"), 401, r)
        self.assertTrue(r["type"].startswith("text/plain"), r)
        self.assertIn("401 Unauthorized", r["body"])
        self.assertTrue(r["challenge"].startswith("Basic realm="), r)  # as OCPP stations authenticate
        self.assertEqual(metric(self.d, 'mestys_ws_handshakes_refused_total{status="401"}'), before + 1)

    def test_404_unknown_id(self):
        r = peer(url=self.base + "XX-9", headers=AUTH)
        self.assertEqual(r.get("refused"), 404, r)
        self.assertGreaterEqual(metric(self.d, 'mestys_ws_handshakes_refused_total{status="404"}'), 1)

    def test_the_hooks_status_reaches_the_client(self):
        for status in (400, 409, 429, 503):
            series = 'mestys_ws_handshakes_refused_total{status="%d"}' % status
            before = metric(self.d, series)
            r = peer(url=self.base + "refuse-%d" % status)
            self.assertEqual(r.get("refused"), status, r)
            self.assertEqual(metric(self.d, series), before + 1)
        # anything else from a hook is the plugin's bug: 500, said once in the log
        for _ in range(2):
            self.assertEqual(peer(url=self.base + "refuse-200").get("refused"), 500)
        self.assertEqual(self.d.output().count("its handshake hook returned 200"), 1)

    def test_the_core_role_check_stays(self):
        # ocpp/* is an operator endpoint without a hook: the core says 401
        r = peer(url="ws://127.0.0.1:%d/api/testplug/ocpp/CP-1" % self.d.port, protocol="ocpp1.6")
        self.assertEqual(r.get("refused"), 401, r)
        self.assertEqual(r["challenge"], "Bearer", r)
        self.assertIn("this route needs a bearer token with the operator role", r["body"])

    def test_a_nul_in_authorization_is_refused(self):
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-1", {"Authorization": "Basic a\x00b"})
        c.close()
        self.assertEqual(c.status, 400, c.head)

    def test_newer_connection_closes_the_older(self):
        before = self.stats()
        older, ready = start_peer(url=self.base + "CP-7", headers=AUTH, waitMs=30000)
        eventually(lambda: self.assertTrue(os.path.exists(ready)), timeout=20)
        newer = peer(url=self.base + "CP-7", headers=AUTH, send=["whoami"], closeAfter=2)
        out, _ = older.communicate(timeout=30)
        old = json.loads(out)
        self.assertTrue(old["opened"], old)
        self.assertEqual(old["code"], 1000, old)  # closed by the server with a close frame
        self.assertNotIn("error", old)
        opened = newer["got"][0]
        self.assertTrue(opened.get("replaced"), newer)
        # the older connection is closing: a send to it is a clean error
        self.assertEqual(opened["older_send"], "MST_ECLOSED")
        self.assertEqual(newer["got"][1]["id"], "CP-7")
        # close() ran once for each of the two, and the station is offline
        eventually(lambda: self.assertEqual(self.stats()["closes"], before["closes"] + 2))
        self.assertEqual(self.stats()["replaced"], before["replaced"] + 1)
        self.assertEqual(self.stats()["online"], 0)

    def test_an_upgrade_that_fails_after_the_hook_still_gets_close(self):
        # accepted by the hook, then lws refuses it (no Sec-WebSocket-Key):
        # open() never comes, close() does, so the hook's data is freed
        before = self.stats()["closes_before_open"]
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-3", AUTH, key=False)
        c.close()
        eventually(lambda: self.assertEqual(self.stats()["closes_before_open"], before + 1))

    def test_messages_up_to_the_limit_pass(self):
        r = peer(url=self.base + "CP-4", headers=AUTH, send=["x" * 65536], closeAfter=2)
        self.assertEqual(r["got"][1], "len:65536", r)

    def test_a_connection_holds_a_bounded_queue(self):
        # 40 frames of 64 KiB at once: the connection takes 1 MiB (the
        # minimum; twice this endpoint's 64-KiB limit is less), ws_send says
        # MST_EAGAIN to the rest, and the connection goes on
        before = self.stats()["send_refused"]
        series = "mestys_ws_send_refused_total"
        counted = metric(self.d, series)
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-6", AUTH)
        c.read_frame()
        c.send_frame(wsraw.TEXT, b"flood:40")
        frames = 0
        while frames < 16:
            opcode, payload = c.read_frame()
            self.assertEqual((opcode, len(payload)), (0x2, 65536))
            frames += 1
        c.send_frame(wsraw.TEXT, b"whoami")
        opcode, payload = c.read_frame()
        c.close()
        self.assertEqual(json.loads(payload)["event"], "whoami")  # nothing more was queued
        self.assertEqual(self.stats()["send_refused"], before + 24)
        self.assertEqual(metric(self.d, series), counted + 24)

    def test_a_peer_that_takes_nothing_is_dropped_after_ws_close(self):
        # megabytes queued to a peer that never reads, then ws_close: the
        # frames cannot go out, so the close cannot either; the core drops
        # the connection after 10 s and close() runs
        before = self.stats()["closes"]
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-9", AUTH, rcvbuf=4096, timeout=60)
        c.read_frame()
        for _ in range(10):  # more than the kernel's buffers hold, the connection's queue full again
            c.send_frame(wsraw.TEXT, b"flood:16")
            time.sleep(0.2)
        c.send_frame(wsraw.TEXT, b"bye")
        eventually(lambda: self.assertEqual(self.stats()["closes"], before + 1), timeout=40, every=0.5)
        c.close()

    def test_a_10_mb_message_is_closed_1009_before_it_is_read(self):
        before = metric(self.d, 'mestys_ws_closed_total{reason="message_too_large"}')
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-5", AUTH)
        self.assertEqual(c.status, 101, c.head)
        self.assertEqual(json.loads(c.read_frame()[1])["event"], "open")
        # the frame header announces 10 MB; only its first 64 KiB follow
        c.send_frame(wsraw.TEXT, b"x" * 65536, length=10 * 1024 * 1024)
        opcode, payload = c.read_frame()
        c.close()
        self.assertEqual(opcode, wsraw.CLOSE)
        self.assertEqual(int.from_bytes(payload[:2], "big"), 1009, payload)
        self.assertEqual(metric(self.d, 'mestys_ws_closed_total{reason="message_too_large"}'), before + 1)
        self.assertEqual(self.d.get("/health")[0], 200)
        # said once, however often it happens
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-5", AUTH)
        c.read_frame()
        c.send_frame(wsraw.TEXT, b"x" * 1024, length=10 * 1024 * 1024)
        self.assertEqual(c.read_frame()[0], wsraw.CLOSE)
        c.close()
        self.assertEqual(self.d.output().count("a message longer than 65536 bytes"), 1)


class Pings(unittest.TestCase):
    """ws_endpoint_limits' ping_s: a peer that answers no ping within it is
    closed, and the plugin's close() runs; one that answers stays."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config(free_port(), [testplug(config={"label": "pings", "ws_ping_s": 1})])).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_a_silent_peer_is_closed(self):
        closes = self.d.json("/api/testplug/cp-stats")[1]["closes"]
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-1", AUTH, timeout=30)
        self.assertEqual(c.status, 101, c.head)
        opcodes = []
        with self.assertRaises(EOFError):
            while True:  # never a pong: the server must hang up
                opcodes.append(c.read_frame()[0])
        c.close()
        self.assertIn(wsraw.PING, opcodes)
        eventually(lambda: self.assertEqual(self.d.json("/api/testplug/cp-stats")[1]["closes"], closes + 1))
        self.assertGreaterEqual(metric(self.d, 'mestys_ws_closed_total{reason="no_pong"}'), 1)
        self.assertIn("no pong within 1 s", self.d.output())

    def test_a_peer_that_answers_stays(self):
        c = wsraw.connect(self.d.port, "/api/testplug/cp/CP-2", AUTH, timeout=30)
        pings = 0
        while pings < 4:  # four intervals: a silent peer is gone after two
            opcode, payload = c.read_frame()
            if opcode == wsraw.PING:
                pings += 1
                c.send_frame(wsraw.PONG, payload)
        c.send_frame(wsraw.TEXT, b"whoami")
        while True:
            opcode, payload = c.read_frame()
            if opcode == wsraw.TEXT:
                break
        c.close()
        self.assertEqual(json.loads(payload)["event"], "whoami")

    def test_a_silent_peer_between_answering_ones(self):
        """The ping schedule keeps an endpoint's connections in due order
        (http_ws_ping.c): the silent one, joined between two that answer,
        is taken out of the middle and closed; the others keep being pinged."""
        closes = self.d.json("/api/testplug/cp-stats")[1]["closes"]
        conns = []
        for cp in ("CP-3", "CP-4", "CP-5"):
            conns.append(wsraw.connect(self.d.port, "/api/testplug/cp/" + cp, AUTH, timeout=30))
            self.assertEqual(conns[-1].status, 101, conns[-1].head)
            time.sleep(0.4)  # joined at different times: different places in the schedule
        answered = {}

        def answer(c, cp):
            pings = 0
            while pings < 4:
                opcode, payload = c.read_frame()
                if opcode == wsraw.PING:
                    pings += 1
                    c.send_frame(wsraw.PONG, payload)
            c.send_frame(wsraw.TEXT, b"whoami")
            while c.read_frame()[0] != wsraw.TEXT:
                pass
            answered[cp] = pings

        threads = [threading.Thread(target=answer, args=(conns[i], cp)) for i, cp in ((0, "CP-3"), (2, "CP-5"))]
        for t in threads:
            t.start()
        with self.assertRaises(EOFError):
            while True:  # CP-4 never answers
                conns[1].read_frame()
        for t in threads:
            t.join(30)
        for c in conns:
            c.close()
        self.assertEqual(answered, {"CP-3": 4, "CP-5": 4})
        eventually(lambda: self.assertEqual(self.d.json("/api/testplug/cp-stats")[1]["closes"], closes + 3))


if __name__ == "__main__":
    main()

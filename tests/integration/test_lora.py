"""The lora plugin against frames built by the npm package lora-packet,
sent in real PUSH_DATA datagrams over UDP from several gateways."""
import base64
import calendar
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import OPERATOR, TEST_LUA, Daemon, ask, config, eventually, free_port, main, run_daemon_once

HERE = os.path.dirname(os.path.abspath(__file__))
NWK = "44024241ed4ce9a68c6a8bc055233fd3"
APP = "ec925802ae430ca77fd3dd73cb2cc588"
APP_KEY = "98929b92c49edba9676d646d3b612456"
ABP = {"dev_eui": "0004A30B001C0530", "dev_addr": "26011BDA", "nwk_skey": NWK, "app_skey": APP,
       "decoder": "cayenne", "name": "teploměr náměstí", "lat": 49.5938, "lon": 17.2509,
       "tags": {"street": "Husova", "kind": "weather"}}
LUA_DEV = {"dev_eui": "0004A30B001C0AAA", "dev_addr": "260B0AAA", "nwk_skey": NWK, "app_skey": APP,
           "decoder": "lua:decoders/temperature-humidity.lua"}
BAD_DEV = {"dev_eui": "0004A30B001C0BAD", "dev_addr": "260B0BAD", "nwk_skey": NWK, "app_skey": APP,
           "decoder": "lua:bad_decoders.lua"}  # copied next to the config
OTAA = {"dev_eui": "0004A30B001C0999", "join_eui": "70B3D57ED0000001", "app_key": APP_KEY, "decoder": "cayenne"}
GATEWAYS = ("AA555A0000000001", "AA555A0000000002", "AA555A0000000003")


def metric(d, name):
    """A series' value in /metrics (0 when absent)."""
    for line in d.get("/metrics")[2].decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def rejected(d, reason, instance="lora"):
    return metric(d, 'mestys_lora_rejected_total{plugin="lora",instance="%s",reason="%s"}' % (instance, reason))


def restart(d, cfg):
    """A new mestysd on d's folder and config (after kill -9)."""
    again = Daemon(cfg)
    again.dir, again.path, again.log_path = d.dir, d.path, d.log_path + ".2"
    return again.start()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


class Frames:
    """lora-packet behind a pipe: one JSON request, one JSON answer."""

    def __init__(self):
        self.p = subprocess.Popen(["node", os.path.join(HERE, "lora_frames.js")], cwd=HERE, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, **req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        out = json.loads(self.p.stdout.readline())
        if "error" in out:
            raise AssertionError(out["error"])
        return out

    def data(self, fcnt, payload, dev=ABP, **kw):
        return self.ask(op="data", dev_addr=dev["dev_addr"], nwk_skey=dev["nwk_skey"], app_skey=dev["app_skey"],
                        fcnt=fcnt, payload=payload, **kw)["phy"]

    def close(self):
        self.p.stdin.close()
        self.p.wait()


class Gateway:
    def __init__(self, port, eui):
        self.port = port
        self.eui = eui
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(3)
        self.token = 0

    def send(self, raw):
        self.s.sendto(raw, ("127.0.0.1", self.port))

    def push(self, rxpks=None, stat=None, expect_ack=True):
        self.token = (self.token + 1) & 0xffff
        body = {}
        if rxpks is not None:
            body["rxpk"] = rxpks
        if stat is not None:
            body["stat"] = stat
        self.send(struct.pack(">BHB", 2, self.token, 0) + bytes.fromhex(self.eui) + json.dumps(body).encode())
        if expect_ack:
            ack = self.s.recv(64)
            assert ack == struct.pack(">BHB", 2, self.token, 1), ack

    def pull(self):
        self.token = (self.token + 1) & 0xffff
        self.send(struct.pack(">BHB", 2, self.token, 2) + bytes.fromhex(self.eui))
        assert self.s.recv(64) == struct.pack(">BHB", 2, self.token, 4)

    def pull_resp(self):
        data = self.s.recv(2048)
        assert data[0] == 2 and data[3] == 3, data
        self.last_token = struct.unpack(">H", data[1:3])[0]
        return json.loads(data[4:])["txpk"]


def rxpk(phy_b64, rssi=-60, tmst=1000000, stat=1):
    size = len(base64.b64decode(phy_b64))
    return {"tmst": tmst, "chan": 0, "rfch": 0, "freq": 868.1, "stat": stat, "modu": "LORA", "datr": "SF7BW125",
            "codr": "4/5", "rssi": rssi, "lsnr": 7.5, "size": size, "data": phy_b64}


class Lora(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.udp = free_port()
        cfg = config(free_port(), [
            {"use": "lora", "config": {"listen": "127.0.0.1", "port": cls.udp, "dedup_ms": 150, "max_payload": 64,
                                       "devices": [ABP, OTAA, LUA_DEV, BAD_DEV],
                                       "gateways": [{"gateway": eui, "name": "radnice"} for eui in GATEWAYS]},
             "lua": {"instructions": 100000, "memory_mb": 8}},
            {"use": os.path.join(TEST_LUA, "capture.lua"), "name": "capture"},
            {"use": "store", "config": {"commit_ms": 50}},
            {"use": os.path.join(TEST_LUA, "asker.lua")},
        ])
        cls.d = Daemon(cfg)
        shutil.copy(os.path.join(TEST_LUA, "bad_decoders.lua"), cls.d.dir)
        cls.d.start()
        cls.f = Frames()
        cls.gws = [Gateway(cls.udp, eui) for eui in GATEWAYS]

    @classmethod
    def tearDownClass(cls):
        cls.f.close()
        cls.d.stop()

    def messages(self, topic):
        """Every record published on topic; batches (JSON arrays) flattened."""
        status, msgs = self.d.json("/api/capture/messages?topic=" + topic)
        self.assertEqual(status, 200)
        return [r for m in msgs for r in (m if isinstance(m, list) else [m])]

    def metric(self, name):
        return metric(self.d, name)

    def rejected(self, reason):
        return rejected(self.d, reason)

    def test_1_one_uplink_through_three_gateways(self):
        # channel 3 temperature 27.2 °C, channel 5 25.5 °C (the reference LPP vector)
        phy = self.f.data(1, "03670110056700FF")
        for i, gw in enumerate(self.gws):
            gw.push([rxpk(phy, rssi=-50 - 10 * i)])

        def uplinked():
            ups = [u for u in self.messages("lora/uplink") if u["fcnt"] == 1]
            self.assertEqual(len(ups), 1)
            return ups[0]
        up = eventually(uplinked)
        self.assertEqual(up["dev_eui"], "0004A30B001C0530")
        self.assertEqual(up["dev_addr"], "26011BDA")
        self.assertEqual(up["fport"], 1)
        self.assertEqual(base64.b64decode(up["payload"]).hex(), "03670110056700ff")
        self.assertEqual(sorted(g["gateway"] for g in up["gateways"]), [g.eui for g in self.gws])
        self.assertEqual(up["decoded"], {"temperature_3": 27.2, "temperature_5": 25.5})
        self.assertEqual(up["name"], "teploměr náměstí")
        readings = self.messages("reading")
        self.assertEqual([(r["sensor"], r["metric"], r["value"], r["unit"], r["channel"]) for r in readings[:2]],
                         [("0004A30B001C0530", "temperature_3", 27.2, "Cel", 3),
                          ("0004A30B001C0530", "temperature_5", 25.5, "Cel", 5)])
        self.assertAlmostEqual(readings[0]["lat"], 49.5938)
        self.assertEqual(readings[0]["tags"], {"street": "Husova", "kind": "weather"})
        self.assertTrue(readings[0]["time"].endswith("Z"))
        self.assertGreaterEqual(self.metric('mestys_lora_duplicates_total{plugin="lora",instance="lora"}'), 2)

        def stored():
            status, r = ask(self.d, "store/query", {"sensors": ["0004A30B001C0530"],
                                                     "metrics": ["temperature_3", "temperature_5"]})
            self.assertEqual(status, 200)
            self.assertEqual(sorted(x["value"] for x in r["readings"])[:2], [25.5, 27.2])
            self.assertAlmostEqual(r["readings"][0]["lat"], 49.5938)
            status, r = ask(self.d, "store/query", {"tags": {"street": "Husova"}})
            self.assertEqual({x["sensor"] for x in r["readings"]}, {"0004A30B001C0530"}, "the device's tags, kept")
        eventually(stored)

    def test_2_bad_input_is_counted_and_harmless(self):
        gw = self.gws[0]
        before = {r: self.rejected(r) for r in ("datagram", "json", "rxpk", "crc", "mic", "unknown_device",
                                                "replay", "frame")}
        gw.send(b"\x02\x00")                                           # truncated datagram
        gw.send(b"\x07\x00\x01\x00" + bytes(8) + b"{}")                # wrong protocol version
        gw.send(b"\x02\x00\x01\x00" + bytes.fromhex(gw.eui) + b"{not json")  # bad JSON (still ACKed)
        gw.s.recv(64)
        gw.push([{"tmst": 1, "data": "@@not base64@@"}])               # bad base64
        good = self.f.data(10, "0367011A")
        gw.push([rxpk(good, stat=-1)])                                 # CRC-bad rxpk
        wrong_key = dict(ABP, nwk_skey="00" * 16)
        gw.push([rxpk(self.f.data(11, "0367011A", dev=wrong_key))])    # MIC failure
        stranger = dict(ABP, dev_addr="01020304")
        gw.push([rxpk(self.f.data(1, "00", dev=stranger))])            # unknown DevAddr
        gw.push([rxpk(base64.b64encode(b"\x40" + bytes(300)).decode())])  # longer than any LoRa frame
        gw.push([rxpk(self.f.data(12, "00" * 100))])                   # payload over max_payload
        ok = self.f.data(20, "03670100")
        gw.push([rxpk(ok)])
        # once it is out of the dedup window (published), the same frame is a replay
        eventually(lambda: self.assertTrue(any(u["fcnt"] == 20 for u in self.messages("lora/uplink"))))
        gw.push([rxpk(ok)])                                            # replayed frame counter

        def counted():
            for reason in ("datagram", "json", "rxpk", "crc", "mic", "unknown_device", "replay", "frame"):
                self.assertGreaterEqual(self.rejected(reason) - before[reason], 1, reason)
        eventually(counted)
        self.assertEqual(self.rejected("datagram") - before["datagram"], 2)
        # and the good frame in the middle went through
        self.assertTrue(any(u["fcnt"] == 20 for u in self.messages("lora/uplink")))
        log = self.d.output()
        self.assertIn("refused (mic): DevAddr 26011BDA FCnt 11: the MIC does not verify", log)

    def test_3_fcnt_beyond_16_bits_is_not_needed_but_gaps_are_fine(self):
        phy = self.f.data(1000, "0367FFD7")  # -4.1 °C, after a gap of frames the network never heard
        self.gws[1].push([rxpk(phy)])

        def seen():
            ups = [u for u in self.messages("lora/uplink") if u["fcnt"] == 1000]
            self.assertEqual(len(ups), 1)
            self.assertEqual(ups[0]["decoded"], {"temperature_3": -4.1})
        eventually(seen)

    def test_4_confirmed_uplink_is_acked(self):
        gw = self.gws[2]
        gw.pull()
        phy = self.f.data(2000, "0167010A", confirmed=True)
        gw.push([rxpk(phy, tmst=5000000)])
        txpk = gw.pull_resp()
        self.assertEqual(txpk["tmst"], 6000000)  # RX1: one second after the uplink
        self.assertTrue(txpk["ipol"])
        down = self.f.ask(op="down", phy=txpk["data"], nwk_skey=NWK)
        self.assertEqual((down["mtype"], down["ack"], down["dev_addr"], down["mic_ok"]),
                         ("Unconfirmed Data Down", True, "26011bda", True))
        # the gateway could not make RX1: the same frame again in RX2
        gw.send(struct.pack(">BHB", 2, gw.last_token, 5) + bytes.fromhex(gw.eui) +
                b'{"txpk_ack":{"error":"TOO_LATE"}}')
        rx2 = gw.pull_resp()
        self.assertEqual((rx2["tmst"], rx2["freq"], rx2["datr"], rx2["data"]), (7000000, 869.525, "SF12BW125", txpk["data"]))
        self.assertGreaterEqual(
            self.metric('mestys_lora_gateway_tx_total{plugin="lora",instance="lora",gateway="%s"}' % gw.eui), 2)

    def test_5_otaa_join_then_uplink(self):
        gw = self.gws[0]
        gw.pull()
        join = self.f.ask(op="join", dev_eui=OTAA["dev_eui"], join_eui=OTAA["join_eui"], app_key=APP_KEY,
                          dev_nonce="f18e")["phy"]
        gw.push([rxpk(join, tmst=9000000)])
        txpk = gw.pull_resp()
        self.assertEqual(txpk["tmst"], 14000000)  # JOIN_ACCEPT_DELAY1: five seconds
        acc = self.f.ask(op="accept", phy=txpk["data"], app_key=APP_KEY, dev_nonce="f18e")
        self.assertTrue(acc["mic_ok"])
        dev = {"dev_addr": acc["dev_addr"], "nwk_skey": acc["nwk_skey"], "app_skey": acc["app_skey"]}
        gw.push([rxpk(self.f.data(1, "02670064", dev=dev))])

        def joined_uplink():
            ups = [u for u in self.messages("lora/uplink") if u["dev_eui"] == OTAA["dev_eui"]]
            self.assertEqual(len(ups), 1)
            self.assertEqual(ups[0]["decoded"], {"temperature_2": 10.0})
        eventually(joined_uplink)
        # the same DevNonce again is refused
        before = self.rejected("devnonce")
        gw.push([rxpk(join, tmst=20000000)])
        eventually(lambda: self.assertEqual(self.rejected("devnonce"), before + 1))

    def test_7b_absolute_decoder_in_config_is_refused(self):
        dev = dict(LUA_DEV, decoder="lua:/etc/passwd")
        cfg = config(free_port(), [{"use": "lora", "config": {"listen": "127.0.0.1", "port": free_port(),
                                                               "devices": [dev]}}])
        rc, out, _ = run_daemon_once(json.dumps(cfg))
        self.assertNotEqual(rc, 0, out)
        # the config check finds it, at the key's line, before anything starts
        self.assertIn("plugins[0].config.devices[0].decoder: script /etc/passwd: refused: give a path relative "
                      "to the lua/ folder or the config's folder", out)

    def test_8_lua_decoder(self):
        # 21.50 °C, 40 %RH, battery 2 + 50 * 0.02 = 3.0 V
        self.gws[0].push([rxpk(self.f.data(1, "086650" + "32", dev=LUA_DEV))])

        def decoded():
            ups = [u for u in self.messages("lora/uplink") if u["dev_eui"] == LUA_DEV["dev_eui"]]
            self.assertEqual(len(ups), 1)
            self.assertEqual(ups[0]["decoded"], {"temperature": 21.5, "humidity": 40, "battery": 3})
            readings = [r for r in self.messages("reading") if r["sensor"] == LUA_DEV["dev_eui"]]
            self.assertEqual(sorted((r["metric"], r["value"], r["unit"]) for r in readings),
                             [("battery", 3, "V"), ("humidity", 40, "%RH"), ("temperature", 21.5, "Cel")])
        eventually(decoded)

    def test_9_bad_decoders_are_contained(self):
        before = self.rejected("decoder")
        for fcnt, port in ((1, 1), (2, 2), (3, 3), (4, 9)):
            self.gws[1].push([rxpk(self.f.data(fcnt, "00", dev=BAD_DEV, fport=port))])

        def contained():
            ups = {u["fcnt"]: u for u in self.messages("lora/uplink") if u["dev_eui"] == BAD_DEV["dev_eui"]}
            self.assertEqual(sorted(ups), [1, 2, 3, 4])
            self.assertIn("instruction budget", ups[1]["decode_error"])
            self.assertIn("the vendor's decoder threw", ups[2]["decode_error"])
            self.assertIn("decode_error", ups[3])
            self.assertEqual(ups[4]["decoded"], {"ok": 1})
        eventually(contained, timeout=15)
        self.assertEqual(self.rejected("decoder"), before + 3)
        text = self.d.get("/metrics")[2].decode()
        self.assertIn('mestys_lua_budget_exceeded_total{plugin="lora",instance="lora",kind="instructions"} 1', text)
        self.assertIn('mestys_lua_budget_exceeded_total{plugin="lora",instance="lora",kind="memory"} 1', text)

    def test_6_device_api_never_returns_keys(self):
        status, _, body = self.d.request("POST", "/api/lora/devices", json.dumps(
            {"dev_eui": "0004A30B001C0777", "dev_addr": "260B0001", "nwk_skey": "11" * 16, "app_skey": "22" * 16,
             "tags": {"street": "Husova"}}).encode(), token=OPERATOR)
        self.assertEqual(status, 201, body)
        status, dev = self.d.json("/api/lora/devices/0004A30B001C0777", token=OPERATOR)
        self.assertEqual(status, 200)
        self.assertEqual(dev["dev_addr"], "260B0001")
        self.assertEqual(dev["tags"], {"street": "Husova"})
        status, devices = self.d.json("/api/lora/devices", token=OPERATOR)
        text = json.dumps(devices)
        for key in ("11" * 16, "22" * 16, NWK, APP, APP_KEY, "nwk_skey", "app_skey", "app_key"):
            self.assertNotIn(key, text.lower() if len(key) == 32 else text)
        # a Lua decoder stays inside the lua/ folder or the config's folder
        for decoder in ("lua:/etc/passwd", "lua:" + os.path.join(TEST_LUA, "bad_decoders.lua"),
                        "lua:../../etc/passwd", "lua:decoders/../../x.lua"):
            status, _, body = self.d.request("POST", "/api/lora/devices", json.dumps(
                {"dev_eui": "0004A30B001C0779", "dev_addr": "260B0009", "nwk_skey": NWK, "app_skey": APP,
                 "decoder": decoder}).encode(), token=OPERATOR)
            self.assertEqual(status, 400, (decoder, body))
            self.assertIn("an absolute path or \"..\" is refused", json.loads(body)["error"])
        self.assertEqual(self.d.json("/api/lora/devices/0004A30B001C0779", token=OPERATOR)[0], 404)
        status, _, body = self.d.request("POST", "/api/lora/devices", b'[{"dev_eui": "12"}]', token=OPERATOR)
        self.assertEqual(status, 400)
        self.assertIn("dev_eui", json.loads(body)["error"])
        csv = ("\ufeffdev_eui,dev_addr,nwk_skey,app_skey,decoder,name,lat,lon\r\n"
               "0004A30B001C0778,260B0002,%s,%s,cayenne,\"Náměstí, u \"\"kašny\"\"\",49.5,17.2\r\n"
               "0004A30B001C0779,260B0003,%s,%s,none,,,\r\n" % ("33" * 16, "44" * 16, "55" * 16, "66" * 16))
        status, _, body = self.d.request("POST", "/api/lora/devices", csv.encode(), token=OPERATOR,
                                         headers={"Content-Type": "text/csv"})
        self.assertEqual((status, json.loads(body)), (201, {"stored": 2}))
        status, dev = self.d.json("/api/lora/devices/0004A30B001C0778", token=OPERATOR)
        self.assertEqual((dev["name"], dev["lat"], dev["decoder"]), ('Náměstí, u "kašny"', 49.5, "cayenne"))
        status, _, body = self.d.request("POST", "/api/lora/devices", b'dev_eui,dev_addr\n"0004A30B001C0780,26', token=OPERATOR,
                                         headers={"Content-Type": "text/csv"})
        self.assertEqual(status, 400)
        status, _, _ = self.d.request("DELETE", "/api/lora/devices/0004A30B001C0777", token=OPERATOR)
        self.assertEqual(status, 204)
        status, _ = self.d.json("/api/lora/devices/0004A30B001C0777", token=OPERATOR)
        self.assertEqual(status, 404)
        status, _ = self.d.json("/api/lora/devices")
        self.assertEqual(status, 401)

    def test_7_gateway_status(self):
        gw = self.gws[1]
        gw.push(stat={"time": "2026-11-22 10:00:00 GMT", "lati": 49.59, "long": 17.25, "alti": 220,
                      "rxnb": 10, "rxok": 9, "rxfw": 9, "ackr": 100.0, "dwnb": 1, "txnb": 1})

        def status():
            stats = [s for s in self.messages("lora/gateway") if s["gateway"] == gw.eui]
            self.assertTrue(stats)
            self.assertEqual((stats[-1]["rxnb"], stats[-1]["lat"]), (10, 49.59))
        eventually(status)
        status, gws = self.d.json("/api/lora/gateways", token=OPERATOR)
        self.assertIn(gw.eui, [g["gateway"] for g in gws])

    def test_b_unknown_gateways_are_counted_not_kept(self):
        """100,000 PULL_DATA from made-up EUIs: one counter moves, nothing else grows."""
        sent = 100000
        before = self.rejected("unknown_gateway")
        drops = 'mestys_udp_dropped_total{plugin="lora",instance="lora",port="%d"}' % self.udp
        dropped_before = self.metric(drops)
        metrics_size = len(self.d.get("/metrics")[2])
        rss = rss_kb(self.d.proc.pid)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        rnd = random.Random(8)
        for i in range(sent):
            s.sendto(struct.pack(">BHB", 2, i & 0xffff, 2) + rnd.getrandbits(64).to_bytes(8, "big"),
                     ("127.0.0.1", self.udp))
            if i % 2000 == 1999:
                time.sleep(0.005)  # a flood, but one the kernel queue can hold: drops are counted below anyway

        def counted():
            self.assertEqual(self.rejected("unknown_gateway") - before + self.metric(drops) - dropped_before, sent)
        eventually(counted, timeout=30)
        self.assertGreater(self.rejected("unknown_gateway") - before, sent // 2)
        with self.assertRaises(socket.timeout):
            s.recv(64)  # a stranger gets no PULL_ACK
        grown_kb = rss_kb(self.d.proc.pid) - rss
        print("\n100,000 made-up gateway EUIs: RSS %+d KiB, /metrics %+d bytes" %
              (grown_kb, len(self.d.get("/metrics")[2]) - metrics_size))
        self.assertLess(grown_kb, 4096, "no state per unknown gateway")
        # the same series, a few counters longer at most
        self.assertLess(len(self.d.get("/metrics")[2]) - metrics_size, 200)
        status, gws = self.d.json("/api/lora/gateways", token=OPERATOR)
        self.assertEqual(sorted(g["gateway"] for g in gws), sorted(GATEWAYS))
        # strangers are named in the log once each, and only the first few
        log = self.d.output()
        self.assertLessEqual(log.count("is not registered: its packets are dropped"), 16)
        self.assertEqual(log.count("more unregistered gateways: from now on they are only counted"), 1)
        # and a registered gateway still works
        phy = self.f.data(3000, "0367010A")
        self.gws[0].push([rxpk(phy)])
        eventually(lambda: self.assertTrue(any(u["fcnt"] == 3000 for u in self.messages("lora/uplink"))))

    def test_a_gateways_registered_over_the_api(self):
        eui = "AA555A00000000B1"
        gw = Gateway(self.udp, eui)
        gw.s.settimeout(0.5)
        before = self.rejected("unknown_gateway")
        gw.send(struct.pack(">BHB", 2, 7, 2) + bytes.fromhex(eui))
        with self.assertRaises(socket.timeout):
            gw.s.recv(64)
        eventually(lambda: self.assertEqual(self.rejected("unknown_gateway"), before + 1))
        self.assertIn("gateway %s is not registered" % eui, self.d.output())
        status, _, body = self.d.request("POST", "/api/lora/gateways", json.dumps(
            [{"gateway": eui, "name": "hasičárna", "lat": 49.59, "lon": 17.25}]).encode(), token=OPERATOR)
        self.assertEqual((status, json.loads(body)), (201, {"stored": 1}))
        gw.s.settimeout(3)
        gw.pull()
        status, g = self.d.json("/api/lora/gateways/" + eui, token=OPERATOR)
        self.assertEqual((status, g["name"], g["lat"], g["downlink_path"]), (200, "hasičárna", 49.59, True))
        db = sqlite3.connect(os.path.join(self.d.dir, "state", "lora", "lora.sqlite"))
        self.assertEqual(db.execute("SELECT name FROM gateway WHERE eui = ?", (eui,)).fetchall(), [("hasičárna",)])
        db.close()
        # all or nothing, and the entry that is wrong is named
        status, _, body = self.d.request("POST", "/api/lora/gateways", json.dumps(
            [{"gateway": "AA555A00000000B2"}, {"gateway": "B3"}]).encode(), token=OPERATOR)
        self.assertEqual(status, 400)
        self.assertIn("gateway 1: gateway", json.loads(body)["error"])
        self.assertEqual(self.d.json("/api/lora/gateways/AA555A00000000B2", token=OPERATOR)[0], 404)
        self.assertEqual(self.d.json("/api/lora/gateways", token=None)[0], 401)
        status, _, _ = self.d.request("DELETE", "/api/lora/gateways/" + eui, token=OPERATOR)
        self.assertEqual(status, 204)
        gw.s.settimeout(0.5)
        gw.send(struct.pack(">BHB", 2, 8, 2) + bytes.fromhex(eui))
        with self.assertRaises(socket.timeout):
            gw.s.recv(64)

    def test_c_csv_that_is_not_utf8_is_refused_naming_the_line(self):
        refused = 'mestys_http_refused_total{reason="invalid_utf8"}'
        before = self.metric(refused)
        csv = ("dev_eui,dev_addr,nwk_skey,app_skey,name\r\n"
               "0004A30B001C0C01,260B0C01,%s,%s,kašna\r\n" % ("33" * 16, "44" * 16)).encode()
        csv += b"0004A30B001C0C02,260B0C02," + b"55" * 16 + b"," + b"66" * 16 + b",n\xe1m\xecst\xed\r\n"  # Latin-2
        status, _, body = self.d.request("POST", "/api/lora/devices", csv, token=OPERATOR,
                                         headers={"Content-Type": "text/csv"})
        self.assertEqual(status, 400, body)
        error = json.loads(body)["error"]
        self.assertIn("line 3", error)
        self.assertIn("UTF-8", error)
        self.assertEqual(self.d.json("/api/lora/devices/0004A30B001C0C01", token=OPERATOR)[0], 404, "nothing stored")
        self.assertEqual(self.metric(refused), before + 1)
        # an import the plugin refuses is counted and logged too
        before = self.metric('mestys_lora_imports_refused_total{plugin="lora",instance="lora"}')
        status, _, body = self.d.request("POST", "/api/lora/devices", b"dev_eui,dev_addr\r\n0004A30B001C0C03,26\r\n",
                                         token=OPERATOR, headers={"Content-Type": "text/csv"})
        self.assertEqual(status, 400, body)
        self.assertIn("line 2: ", json.loads(body)["error"], "a CSV file's line, the header being line 1")
        self.assertEqual(self.metric('mestys_lora_imports_refused_total{plugin="lora",instance="lora"}'), before + 1)
        self.assertIn("device import refused: line 2:", self.d.output())

def lora_config(udp, http, store=None, **lora):
    cfg = dict({"listen": "127.0.0.1", "port": udp, "devices": [ABP], "gateways": [{"gateway": GATEWAYS[0]}]}, **lora)
    plugins = [{"use": "lora", "config": cfg}]
    if store is not None:
        plugins.append({"use": "store", "config": store})
    return config(http, plugins)


class FrameCountersAcrossKill9(unittest.TestCase):
    def test_no_frame_is_accepted_twice_across_kill_9(self):
        udp = free_port()
        # save_ms is the periodic write of the counters; long here, so it is
        # not what keeps the replays out
        cfg = lora_config(udp, free_port(), save_ms=10000)
        d = Daemon(cfg).start()
        f = Frames()
        gw = Gateway(udp, GATEWAYS[0])
        try:
            frames = [f.data(n, "0367%04X" % n) for n in range(1, 21)]
            for phy in frames:  # a second's worth of frames
                gw.push([rxpk(phy)])
                time.sleep(0.05)
            uplinks = 'mestys_lora_uplinks_total{plugin="lora",instance="lora"}'
            eventually(lambda: self.assertEqual(metric(d, uplinks), 20))
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
            d.log.close()
            again = restart(d, cfg)
            try:
                for phy in frames:
                    gw.push([rxpk(phy)])
                eventually(lambda: self.assertEqual(rejected(again, "replay"), 20))
                self.assertEqual(metric(again, uplinks), 0, "a replayed frame was accepted")
                gw.push([rxpk(f.data(21, "03670100"))])
                eventually(lambda: self.assertEqual(metric(again, uplinks), 1))
            finally:
                again.stop()
        finally:
            f.close()

    def test_nothing_is_published_while_its_counter_cannot_be_written(self):
        udp = free_port()
        d = Daemon(lora_config(udp, free_port())).start()
        f = Frames()
        gw = Gateway(udp, GATEWAYS[0])
        uplinks = 'mestys_lora_uplinks_total{plugin="lora",instance="lora"}'
        try:
            # another writer holds the registry longer than the busy timeout (5 s)
            db = sqlite3.connect(os.path.join(d.dir, "state", "lora", "lora.sqlite"), isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            gw.push([rxpk(f.data(1, "03670100"))])
            eventually(lambda: self.assertEqual(rejected(d, "counter_write"), 1), timeout=15)
            db.execute("ROLLBACK")
            db.close()
            self.assertEqual(metric(d, uplinks), 0)
            self.assertIn("1 uplink(s) not published: their frame counters could not be written", d.output())
            gw.push([rxpk(f.data(2, "03670101"))])
            eventually(lambda: self.assertEqual(metric(d, uplinks), 1))
        finally:
            f.close()
            d.stop()


def iso(t):
    """Unix seconds as the rxpk "time" of a GPS gateway (microseconds, Z)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


class DeviceStatus(unittest.TestCase):
    """last_seen and battery in the device API, kept across a restart; the gateway's time on readings."""

    def test_last_seen_and_battery_survive_a_restart(self):
        udp = free_port()
        cfg = lora_config(udp, free_port(), store={"commit_ms": 50}, devices=[ABP, LUA_DEV], save_ms=50)
        d = Daemon(cfg).start()
        f = Frames()
        gw = Gateway(udp, GATEWAYS[0])
        try:
            status, dev = d.json("/api/lora/devices/" + LUA_DEV["dev_eui"], token=OPERATOR)
            self.assertEqual((dev["last_seen"], dev["battery"]), (None, None), "never heard")
            before = time.time()
            # 21.50 °C, 45 %RH, battery 2 + 65 * 0.02 = 3.3 V (decoders/temperature-humidity.lua)
            gw.push([rxpk(f.data(1, "08665A41", dev=LUA_DEV))])
            gw.push([rxpk(f.data(1, "03670110"))])  # cayenne: no battery reading

            def heard():
                status, dev = d.json("/api/lora/devices/" + LUA_DEV["dev_eui"], token=OPERATOR)
                self.assertIsNotNone(dev["last_seen"])
                return dev
            dev = eventually(heard, timeout=30)
            after = time.time()
            self.assertEqual(dev["battery"], {"value": 3.3, "unit": "V"})
            seen = calendar.timegm(time.strptime(dev["last_seen"][:19], "%Y-%m-%dT%H:%M:%S"))
            self.assertTrue(before - 1 <= seen <= after, (before, dev["last_seen"], after))
            status, devs = d.json("/api/lora/devices", token=OPERATOR)
            cay = next(x for x in devs if x["dev_eui"] == ABP["dev_eui"])
            self.assertIsNotNone(cay["last_seen"])
            self.assertIsNone(cay["battery"], "the cayenne payload has no battery reading")
            # registering the device again keeps what was heard
            status, _, body = d.request("POST", "/api/lora/devices", json.dumps(LUA_DEV).encode(), token=OPERATOR)
            self.assertEqual(status, 201, body)
            status, again = d.json("/api/lora/devices/" + LUA_DEV["dev_eui"], token=OPERATOR)
            self.assertEqual((again["last_seen"], again["battery"]), (dev["last_seen"], dev["battery"]))
            time.sleep(0.3)  # save_ms
        finally:
            f.close()
            d.stop()
        d2 = restart(d, cfg)
        try:
            status, after = d2.json("/api/lora/devices/" + LUA_DEV["dev_eui"], token=OPERATOR)
            self.assertEqual((after["last_seen"], after["battery"]), (dev["last_seen"], dev["battery"]))
        finally:
            d2.stop()

    def test_the_clerks_page_is_served_unless_turned_off(self):
        for pages, want in ((True, 200), (False, 404)):
            d = Daemon(lora_config(free_port(), free_port(), pages=pages)).start()
            try:
                status, headers, body = d.get("/lora/admin.html")
                self.assertEqual(status, want, body)
                if want == 200:
                    self.assertIn(b"admin.js", body)
            finally:
                d.stop()

    def test_readings_take_the_gateways_time_when_configured(self):
        for max_age, expect_backdated in ((0, False), (8 * 86400, True)):
            udp = free_port()
            cfg = lora_config(udp, free_port(), store={"commit_ms": 50}, devices=[LUA_DEV],
                              gateway_time_max_age_s=max_age)
            cfg["plugins"].append({"use": os.path.join(TEST_LUA, "asker.lua")})
            d = Daemon(cfg).start()
            f = Frames()
            gw = Gateway(udp, GATEWAYS[0])
            try:
                now = time.time()
                two_days = now - 2 * 86400 + 0.25
                # apart by more than a millisecond: the store keys a reading by (sensor, metric, time), so two
                # frames received in the same millisecond would be one reading
                gw.push([dict(rxpk(f.data(1, "08665A41", dev=LUA_DEV)), time=iso(two_days))])
                time.sleep(0.01)
                gw.push([dict(rxpk(f.data(2, "08665A41", dev=LUA_DEV)), time=iso(now + 3600))])  # future: not believed
                time.sleep(0.01)
                gw.push([dict(rxpk(f.data(3, "08665A41", dev=LUA_DEV)), time=iso(now - 9 * 86400))])  # too old

                def stored():
                    status, r = ask(d, "store/query", {"sensors": [LUA_DEV["dev_eui"]], "metrics": ["temperature"],
                                                       "from": "2000-01-01"})
                    self.assertEqual(len(r["readings"]), 3, (max_age, r))
                    return sorted(r["readings"], key=lambda x: x["time"])
                rows = eventually(stored, timeout=30)
                after = time.time()
                by_server = lambda t: now - 1 <= t <= after + 1  # noqa: E731 (received between the two)
                times = [calendar.timegm(time.strptime(x["time"][:19], "%Y-%m-%dT%H:%M:%S")) for x in rows]
                if expect_backdated:
                    self.assertLess(abs(times[0] - two_days), 2, rows)
                    self.assertEqual(rows[0]["time"][:23], iso(two_days)[:23], "to the millisecond")
                    self.assertTrue(by_server(times[1]), "a time in the future is not believed")
                    self.assertTrue(by_server(times[2]), "older than gateway_time_max_age_s: not believed")
                else:
                    for t in times:
                        self.assertTrue(by_server(t), "by default the server's clock")
            finally:
                f.close()
                d.stop()


class BigBatches(unittest.TestCase):
    def test_a_stall_does_not_make_a_batch_too_big_for_the_bus(self):
        """After a stall every uplink falls due at once: the batch goes out in
        several messages, each under bus.max_message."""
        udp, tmp = free_port(), tempfile.mkdtemp(prefix="mestys-it-sim-")
        sim = os.path.join(os.environ["MESTYS_BUILD_DIR"], "mestys")
        devices, gateways = os.path.join(tmp, "devices.json"), os.path.join(tmp, "gateways.json")
        subprocess.run([sim, "simulate", "lora", "--devices", "100", "--gateways", "1", "--devices-json", devices,
                        "--gateways-json", gateways], check=True)
        cfg = config(free_port(), [{"use": "lora", "config": {
            "listen": "127.0.0.1", "port": udp, "receive_buffer": 16 << 20,
            "devices": json.load(open(devices)), "gateways": json.load(open(gateways))}}],
            bus={"max_message": 300000})
        d = Daemon(cfg).start()
        try:
            d.send(signal.SIGSTOP)
            # 3,000 uplinks, 9,000 readings: over a megabyte of JSON
            subprocess.run([sim, "simulate", "lora", "--to", "127.0.0.1:%d" % udp, "--devices", "100",
                            "--gateways", "1", "--count", "3000", "--rate", "100000"], check=True,
                           capture_output=True)
            d.send(signal.SIGCONT)
            eventually(lambda: self.assertEqual(
                metric(d, 'mestys_lora_readings_total{plugin="lora",instance="lora"}'), 9000), timeout=30)
            self.assertEqual(metric(d, 'mestys_lora_uplinks_total{plugin="lora",instance="lora"}'), 3000)
            self.assertNotIn("not published", d.output())
        finally:
            d.send(signal.SIGCONT)
            d.stop()


class KernelDrops(unittest.TestCase):
    def test_datagrams_the_kernel_drops_are_counted(self):
        udp = free_port()
        d = Daemon(lora_config(udp, free_port(), receive_buffer=4096)).start()
        gw = Gateway(udp, GATEWAYS[0])
        drops = 'mestys_udp_dropped_total{plugin="lora",instance="lora",port="%d"}' % udp
        try:
            gw.pull()
            self.assertIn(drops + " 0", d.get("/metrics")[2].decode())
            # the loop stopped: the tiny queue fills and the kernel drops the rest
            d.send(signal.SIGSTOP)
            sent = 200
            for i in range(sent):
                gw.send(struct.pack(">BHB", 2, i, 2) + bytes.fromhex(GATEWAYS[0]))
            d.send(signal.SIGCONT)
            acks = 0
            gw.s.setblocking(False)

            def counted():
                nonlocal acks
                try:
                    while True:
                        gw.s.recv(64)
                        acks += 1
                except BlockingIOError:
                    pass
                self.assertEqual(metric(d, drops) + acks, sent)
            eventually(counted, timeout=10)
            print("\n%d PULL_DATA into a 4 KiB receive buffer of a stopped daemon: %d answered, %d dropped"
                  % (sent, acks, metric(d, drops)))
            self.assertGreater(metric(d, drops), 0)
        finally:
            d.stop()


class LossBoundUnderKill9(unittest.TestCase):
    """With default settings nothing sent more than 1 s before kill -9 is lost."""

    RATE = 200  # uplinks/s from one gateway, each a reading whose value is its sequence number
    DEVICES = 10  # a real device sends every few minutes; each of these every 50 ms

    def test_nothing_sent_a_second_before_kill_9_is_lost(self):
        udp = free_port()
        devices = [dict(ABP, decoder="cayenne", dev_eui="0004A30B001D%04X" % i, dev_addr="260D%04X" % i)
                   for i in range(self.DEVICES)]
        cfg = config(free_port(), [
            {"use": "lora", "config": {"listen": "127.0.0.1", "port": udp, "devices": devices,
                                       "gateways": [{"gateway": GATEWAYS[0]}]}},
            {"use": "store"},  # every setting that matters here is the default
            {"use": os.path.join(TEST_LUA, "asker.lua")},
        ])
        f = Frames()
        # analog input, channel 1: value = sequence / 100
        frames = [f.data(n // self.DEVICES + 1, "0102%04X" % n, dev=devices[n % self.DEVICES])
                  for n in range(1, 8 * self.RATE)]
        f.close()
        d = Daemon(cfg).start()
        gw = Gateway(udp, GATEWAYS[0])
        sent, stop = [], threading.Event()

        def sender():
            t0 = time.monotonic()
            for i, phy in enumerate(frames):
                due = t0 + i / self.RATE
                while time.monotonic() < due:
                    time.sleep(0.001)
                if stop.is_set():
                    return
                gw.push([rxpk(phy)], expect_ack=False)
                sent.append((i + 1, time.monotonic()))  # frame i carries n = i + 1
        thread = threading.Thread(target=sender)
        thread.start()
        commits = 'mestys_store_commits_total{plugin="store",instance="store"}'
        try:
            # the worst moment: just before a commit, when the readings that
            # wait for it have waited longest
            seen, ticks = metric(d, commits), []
            while len(ticks) < 4:
                n = metric(d, commits)
                if n != seen:
                    seen = n
                    ticks.append(time.monotonic())
                time.sleep(0.002)
            interval = (ticks[-1] - ticks[1]) / 2
            time.sleep(max(0.0, ticks[-1] + interval - 0.03 - time.monotonic()))
            d.proc.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            stop.set()
            d.proc.wait()
            d.log.close()
        finally:
            stop.set()
            thread.join()
        sent = [(n, t) for n, t in sent if t < killed]
        again = restart(d, cfg)
        try:
            status, r = ask(again, "store/query", {"sensors": [dev["dev_eui"] for dev in devices],
                                                    "metrics": ["analog_input_1"], "limit": 10000})
            self.assertEqual(status, 200, r)
        finally:
            again.stop()
        stored = {round(x["value"] * 100) for x in r["readings"]}
        lost = [(n, t) for n, t in sent if n not in stored]
        self.assertTrue(stored, "nothing was stored")
        self.assertTrue(lost, "nothing was lost: the kill came after the commit it aimed before")
        oldest = min(t for _, t in lost)
        self.assertEqual([n for n, t in sent if t > oldest and n in stored], [], "lost readings are the newest ones")
        window = killed - oldest
        print("\nkill -9 just before a commit (commit interval %.0f ms seen): %d uplinks sent, %d lost, the oldest "
              "lost sent %.0f ms before the kill" % (interval * 1000, len(sent), len(lost), window * 1000))
        self.assertLessEqual(window, 1.0)


if __name__ == "__main__":
    main()

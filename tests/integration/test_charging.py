"""The charging plugin (OCPP 1.6J central system) against charge points
played by the npm package ocpp-rpc in strict mode (ocpp_station.js): it
validates every call and answer we send against the OCA schemas."""
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import OPERATOR, Daemon, config, eventually, free_port, main

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "correct-horse-battery-1"
NOW = "2026-11-27T10:00:00.000Z"


class Stations:
    """ocpp_station.js behind a pipe: one JSON command, one JSON answer."""

    def __init__(self, daemon):
        self.url = "ws://127.0.0.1:%d/api/charging/ocpp" % daemon.port
        self.p = subprocess.Popen(["node", os.path.join(HERE, "ocpp_station.js")], cwd=HERE, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lock = threading.Lock()

    def cmd(self, **c):
        with self.lock:
            self.p.stdin.write(json.dumps(c) + "\n")
            self.p.stdin.flush()
            line = self.p.stdout.readline()
        if not line:
            raise AssertionError("ocpp_station.js died")
        return json.loads(line)

    def connect(self, name, id=None, password=PASSWORD, **kw):
        return self.cmd(op="connect", name=name, url=self.url, id=id or name, password=password, **kw)

    def call(self, name, action, payload):
        return self.cmd(op="call", name=name, action=action, payload=payload)

    def ok(self, name, action, payload):
        r = self.call(name, action, payload)
        if "result" not in r:
            raise AssertionError("%s %s: %r" % (name, action, r))
        return r["result"]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)
        self.p.stdout.close()


def metric(d, name, **labels):
    want = ",".join(['plugin="charging"', 'instance="charging"'] + ['%s="%s"' % kv for kv in labels.items()])
    for line in d.get("/metrics")[2].decode().splitlines():
        if line.startswith("mestys_charging_%s{%s}" % (name, want)):
            return float(line.split()[-1])
    return 0.0


def charging(**cfg):
    base = {"heartbeat_interval_s": 60, "call_timeout_s": 2, "password_iterations": 1000,
            "data_transfer_vendors": ["cz.dolni-lhota"]}
    base.update(cfg)
    return {"use": "charging", "config": base}


def post(d, path, body, token=OPERATOR):
    status, _, resp = d.request("POST", "/api/charging/" + path, json.dumps(body).encode(), token=token,
                                headers={"Content-Type": "application/json"})
    return status, (json.loads(resp) if resp else None)


def register(d, sid, accepted=True, **extra):
    body = {"id": sid, "name": "nabíječka " + sid, "password": PASSWORD, "accepted": accepted}
    body.update(extra)
    status, resp = post(d, "stations", body)
    assert status == 201, (status, resp)


def answers(frames):
    """The frames answering raw CALLs the test sent (its ids are short), not
    those answering the station's own calls (ocpp-rpc's ids are UUIDs)."""
    return [f for f in map(json.loads, frames) if len(str(f[1])) < 36]


def boot(st, name):
    return st.ok(name, "BootNotification", {"chargePointVendor": "Městys", "chargePointModel": "Test-22"})


def online(d, st, name, id_tag):
    """name registered, connected and booted; id_tag a card it may use."""
    register(d, name)
    post(d, "id-tags", {"id_tag": id_tag})
    r = st.connect(name)
    assert r.get("ok") is True, r
    boot(st, name)


class Charging(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config(free_port(), [charging(tariff={"per_kwh": "7.90", "per_session": 10},
                                                     bookings={"reserve": True, "lead_min": 10})])).start()
        cls.st = Stations(cls.d)
        status, resp = post(cls.d, "id-tags", [{"id_tag": "CARD-OK"}, {"id_tag": "CARD-BLOCKED", "status": "Blocked"},
                                               {"id_tag": "CARD-OLD", "expiry": "2020-01-01T00:00:00Z"}])
        assert status == 201, resp

    @classmethod
    def tearDownClass(cls):
        cls.st.close()
        cls.d.stop()

    def station(self, name, accepted=True):
        register(self.d, name, accepted)
        r = self.st.connect(name)
        self.assertEqual(r.get("ok"), True, r)
        return name

    def test_boot_pending_until_accepted(self):
        name = self.station("CP-PENDING", accepted=False)
        conf = boot(self.st, name)
        self.assertEqual(conf["status"], "Pending")
        # the log says what to do, and leaves out the firmware the charger did not send
        self.d.wait_log("charge point CP-PENDING booted (Městys Test-22): Pending; accept it with POST"
                        " /api/charging/stations/CP-PENDING/accept")
        self.assertNotIn("firmware ?", self.d.output())
        # nothing but boot and heartbeat until the operator accepts it
        r = self.st.call(name, "Authorize", {"idTag": "CARD-OK"})
        self.assertEqual(r["error"]["code"], "SecurityError", r)
        status, resp = post(self.d, "stations/%s/accept" % name, {})
        self.assertEqual(status, 200, resp)
        self.assertTrue(resp["accepted"])
        conf = boot(self.st, name)
        self.assertEqual(conf["status"], "Accepted")
        self.assertEqual(conf["interval"], 60)
        # after the boot: TriggerMessage StatusNotification, and the station tells its state
        def triggered():
            calls = self.st.cmd(op="received", name=name)["calls"]
            self.assertIn(["TriggerMessage", {"requestedMessage": "StatusNotification"}], [c[:2] for c in calls])
            _, one = self.d.json("/api/charging/stations/" + name)
            self.assertEqual([k["status"] for k in one["connectors"]], ["Available"], one)
        eventually(triggered)
        _, one = self.d.json("/api/charging/stations/" + name)
        self.assertEqual(one["status"], "online")
        self.assertEqual(one["vendor"], "Městys")
        self.assertNotIn("password", one)
        self.assertEqual(self.st.cmd(op="received", name=name)["invalid"], 0)

    def test_handshake_refusals(self):
        register(self.d, "CP-AUTH")
        before = metric(self.d, "handshakes_refused_total", reason="bad_password")
        self.assertEqual(self.st.connect("x1", id="CP-NOBODY").get("refused"), 404)
        self.assertEqual(self.st.connect("x2", id="CP-AUTH", password="wrong-password-00000").get("refused"), 401)
        self.assertEqual(self.st.connect("x3", id="CP-AUTH", password=None).get("refused"), 401)
        self.assertEqual(metric(self.d, "handshakes_refused_total", reason="bad_password"), before + 1)
        self.assertGreaterEqual(metric(self.d, "handshakes_refused_total", reason="unknown_station"), 1)
        self.assertEqual(self.st.connect("CP-AUTH").get("ok"), True)

    def test_no_password_set_says_how_to_set_one(self):
        status, resp = post(self.d, "stations", {"id": "CP-NOPW", "accepted": True})
        self.assertEqual(status, 201, resp)
        self.assertEqual(self.st.connect("CP-NOPW").get("refused"), 401)
        self.d.wait_log("charge point CP-NOPW refused at the handshake: no_password_set; set one with POST"
                        " /api/charging/stations/CP-NOPW/password")

    def test_unknown_keys_are_refused_by_name(self):
        register(self.d, "CP-KEYS")
        cases = [
            ("stations", {"id": "CP-TYPO", "nmae": "Náměstí"}, "nmae",
             "id, name, security_profile, accepted, site, lat, lon, connectors, tariff, password"),
            ("stations", [{"id": "CP-TYPO"}, {"id": "CP-TYPO2", "connectors": [{"max_kw": 22, "phase": 3}]}],
             "phase", "max_kw, phases, type"),
            ("stations/CP-KEYS/password", {"pasword": PASSWORD}, "pasword", "password"),
            ("id-tags", {"id_tag": "CARD-TYPO", "stauts": "Blocked"}, "stauts", "id_tag, status, expiry, parent, name"),
            ("stations/CP-KEYS/remote-start", {"idtag": "CARD-OK"}, "idtag", "id_tag, connector"),
            ("stations/CP-KEYS/reserve", {"connector": 1, "id_tag": "CARD-OK", "expires": NOW}, "expires",
             "connector, id_tag, expiry"),
            ("figures/publish", {"mnth": "2026-10"}, "mnth", "day, month"),
            ("bookings", {"id_tag": "CARD-OK", "station": "CP-KEYS", "form": NOW, "to": NOW}, "form",
             "id_tag, station, connector, site, from, to"),
        ]
        for path, body, key, valid in cases:
            status, resp = post(self.d, path, body)
            self.assertEqual(status, 400, (path, resp))
            self.assertIn('unknown key "%s"; valid keys: %s' % (key, valid), resp["error"], path)
        # nothing of a refused body was stored
        self.assertEqual(self.d.get("/api/charging/stations/CP-TYPO")[0], 404)
        self.assertNotIn("CARD-TYPO", [t["id_tag"] for t in self.d.json("/api/charging/id-tags", token=OPERATOR)[1]])

    def test_bad_payload_to_an_offline_station_is_400_not_409(self):
        register(self.d, "CP-OFF")
        status, resp = post(self.d, "stations/CP-OFF/call/Reset", {"type": "Sideways"})
        self.assertEqual(status, 400, resp)
        self.assertIn("type", resp["error"])
        status, resp = post(self.d, "stations/CP-OFF/call/Reset", {"type": "Soft"})
        self.assertEqual(status, 409, resp)

    def test_wrong_password_flood(self):
        register(self.d, "CP-FLOOD")
        self.assertEqual(self.st.connect("CP-FLOOD").get("ok"), True)
        codes = [self.st.connect("f%d" % i, id="CP-FLOOD", password="wrong-password-00000").get("refused")
                 for i in range(30)]
        self.assertEqual(codes[:10], [401] * 10)
        self.assertEqual(set(codes[10:]), {429})
        log = self.d.output()
        self.assertEqual(log.count("charge point CP-FLOOD refused"), 1)
        # the real station still gets in, and the newer connection wins
        self.assertEqual(self.st.connect("CP-FLOOD-2", id="CP-FLOOD").get("ok"), True)
        self.assertTrue(self.st.cmd(op="wait_closed", name="CP-FLOOD")["closed"])
        self.assertEqual(boot(self.st, "CP-FLOOD-2")["status"], "Accepted")
        self.assertGreaterEqual(metric(self.d, "connections_replaced_total"), 1)

    def test_authorize(self):
        name = self.station("CP-AUTHZ")
        boot(self.st, name)
        tag = lambda t: self.st.ok(name, "Authorize", {"idTag": t})["idTagInfo"]["status"]
        self.assertEqual(tag("CARD-OK"), "Accepted")
        self.assertEqual(tag("CARD-BLOCKED"), "Blocked")
        self.assertEqual(tag("CARD-OLD"), "Expired")
        self.assertEqual(tag("CARD-NONE"), "Invalid")

    def test_start_with_a_blocked_tag_is_kept_unauthorized(self):
        name = self.station("CP-BLOCKED")
        boot(self.st, name)
        before = metric(self.d, "transactions_unauthorized_total")
        conf = self.st.ok(name, "StartTransaction", {"connectorId": 1, "idTag": "CARD-BLOCKED", "meterStart": 100,
                                                     "timestamp": NOW})
        self.assertEqual(conf["idTagInfo"]["status"], "Blocked")
        self.assertIsInstance(conf["transactionId"], int)
        self.assertEqual(metric(self.d, "transactions_unauthorized_total"), before + 1)
        self.st.ok(name, "StopTransaction", {"transactionId": conf["transactionId"], "meterStop": 2100,
                                             "timestamp": "2026-11-27T10:05:00.000Z", "reason": "DeAuthorized"})
        _, rows = self.d.json("/api/charging/sessions?station=" + name, token=OPERATOR)
        self.assertEqual([(r["transaction"], r["authorized"], r["cost"]) for r in rows],
                         [(conf["transactionId"], False, None)])

    def test_full_transaction(self):
        name = self.station("CP-TX")
        boot(self.st, name)
        start = {"connectorId": 1, "idTag": "CARD-OK", "meterStart": 1000, "timestamp": NOW}
        conf = self.st.ok(name, "StartTransaction", start)
        self.assertEqual(conf["idTagInfo"]["status"], "Accepted")
        txn = conf["transactionId"]
        # a start sent again after a lost reply: the same session
        self.assertEqual(self.st.ok(name, "StartTransaction", start)["transactionId"], txn)
        # another session: another id
        other = dict(start, connectorId=2, timestamp="2026-11-27T10:00:01.000Z")
        txn2 = self.st.ok(name, "StartTransaction", other)["transactionId"]
        self.assertNotEqual(txn2, txn)
        for i, wh in enumerate((2000, 3500)):
            self.st.ok(name, "MeterValues", {"connectorId": 1, "transactionId": txn, "meterValue": [
                {"timestamp": "2026-11-27T10:%02d:00.000Z" % (10 + i), "sampledValue": [
                    {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"}]}]})
        status, sessions = self.d.json("/api/charging/sessions?station=%s&open=1" % name, OPERATOR)
        mine = [s for s in sessions if s["transaction"] == txn][0]
        self.assertAlmostEqual(mine["energy_kwh"], 2.5)
        stop = {"transactionId": txn, "meterStop": 5000, "timestamp": "2026-11-27T10:30:00.000Z",
                "idTag": "CARD-OK", "reason": "EVDisconnected",
                "transactionData": [{"timestamp": "2026-11-27T10:30:00.000Z", "sampledValue": [
                    {"value": "5.0", "unit": "kWh", "context": "Transaction.End"}]}]}
        self.assertEqual(self.st.ok(name, "StopTransaction", stop)["idTagInfo"]["status"], "Accepted")
        self.assertEqual(self.st.ok(name, "StopTransaction", stop)["idTagInfo"]["status"], "Accepted")
        status, sessions = self.d.json("/api/charging/sessions?station=" + name, OPERATOR)
        self.assertEqual(status, 200)
        mine = [s for s in sessions if s["transaction"] == txn][0]
        self.assertAlmostEqual(mine["energy_kwh"], 4.0)
        self.assertEqual(mine["duration_s"], 1800)
        self.assertEqual(mine["stop_reason"], "EVDisconnected")
        # the tariff, published before charging, and the session's cost: 4 kWh x 7.90 + 10 per session
        _, one = self.d.json("/api/charging/stations/" + name)
        self.assertEqual(one["tariff"]["per_kwh"], "7.90")
        self.assertEqual((mine["cost"], mine["currency"]), (41.6, "CZK"))
        # sessions and id tags are the operator's: public gets 401
        self.assertEqual(self.d.get("/api/charging/sessions")[0], 401)
        self.assertEqual(self.d.get("/api/charging/id-tags")[0], 401)

    def test_booking_authorizes_its_car_only_in_its_slot(self):
        name, other = self.station("CP-BOOK"), self.station("CP-BOOK-2")
        boot(self.st, name)
        boot(self.st, other)
        iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + s))
        status, bk = post(self.d, "bookings", {"id_tag": "CAR-01", "station": name, "connector": 1,
                                               "from": iso(-300), "to": iso(3600)})
        self.assertEqual(status, 201, bk)
        # the same car twice at once: refused, naming the other booking
        status, resp = post(self.d, "bookings", {"id_tag": "CAR-01", "station": other, "from": iso(0),
                                                 "to": iso(600)})
        self.assertEqual(status, 409, resp)
        self.assertEqual(post(self.d, "bookings", {"id_tag": "CAR-02", "station": name, "connector": 2,
                                                   "from": iso(86400), "to": iso(90000)})[0], 201)
        # due now (its slot began): its connector reserved with ReserveNow, the booking's id as the reservation's
        def reserved():
            reserve = [c[1] for c in self.st.cmd(op="received", name=name)["calls"] if c[0] == "ReserveNow"]
            self.assertEqual([(r["reservationId"], r["connectorId"], r["idTag"]) for r in reserve],
                             [(bk["id"], 1, "CAR-01")])
        eventually(reserved)
        tag = lambda st, t: self.st.ok(st, "Authorize", {"idTag": t})["idTagInfo"]["status"]
        self.assertEqual(tag(name, "CAR-01"), "Accepted")
        self.assertEqual(tag(other, "CAR-01"), "Invalid")   # not where it is booked
        self.assertEqual(tag(name, "CAR-02"), "Invalid")    # not yet its slot
        conf = self.st.ok(name, "StartTransaction", {"connectorId": 1, "idTag": "CAR-01", "meterStart": 0,
                                                     "timestamp": iso(0)})
        self.assertEqual(conf["idTagInfo"]["status"], "Accepted")
        status, listing = self.d.json("/api/charging/bookings", OPERATOR)
        self.assertEqual(sorted(b["id_tag"] for b in listing), ["CAR-01", "CAR-02"])
        self.assertEqual(self.d.request("DELETE", "/api/charging/bookings/%d" % bk["id"], token=OPERATOR)[0], 204)
        self.assertEqual(self.d.get("/api/charging/bookings")[0], 401)

    def test_monthly_energy_and_daily_uptime(self):
        name = self.station("CP-FIG")
        boot(self.st, name)
        for i, (start, stop, wh) in enumerate((("2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 12000),
                                                ("2026-10-30T08:00:00Z", "2026-10-30T08:30:00Z", 3500))):
            txn = self.st.ok(name, "StartTransaction", {"connectorId": 1, "idTag": "CARD-OK", "meterStart": 1000,
                                                        "timestamp": start})["transactionId"]
            self.st.ok(name, "StopTransaction", {"transactionId": txn, "meterStop": 1000 + wh, "timestamp": stop})
        status, rows = self.d.json("/api/charging/energy?month=2026-10")  # public: no token
        self.assertEqual(status, 200, rows)
        self.assertEqual(rows, [{"station": name, "month": "2026-10", "energy_kwh": 15.5, "sessions": 2}])
        self.assertEqual(self.d.get("/api/charging/energy?month=2026-13")[0], 400)
        self.st.ok(name, "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
        self.st.cmd(op="close", name=name)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        def uptime():
            _, rows = self.d.json("/api/charging/availability?day=" + today)
            mine = [r for r in rows if r["station"] == name]
            self.assertEqual([r["connector"] for r in mine], [1])
            # up from its Available until the connection closed: more than nothing, less than the day
            self.assertGreater(mine[0]["uptime_percent"], 0)
            self.assertLess(mine[0]["uptime_percent"], 100)
        eventually(uptime)
        self.assertNotIn(b"CARD-OK", self.d.get("/api/charging/availability?day=" + today)[2])

    def test_data_transfer_and_notifications(self):
        name = self.station("CP-DT")
        boot(self.st, name)
        self.assertEqual(self.st.ok(name, "DataTransfer", {"vendorId": "cz.dolni-lhota"})["status"], "Accepted")
        self.assertEqual(self.st.ok(name, "DataTransfer", {"vendorId": "com.other"})["status"], "UnknownVendorId")
        self.assertEqual(self.st.ok(name, "FirmwareStatusNotification", {"status": "Installed"}), {})
        self.assertEqual(self.st.ok(name, "DiagnosticsStatusNotification", {"status": "Uploaded"}), {})
        self.assertIn("currentTime", self.st.ok(name, "Heartbeat", {}))

    def test_every_csms_action(self):
        name = self.station("CP-OPS")
        boot(self.st, name)
        until = "2030-01-01T00:00:00.000Z"
        profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute", "chargingSchedule": {
                       "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}]}}
        actions = {
            "RemoteStartTransaction": {"idTag": "CARD-OK", "connectorId": 1},
            "RemoteStopTransaction": {"transactionId": 1},
            "Reset": {"type": "Soft"},
            "ChangeAvailability": {"connectorId": 1, "type": "Inoperative"},
            "GetConfiguration": {"key": ["HeartbeatInterval"]},
            "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "120"},
            "ClearCache": {},
            "UnlockConnector": {"connectorId": 1},
            "DataTransfer": {"vendorId": "cz.dolni-lhota", "messageId": "ping"},
            "UpdateFirmware": {"location": "https://fw.example/cp.bin", "retrieveDate": until},
            "GetDiagnostics": {"location": "ftp://diag.example/upload"},
            "SendLocalList": {"listVersion": 7, "updateType": "Full"},
            "GetLocalListVersion": {},
            "ReserveNow": {"connectorId": 1, "expiryDate": until, "idTag": "CARD-OK", "reservationId": 3},
            "CancelReservation": {"reservationId": 3},
            "SetChargingProfile": {"connectorId": 1, "csChargingProfiles": profile},
            "ClearChargingProfile": {"id": 1},
            "GetCompositeSchedule": {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
            "TriggerMessage": {"requestedMessage": "Heartbeat"},
        }
        for action, payload in actions.items():
            status, conf = post(self.d, "stations/%s/call/%s" % (name, action), payload)
            self.assertEqual(status, 200, (action, conf))
            if action == "GetCompositeSchedule":
                self.assertEqual(conf["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"], 7400)
        calls = self.st.cmd(op="received", name=name)
        got = [c[0] for c in calls["calls"]]
        for action in actions:
            self.assertIn(action, got)
        self.assertEqual(calls["invalid"], 0)
        # the convenient routes
        for route, body in (("remote-start", {"id_tag": "CARD-OK", "connector": 1}),
                            ("remote-stop", {"transaction": 1}), ("reset", {"type": "Hard"}),
                            ("availability", {"connector": 0, "type": "Operative"})):
            status, conf = post(self.d, "stations/%s/%s" % (name, route), body)
            self.assertEqual((status, conf["status"]), (200, "Accepted"), route)
        # a payload that breaks the .req schema is never sent
        status, resp = post(self.d, "stations/%s/call/Reset" % name, {"type": "Gentle"})
        self.assertEqual(status, 400)
        self.assertIn("type", resp["error"])
        status, resp = post(self.d, "stations/%s/call/Dance" % name, {})
        self.assertEqual(status, 400)
        # only an operator may
        self.assertEqual(post(self.d, "stations/%s/reset" % name, {"type": "Soft"}, token=None)[0], 401)
        # a station that is not connected
        register(self.d, "CP-OFF")
        self.assertEqual(post(self.d, "stations/CP-OFF/reset", {"type": "Soft"})[0], 409)

    def test_reservation_used_and_expired(self):
        name = self.station("CP-RES")
        boot(self.st, name)
        iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + s))
        status, conf = post(self.d, "stations/%s/reserve" % name, {"connector": 1, "id_tag": "CARD-OK",
                                                                  "expiry": iso(3600)})
        self.assertEqual((status, conf["status"]), (200, "Accepted"), conf)
        used = conf["reservation"]
        status, conf = post(self.d, "stations/%s/reserve" % name, {"connector": 2, "id_tag": "CARD-OK",
                                                                  "expiry": iso(1)})
        soon = conf["reservation"]
        status, conf = post(self.d, "stations/%s/reserve" % name, {"connector": 2, "id_tag": "CARD-OK",
                                                                  "expiry": iso(3600)})
        cancelled = conf["reservation"]
        self.assertEqual(post(self.d, "stations/%s/cancel-reservation" % name, {"reservation": cancelled})[0], 200)
        reserve = [c[1] for c in self.st.cmd(op="received", name=name)["calls"] if c[0] == "ReserveNow"]
        self.assertEqual([r["reservationId"] for r in reserve], [used, soon, cancelled])
        self.st.ok(name, "StartTransaction", {"connectorId": 1, "idTag": "CARD-OK", "meterStart": 0,
                                              "timestamp": NOW, "reservationId": used})
        time.sleep(1.5)
        _, rows = self.d.json("/api/charging/reservations?station=" + name, OPERATOR)
        self.assertEqual({r["reservation"]: r["status"] for r in rows},
                         {used: "Used", soon: "Expired", cancelled: "Cancelled"})
        self.assertEqual(post(self.d, "stations/%s/reserve" % name, {"connector": 1})[0], 400)

    def test_local_list_version_persists(self):
        name = self.station("CP-LIST")
        boot(self.st, name)
        status, conf = post(self.d, "stations/%s/local-list" % name,
                            {"update": "Full", "id_tags": ["CARD-OK", "CARD-BLOCKED"]})
        self.assertEqual((status, conf["status"]), (200, "Accepted"))
        status, conf = post(self.d, "stations/%s/local-list" % name, {"update": "Differential", "id_tags": ["CARD-OK"]})
        self.assertEqual(status, 200)
        sent = [c[1] for c in self.st.cmd(op="received", name=name)["calls"] if c[0] == "SendLocalList"]
        self.assertEqual([p["listVersion"] for p in sent], [1, 2])
        self.assertEqual(sent[0]["localAuthorizationList"][1]["idTagInfo"]["status"], "Blocked")

    def test_bad_input(self):
        name = self.station("CP-BAD")
        boot(self.st, name)
        raw = lambda text: answers(self.st.cmd(op="raw", name=name, text=text)["got"])
        cases = [
            ("not json", "FormationViolation"),
            ('{"a": 1}', "FormationViolation"),
            ('[2, "m1", "Heartbeat"]', "ProtocolError"),
            ('[2, "m2", "Dance", {}]', "NotImplemented"),
            ('[2, "m3", "Reset", {"type": "Soft"}]', "NotSupported"),
            ('[2, "m4", "Authorize", {}]', "OccurenceConstraintViolation"),
            ('[2, "m5", "Authorize", {"idTag": 5}]', "TypeConstraintViolation"),
            ('[2, "m6", "Authorize", {"idTag": "012345678901234567890"}]', "PropertyConstraintViolation"),
            ('[2, "m7", "Heartbeat", {"extra": 1}]', "PropertyConstraintViolation"),
            ('[2, "m8", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}]',
             "PropertyConstraintViolation"),
        ]
        for text, code in cases:
            got = raw(text)
            self.assertEqual(len(got), 1, (text, got))
            self.assertEqual(got[0][0], 4, (text, got))
            self.assertEqual(got[0][2], code, (text, got))
        self.assertEqual(raw('[2, "m9", "Heartbeat", {}]')[0][:2], [3, "m9"])
        # a broken answer (to no call of ours) is counted, never answered
        self.assertEqual(raw('[3, "r1"]'), [])
        self.assertEqual(raw('[4, "r2", 7, "x", {}]'), [])
        self.assertGreaterEqual(metric(self.d, "errors_sent_total", code="FormationViolation"), 2)
        self.assertGreaterEqual(metric(self.d, "errors_sent_total", code="NotImplemented"), 1)
        # the connection still works
        self.assertIn("currentTime", self.st.ok(name, "Heartbeat", {}))
        status, _, _ = self.d.get("/health")
        self.assertEqual(status, 200)

    def test_two_calls_in_one_burst(self):
        name = self.station("CP-BURST")
        boot(self.st, name)
        # a second CALL before the first is answered: both answered, in order
        got = self.st.cmd(op="raw", name=name, text=['[2, "x1", "Heartbeat", {}]', '[2, "x2", "Authorize",'
                                                     ' {"idTag": "CARD-OK"}]', '[2, "x3", "Heartbeat", {}]'])["got"]
        self.assertEqual([f[:2] for f in answers(got)], [[3, "x1"], [3, "x2"], [3, "x3"]])

    def test_station_never_answers(self):
        register(self.d, "CP-MUTE")
        self.assertEqual(self.st.connect("CP-MUTE", silent=["Reset"]).get("ok"), True)
        boot(self.st, "CP-MUTE")
        before = metric(self.d, "call_timeouts_total")
        status, resp = post(self.d, "stations/CP-MUTE/reset", {"type": "Soft"})
        self.assertEqual(status, 504, resp)
        self.assertEqual(metric(self.d, "call_timeouts_total"), before + 1)
        # the connection stays usable, both ways
        status, conf = post(self.d, "stations/CP-MUTE/call/ClearCache", {})
        self.assertEqual((status, conf), (200, {"status": "Accepted"}))
        self.assertIn("currentTime", self.st.ok("CP-MUTE", "Heartbeat", {}))

    def test_station_disconnects_mid_call(self):
        register(self.d, "CP-GONE")
        self.assertEqual(self.st.connect("CP-GONE", silent=["Reset"]).get("ok"), True)
        boot(self.st, "CP-GONE")
        result = {}
        t = threading.Thread(target=lambda: result.update(r=post(self.d, "stations/CP-GONE/reset", {"type": "Soft"})))
        t.start()
        time.sleep(0.3)
        self.st.cmd(op="close", name="CP-GONE", force=True)
        t.join(10)
        self.assertEqual(result["r"][0], 502, result)
        def offline():
            _, one = self.d.json("/api/charging/stations/CP-GONE")
            self.assertEqual(one["status"], "offline")
        eventually(offline)

    def test_huge_frame_closes(self):
        name = self.station("CP-HUGE")
        boot(self.st, name)
        self.st.cmd(op="raw", name=name, text='[2, "big", "DataTransfer", {"vendorId": "x", "data": "%s"}]'
                    % ("x" * (10 * 1024 * 1024)), wait=50)
        r = self.st.cmd(op="wait_closed", name=name, ms=5000)
        self.assertTrue(r["closed"], r)
        self.assertEqual(r["code"], 1009, r)
        self.assertEqual(self.d.get("/health")[0], 200)
        # it comes back
        self.assertEqual(self.st.connect(name).get("ok"), True)
        self.assertEqual(boot(self.st, name)["status"], "Accepted")


class LoadManagement(unittest.TestCase):
    """Five stations share a 30 kW grid connection; the sum of the limits in
    force (as the stations received them) never exceeds it, at any moment."""
    LIMIT = 30000
    NAMES = ["CP-S%d" % i for i in range(1, 6)]

    def in_force_sums(self, st):
        """Replays every station's TxProfiles, starts and stops in time order;
        returns the sum of the limits in force after each event."""
        events = []
        for name in self.NAMES:
            got = st.cmd(op="received", name=name)
            self.assertEqual(got["invalid"], 0)
            for action, p, t in got["calls"]:
                if action == "SetChargingProfile":
                    prof = p["csChargingProfiles"]
                    limit = prof["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
                    events.append((t, 1, name, "profile", prof.get("transactionId"), limit,
                                   prof["chargingProfilePurpose"]))
            # a session counts from when the station knows its id, and ends
            # when the station sends its stop (it stops drawing then)
            for action, p, result, sent, answered in got["sent"]:
                if action == "StartTransaction":
                    events.append((answered, 0, name, "start", result["transactionId"], None, None))
                elif action == "StopTransaction":
                    events.append((sent, 0, name, "stop", p["transactionId"], None, None))
        events.sort()
        running, limits, sums = {}, {}, []
        for t, _, name, kind, txn, limit, purpose in events:
            if kind == "start":
                running[name] = txn
            elif kind == "stop":
                running.pop(name, None)
            elif purpose == "TxProfile":
                limits[(name, txn)] = limit
            elif purpose == "TxDefaultProfile":
                self.assertEqual(limit, 0)
            sums.append(sum(limits.get((n, x), 0) for n, x in running.items()))
        return sums, running, limits

    def test_five_stations_share_a_site(self):
        stations = [{"id": n, "site": "depot", "accepted": True, "connectors": [{"max_kw": 22, "phases": 3}]}
                    for n in self.NAMES]
        d = Daemon(config(free_port(), [charging(
            sites=[{"name": "depot", "limit_kw": self.LIMIT / 1000, "rate_unit": "W", "recompute_s": 3600}],
            stations=stations)])).start()
        st = Stations(d)
        try:
            # a session gets power only with a tag we accept
            self.assertEqual(post(d, "id-tags", [{"id_tag": "CARD-%d" % i} for i in range(5)])[0], 201)
            for n in self.NAMES:
                self.assertEqual(post(d, "stations/%s/password" % n, {"password": PASSWORD})[0], 204)
                self.assertEqual(st.connect(n).get("ok"), True)
                boot(st, n)
            txns = {}
            def settled(expect):
                def check():
                    sums, running, limits = self.in_force_sums(st)
                    got = sorted(limits.get((n, x), 0) for n, x in running.items())
                    self.assertEqual(got, expect)
                eventually(check)
            shares = {1: [22000], 2: [15000] * 2, 3: [10000] * 3, 4: [7500] * 4, 5: [6000] * 5}
            for i, n in enumerate(self.NAMES):
                txns[n] = st.ok(n, "StartTransaction", {"connectorId": 1, "idTag": "CARD-%d" % i,
                                                        "meterStart": 0, "timestamp": NOW})["transactionId"]
                settled(shares[i + 1])
            st.ok(self.NAMES[0], "StopTransaction", {"transactionId": txns[self.NAMES[0]], "meterStop": 5000,
                                                     "timestamp": "2026-11-27T11:00:00.000Z"})
            settled([7500] * 4)
            sums, _, _ = self.in_force_sums(st)
            self.assertGreater(len(sums), 20)
            self.assertLessEqual(max(sums), self.LIMIT, sums)
            _, metrics_body = d.get("/metrics")[0], d.get("/metrics")[2].decode()
            self.assertIn('mestys_charging_site_limit_watts{plugin="charging",instance="charging",site="depot"} 30000',
                          metrics_body)
            # the site, its limit and each connector's limit, for the operator only
            self.assertEqual(d.get("/api/charging/sites")[0], 401)
            _, sites = d.json("/api/charging/sites", token=OPERATOR)
            self.assertEqual([(s["site"], s["limit_kw"]) for s in sites], [("depot", 30)])
            conns = {k["station"]: k for k in sites[0]["connectors"]}
            self.assertEqual(sorted(conns), self.NAMES)
            self.assertEqual(conns[self.NAMES[0]]["in_force"], False)
            self.assertEqual([(conns[n]["limit_kw"], conns[n]["in_force"]) for n in self.NAMES[1:]],
                             [(7.5, True)] * 4)
            # lowered at run time: shared again at once, decreases first, the sum under the new limit
            status, resp = post(d, "sites/depot/limit", {"limit_kw": 20})
            self.assertEqual(status, 200, resp)
            self.assertEqual(resp["limit_kw"], 20)
            settled([5000] * 4)
            sums, _, _ = self.in_force_sums(st)
            self.assertLessEqual(sums[-1], 20000, sums)
            self.assertIn('mestys_charging_site_limit_watts{plugin="charging",instance="charging",site="depot"} 20000',
                          d.get("/metrics")[2].decode())
            self.assertEqual(post(d, "sites/depot/limit", {"limit": 20})[0], 400)
            self.assertEqual(post(d, "sites/depot/limit", {"limit_kw": -1})[0], 400)
            self.assertEqual(post(d, "sites/nowhere/limit", {"limit_kw": 20})[0], 404)
            _, sites = d.json("/api/charging/sites", token=OPERATOR)
            self.assertEqual(sorted(k["limit_kw"] for k in sites[0]["connectors"] if k["in_force"]), [5] * 4)
        finally:
            st.close()
            d.stop()


class FleetFirst(unittest.TestCase):
    def test_fleet_car_served_before_the_public(self):
        stations = [{"id": n, "site": "depot", "accepted": True} for n in ("CP-F1", "CP-F2")]
        d = Daemon(config(free_port(), [charging(
            sites=[{"name": "depot", "limit_kw": 30, "rate_unit": "W"}], fleet_tags=["FLEET-VAN"],
            stations=stations)])).start()
        st = Stations(d)
        try:
            # the fleet's van needs no id tag row: fleet_tags are the town's own cars
            self.assertEqual(post(d, "id-tags", [{"id_tag": "PUBLIC-CARD"}])[0], 201)
            for n, tag in (("CP-F1", "PUBLIC-CARD"), ("CP-F2", "FLEET-VAN")):
                self.assertEqual(post(d, "stations/%s/password" % n, {"password": PASSWORD})[0], 204)
                self.assertEqual(st.connect(n).get("ok"), True)
                boot(st, n)
                self.assertEqual(st.ok(n, "Authorize", {"idTag": tag})["idTagInfo"]["status"], "Accepted")
                started = st.ok(n, "StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": 0,
                                                        "timestamp": NOW})
                self.assertEqual(started["idTagInfo"]["status"], "Accepted")
            def limits():
                got = []
                for n in ("CP-F1", "CP-F2"):
                    tx = [c[1]["csChargingProfiles"] for c in st.cmd(op="received", name=n)["calls"]
                          if c[0] == "SetChargingProfile"
                          and c[1]["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"]
                    self.assertTrue(tx)
                    got.append(tx[-1]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])
                # the van to its connector's maximum, the public car what is left
                self.assertEqual(got, [8000, 22000])
            eventually(limits)
            # a row for a fleet tag still decides: a blocked van is blocked
            self.assertEqual(post(d, "id-tags", [{"id_tag": "FLEET-VAN", "status": "Blocked"}])[0], 201)
            self.assertEqual(st.ok("CP-F2", "Authorize", {"idTag": "FLEET-VAN"})["idTagInfo"]["status"], "Blocked")
        finally:
            st.close()
            d.stop()


class LuaPolicy(unittest.TestCase):
    """A town's own sharing in Lua replaces the built-in one; a policy that
    answers nonsense falls back to it, counted."""

    def run_site(self, script):
        stations = [{"id": n, "site": "depot", "accepted": True} for n in ("CP-L1", "CP-L2")]
        d = Daemon(config(free_port(), [charging(
            sites=[{"name": "depot", "limit_kw": 30, "rate_unit": "W", "policy": "lua:policy.lua"}],
            stations=stations)]))
        with open(os.path.join(d.dir, "policy.lua"), "w") as f:
            f.write(script)
        d.start()
        st = Stations(d)
        try:
            self.assertEqual(post(d, "id-tags", [{"id_tag": "CARD-CP-L1"}, {"id_tag": "CARD-CP-L2"}])[0], 201)
            for n in ("CP-L1", "CP-L2"):
                self.assertEqual(post(d, "stations/%s/password" % n, {"password": PASSWORD})[0], 204)
                self.assertEqual(st.connect(n).get("ok"), True)
                boot(st, n)
                st.ok(n, "StartTransaction", {"connectorId": 1, "idTag": "CARD-" + n, "meterStart": 0,
                                              "timestamp": NOW})
            def limits():
                got = []
                for n in ("CP-L1", "CP-L2"):
                    profiles = [c[1]["csChargingProfiles"] for c in st.cmd(op="received", name=n)["calls"]
                                if c[0] == "SetChargingProfile"]
                    tx = [p for p in profiles if p["chargingProfilePurpose"] == "TxProfile"]
                    self.assertTrue(tx)
                    got.append(tx[-1]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])
                return got
            return d, st, limits
        except BaseException:
            st.close()
            d.stop()
            raise

    def test_policy_decides_the_shares(self):
        d, st, limits = self.run_site(
            "function share(input)\n  local out = {}\n"
            "  for i, s in ipairs(input.sessions) do out[i] = 5000 end\n  return out\nend\n")
        try:
            eventually(lambda: self.assertEqual(limits(), [5000, 5000]))
        finally:
            st.close()
            d.stop()

    def test_nonsense_falls_back_to_the_builtin_sharing(self):
        d, st, limits = self.run_site("function share(input) return 'all of it' end\n")
        try:
            eventually(lambda: self.assertEqual(limits(), [15000, 15000]))
            self.assertGreaterEqual(metric(d, "policy_fallbacks_total", site="depot"), 1)
            self.assertEqual(d.output().count("the Lua policy failed"), 1)
        finally:
            st.close()
            d.stop()


def opendata_daemon(*datasets):
    """A daemon with the store keeping charging/#, this plugin and opendata
    serving datasets, each (id, topic, fields)."""
    from test_opendata import dataset, opendata_config
    tran = ["http://publications.europa.eu/resource/authority/data-theme/TRAN"]
    sets = [dataset(id, {"topic": topic}, themes=tran, fields=fields) for id, topic, fields in datasets]
    return Daemon(config(free_port(), [
        {"use": "store", "config": {"commit_ms": 50, "topics": ["charging/#"]}},
        charging(),
        {"use": "opendata", "config": opendata_config(datasets=sets)}])).start()


class OpenData(unittest.TestCase):
    """Availability and sessions reach the opendata plugin through the store
    (its topics); no id tag ever does."""

    def test_availability_and_sessions_published_without_id_tags(self):
        d = opendata_daemon(
            ("dostupnost-nabijecek", "charging/status", ["station", "connector", "status", "error_code"]),
            ("nabijeni", "charging/session", ["event", "station", "connector", "energy_wh", "duration_s"]))
        st = Stations(d)
        try:
            register(d, "CP-OPEN")
            self.assertEqual(st.connect("CP-OPEN").get("ok"), True)
            boot(st, "CP-OPEN")
            st.ok("CP-OPEN", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"})
            txn = st.ok("CP-OPEN", "StartTransaction", {"connectorId": 1, "idTag": "SECRET-CARD-7", "meterStart": 0,
                                                        "timestamp": NOW})["transactionId"]
            st.ok("CP-OPEN", "StopTransaction", {"transactionId": txn, "meterStop": 7000, "idTag": "SECRET-CARD-7",
                                                 "timestamp": "2026-11-27T10:20:00.000Z"})
            def published():
                status, body = d.json("/api/opendata/datasets/dostupnost-nabijecek/data.json?limit=500")
                self.assertEqual(status, 200, body)
                self.assertIn("Charging", [r.get("status") for r in body["data"]], body)
                status, body = d.json("/api/opendata/datasets/nabijeni/data.json?limit=500")
                stops = [r for r in body["data"] if r.get("event") == "stop"]
                self.assertEqual([(r["station"], r["energy_wh"], r["duration_s"]) for r in stops],
                                 [("CP-OPEN", 7000, 1200)], body)
            eventually(published, timeout=10)
            for path in ("dostupnost-nabijecek/data.json", "nabijeni/data.json", "nabijeni/data.csv"):
                self.assertNotIn(b"SECRET-CARD", d.get("/api/opendata/datasets/" + path)[2])
            # the public station list: status, tariff, never an id tag
            self.assertNotIn(b"SECRET-CARD", d.get("/api/charging/stations")[2])
        finally:
            st.close()
            d.stop()


class OpenDataFigures(unittest.TestCase):
    """Live availability with plug, power and price, monthly energy and daily
    uptime as opendata datasets: the same numbers as the plugin's routes, no
    id tag anywhere."""

    def test_figures_are_datasets(self):
        d = opendata_daemon(("stav", "charging/status", ["station", "connector", "status", "connector_type", "max_kw",
                                                         "price", "price_per_kwh", "currency", "last_contact"]),
                            ("energie", "charging/energy", ["station", "month", "energy_kwh", "sessions", "final"]),
                            ("provoz", "charging/uptime", ["station", "connector", "day", "uptime_percent", "final"]))
        st = Stations(d)
        try:
            register(d, "CP-FIGS", connectors=[{"max_kw": 11, "phases": 3, "type": "CCS2"}],
                     tariff={"per_kwh": "7.90"})
            post(d, "id-tags", {"id_tag": "SECRET-CARD-9"})
            self.assertEqual(st.connect("CP-FIGS").get("ok"), True)
            boot(st, "CP-FIGS")
            st.ok("CP-FIGS", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"})
            for start, stop, wh in (("2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 12000),
                                    ("2026-10-30T08:00:00Z", "2026-10-30T08:30:00Z", 3500)):
                txn = st.ok("CP-FIGS", "StartTransaction", {"connectorId": 1, "idTag": "SECRET-CARD-9",
                                                            "meterStart": 1000, "timestamp": start})["transactionId"]
                st.ok("CP-FIGS", "StopTransaction", {"transactionId": txn, "meterStop": 1000 + wh,
                                                     "idTag": "SECRET-CARD-9", "timestamp": stop})
            today = time.strftime("%Y-%m-%d", time.gmtime())
            # publishing is the operator's; a period in the future or nonsense is refused
            self.assertEqual(post(d, "figures/publish", {"month": "2026-10"}, token=None)[0], 401)
            self.assertEqual(post(d, "figures/publish", {"month": "2999-01"})[0], 400)
            self.assertEqual(post(d, "figures/publish", {"day": "yesterday"})[0], 400)
            self.assertEqual(post(d, "figures/publish", {"month": "2026-10"}), (200, {"published": 1}))
            self.assertEqual(post(d, "figures/publish", {"day": today}), (200, {"published": 1}))
            route_uptime = d.json("/api/charging/availability?day=" + today)[1]
            _, route_energy = d.json("/api/charging/energy?month=2026-10")

            def published():
                status, body = d.json("/api/opendata/datasets/energie/data.json?limit=500")
                self.assertEqual(status, 200, body)
                self.assertEqual([{k: r[k] for k in ("station", "month", "energy_kwh", "sessions")}
                                  for r in body["data"]], route_energy)
                self.assertEqual([r["final"] for r in body["data"]], [True])
                self.assertEqual(route_energy, [{"station": "CP-FIGS", "month": "2026-10", "energy_kwh": 15.5,
                                                 "sessions": 2}])
                status, body = d.json("/api/opendata/datasets/provoz/data.json?limit=500")
                self.assertEqual([(r["station"], r["connector"], r["day"], r["final"]) for r in body["data"]],
                                 [("CP-FIGS", 1, today, False)], body)
                # the running day counts up to when it was asked: a second apart is a small part of a day
                self.assertAlmostEqual(body["data"][0]["uptime_percent"], route_uptime[0]["uptime_percent"], delta=1)
                self.assertGreater(body["data"][0]["uptime_percent"], 0)
                status, body = d.json("/api/opendata/datasets/stav/data.json?limit=500")
                rows = [r for r in body["data"] if r["connector"] == 1]
                rows = [r for r in rows if r["status"] == "Preparing"]
                self.assertEqual(len(rows), 1, body)
                self.assertEqual((rows[-1]["connector_type"], rows[-1]["max_kw"], rows[-1]["price_per_kwh"],
                                  rows[-1]["currency"]), ("CCS2", 11, "7.90", "CZK"), body)
                self.assertIn("7.90 CZK/kWh", rows[-1]["price"])
                self.assertIsNotNone(rows[-1]["last_contact"])
            eventually(published, timeout=10)
            # the station gone: its connectors are published Offline, not left as they were
            st.cmd(op="close", name="CP-FIGS")
            eventually(lambda: self.assertEqual(
                [r["status"] for r in d.json("/api/opendata/datasets/stav/data.json?limit=500")[1]["data"]
                 if r["connector"] == 1][-1], "Offline"), timeout=10)
            for path in ("stav/data.json", "energie/data.json", "provoz/data.csv"):
                self.assertNotIn(b"SECRET-CARD", d.get("/api/opendata/datasets/" + path)[2])
        finally:
            st.close()
            d.stop()


class Registration(unittest.TestCase):
    def test_reregistering_keeps_what_it_leaves_out(self):
        cfg = config(free_port(), [charging(stations=[{"id": "CP-KEEP", "name": "u pošty", "accepted": True}])])
        d = Daemon(cfg).start()
        try:
            status, _ = post(d, "stations", {"id": "CP-KEEP", "tariff": {"per_kwh": "5.50", "per_session": 20},
                                             "connectors": [{"max_kw": 50, "type": "CCS2"}]})
            self.assertEqual(status, 201)
            def check(station):
                self.assertEqual(station["name"], "u pošty")
                self.assertEqual((station["tariff"]["per_kwh"], station["tariff"]["per_session"]), ("5.50", "20.00"))
            check(d.json("/api/charging/stations/CP-KEEP")[1])
            # the config registers it again at every start, with neither tariff nor connectors
            d.stop()
            d.start()
            check(d.json("/api/charging/stations/CP-KEEP")[1])
            # given changes, absent stays, null takes the default again
            self.assertEqual(post(d, "stations", {"id": "CP-KEEP", "name": "u pošty 2", "tariff": None})[0], 201)
            station = d.json("/api/charging/stations/CP-KEEP")[1]
            self.assertEqual((station["name"], station["tariff"]["per_kwh"]), ("u pošty 2", "0.00"))
            self.assertEqual(post(d, "stations", {"id": "CP-KEEP", "connectors": [{"type": "Tesla"}]})[0], 400)
        finally:
            d.stop()

    def test_registered_connectors_show_before_the_station_is_heard(self):
        cfg = config(free_port(), [charging(stations=[{"id": "CP-NEW", "accepted": True, "connectors": [
            {"max_kw": 50, "type": "CCS2"}, {"max_kw": 22, "type": "Type2"}]}])])
        d = Daemon(cfg).start()
        try:
            for _ in range(2):  # and after a restart, from the file
                station = d.json("/api/charging/stations/CP-NEW")[1]
                self.assertEqual(station["status"], "offline")
                self.assertEqual([(k["connector"], k["type"], k["max_kw"], k["status"], k["reported_status"])
                                  for k in station["connectors"]],
                                 [(1, "CCS2", 50, "Unknown", "Unknown"), (2, "Type2", 22, "Unknown", "Unknown")])
                d.stop()
                d.start()
            # a station without "connectors" shows what it reported only
            register(d, "CP-BARE")
            self.assertEqual(d.json("/api/charging/stations/CP-BARE")[1]["connectors"], [])
        finally:
            d.stop()

    def test_security_fields_are_for_operators_only(self):
        d = Daemon(config(free_port(), [charging()])).start()
        try:
            register(d, "CP-SEC", security_profile=2)
            for path in ("/api/charging/stations", "/api/charging/stations/CP-SEC"):
                _, public = d.json(path)
                _, mine = d.json(path, OPERATOR)
                public, mine = (x[0] if isinstance(x, list) else x for x in (public, mine))
                self.assertNotIn("security_profile", public)
                self.assertNotIn("password_set", public)
                self.assertEqual((mine["security_profile"], mine["password_set"]), (2, True))
                self.assertEqual(public["name"], mine["name"])
        finally:
            d.stop()


class Pages(unittest.TestCase):
    """The drivers' and the clerk's pages, mounted at /<instance>/ unless "pages": false (the browser
    tests check what they show: tests/browser/charging.test.mjs)."""

    def test_mounted_at_the_instance_and_turned_off_by_config(self):
        d = Daemon(config(free_port(), [charging()])).start()
        try:
            status, headers, body = d.get("/charging/")
            self.assertEqual(status, 200)
            self.assertTrue(headers["content-type"].startswith("text/html"), headers)
            self.assertIn(b'src="./stations.js"', body)
            self.assertEqual(d.get("/charging/admin.html")[0], 200)
            pages = json.loads(d.get("/charging/pages.json")[2])["pages"]
            self.assertEqual([(p["path"], p["audience"]) for p in pages],
                             [("index.html", "citizen"), ("admin.html", "clerk")])
            self.assertIn({"prefix": "/charging/", "instance": "charging", "plugin": "charging"},
                          d.json("/api/pages")[1]["mounts"])
        finally:
            d.stop()
        d = Daemon(config(free_port(), [charging(pages=False)])).start()
        try:
            self.assertEqual(d.get("/charging/")[0], 404)
            self.assertEqual(d.json("/api/pages")[1]["mounts"], [])
            self.assertEqual(d.json("/api/charging/stations")[0], 200)
        finally:
            d.stop()


class MeterRetention(unittest.TestCase):
    def test_old_meter_values_are_pruned_but_an_open_sessions(self):
        import sqlite3
        port = free_port()
        # kept for ever first (nothing pruned while the test writes), then 30 days
        d = Daemon(config(port, [charging(meter_retention_days=0)])).start()
        st = Stations(d)
        try:
            online(d, st, "CP-OLD", "CARD-OLD-M")
            def meter(connector, txn, when, wh):
                st.ok("CP-OLD", "MeterValues", {"connectorId": connector, "transactionId": txn, "meterValue": [
                    {"timestamp": when, "sampledValue": [{"value": str(wh), "unit": "Wh",
                                                          "measurand": "Energy.Active.Import.Register"}]}]})
            closed = st.ok("CP-OLD", "StartTransaction", {"connectorId": 1, "idTag": "CARD-OLD-M", "meterStart": 0,
                                                          "timestamp": "2020-01-01T10:00:00Z"})["transactionId"]
            meter(1, closed, "2020-01-01T10:30:00Z", 4000)
            st.ok("CP-OLD", "StopTransaction", {"transactionId": closed, "meterStop": 8000,
                                                "timestamp": "2020-01-01T11:00:00Z"})
            still_open = st.ok("CP-OLD", "StartTransaction", {"connectorId": 2, "idTag": "CARD-OLD-M",
                                                              "meterStart": 0,
                                                              "timestamp": "2020-01-02T10:00:00Z"})["transactionId"]
            meter(2, still_open, "2020-01-02T10:30:00Z", 1000)
            recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            meter(2, still_open, recent, 2000)
            db = os.path.join(d.dir, "state", "charging", "charging.sqlite")
            def rows():
                with sqlite3.connect(db) as con:
                    return sorted(con.execute("SELECT txn, value FROM meter_value WHERE measurand ="
                                              " 'Energy.Active.Import.Register'").fetchall())
            self.assertEqual(rows(), [(closed, 4000), (still_open, 1000), (still_open, 2000)])
            # pruned on the worker soon after start, then hourly
            d.stop()
            d.write(config(port, [charging(meter_retention_days=30)]))
            d.start()
            eventually(lambda: self.assertEqual(rows(), [(still_open, 1000), (still_open, 2000)]), timeout=10)
            # counted back on the loop once the worker's delete is committed, so a moment after the rows go
            eventually(lambda: self.assertEqual(metric(d, "meter_values_pruned_total"), 1), timeout=10)
            # the closed session keeps its energy
            _, sessions = d.json("/api/charging/sessions?station=CP-OLD", OPERATOR)
            self.assertEqual([s["energy_kwh"] for s in sessions if s["transaction"] == closed], [8.0])
        finally:
            st.close()
            d.stop()


class Liveness(unittest.TestCase):
    def test_silent_station_is_unknown_not_online(self):
        d = Daemon(config(free_port(), [charging(heartbeat_interval_s=10, grace_s=0)])).start()
        st = Stations(d)
        try:
            register(d, "CP-QUIET")
            self.assertEqual(st.connect("CP-QUIET").get("ok"), True)
            self.assertEqual(boot(st, "CP-QUIET")["interval"], 10)
            state = lambda: d.json("/api/charging/stations/CP-QUIET")[1]
            # the boot's TriggerMessage has the station report its connector first
            eventually(lambda: self.assertEqual([k["status"] for k in state()["connectors"]], ["Available"]))
            st.ok("CP-QUIET", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"})
            state = lambda: d.json("/api/charging/stations/CP-QUIET")[1]
            self.assertEqual(state()["status"], "online")
            self.assertEqual(state()["connectors"][0]["status"], "Charging")
            # no message for longer than the heartbeat interval: unknown, and so are its connectors
            eventually(lambda: self.assertEqual(state()["status"], "unknown"), timeout=15, every=0.25)
            self.assertEqual(state()["connectors"][0]["status"], "Unknown")
            self.assertEqual(state()["connectors"][0]["reported_status"], "Charging")
            self.assertIsNotNone(state()["last_contact"])
            st.ok("CP-QUIET", "Heartbeat", {})
            self.assertEqual(state()["status"], "online")
            st.cmd(op="close", name="CP-QUIET")
            eventually(lambda: self.assertEqual(state()["status"], "offline"))
        finally:
            st.close()
            d.stop()


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


class Profiles2And3(unittest.TestCase):
    """Basic over TLS, and TLS client certificates checked against node.http.tls.client_ca."""

    @classmethod
    def setUpClass(cls):
        cls.dir = d = tempfile.mkdtemp(prefix="mestys-ocpp-tls-")
        f = lambda name: os.path.join(d, name)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"),
                "-days", "2", "-subj", "/CN=Dolni Lhota charging CA")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("server.key"), "-out",
                f("server.pem"), "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
        for cn in ("CP-TLS3", "CP-OTHER"):
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f(cn + ".key"), "-out", f(cn + ".csr"),
                    "-subj", "/CN=" + cn)
            openssl("x509", "-req", "-in", f(cn + ".csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"),
                    "-CAcreateserial", "-out", f(cn + ".pem"), "-days", "2")
        cfg = config(free_port(), [charging(stations=[{"id": "CP-TLS2", "security_profile": 2, "accepted": True},
                                                      {"id": "CP-TLS3", "security_profile": 3, "accepted": True}])])
        cfg["node"]["http"].update({"tls_cert": f("server.pem"), "tls_key": f("server.key"),
                                    "tls": {"client_ca": f("ca.pem")}})
        cls.d = Daemon(cfg).start(wait=False)
        cls.f = staticmethod(f)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "HTTP on https" not in cls.d.output():
            time.sleep(0.05)
        cls.st = Stations(cls.d)
        cls.wss = "wss://127.0.0.1:%d/api/charging/ocpp" % cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.st.close()
        cls.d.stop()

    def connect(self, name, sid, cert=None, password=None):
        tls = {"ca": self.f("server.pem")}
        if cert:
            tls.update(cert=self.f(cert + ".pem"), key=self.f(cert + ".key"))
        return self.st.cmd(op="connect", name=name, url=self.wss, id=sid, password=password, tls=tls)

    def test_profile_2(self):
        ctx = ssl.create_default_context(cafile=self.f("server.pem"))
        req = urllib.request.Request("https://127.0.0.1:%d/api/charging/stations/CP-TLS2/password" % self.d.port,
                                     data=json.dumps({"password": PASSWORD}).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + OPERATOR})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            self.assertEqual(r.status, 204)
        self.assertEqual(self.connect("b1", "CP-TLS2", password=PASSWORD).get("ok"), True)
        self.assertEqual(boot(self.st, "b1")["status"], "Accepted")
        self.assertEqual(self.connect("b2", "CP-TLS2", password="wrong-password-00000").get("refused"), 401)
        # a client certificate does not replace the password of a profile 2 station
        self.assertEqual(self.connect("b3", "CP-TLS2", cert="CP-OTHER").get("refused"), 401)

    def test_profile_3(self):
        self.assertEqual(self.connect("c1", "CP-TLS3", cert="CP-TLS3").get("ok"), True)
        self.assertEqual(boot(self.st, "c1")["status"], "Accepted")
        self.assertEqual(self.connect("c2", "CP-TLS3", cert="CP-OTHER").get("refused"), 403)
        self.assertEqual(self.connect("c3", "CP-TLS3").get("refused"), 401)


class Restart(unittest.TestCase):
    def test_transaction_survives_restart_and_reconnect(self):
        cfg = config(free_port(), [charging()])
        d = Daemon(cfg).start()
        st = Stations(d)
        try:
            online(d, st, "CP-R", "CARD-R")
            txn = st.ok("CP-R", "StartTransaction", {"connectorId": 1, "idTag": "CARD-R", "meterStart": 0,
                                                     "timestamp": NOW})["transactionId"]
            d.stop()
            d.start()
            # before it is back: offline, its last contact kept across the restart
            before = d.json("/api/charging/stations/CP-R")[1]
            self.assertEqual(before["status"], "offline")
            self.assertIsNotNone(before["last_contact"])
            st.cmd(op="wait_closed", name="CP-R", ms=3000)
            st.cmd(op="close", name="CP-R", force=True)
            self.assertEqual(st.connect("CP-R").get("ok"), True)
            boot(st, "CP-R")
            st.ok("CP-R", "StopTransaction", {"transactionId": txn, "meterStop": 9000,
                                              "timestamp": "2026-11-27T11:00:00.000Z"})
            _, sessions = d.json("/api/charging/sessions?station=CP-R", OPERATOR)
            self.assertEqual(len(sessions), 1)
            self.assertEqual(sessions[0]["transaction"], txn)
            self.assertAlmostEqual(sessions[0]["energy_kwh"], 9.0)
            # a new session after the restart never reuses an id
            txn2 = st.ok("CP-R", "StartTransaction", {"connectorId": 1, "idTag": "CARD-R", "meterStart": 9000,
                                                      "timestamp": "2026-11-27T12:00:00.000Z"})["transactionId"]
            self.assertGreater(txn2, txn)
        finally:
            st.close()
            d.stop()


if __name__ == "__main__":
    main()

"""The README's five-minute tour, as written: its charging and voting
commands are taken from README.md itself and run with bash against the
example town (examples/town/mestys.json, on free ports), the charger being
examples/town/charger.js (the npm ocpp-rpc in strict mode).  A command the
README shows that stops working, or an answer it quotes that changes, fails
here."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import MESTYS, SOURCE, Daemon, free_port, main

README = os.path.join(SOURCE, "README.md")
TOWN = os.path.join(SOURCE, "examples", "town")


def tour_commands(start, end):
    """The ```sh blocks of the README between two sentences, comments left out."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    part = text[text.index(start):text.index(end)]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", part, re.S):
        lines += [l for l in block.split("\n") if not l.lstrip().startswith("#")]
    return "\n".join(lines)


class Tour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        with open(os.path.join(TOWN, "mestys.json"), encoding="utf-8") as f:
            text = f.read()
        # the example town exactly, on ports nobody else uses
        text = text.replace("127.0.0.1:8080", "127.0.0.1:%d" % cls.port).replace('"port": 1700', '"port": %d' % free_port())
        cls.d = Daemon(None, text=text)
        cls.d.port = cls.port
        shutil.copytree(os.path.join(TOWN, "lua"), os.path.join(cls.d.dir, "lua"))
        cls.d.start()
        cls.work = tempfile.mkdtemp(prefix="mestys-tour-")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def bash(self, script):
        """Runs README commands as the reader would, from the source tree's root, on this daemon."""
        script = (script.replace("localhost:8080", "localhost:%d" % self.port)
                  .replace("build/mestys ", MESTYS + " ")
                  .replace("node examples/town/charger.js",
                           "node %s/examples/town/charger.js --url ws://127.0.0.1:%d/api/charging/ocpp"
                           % (SOURCE, self.port)))
        p = subprocess.run(["bash", "-c", "OP='Authorization: Bearer change-me-operator-token-01'\n" + script],
                           capture_output=True, text=True, cwd=self.work, timeout=120)
        return p.stdout + p.stderr

    def test_0_pages(self):
        # "Open http://127.0.0.1:8080/": the town's pages, branded with its name
        self.assertIn("Open <http://127.0.0.1:8080/> in a browser", open(README, encoding="utf-8").read())
        status, headers, body = self.d.get("/")
        self.assertEqual(status, 200, body)
        self.assertIn(b'<script type="module" src="/home.js"></script>', body)
        self.assertIn("https://tile.openstreetmap.org", headers["content-security-policy"])
        status, cfg = self.d.json("/api/web/config")
        self.assertEqual(cfg["town"]["name"]["cs"], "Dolní Lhota")

    def test_1_charging(self):
        out = self.bash(tour_commands("EV charging: the town's central system", "(The status shows"))
        # the new station's first boot waits for the operator, the second charges
        self.assertIn('"status":"Pending"', out)
        self.assertIn("accept it with POST /api/charging/stations/CP-HRISTE-1/accept", out)
        self.assertIn("session 1: 11.5 kWh in 60 min", out)
        # GET stations: accepted, what its boot said, the tariff the README quotes; the password nowhere
        station = json.JSONDecoder().raw_decode(out, out.index('{"id":"CP-HRISTE-1"'))[0]
        self.assertEqual((station["accepted"], station["vendor"], station["model"]), (True, "Example", "Tour AC22"))
        self.assertEqual(station["tariff"]["text"], "7.90 CZK/kWh + 10.00 CZK/session, incl. 21 % VAT")
        self.assertNotIn("hriste-2026-tajne-heslo", json.dumps(station) + self.d.output())
        # the session's cost: 11.5 kWh x 7.90 + 10.00
        self.assertIn('"energy_kwh":11.5,"stop_reason":"Local","cost":100.85,"currency":"CZK"', out)
        # a wrong password: refused before the upgrade, and the log says why
        self.assertIn("connection refused: Unauthorized", out)
        self.assertIn("charge point CP-HRISTE-1 refused at the handshake: bad_password", self.d.output())
        # the open data's sessions dataset has its stop, without the card
        self.assertRegex(out, r"\n[0-9TZ:.-]+,stop,CP-HRISTE-1,1,11500,3600\n")
        self.assertNotIn("04A2B3C4D5,", out.split("time,event,station")[1])

    def test_1_charger_with_another_subprotocol(self):
        # an installer's charger set to OCPP 2.0.1 (or to none) is told what the URL takes, not just 404
        for offered, words in (("ocpp2.0.1", 'the client offered "ocpp2.0.1"'),
                               (None, "the client offered none")):
            headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
            if offered:
                headers["Sec-WebSocket-Protocol"] = offered
            status, _, body = self.d.request("GET", "/api/charging/ocpp/CP-NAMESTI-1", headers=headers)
            self.assertEqual(status, 404, body)
            self.assertIn(b'this path takes the WebSocket subprotocol "ocpp1.6"; ' + words.encode(), body)
        self.assertIn('upgrade of /api/charging/ocpp/CP-NAMESTI-1 refused (404): this path takes the WebSocket '
                      'subprotocol "ocpp1.6"', self.d.output())
        # a path nobody serves is still a plain 404
        status, _, body = self.d.request("GET", "/api/nowhere", headers=headers)
        self.assertEqual(status, 404, body)
        self.assertIn(b"no WebSocket endpoint here", body)

    def test_2_voting(self):
        script = tour_commands("Participatory budgeting: the example", "The example town's state lives")
        # the reader waits a moment for the count; so does the test, until results are public
        script = script.replace(
            "curl -s $V/budgets/lhota-2027/results > result.json",
            "until curl -sf $V/budgets/lhota-2027/results > result.json; do sleep 0.1; done")
        out = self.bash(script)
        self.assertIn('{"imported":3,"already_there":0}', out)
        self.assertIn("this code has already voted; to replace that ballot, send your receipt too", out)
        self.assertIn("results, ballots and the audit log are published once counting ends", out)
        # the result the README quotes, and the recount from the published files
        self.assertIn("2 Dětské hřiště 1 not selected:", out)
        self.assertIn("4 Oprava kapličky 1 won: its supporters could pay for it once every voter's share was raised",
                      out)
        self.assertIn("ballots: the .pb file holds exactly the audit log's 3 ballots", out)
        self.assertIn("recount (mes+add1+greedy): selected 1 3 4\nrecount: the published result matches\nOK", out)
        self.assertRegex(out, r"receipt: found as entry \d: [0-9a-f]{64};1,3")
        self.assertIn("budget lhota-2027 counted: 3 ballots", self.d.output())


if __name__ == "__main__":
    main()

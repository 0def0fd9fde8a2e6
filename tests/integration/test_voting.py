#!/usr/bin/env python3
"""The voting plugin driven over HTTP through the real daemon: a budget from
proposals to published results, one ballot per code under 1,000 parallel
submissions, replacement, paper double entry, the Lua identity hook, every
refusal of bad input, no live counts anywhere, and `mestys verify voting`
on the published files (a tampered log, a receipt, a malformed .pb)."""
import csv
import hashlib
import http.server
import io
import json
import os
import sqlite3
import subprocess
import tempfile
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import ADMIN, MESTYS, OPERATOR, TEST_LUA, Daemon, config, eventually, free_port, main

CLERK2 = "second-clerk-token-0123456789"
BASE = "https://data.testtown.example/api/opendata"


def budget(bid, **extra):
    b = {"id": bid, "name": "Budget " + bid, "district": "Centrum", "amount": 1000,
         "ballot": {"type": "approval", "min_projects": 1, "max_projects": 2}, "rule": "mes+add1+greedy"}
    b.update(extra)
    return b


BUDGETS = [
    budget("park"),
    budget("crowd", ballot={"type": "approval", "min_projects": 1, "max_projects": 3}),
    budget("school", amount=500, replace=True, rule="greedy",
           ballot={"type": "knapsack", "min_projects": 1, "min_share": 0.3}),
    budget("paper"),
    budget("portal", eligibility="lua", identity_hook="lua:identity.lua"),
    budget("frozen"),
    budget("points", rule="greedy", ballot={"type": "cumulative", "points": 5, "max_points": 3}),
    budget("empty"),
    budget("desk", dates={"counting": "2099-01-01T00:00:00+00:00"}),
]

IDENTITY_LUA = """
function identify(c)
  if c.token == "portal-secret" and type(c.citizen) == "string" then return { voter = c.citizen } end
  return { error = "the town portal does not know this login" }
end
"""


def opendata():
    return {"base_url": BASE,
            "catalog": {"title": {"cs": "Otevřená data Testova", "en": "Testov open data"},
                        "description": {"cs": "Data obce Testov."},
                        "publisher": "https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308",
                        "homepage": "https://www.testtown.example/",
                        "contact": {"name": {"cs": "Obecní úřad"}, "email": "podatelna@testtown.example"}},
            "datasets": [{"id": "vysledky-hlasovani",
                          "title": {"cs": "Výsledky participativního rozpočtu", "en": "Participatory budget results"},
                          "description": {"cs": "Projekty, náklady, hlasy a vítězové po sečtení."},
                          "keywords": {"cs": ["participativní rozpočet"], "en": ["participatory budgeting"]},
                          "themes": ["http://publications.europa.eu/resource/authority/data-theme/GOVE"],
                          "frequency": "http://publications.europa.eu/resource/authority/frequency/IRREG",
                          "ruian": ["https://linked.cuzk.cz/resource/ruian/obec/500496"],
                          "source": {"topic": "voting/result"},
                          "fields": ["budget", "project", "name", "cost", "votes", "selected", "reason", "why"]}],
            "rate_limit": {"per_second": 0}}


def daemon_config(port, budgets=BUDGETS):
    cfg = config(port, [
        {"use": "store", "config": {"commit_ms": 50, "topics": ["voting/result"]}},
        {"use": "opendata", "config": opendata()},
        {"use": "voting", "config": {"budgets": budgets}},
        {"use": os.path.join(TEST_LUA, "capture.lua"), "name": "capture"},
    ])
    cfg["tokens"].append({"name": "clerk2", "token": CLERK2, "role": "operator"})
    return cfg


class Town:
    """Helpers over one daemon."""

    def __init__(self, d):
        self.d = d

    def call(self, method, path, body=None, token=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        status, headers, resp = self.d.request(method, "/api/voting/" + path, data, token=token)
        try:
            return status, json.loads(resp) if resp else None
        except ValueError:
            return status, resp.decode()

    def phase(self, bid, phase):
        status, resp = self.call("POST", "manage/%s/phase" % bid, {"phase": phase}, OPERATOR)
        assert status == 200, (status, resp)
        return resp

    def propose(self, bid, title, cost, **extra):
        body = {"title": title, "description": "About " + title, "cost": cost, "district": "Centrum",
                "location": {"lat": 49.59, "lon": 17.25}, "photo": "https://example.org/%s.jpg" % bid,
                "contact": "author-%s@example.org" % title}
        body.update(extra)
        status, resp = self.call("POST", "budgets/%s/proposals" % bid, body)
        assert status == 201, (status, resp)
        return resp["id"]

    def open_voting(self, bid, costs, infeasible=()):
        ids = [self.propose(bid, "p%d" % i, c) for i, c in enumerate(costs)]
        self.phase(bid, "review")
        for pid in ids:
            ok = pid not in infeasible
            status, resp = self.call("POST", "manage/%s/review/%d" % (bid, pid),
                                     {"feasible": ok, "reason": "" if ok else "not on town land"}, OPERATOR)
            assert status == 204, (status, resp)
        self.phase(bid, "voting")
        return ids

    def codes(self, bid, n, prefix="v"):
        rows = "voter,name,address\r\n" + "".join('%s%d,"Novák, Jan",Husova %d\r\n' % (prefix, i, i)
                                                for i in range(n))
        status, resp = self.call("POST", "manage/%s/register" % bid, raw=rows.encode(), token=OPERATOR)
        assert status == 200 and resp["imported"] == n, (status, resp)
        status, headers, body = self.d.request("POST", "/api/voting/manage/%s/codes" % bid, b"", token=OPERATOR)
        assert status == 200, (status, body)
        assert headers["content-type"].startswith("text/csv")
        return [r["code"] for r in csv.DictReader(io.StringIO(body.decode()))]

    def vote(self, bid, code, projects, **extra):
        body = {"code": code, "projects": projects}
        body.update(extra)
        return self.call("POST", "budgets/%s/ballots" % bid, body)

    def count(self, bid):
        self.phase(bid, "counting")

        def counted():
            status, resp = self.call("GET", "budgets/" + bid)
            assert resp["phase"] == "results", resp
        eventually(counted, timeout=20)
        status, result = self.call("GET", "budgets/%s/results" % bid)
        assert status == 200, (status, result)
        return result

    def published(self, bid, folder):
        paths = {}
        for name, what in (("audit", "audit"), ("pb", "ballots.pb"), ("result", "results")):
            status, headers, body = self.d.request("GET", "/api/voting/budgets/%s/%s" % (bid, what))
            assert status == 200, (status, body)
            paths[name] = os.path.join(folder, "%s.%s" % (bid, name))
            with open(paths[name], "wb") as f:
                f.write(body)
        return paths


def verify(*args):
    p = subprocess.run([MESTYS, "verify", "voting"] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


class TestVoting(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.d = Daemon(daemon_config(port))
        with open(os.path.join(cls.d.dir, "identity.lua"), "w") as f:
            f.write(IDENTITY_LUA)
        cls.d.start()
        cls.t = Town(cls.d)
        cls.tmp = tempfile.mkdtemp(prefix="mestys-voting-")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def no_counts(self, obj, where):
        """Nothing in a public answer says how a project stands."""
        text = json.dumps(obj)
        for word in ('"votes"', '"selected"', '"effective_support"', '"ballots"', '"rank"', '"voted"'):
            self.assertNotIn(word, text, "%s shows %s before counting" % (where, word))

    def test_the_pages_are_served_at_the_instance(self):
        status, headers, body = self.d.request("GET", "/voting/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["content-type"])
        self.assertIn('src="./index.js"', body.decode())
        status, headers, body = self.d.request("GET", "/voting/pages.json")
        self.assertEqual(status, 200)
        self.assertEqual([p["path"] for p in json.loads(body)["pages"]][:2], ["index.html", "receipt.html"])
        for page in ("budget.html", "vote.html", "receipt.html", "results.html", "vote.js", "voting.css"):
            self.assertEqual(self.d.request("GET", "/voting/" + page)[0], 200, page)
        # routes win over files: the API is still the API
        self.assertEqual(self.d.request("GET", "/api/voting/budgets")[0], 200)

    def test_a_whole_budget_from_proposals_to_results(self):
        t = self.t
        status, resp = t.vote("park", "ABCDE-FGHJK-MNPQR-STVWX-YZ012", [1])
        self.assertEqual(status, 409, resp)  # no ballot while proposals are taken
        self.assertIn("only while voting is open", resp["error"])
        ids = [t.propose("park", "bench", 300), t.propose("park", "trees", 500), t.propose("park", "fountain", 400),
               t.propose("park", "stage", 900)]
        status, resp = t.call("POST", "budgets/park/proposals", {"title": "x", "description": "y", "cost": 5000,
                                                                 "contact": "a@b.c"})
        self.assertEqual(status, 400, resp)  # over the budget's amount
        status, resp = t.call("GET", "budgets/park/proposals")
        self.assertEqual(len(resp["proposals"]), 4)
        self.assertNotIn("contact", json.dumps(resp))  # the author's contact is never public
        status, resp = t.call("GET", "manage/park/proposals", token=OPERATOR)
        self.assertIn("author-bench@example.org", json.dumps(resp))
        self.assertEqual(t.call("GET", "manage/park/proposals")[0], 401)
        t.phase("park", "review")
        status, resp = t.call("POST", "budgets/park/proposals", {"title": "late", "description": "y", "cost": 5,
                                                                 "contact": "a@b.c"})
        self.assertEqual(status, 409, resp)
        for pid in ids:
            body = {"feasible": pid != ids[3], "reason": "on private land" if pid == ids[3] else ""}
            self.assertEqual(t.call("POST", "manage/park/review/%d" % pid, body, OPERATOR)[0], 204)
        status, resp = t.call("GET", "budgets/park/proposals")
        self.assertEqual([p["feasible"] for p in resp["proposals"]], [True, True, True, False])
        self.assertEqual(resp["proposals"][3]["reason"], "on private land")
        t.phase("park", "voting")
        # projects and costs are fixed once voting has started
        status, resp = t.call("PUT", "manage/park/proposals/%d" % ids[0], {"title": "bench", "description": "d",
                                                                           "cost": 10, "contact": "a@b.c"}, OPERATOR)
        self.assertEqual(status, 409, resp)
        self.assertIn("cannot change once voting has started", resp["error"])
        self.assertEqual(t.call("POST", "manage/park/review/%d" % ids[3], {"feasible": True}, OPERATOR)[0], 409)
        codes = t.codes("park", 12)
        self.assertEqual(len(codes), 12)
        self.assertEqual(len(set(codes)), 12)
        self.assertRegex(codes[0], r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$")
        # codes are given once: a second request makes none
        status, headers, body = self.d.request("POST", "/api/voting/manage/park/codes", b"", token=OPERATOR)
        self.assertEqual(body.decode().strip(), "voter,name,address,code")
        # a database holds no code in clear
        with open(os.path.join(self.d.dir, "state", "voting", "voting.sqlite"), "rb") as f:
            self.assertNotIn(codes[0].replace("-", "").encode(), f.read())
        choices = [[ids[0], ids[1]], [ids[0]], [ids[1], ids[2]], [ids[2]], [ids[0], ids[2]], [ids[1]],
                   [ids[0], ids[1]], [ids[2]], [ids[0]], [ids[1], ids[2]]]
        receipts = []
        for code, choice in zip(codes, choices):
            status, resp = t.vote("park", code, choice)
            self.assertEqual(status, 201, resp)
            receipts.append(resp["receipt"])
        self.bad_ballots(codes, ids)
        self.check_no_live_counts("park")
        result = t.count("park")
        self.assertEqual(result["ballots"], 11)  # code 11 voted in bad_ballots
        projects = {p["id"]: p for p in result["explanation"]["projects"]}
        self.assertEqual(projects[str(ids[0])]["votes"], 5)
        self.assertNotIn(str(ids[3]), projects)  # not feasible: not on the ballot
        self.assertLessEqual(result["explanation"]["total_cost"], 1000)
        for p in projects.values():
            self.assertIn("why", p)
            self.assertIn("greedy", p)
        # after counting: receipts, files and open data
        status, resp = t.call("GET", "budgets/park/receipt?receipt=" + receipts[3])
        self.assertEqual(status, 200, resp)
        self.assertTrue(resp["found"])
        self.assertTrue(resp["sealed"].endswith(";%d" % ids[2]))
        self.check_verify("park", receipts)
        self.check_open_data("park", ids)

    def bad_ballots(self, codes, ids):
        t = self.t
        cases = [
            ("unknown code", {"code": "ABCDE-FGHJK-MNPQR-STVWX-YZ01" + self.check_for("ABCDEFGHJKMNPQRSTVWXYZ01"),
                              "projects": [ids[0]]}, 403, "not a voting code"),
            ("mistyped code", {"code": codes[11][:-1] + ("0" if codes[11][-1] != "0" else "1"),
                               "projects": [ids[0]]}, 400, "typing mistake"),
            ("used code", {"code": codes[0], "projects": [ids[0]]}, 409, "already voted"),
            ("too many projects", {"code": codes[11], "projects": ids[:3]}, 400, "must name 1 to 2"),
            ("no project", {"code": codes[11], "projects": []}, 400, "must name 1 to 2"),
            ("unknown project", {"code": codes[11], "projects": [999]}, 400, "no project 999"),
            ("infeasible project", {"code": codes[11], "projects": [ids[3]]}, 400, "no project %d on this ballot: only proposals found feasible" % ids[3]),
            ("twice", {"code": codes[11], "projects": [ids[0], ids[0]]}, 400, "named twice"),
            ("not an id", {"code": codes[11], "projects": ["x"]}, 400, "not a project id"),
            ("replacement not allowed", {"code": codes[0], "projects": [ids[0]], "receipt": "A" * 25}, 409,
             "does not allow"),
        ]
        for name, body, status, words in cases:
            got, resp = t.call("POST", "budgets/park/ballots", body)
            self.assertEqual(got, status, (name, resp))
            self.assertIn(words, resp["error"], name)
        status, resp = t.call("POST", "budgets/park/ballots", raw=b"not json")
        self.assertEqual(status, 400, resp)
        # code 11 was refused every time: it still votes once
        self.assertEqual(t.vote("park", codes[11], [ids[2]])[0], 201)
        self.assertEqual(t.vote("park", codes[11], [ids[2]])[0], 409)
        _, _, metrics = self.d.request("GET", "/metrics")
        self.assertRegex(metrics.decode(), r'mestys_voting_refused_total\{[^}]*reason="unknown_code"[^}]*\} [1-9]')
        self.assertEqual(self.d.output().count("refused (bad_ballot"), 1)  # logged once, then counted

    @staticmethod
    def check_for(symbols):
        """The check symbol of code.c: the symbols over GF(32) at x, by Horner."""
        alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        c = 0
        for s in symbols:
            c = (c ^ alphabet.index(s)) << 1
            c = c ^ 0x25 if c & 32 else c
        return alphabet[c]

    def check_no_live_counts(self, bid):
        t = self.t
        for path in ("budgets", "budgets/" + bid, "budgets/%s/proposals" % bid):
            status, resp = t.call("GET", path)
            self.assertEqual(status, 200, path)
            self.no_counts(resp, path)
        for what in ("results", "ballots.pb", "audit", "receipt?receipt=" + "A" * 25):
            status, resp = t.call("GET", "budgets/%s/%s" % (bid, what))
            self.assertEqual(status, 409, (what, resp))
            self.assertIn("once counting ends", resp["error"])
        status, resp = t.call("GET", "manage/%s/proposals" % bid, token=OPERATOR)
        self.no_counts(resp, "manage proposals")
        status, _, body = self.d.request("GET", "/api/opendata/datasets/vysledky-hlasovani/data.json")
        self.assertEqual(status, 200)
        self.assertEqual([r for r in json.loads(body)["data"] if r["budget"] == bid], [])
        # the bus: phases only, no ballot, no result
        phases = self.bus("voting/phase")
        self.assertIn({"budget": bid, "phase": "voting"}, phases)
        self.assertEqual([m for m in self.bus("voting/result") if m["budget"] == bid], [])
        self.assertEqual(self.bus("voting/ballot"), [])
        _, _, metrics = self.d.request("GET", "/metrics")
        for line in metrics.decode().splitlines():
            if "voting" in line and not line.startswith("#"):
                self.assertNotRegex(line, r"project", line)

    def check_verify(self, bid, receipts):
        paths = self.t.published(bid, self.tmp)
        with open(paths["result"]) as f:
            head = json.load(f)["chain_head"]
        rc, out = verify("--audit", paths["audit"], "--head", head, "--pb", paths["pb"], "--result", paths["result"],
                         "--receipt", receipts[0])
        self.assertEqual(rc, 0, out)
        self.assertIn("the published result matches", out)
        self.assertIn("found as entry", out)
        rc, out = verify("--audit", paths["audit"], "--head", "0" * 64)
        self.assertEqual(rc, 1, out)
        self.assertIn("the head is not the published one", out)
        # bare `mestys verify` finds the one plugin with a verify tool
        p = subprocess.run([MESTYS, "verify", "--audit", paths["audit"]], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # a receipt that is not in the list
        rc, out = verify("--audit", paths["audit"], "--receipt", "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ")
        self.assertEqual(rc, 1, out)
        self.assertIn("is not in the audit log", out)
        # a tampered log: the third entry's ballot changed
        with open(paths["audit"]) as f:
            lines = f.read().split("\n")
        entries = [i for i, l in enumerate(lines) if l and not l.startswith("#")]
        h, sealed = lines[entries[2]].split(" ", 1)
        lines[entries[2]] = h + " " + sealed[:-1] + ("1" if sealed[-1] != "1" else "2")
        tampered = paths["audit"] + ".tampered"
        with open(tampered, "w") as f:
            f.write("\n".join(lines))
        rc, out = verify("--audit", tampered)
        self.assertEqual(rc, 1, out)
        self.assertIn("the log was changed at entry 3", out)
        # a malformed ballot list
        with open(paths["pb"]) as f:
            pb = f.read()
        bad_pb = paths["pb"] + ".malformed"
        with open(bad_pb, "w") as f:
            f.write(pb.replace("PROJECTS", "PROJECTZ"))
        rc, out = verify("--pb", bad_pb)
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"ballots: .*\.malformed: \d+:\d+: ")  # where, as line:column
        # a file that is not there is named in the report, not taken for a failed check
        rc, out = verify("--audit", paths["audit"], "--pb", paths["pb"], "--result", paths["result"] + ".gone")
        self.assertEqual(rc, 1, out)
        self.assertIn("recount: %s.gone: cannot read it: No such file or directory" % paths["result"], out)
        rc, out = verify("--pb", paths["pb"] + ".gone")
        self.assertIn("ballots: %s.gone: cannot read it: No such file or directory" % paths["pb"], out)
        self.assertNotIn("input/output error", out)
        # a ballot list without one of the log's ballots
        short_pb = paths["pb"] + ".short"
        with open(short_pb, "w") as f:
            f.write(pb.rstrip("\n").rsplit("\n", 1)[0] + "\n")
        rc, out = verify("--audit", paths["audit"], "--pb", short_pb)
        self.assertEqual(rc, 1, out)
        self.assertIn("the .pb file has 10 ballots, the audit log 11", out)
        # a result that is not the recount
        with open(paths["result"]) as f:
            result = json.load(f)
        for p in result["explanation"]["projects"]:
            p["selected"] = not p["selected"]
        forged = paths["result"] + ".forged"
        with open(forged, "w") as f:
            json.dump(result, f)
        rc, out = verify("--pb", paths["pb"], "--result", forged)
        self.assertEqual(rc, 1, out)
        self.assertIn("the published result says", out)

    def bus(self, topic):
        status, msgs = self.d.json("/api/capture/messages?topic=" + topic)
        self.assertEqual(status, 200)
        return msgs

    def check_open_data(self, bid, ids):
        # voting/result as docs/bus.md shows it: one per project, no voter
        results = [m for m in self.bus("voting/result") if m["budget"] == bid]
        self.assertEqual(len(results), 3)
        for m in results:
            self.assertEqual(sorted(m), ["budget", "cost", "effective_support", "name", "project", "rank",
                                         "reason", "selected", "selected_by_greedy", "votes", "why"])
        self.assertIn({"budget": bid, "phase": "results"}, self.bus("voting/phase"))
        def rows():
            status, _, body = self.d.request("GET", "/api/opendata/datasets/vysledky-hlasovani/data.json")
            data = [r for r in json.loads(body)["data"] if r["budget"] == bid]
            assert len(data) == 3, data
            return data
        data = eventually(rows, timeout=10)
        self.assertEqual(sorted(r["project"] for r in data), sorted(str(i) for i in ids[:3]))
        self.assertNotIn("receipt", json.dumps(data))

    def test_concurrency_one_ballot_per_code(self):
        t = self.t
        ids = t.open_voting("crowd", [100, 200, 300, 400])
        codes = t.codes("crowd", 200, prefix="c")
        attempts = [(code, [ids[k % 4]]) for k in range(5) for code in codes]
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(lambda a: t.vote("crowd", a[0], a[1])[0], attempts))
        self.assertEqual(statuses.count(201), 200, statuses)
        self.assertEqual(statuses.count(409), 800)
        result = t.count("crowd")
        self.assertEqual(result["ballots"], 200)
        self.assertEqual(sum(p["votes"] for p in result["explanation"]["projects"]), 200)

    def test_replacement_counts_the_last_ballot_only(self):
        t = self.t
        ids = t.open_voting("school", [200, 250, 300, 100])
        codes = t.codes("school", 3, prefix="s")
        status, first = t.vote("school", codes[0], [ids[0]])
        self.assertEqual(status, 201)
        status, resp = t.vote("school", codes[0], [ids[1]])
        self.assertEqual(status, 409, resp)  # a second ballot needs the receipt
        self.assertIn("send your receipt", resp["error"])
        status, other = t.vote("school", codes[1], [ids[2]])
        self.assertEqual(status, 201)
        # someone else's receipt does not replace their ballot
        status, resp = t.vote("school", codes[0], [ids[1]], receipt=other["receipt"])
        self.assertEqual(status, 403, resp)
        status, resp = t.vote("school", codes[0], [ids[0], ids[1], ids[2]], receipt=first["receipt"])
        self.assertEqual(status, 400, resp)  # 600 over the 500 of the budget: refused, old ballot kept
        self.assertIn("over the budget", resp["error"])  # 750 of 500
        status, resp = t.vote("school", codes[2], [])
        self.assertEqual(status, 400, resp)
        status, resp = t.vote("school", codes[2], [ids[3]])
        self.assertEqual(status, 400, resp)  # 100 is under the minimum share (0.3 of 500)
        self.assertIn("at least 150", resp["error"])
        status, second = t.vote("school", codes[0], [ids[1]], receipt=first["receipt"])
        self.assertEqual(status, 201, second)
        self.assertTrue(second["replaced"])
        # the old receipt is spent
        status, resp = t.vote("school", codes[0], [ids[0]], receipt=first["receipt"])
        self.assertEqual(status, 403, resp)
        # a lost letter: a new code for a voter who has not voted; the old one is dead
        status, headers, body = self.d.request("POST", "/api/voting/manage/school/codes?voter=s2", b"",
                                               token=OPERATOR)
        self.assertEqual(status, 200, body)
        new_code = list(csv.DictReader(io.StringIO(body.decode())))[0]["code"]
        self.assertEqual(t.vote("school", codes[2], [ids[2]])[0], 403)
        self.assertEqual(t.call("POST", "manage/school/codes?voter=s0", {}, OPERATOR)[0], 409)  # has voted
        self.assertEqual(t.call("POST", "manage/school/codes?voter=nobody", {}, OPERATOR)[0], 404)
        self.assertEqual(t.vote("school", new_code, [ids[2]])[0], 201)
        result = t.count("school")
        self.assertEqual(result["ballots"], 3)
        votes = {p["id"]: p["votes"] for p in result["explanation"]["projects"]}
        self.assertEqual(votes, {str(ids[0]): 0, str(ids[1]): 1, str(ids[2]): 2, str(ids[3]): 0})
        self.assertEqual(t.call("GET", "budgets/school/receipt?receipt=" + first["receipt"])[0], 404)
        self.assertEqual(t.call("GET", "budgets/school/receipt?receipt=" + second["receipt"])[0], 200)

    def test_paper_ballots_count_when_two_clerks_agree(self):
        t = self.t
        ids = t.open_voting("paper", [100, 200, 300])
        codes = t.codes("paper", 3, prefix="p")

        def enter(token, code, projects, **extra):
            body = {"code": code, "projects": projects}
            body.update(extra)
            return t.call("POST", "manage/paper/paper", body, token)
        status, resp = enter(OPERATOR, codes[0], [ids[0], ids[1]])
        self.assertEqual((status, resp["paper"]), (202, "waiting"))
        status, resp = enter(OPERATOR, codes[0], [ids[0], ids[1]])
        self.assertEqual(status, 409, resp)  # the same clerk twice is not a second entry
        self.assertIn("another clerk", resp["error"])
        status, resp = enter(CLERK2, codes[0], [ids[1], ids[0]])
        self.assertEqual(status, 201, resp)  # the same ballot, typed in another order
        self.assertIn("receipt", resp)
        # a disagreement: neither counts until the entries are discarded and typed again
        self.assertEqual(enter(OPERATOR, codes[1], [ids[2]])[0], 202)
        status, resp = enter(CLERK2, codes[1], [ids[1]])
        self.assertEqual((status, resp["paper"]), (409, "disagreement"))
        status, resp = enter(ADMIN, codes[1], [ids[2]])
        self.assertEqual((status, resp["paper"]), (409, "disagreement"))
        self.assertEqual(t.vote("paper", codes[1], [ids[2]])[0], 201)  # the code was never spent
        self.assertEqual(enter(OPERATOR, codes[1], [ids[2]])[0], 409)  # now it is
        self.assertEqual(enter(OPERATOR, codes[2], [ids[2]])[0], 202)
        self.assertEqual(enter(CLERK2, codes[2], [ids[0]])[0], 409)
        self.assertEqual(enter(OPERATOR, codes[2], [], discard=True)[0], 200)
        self.assertEqual(enter(OPERATOR, codes[2], [ids[0]])[0], 202)
        self.assertEqual(enter(CLERK2, codes[2], [ids[0]])[0], 201)
        self.assertEqual(t.call("POST", "manage/paper/paper", {"code": codes[2], "projects": [1]})[0], 401)
        _, _, metrics = self.d.request("GET", "/metrics")
        self.assertRegex(metrics.decode(), r"mestys_voting_paper_disagreements_total\{[^}]*\} 2")
        result = t.count("paper")
        self.assertEqual(result["ballots"], 3)
        votes = {p["id"]: p["votes"] for p in result["explanation"]["projects"]}
        self.assertEqual(votes, {str(ids[0]): 2, str(ids[1]): 1, str(ids[2]): 1})

    def test_identity_hook(self):
        t = self.t
        ids = t.open_voting("portal", [100, 200])
        vote = lambda cred, projects: t.call("POST", "budgets/portal/ballots",
                                             {"credentials": cred, "projects": projects})
        status, resp = vote({"token": "portal-secret", "citizen": "jana"}, [ids[0]])
        self.assertEqual(status, 201, resp)
        status, resp = vote({"token": "portal-secret", "citizen": "jana"}, [ids[1]])
        self.assertEqual(status, 409, resp)
        status, resp = vote({"token": "wrong", "citizen": "petr"}, [ids[1]])
        self.assertEqual(status, 403, resp)
        self.assertIn("does not know this login", resp["error"])
        self.assertEqual(vote(None, [ids[1]])[0], 400)
        self.assertEqual(t.call("POST", "manage/portal/codes", {}, OPERATOR)[0], 409)
        self.assertEqual(t.count("portal")["ballots"], 1)

    def test_cumulative_points(self):
        t = self.t
        ids = t.open_voting("points", [100, 200, 300])
        codes = t.codes("points", 2, prefix="k")
        cast = lambda code, points: t.call("POST", "budgets/points/ballots", {"code": code, "points": points})
        self.assertEqual(cast(codes[0], {str(ids[0]): 4})[0], 400)  # over max_points
        self.assertEqual(cast(codes[0], {str(ids[0]): 3, str(ids[1]): 3})[0], 400)  # over points
        self.assertEqual(cast(codes[0], {str(ids[0]): 3, str(ids[1]): 2})[0], 201)
        self.assertEqual(cast(codes[1], {str(ids[2]): 1})[0], 201)
        result = t.count("points")
        paths = t.published("points", self.tmp)
        with open(paths["pb"]) as f:
            pb = f.read()
        self.assertIn("cumulative", pb)
        self.assertIn(";3,2", pb)
        self.assertIn("\nmax_sum_points;5\n", pb)  # the ballot's limits under pabulib's META keys
        self.assertIn("\nmax_points;3\n", pb)
        self.assertIn("\nnum_projects;3\n", pb)
        rc, out = verify("--audit", paths["audit"], "--pb", paths["pb"], "--result", paths["result"])
        self.assertEqual(rc, 0, out)
        self.assertEqual(result["ballots"], 2)

    def test_a_budget_nobody_voted_in_is_counted_and_published(self):
        t = self.t
        t.open_voting("empty", [100, 200])
        result = t.count("empty")
        self.assertEqual(result["ballots"], 0)
        paths = t.published("empty", self.tmp)
        rc, out = verify("--audit", paths["audit"], "--pb", paths["pb"], "--result", paths["result"])
        self.assertEqual(rc, 0, out)
        self.assertIn("audit: 0 entries", out)

    def test_the_clerks_status_of_a_budget(self):
        """GET manage/<id>: the clerk's pages see the dates, the rules' lock,
        the register and the paper entries waiting, and never a count."""
        t = self.t
        self.assertEqual(t.call("GET", "manage/desk")[0], 401)
        self.assertEqual(t.call("GET", "manage/nothere", token=OPERATOR)[0], 404)
        status, resp = t.call("GET", "manage/desk", token=OPERATOR)
        self.assertEqual(status, 200, resp)
        self.assertEqual((resp["id"], resp["phase"], resp["config_key"], resp["rules_locked"]),
                         ("desk", "proposals", "budgets[8]", False))
        self.assertEqual(resp["dates"], {"review": None, "voting": None, "counting": "2099-01-01T00:00:00.000Z"})
        self.assertEqual(resp["ballot"]["max_projects"], 2)
        self.assertEqual((resp["register"], resp["paper"]), ({"voters": 0, "with_code": 0},
                                                            {"waiting": 0, "disagreements": 0}))
        rows = "voter,name\r\nd1,A\r\nd2,B\r\nd3,C\r\n".encode()
        self.assertEqual(t.call("POST", "manage/desk/register", raw=rows, token=OPERATOR)[0], 200)
        self.assertEqual(t.call("GET", "manage/desk", token=OPERATOR)[1]["register"], {"voters": 3, "with_code": 0})
        ids = t.open_voting("desk", [100, 200])
        status, headers, body = self.d.request("POST", "/api/voting/manage/desk/codes", b"", token=OPERATOR)
        codes = [r["code"] for r in csv.DictReader(io.StringIO(body.decode()))]
        status, resp = t.call("GET", "manage/desk", token=OPERATOR)
        self.assertEqual((resp["rules_locked"], resp["register"]), (True, {"voters": 3, "with_code": 3}))
        t.call("POST", "manage/desk/paper", {"code": codes[0], "projects": [ids[0]]}, OPERATOR)
        t.call("POST", "manage/desk/paper", {"code": codes[1], "projects": [ids[0]]}, OPERATOR)
        t.call("POST", "manage/desk/paper", {"code": codes[1], "projects": [ids[1]]}, CLERK2)
        self.assertEqual(t.vote("desk", codes[2], [ids[1]])[0], 201)
        status, resp = t.call("GET", "manage/desk", token=OPERATOR)
        self.assertEqual(resp["paper"], {"waiting": 1, "disagreements": 1})
        self.assertEqual(resp["register"], {"voters": 3, "with_code": 3})  # who voted is not told
        self.no_counts(resp, "manage status")

    def test_rules_cannot_change_once_voting_started(self):
        t = self.t
        t.open_voting("frozen", [100, 200])
        changed = [dict(b) for b in BUDGETS]
        changed[5] = budget("frozen", rule="greedy")
        self.d.write(daemon_config(self.d.port, changed))
        status, _, body = self.d.request("POST", "/api/admin/reload", b"", token=ADMIN)
        self.assertNotEqual(status, 200, body)
        self.assertIn("cannot change", self.d.output())
        self.d.write(daemon_config(self.d.port))
        status, resp = t.call("GET", "budgets/frozen")
        self.assertEqual((status, resp["phase"], resp["ballot"]["rule"]), (200, "voting", "mes+add1+greedy"))
        # the phase only moves forward
        status, resp = t.call("POST", "manage/frozen/phase", {"phase": "review"}, OPERATOR)
        self.assertEqual(status, 409, resp)
        self.assertEqual(t.call("POST", "manage/nothere/phase", {"phase": "review"}, OPERATOR)[0], 404)


class TestSecrecy(unittest.TestCase):
    def test_the_database_links_no_ballot_to_a_voter(self):
        """What the database holds: the register no time, the ballots no order."""
        port = free_port()
        d = Daemon(daemon_config(port, [budget("secret")]))
        d.start()
        try:
            t = Town(d)
            ids = t.open_voting("secret", [100, 200])
            codes = t.codes("secret", 20, prefix="z")
            receipts = [t.vote("secret", code, [ids[i % 2]])[1]["receipt"] for i, code in enumerate(codes)]
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.dir, "state", "voting", "voting.sqlite"),
                                 uri=True)
            columns = lambda table: [r[1] for r in db.execute("PRAGMA table_info(%s)" % table)]
            self.assertEqual(columns("voter"), ["budget", "voter", "name", "address", "code_hash", "voted"])
            self.assertEqual(columns("ballot"), ["key", "budget", "sealed", "receipt_hash", "replace_tag"])
            self.assertEqual(columns("chain"), ["budget", "length", "head"])
            for table in ("voter", "ballot", "chain"):  # no rowid to give the order away
                with self.assertRaises(sqlite3.OperationalError):
                    db.execute("SELECT rowid FROM %s" % table)
            # names and addresses left with the letters
            self.assertEqual(db.execute("SELECT count(*) FROM voter WHERE name != '' OR address != ''").fetchone(),
                             (0,))
            # the rows come in key order, not in the order of the receipts given out
            stored = [r[0] for r in db.execute("SELECT receipt_hash FROM ballot WHERE budget = 'secret'")]
            given = [hashlib.sha256(r.replace("-", "").encode()).hexdigest() for r in receipts]
            self.assertEqual(sorted(stored), sorted(given))
            self.assertNotEqual(stored, given)  # 1 in 20! they would match
            self.assertEqual(db.execute("SELECT length FROM chain").fetchone(), (20,))
            db.close()
        finally:
            d.stop()


class TestDatesAndRestart(unittest.TestCase):
    def test_phases_follow_dates_and_survive_a_restart(self):
        port = free_port()
        dated = budget("dated", dates={"review": "2020-01-01T00:00:00Z", "voting": "2099-01-01T00:00:00Z"})
        bad = budget("bad", amount=10.5)
        d = Daemon(daemon_config(port, [dated, budget("manual")]))
        d.start()
        try:
            t = Town(d)
            eventually(lambda: self.assertEqual(t.call("GET", "budgets/dated")[1]["phase"], "review"))
            self.assertEqual(t.call("GET", "budgets/manual")[1]["phase"], "proposals")
            # the dates are public, so a page can say what comes next (null: the operator decides)
            self.assertEqual(t.call("GET", "budgets/dated")[1]["dates"],
                             {"review": "2020-01-01T00:00:00.000Z", "voting": "2099-01-01T00:00:00.000Z",
                              "counting": None})
            self.assertEqual(t.call("GET", "budgets")[1]["budgets"][1]["dates"],
                             {"review": None, "voting": None, "counting": None})
            t.phase("manual", "review")
            d.stop()
            d.start()
            self.assertEqual(t.call("GET", "budgets/manual")[1]["phase"], "review")
        finally:
            d.stop()
        # a town may turn the pages off: the API stays
        cfg = daemon_config(free_port(), [budget("manual")])
        next(p for p in cfg["plugins"] if p["use"] == "voting")["config"]["pages"] = False
        d = Daemon(cfg)
        d.start()
        try:
            self.assertEqual(d.request("GET", "/voting/")[0], 404)
            self.assertEqual(d.request("GET", "/api/voting/budgets")[0], 200)
        finally:
            d.stop()
        # what the schema cannot say, `mestys check` says at the key's line (and mestysd refuses to start)
        for b, key, words in ((bad, "budgets[0].amount", "is not a whole number"),
                              (budget("x", dates={"review": "2027-05-01T00:00:00Z", "voting": "2027-04-01T00:00:00Z"}),
                               "budgets[0].dates.voting", "must come after"),
                              (budget("Bad Id"), "budgets[0].id", "a-z 0-9"),
                              (budget("x", eligibility="lua"), "budgets[0].identity_hook", "needs the hook"),
                              (budget("x", eligibility="http", identity_url="https://login.example/"),
                               "budgets[0].identity_url", "plain HTTP")):
            d = Daemon(daemon_config(port, [b]))
            p = subprocess.run([MESTYS, "check", d.path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            self.assertRegex(p.stderr, r"mestys.json:\d+:\d+: error: plugins\[2\]\.config\.%s: .*%s" %
                             (key.replace("[", "\\[").replace("]", "\\]").replace(".", "\\."), words))
        d.start(wait=False)
        self.assertNotEqual(d.proc.wait(timeout=20), 0)
        d.log.close()
        self.assertIn("plain HTTP", d.output())  # the last one: mestysd refuses it as mestys check does


class TestStopWhileVoting(unittest.TestCase):
    def test_a_stop_while_ballots_are_written_loses_no_receipt(self):
        """SIGTERM while ballots stream in: the daemon stops cleanly, and every
        ballot answered with a receipt is counted after the restart."""
        port = free_port()
        d = Daemon(daemon_config(port, [budget("stop")]))
        d.start()
        t = Town(d)
        ids = t.open_voting("stop", [100, 200])
        codes = t.codes("stop", 300, prefix="x")
        answers = []

        def cast(code):
            try:
                status, resp = t.vote("stop", code, [ids[0]])
                answers.append((status, resp))
            except OSError:
                answers.append((None, None))
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(cast, code) for code in codes]
            eventually(lambda: self.assertGreater(len(answers), 50), timeout=20)
            d.stop()
            for f in futures:
                f.result()
        receipts = [resp["receipt"] for status, resp in answers if status == 201]
        self.assertGreater(len(receipts), 0)
        d.start()
        try:
            result = t.count("stop")
            self.assertGreaterEqual(result["ballots"], len(receipts))
            for r in receipts:
                self.assertEqual(t.call("GET", "budgets/stop/receipt?receipt=" + r)[0], 200, r)
        finally:
            d.stop()


class TestCloseWhileVoting(unittest.TestCase):
    def test_closing_while_ballots_stream_in_counts_exactly_the_receipts(self):
        port = free_port()
        d = Daemon(daemon_config(port, [budget("close")]))
        d.start()
        try:
            t = Town(d)
            ids = t.open_voting("close", [100, 200])
            codes = t.codes("close", 300, prefix="y")
            answers = []
            with ThreadPoolExecutor(max_workers=16) as pool:
                futures = [pool.submit(lambda c: answers.append(t.vote("close", c, [ids[1]])), code)
                           for code in codes]
                eventually(lambda: self.assertGreater(len(answers), 50), timeout=20)
                t.phase("close", "counting")
                for f in futures:
                    f.result()
            receipts = [resp["receipt"] for status, resp in answers if status == 201]
            late = [resp for status, resp in answers if status == 409]
            self.assertEqual(len(receipts) + len(late), 300)
            for resp in late:
                self.assertRegex(resp["error"], "only while voting is open|voting closed before this ballot")
            eventually(lambda: self.assertEqual(t.call("GET", "budgets/close")[1]["phase"], "results"), timeout=20)
            result = t.call("GET", "budgets/close/results")[1]
            self.assertEqual(result["ballots"], len(receipts))
            for r in receipts[:: max(1, len(receipts) // 20)]:
                self.assertEqual(t.call("GET", "budgets/close/receipt?receipt=" + r)[0], 200, r)
        finally:
            d.stop()


class IdentityService(http.server.BaseHTTPRequestHandler):
    """A town's login service: token "ok-<name>" is citizen <name>."""
    calls = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        IdentityService.calls.append((self.path, body))
        token = body.get("token", "")
        status, answer = (200, {"voter": token[3:]}) if token.startswith("ok-") else \
            (403, {"error": "the town portal does not know this login"})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class TestHttpIdentity(unittest.TestCase):
    def test_the_towns_login_service_says_who_votes(self):
        service = http.server.ThreadingHTTPServer(("127.0.0.1", 0), IdentityService)
        threading.Thread(target=service.serve_forever, daemon=True).start()
        port = free_port()
        url = "http://127.0.0.1:%d/identify" % service.server_address[1]
        d = Daemon(daemon_config(port, [budget("web", eligibility="http", identity_url=url),
                                        budget("down", eligibility="http", identity_timeout_ms=500,
                                               identity_url="http://127.0.0.1:%d/x" % free_port())]))
        d.start()
        try:
            t = Town(d)
            ids = t.open_voting("web", [100, 200])
            vote = lambda bid, cred, projects: t.call("POST", "budgets/%s/ballots" % bid,
                                                      {"credentials": cred, "projects": projects})
            status, resp = vote("web", {"token": "ok-jana"}, [ids[0]])
            self.assertEqual(status, 201, resp)
            self.assertEqual(IdentityService.calls[-1], ("/identify", {"token": "ok-jana"}))
            self.assertEqual(vote("web", {"token": "ok-jana"}, [ids[1]])[0], 409)
            status, resp = vote("web", {"token": "stolen"}, [ids[1]])
            self.assertEqual(status, 403, resp)
            self.assertIn("does not know this login", resp["error"])
            calls = len(IdentityService.calls)
            self.assertEqual(vote("web", {"token": "ok-petr"}, [99])[0], 400)  # the ballot is checked first
            self.assertEqual(len(IdentityService.calls), calls)
            self.assertEqual(vote("web", None, [ids[1]])[0], 400)
            self.assertEqual(vote("web", {"token": "ok-petr"}, [ids[1]])[0], 201)
            t.open_voting("down", [100])
            status, resp = vote("down", {"token": "ok-jana"}, [1])
            self.assertEqual(status, 503, resp)  # the service does not answer: not counted, try again
            self.assertEqual(t.count("web")["ballots"], 2)
        finally:
            d.stop()
            service.shutdown()


class TestRegisterRefusals(unittest.TestCase):
    def test_bad_register_and_unknown_budget(self):
        port = free_port()
        d = Daemon(daemon_config(port, [budget("solo")]))
        d.start()
        try:
            t = Town(d)
            for rows, words in ((b"name,address\r\nx,y\r\n", "header"), (b'voter,name\r\n"open,x\r\n', "line 2"),
                                (b"voter\r\n,\r\n", "line 2")):
                status, resp = t.call("POST", "manage/solo/register", raw=rows, token=OPERATOR)
                self.assertEqual(status, 400, resp)
                self.assertIn(words, resp["error"])
            status, resp = t.call("GET", "budgets/nothere")
            self.assertEqual(status, 404)
            self.assertIn("solo", resp["error"])
        finally:
            d.stop()


if __name__ == "__main__":
    main()

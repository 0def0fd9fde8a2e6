#!/usr/bin/env python3
"""bench_voting_daemon: the voting plugin through the real daemon, at the
size of a Warsaw district (80 projects, 11,000 voters).

    python3 tests/bench/bench_voting_daemon.py [build-dir]

Prints: ballots cast per second over HTTP (8 keep-alive clients, each ballot
one SQLite transaction: claim the code, insert the sealed ballot, move the
chain head), next to the same clients reading a budget (GET budgets/<id>,
no write: what the HTTP path alone costs); then the time from "counting" to
"results" (the count on a worker: read 11,000 ballots, chain them, count by
mes+add1+greedy and greedy, write the .pb), next to `mestys verify voting
--pb` recounting the published file alone."""
import csv
import http.client
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build")
OPERATOR = "operator-token-0123456789"
PROJECTS, VOTERS, CLIENTS = 80, 11000, 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, token=None, raw=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        self.c.request(method, "/api/voting/" + path, data, headers)
        r = self.c.getresponse()
        return r.status, r.read()


def parallel(port, jobs, work):
    """Runs work(client, job) for every job over CLIENTS connections; seconds."""
    def run(chunk):
        client = Client(port)
        for job in chunk:
            work(client, job)
    threads = [threading.Thread(target=run, args=(jobs[i::CLIENTS],)) for i in range(CLIENTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def main():
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-voting-")
    cfg = {"node": {"name": "bench", "state_dir": "state", "log_level": "warn",
                    "http": {"listen": "127.0.0.1:%d" % port, "body_limit": 8 << 20}},
           "plugins": [{"use": "voting", "config": {"budgets": [{
               "id": "warszawa", "amount": 5000000, "rule": "mes+add1+greedy",
               "ballot": {"type": "approval", "min_projects": 1, "max_projects": 10}}]}}],
           "tokens": [{"name": "clerk", "token": OPERATOR, "role": "operator"}]}
    path = os.path.join(folder, "mestys.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    log = open(os.path.join(folder, "mestysd.log"), "w")
    d = subprocess.Popen([os.path.join(BUILD, "mestysd"), "-c", path], stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, MESTYS_PLUGIN_PATH=os.path.join(BUILD, "plugins")))
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.01)
        c = Client(port)
        rnd = random.Random(1)
        for p in range(PROJECTS):
            c.call("POST", "budgets/warszawa/proposals", {"title": "projekt %d" % p, "description": "d",
                                                          "cost": rnd.randint(20, 800) * 1000, "contact": "a@b.c"})
        c.call("POST", "manage/warszawa/phase", {"phase": "review"}, OPERATOR)
        for p in range(1, PROJECTS + 1):
            c.call("POST", "manage/warszawa/review/%d" % p, {"feasible": True}, OPERATOR)
        c.call("POST", "manage/warszawa/phase", {"phase": "voting"}, OPERATOR)
        rows = "voter\n" + "".join("v%d\n" % i for i in range(VOTERS))
        c.call("POST", "manage/warszawa/register", raw=rows.encode(), token=OPERATOR)
        status, body = c.call("POST", "manage/warszawa/codes", raw=b"", token=OPERATOR)
        codes = [r["code"] for r in csv.DictReader(io.StringIO(body.decode()))]
        popular = list(range(1, PROJECTS + 1))
        ballots = [(code, sorted(rnd.sample(popular[:30] if rnd.random() < 0.7 else popular, rnd.randint(1, 10))))
                   for code in codes]
        statuses = []
        read_s = parallel(port, list(range(VOTERS)), lambda cl, _: cl.call("GET", "budgets/warszawa"))
        cast_s = parallel(port, ballots, lambda cl, b: statuses.append(
            cl.call("POST", "budgets/warszawa/ballots", {"code": b[0], "projects": b[1]})[0]))
        assert statuses.count(201) == VOTERS, statuses[:5]
        c = Client(port)  # the first one idled past the server's keep-alive
        t0 = time.perf_counter()
        c.call("POST", "manage/warszawa/phase", {"phase": "counting"}, OPERATOR)
        while json.loads(c.call("GET", "budgets/warszawa")[1])["phase"] != "results":
            time.sleep(0.005)
        count_s = time.perf_counter() - t0
        status, pb = c.call("GET", "budgets/warszawa/ballots.pb")
        pb_path = os.path.join(folder, "warszawa.pb")
        with open(pb_path, "wb") as f:
            f.write(pb)
        t0 = time.perf_counter()
        out = subprocess.run([os.path.join(BUILD, "mestys"), "verify", "voting", "--pb", pb_path],
                             capture_output=True, text=True)
        verify_s = time.perf_counter() - t0
        print("ballots cast over HTTP (%d clients, %d ballots of 1-10 of %d projects): %.0f ballots/s "
              "| limit: the same clients reading GET budgets/<id>: %.0f req/s" %
              (CLIENTS, VOTERS, PROJECTS, VOTERS / cast_s, VOTERS / read_s))
        print("counting to results (read, chain, mes+add1+greedy and greedy, .pb written): %.0f ms "
              "| limit: `mestys verify voting --pb` recounting the published file: %.0f ms (%s)" %
              (count_s * 1000, verify_s * 1000, out.stdout.strip().splitlines()[0]))
    finally:
        d.terminate()
        d.wait(timeout=30)
        log.close()
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()

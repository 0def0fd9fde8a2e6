"""A small region for the uplink tests: the frozen wire format of pgstore's
ingest (docs/plugins/uplink.md) in Python, with a per-(town, epoch)
high-water mark exactly as pgstore dedups, and answers a test can force
(503 + Retry-After, 400, 401, 403, 413, a dropped connection)."""
import gzip
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUTE = re.compile(r"^/api/pgstore/towns/([A-Za-z0-9._-]+)/(batches|position)$")


class Region:
    def __init__(self, tokens):
        self.tokens = dict(tokens)      # token -> town
        self.lock = threading.Lock()
        self.marks = {}                 # (town, epoch) -> committed high-water
        self.messages = []              # (town, epoch, o, topic, body, replay) committed, dedup'ed
        self.batches = []               # every batch header as it came, with the answer
        self.positions = 0
        self.duplicates = 0
        self.forced = []                # answers to give before the normal one: (status, headers, body)
        self.refuse = None              # callable(header, lines) -> (status, body) or None
        self.hold = None                # threading.Event: a POST waits on it before committing
        self.holding = 0                # POSTs that waited on hold
        self.commit_then_drop = 0       # commit a batch, then close without answering
        region = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the town was killed while we answered

            def auth(self, town):
                h = self.headers.get("Authorization", "")
                token = h[7:] if h.startswith("Bearer ") else None
                if token not in region.tokens:
                    self.answer(401, {"error": "unknown token"}, [("WWW-Authenticate", "Bearer")])
                    return False
                if region.tokens[token] != town:
                    self.answer(403, {"error": "this token is not town " + town})
                    return False
                return True

            def do_GET(self):
                m = ROUTE.match(self.path)
                if not m or m.group(2) != "position":
                    return self.answer(404, {"error": "no such route"})
                if not self.auth(m.group(1)):
                    return
                with region.lock:
                    region.positions += 1
                    mine = [(e, c) for (t, e), c in region.marks.items() if t == m.group(1)]
                epoch, committed = mine[-1] if mine else (None, None)
                self.answer(200, {"epoch": epoch, "committed": committed})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                m = ROUTE.match(self.path)
                if not m or m.group(2) != "batches":
                    return self.answer(404, {"error": "no such route"})
                with region.lock:
                    forced = region.forced.pop(0) if region.forced else None
                if forced:
                    status, headers, body = forced
                    with region.lock:
                        region.batches.append({"forced": status, "at": time.monotonic()})
                    return self.answer(status, body, headers)
                if not self.auth(m.group(1)):
                    return
                if (self.headers.get("Content-Type") != "application/x-ndjson"
                        or self.headers.get("Content-Encoding") != "gzip"):
                    return self.answer(400, {"error": "want gzip NDJSON"})
                try:
                    lines = gzip.decompress(raw).decode().split("\n")
                    assert lines[-1] == "", "the body ends with a newline"
                    header = json.loads(lines[0])
                    rows = [json.loads(x) for x in lines[1:-1]]
                    os_ = [r["o"] for r in rows]
                    assert os_ == sorted(set(os_)), "o strictly increasing"
                    assert os_[0] == header["first"] and os_[-1] == header["last"], "first/last"
                    for r in rows:
                        assert set(r) <= {"o", "t", "b", "at"} and "b" in r and "t" in r, r
                except Exception as e:  # a malformed batch is the town's bug: the test fails on it
                    with region.lock:
                        region.batches.append({"malformed": repr(e), "at": time.monotonic()})
                    return self.answer(400, {"error": "line ?: %r" % e})
                town = m.group(1)
                if region.hold:
                    with region.lock:
                        region.holding += 1
                    region.hold.wait(30)
                if region.refuse:
                    r = region.refuse(header, rows)
                    if r:
                        with region.lock:
                            region.batches.append(dict(header, answered=r[0], n=len(rows), at=time.monotonic()))
                        return self.answer(r[0], r[1])
                with region.lock:
                    key = (town, header["epoch"])
                    mark = region.marks.get(key, 0)
                    stored = dup = 0
                    for r in rows:
                        if r["o"] <= mark:
                            dup += 1
                            continue
                        region.messages.append((town, header["epoch"], r["o"], r["t"], r["b"], header["replay"]))
                        stored += 1
                    region.duplicates += dup
                    region.marks[key] = max(mark, header["last"])
                    region.batches.append(dict(header, answered=200, n=len(rows), stored=stored, duplicate=dup,
                                               at=time.monotonic()))
                    drop = region.commit_then_drop > 0
                    if drop:
                        region.commit_then_drop -= 1
                if drop:  # committed, but the town never hears it
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.answer(200, {"town": town, "epoch": header["epoch"], "committed": region.marks[key],
                                  "stored": stored, "duplicate": dup, "out_of_window": 0})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/api/pgstore" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        if self.hold:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def os(self, town=None):
        with self.lock:
            return [m[2] for m in self.messages if town is None or m[0] == town]

    def bodies(self):
        with self.lock:
            return [m[4] for m in self.messages]

"""Shared helpers for the integration tests: they run the real mestysd and
talk to it as a town's IT person would, over HTTP with a real client."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

BUILD = os.environ["MESTYS_BUILD_DIR"]
SOURCE = os.environ["MESTYS_SOURCE_DIR"]
TEST_PLUGINS = os.environ["MESTYS_TEST_PLUGIN_DIR"]
TEST_LUA = os.environ["MESTYS_TEST_LUA_DIR"]
MESTYSD = os.path.join(BUILD, "mestysd")
MESTYS = os.path.join(BUILD, "mestys")
ADMIN = "admin-token-0123456789"
OPERATOR = "operator-token-0123456789"
PUBLIC = "public-token-0123456789"

# Plugins load only from folders nobody but root (or the daemon's user) can
# write, every folder above included (the trust check's permission walk):
# /tmp is world-writable, so the tests' temporary folders live in the
# build tree instead.
TMP = os.path.join(BUILD, "it-tmp")
os.makedirs(TMP, mode=0o755, exist_ok=True)
tempfile.tempdir = TMP

# The test plugins (tests/plugins, tests/lua, scripts written by a test)
# are unsigned and outside the daemon's own folders: every config the tests
# write says so explicitly.  The daemon's default stays "signed"
# (test_trust.py checks it).
TEST_TRUST = {"require": "any"}

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(port, plugins, trust=TEST_TRUST, **extra):
    cfg = {
        "node": {"name": "testtown", "state_dir": "state", "log_level": "info",
                 "http": {"listen": "127.0.0.1:%d" % port, "body_limit": 65536}},
        "plugins": plugins,
        "tokens": [{"name": "it", "token": ADMIN, "role": "admin"},
                   {"name": "clerk", "token": OPERATOR, "role": "operator"},
                   {"name": "kiosk", "token": PUBLIC, "role": "public"}],
    }
    if trust is not None:
        cfg["trust"] = trust
    for key, value in extra.items():
        cfg[key] = value
    return cfg


class Daemon:
    """One mestysd process on a config written to its own directory."""

    def __init__(self, cfg, name="mestys.json", text=None):
        self.dir = tempfile.mkdtemp(prefix="mestys-it-")
        self.path = os.path.join(self.dir, name)
        self.port = None
        if cfg is not None:
            self.port = int(cfg["node"]["http"]["listen"].rsplit(":", 1)[1])
        self.write(cfg, text)
        self.proc = None
        self.log_path = os.path.join(self.dir, "mestysd.log")
        self.tls = None  # an ssl.SSLContext: the daemon speaks HTTPS (node.http.tls_cert)

    def write(self, cfg, text=None):
        with open(self.path, "w") as f:
            f.write(text if text is not None else json.dumps(cfg, indent=2))

    def start(self, wait=True):
        env = dict(os.environ, MESTYS_PLUGIN_PATH=TEST_PLUGINS)
        self.log = open(self.log_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([MESTYSD, "-c", self.path], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("mestysd exited with %d:\n%s" % (self.proc.returncode, self.output()))
            try:
                status, _, _ = self.get("/health")
                if status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.01)
        raise AssertionError("mestysd did not answer /health in %ds:\n%s" % (timeout, self.output()))

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def request(self, method, path, body=None, token=None, headers=None):
        req = urllib.request.Request("%s://127.0.0.1:%d%s" % ("https" if self.tls else "http", self.port, path),
                                     data=body, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.tls) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def get(self, path, token=None):
        return self.request("GET", path, token=token)

    def json(self, path, token=None):
        status, _, body = self.get(path, token)
        return status, json.loads(body)

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, expect=0):
        """Stops the daemon; asserts its exit code and a clean sanitizer report."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("mestysd did not stop:\n" + self.output())
        self.log.close()
        out = self.output()
        for mark in SANITIZER_MARKS:
            if mark in out:
                raise AssertionError("sanitizer report from mestysd:\n" + out)
        if rc != expect:
            raise AssertionError("mestysd exited %d, expected %d:\n%s" % (rc, expect, out))
        return out

    def wait_log(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            time.sleep(0.02)
        raise AssertionError("log never said %r:\n%s" % (text, self.output()))


def ask(daemon, topic, body):
    """A bus request through tests/lua/asker.lua; returns (http status, reply)."""
    status, _, resp = daemon.request("POST", "/api/asker/ask/" + topic, json.dumps(body).encode())
    if status != 202:
        return status, json.loads(resp)
    rid = json.loads(resp)["id"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, _, resp = daemon.get("/api/asker/answer?id=%d" % rid)
        if status != 404:
            return status, json.loads(resp)
        time.sleep(0.01)
    raise AssertionError("no answer to %s %r" % (topic, body))


def eventually(check, timeout=5.0, every=0.02):
    """Retries check() until it stops raising AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(every)


def run_daemon_once(cfg_text, timeout=20):
    """Runs mestysd on a config expected to be refused; returns (rc, output)."""
    d = Daemon(None, text=cfg_text)
    env = dict(os.environ, MESTYS_PLUGIN_PATH=TEST_PLUGINS)
    p = subprocess.run([MESTYSD, "-c", d.path], capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stdout + p.stderr, d.path


def testplug(name="testplug", label="first", **extra):
    entry = {"use": "testplug", "name": name, "config": {"label": label, "password": "hunter2-secret"}}
    entry.update(extra)
    return entry


def main():
    unittest.main(verbosity=2)

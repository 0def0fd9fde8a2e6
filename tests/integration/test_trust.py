"""Signed bundles and the trust check, against the real daemon, with keys
from `minisign -G` and signatures from `minisign -S` made here: what loads,
what is refused (each with its status in /health, /metrics and `mestys
plugins`, and its message), the revocation list (floor, revoked keys,
rollback, expiry, reload), key rotation, and a refused .so whose
constructor would write a file leaving none.  `minisign -V` and
`sha256sum -c` are the independent checkers of the same files."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import (MESTYS, TEST_PLUGINS, Daemon, config, eventually, free_port, main,
                     run_daemon_once)

ARCH = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip() or "amd64"
HOST = ">= 0.1.0, < 0.2.0"


def sh(*args, cwd=None, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError("%s failed: %s%s" % (args, p.stdout, p.stderr))
    return p


def sha256(path):
    return sh("sha256sum", path).stdout.split()[0]


class Key:
    """A minisign key pair made by minisign itself (no password: -W)."""

    def __init__(self, where, name):
        self.pub = os.path.join(where, name + ".pub")
        self.sec = os.path.join(where, name + ".key")
        sh("minisign", "-G", "-W", "-p", self.pub, "-s", self.sec)
        with open(self.pub) as f:
            self.id = f.readline().split()[-1].upper().rjust(16, "0")

    def sign(self, path, sig=None):
        args = ["minisign", "-S", "-s", self.sec, "-m", path]
        if sig:
            args += ["-x", sig]
        sh(*args)


class Region:
    """A region's keys and a town's trust folder holding the public halves."""

    def __init__(self):
        self.secret = tempfile.mkdtemp(prefix="keys-")
        self.trust = tempfile.mkdtemp(prefix="trust-")
        os.chmod(self.trust, 0o755)
        os.mkdir(os.path.join(self.trust, "keys"))
        self.root = Key(self.secret, "root")
        shutil.copy(self.root.pub, os.path.join(self.trust, "root.pub"))
        self.keys = {}

    def add_key(self, name, names=("testplug", "ctor_*", "board"), kinds=("so", "lua"), scope=True):
        k = self.keys.get(name) or Key(self.secret, name)
        self.keys[name] = k
        shutil.copy(k.pub, os.path.join(self.trust, "keys", name + ".pub"))
        if scope:
            with open(os.path.join(self.trust, "keys", name + ".scope"), "w") as f:
                json.dump({"names": list(names), "kinds": list(kinds)}, f)
        return k

    def revocations(self, serial, expires="2099-01-01T00:00:00Z", keys=(), plugins=None, where=None):
        path = os.path.join(where or self.trust, "revocations.json")
        with open(path, "w") as f:
            json.dump({"format": 1, "serial": serial, "expires": expires, "revoked_keys": list(keys),
                       "plugins": plugins or {}}, f)
        self.root.sign(path)
        return path


def bundle(plugdir, name, version, files, kind="so", host=HOST, arch=None, signers=()):
    """NAME/VERSION/ with files {rel: bytes or a path to copy}, its manifest
    (format 1: sorted keys, 2-space indent, LF) and signatures."""
    d = os.path.join(plugdir, name, version)
    os.makedirs(d)
    for rel, content in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
        if isinstance(content, bytes):
            with open(os.path.join(d, rel), "wb") as f:
                f.write(content)
        else:
            shutil.copy(content, os.path.join(d, rel))
    manifest = {"abi": 1, "arch": arch or (ARCH if kind == "so" else "all"), "format": 1, "host": host,
                "kind": kind, "name": name, "version": version,
                "files": {rel: sha256(os.path.join(d, rel)) for rel in sorted(files)}}
    with open(os.path.join(d, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for i, k in enumerate(signers):
        k.sign(os.path.join(d, "manifest.json"),
               None if i == 0 else os.path.join(d, "manifest.json.%d.minisig" % i))
    return d


def so_files(extra=None):
    files = {"testplug.so": os.path.join(TEST_PLUGINS, "testplug.so"), "doc/README.md": b"testplug, for tests\n"}
    files.update(extra or {})
    return files


TESTPLUG_CONFIG = {"label": "x", "password": "hunter2-secret"}


class Trust(unittest.TestCase):
    def setUp(self):
        self.region = Region()
        self.key = self.region.add_key("release")
        self.plugdir = tempfile.mkdtemp(prefix="plugins-")
        os.chmod(self.plugdir, 0o755)

    def cfg(self, plugins, require="signed", **trust):
        t = {"dir": self.region.trust, "require": require}
        t.update(trust)
        c = config(free_port(), plugins, trust=t)
        c["node"]["plugin_path"] = [self.plugdir]
        return c

    def entry(self, use="testplug", required=False, **extra):
        e = {"use": use, "required": required, "config": TESTPLUG_CONFIG if use == "testplug" else {}}
        e.update(extra)
        return e

    def run_town(self, plugins=None, **trust):
        d = Daemon(self.cfg(plugins or [self.entry()], **trust))
        d.start()
        self.addCleanup(lambda: d.proc.poll() is None and d.stop())
        return d

    def metric(self, d, name, labels=""):
        _, _, body = d.get("/metrics")
        m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape("{%s}" % labels if labels else "")),
                      body.decode(), re.M)
        return float(m.group(1)) if m else None

    def cli_status(self, d, path):
        p = subprocess.run([MESTYS, "plugins", "-c", d.path, path], capture_output=True, text=True)
        return p.stdout

    def assert_refused(self, status, why, use="testplug", path=None):
        """The town starts without the optional plugin and says why everywhere."""
        d = self.run_town([self.entry(use)])
        _, health = d.json("/health")
        self.assertEqual(health["status"], "degraded")
        self.assertEqual(health["instances"], [])
        [r] = health["refused"]
        self.assertEqual((r["name"], r["trust"]), (use, status), r)
        self.assertIn(why, r["trust_reason"])
        self.assertEqual(self.metric(d, "mestys_plugin_trust",
                                     'plugin="%s",instance="%s",status="%s"' % (use, use, status)), 1)
        self.assertIn("skipping optional plugin \"%s\"" % use, d.output())
        self.assertIn(why, d.output())
        out = self.cli_status(d, path or self.plugdir)
        self.assertIn("trust      %s" % status, out)
        self.assertIn(why, out)
        # required, it stops the start, naming the file and the reason
        c = self.cfg([self.entry(use, required=True)])
        rc, out, _ = run_daemon_once(json.dumps(c))
        self.assertEqual(rc, 2, out)
        self.assertIn('cannot load plugin "%s"' % use, out)
        self.assertIn(why, out)
        return d

    # --- what loads ----------------------------------------------------------

    def test_signed_bundle_loads_and_independent_tools_agree(self):
        b = bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        sh("minisign", "-V", "-p", self.key.pub, "-m", os.path.join(b, "manifest.json"))
        with open(os.path.join(b, "manifest.json")) as f:
            listed = json.load(f)["files"]
        sums = "".join("%s  %s\n" % (h, p) for p, h in listed.items())
        self.assertEqual(subprocess.run(["sha256sum", "-c", "--strict", "-"], input=sums, text=True, cwd=b,
                                        capture_output=True).returncode, 0)
        d = self.run_town()
        _, health = d.json("/health")
        [inst] = health["instances"]
        self.assertEqual((inst["state"], inst["trust"]), ("running", "signed"))
        self.assertEqual(inst["trust_reason"], "signed by key release (%s)" % self.key.id)
        self.assertEqual((health["status"], health["refused"]), ("ok", []))
        self.assertEqual(self.metric(d, "mestys_plugin_trust",
                                     'plugin="testplug",instance="testplug",status="signed"'), 1)
        self.assertGreater(self.metric(d, "mestys_trust_verify_seconds_count"), 0)
        self.assertIn("trust      signed: signed by key release", self.cli_status(d, b))
        # the real path is kept for messages, although dlopen saw /proc/self/fd/N
        _, plugins = d.json("/api/admin/plugins", token="admin-token-0123456789")
        self.assertEqual(plugins["instances"][0]["file"], os.path.join(b, "testplug.so"))

    def test_highest_version_unless_pinned(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        bundle(self.plugdir, "testplug", "0.0.2", so_files(), signers=[self.key])  # says 0.0.1 inside
        d = self.assert_refused("incompatible", "the manifest says testplug 0.0.2 (ABI 1), the plugin itself "
                                "testplug 0.0.1", path=os.path.join(self.plugdir, "testplug", "0.0.2"))
        self.assertNotIn("testplug/0.0.1", d.output())  # no falling back to the older one
        d = self.run_town([self.entry(version="0.0.1")])
        _, health = d.json("/health")
        self.assertEqual(health["instances"][0]["trust"], "signed")

    def test_default_policy_refuses_unsigned(self):
        # no trust section at all: the default is "signed"; a flat .so outside the daemon's folders is refused
        c = config(free_port(), [self.entry(required=True)], trust=None)
        self.assertNotIn("trust", c)
        rc, out, _ = run_daemon_once(json.dumps(c))
        self.assertEqual(rc, 2, out)
        self.assertIn('unsigned (a single file, no bundle) and trust.require is "signed"', out)

    def test_unsigned_allowed_with_any_and_said(self):
        d = self.run_town(require="any")
        _, health = d.json("/health")
        self.assertEqual(health["instances"][0]["trust"], "unsigned")
        self.assertIn("loads unsigned: unsigned (a single file, no bundle), allowed by trust.require \"any\"",
                      d.output())

    # --- refused, each with its status and message ---------------------------

    def test_flipped_byte_is_modified(self):
        b = bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        path = os.path.join(b, "testplug.so")
        with open(path, "r+b") as f:
            f.seek(4000)
            c = f.read(1)
            f.seek(4000)
            f.write(bytes([c[0] ^ 1]))
        self.assertNotEqual(subprocess.run(["sha256sum", "-c", "-"], cwd=b, text=True, capture_output=True,
                                           input="%s  testplug.so\n" % json.load(open(
                                               os.path.join(b, "manifest.json")))["files"]["testplug.so"]).returncode, 0)
        self.assert_refused("modified", "testplug.so")

    def test_extra_file_is_modified(self):
        b = bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        with open(os.path.join(b, "doc", "extra.txt"), "w") as f:
            f.write("not in the manifest\n")
        self.assert_refused("modified", "doc/extra.txt")

    def test_missing_file_is_modified(self):
        b = bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        os.remove(os.path.join(b, "doc", "README.md"))
        self.assert_refused("modified", "doc/README.md")

    def test_edited_manifest_is_invalid(self):
        b = bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        m = os.path.join(b, "manifest.json")
        with open(m) as f:
            text = f.read()
        with open(m, "w") as f:
            f.write(text.replace(HOST, ">= 0.0.1"))
        self.assertNotEqual(sh("minisign", "-V", "-p", self.key.pub, "-m", m, check=False).returncode, 0)
        self.assert_refused("invalid", "does not verify")

    def test_unknown_key_is_invalid(self):
        stranger = Key(self.region.secret, "stranger")
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[stranger])
        self.assert_refused("invalid", "signed by key %s, which is not in the trust folder" % stranger.id)

    def test_revoked_key_is_revoked(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        self.region.revocations(3, keys=[self.key.id])
        self.assert_refused("revoked", "key release (%s) is revoked by the revocation list (serial 3)" % self.key.id)

    def test_key_out_of_scope_is_invalid(self):
        self.region.add_key("release", names=["lora", "vendor-*"])
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        self.assert_refused("invalid", "does not cover the so plugin \"testplug\"")
        # the kind counts too
        self.region.add_key("release", names=["testplug"], kinds=["lua"])
        self.assert_refused("invalid", "does not cover the so plugin \"testplug\"")

    def test_version_below_the_floor_is_revoked(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        self.region.revocations(4, plugins={"testplug": {"lowest_good_version": "0.0.2",
                                                         "reason": "corrupts the device registry"}})
        self.assert_refused("revoked", "version 0.0.1 is below the lowest good version 0.0.2: "
                            "corrupts the device registry")

    def test_host_range_excluding_the_daemon_is_incompatible(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), host=">= 0.6.0, < 0.7.0", signers=[self.key])
        self.assert_refused("incompatible", "needs mestys \">= 0.6.0, < 0.7.0\", this is 0.1.0")

    def test_other_arch_is_incompatible(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), arch="riscv64", signers=[self.key])
        self.assert_refused("incompatible", "built for architecture riscv64")

    def test_writable_folders_are_invalid(self):
        b = bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        os.chmod(b, 0o775)
        self.assert_refused("invalid", "unsafe permissions")
        os.chmod(b, 0o755)
        os.chmod(os.path.dirname(b), 0o757)  # a parent, writable by others
        self.assert_refused("invalid", os.path.dirname(b))
        os.chmod(os.path.dirname(b), 0o755)
        os.chmod(os.path.join(self.region.trust, "keys"), 0o777)  # the trust folder itself
        rc, out, _ = run_daemon_once(json.dumps(self.cfg([self.entry()])))
        self.assertEqual(rc, 2, out)
        self.assertIn("trust.dir", out)

    def test_refused_constructor_never_runs(self):
        mark = os.path.join(tempfile.mkdtemp(), "constructor-ran")
        os.environ["MESTYS_TEST_CTOR_FILE"] = mark
        self.addCleanup(os.environ.pop, "MESTYS_TEST_CTOR_FILE")
        ctor = os.path.join(TEST_PLUGINS, "ctor_writes.so")
        stranger = Key(self.region.secret, "stranger")
        bundle(self.plugdir, "ctor_writes", "1.0.0", {"ctor_writes.so": ctor}, signers=[stranger])
        self.assert_refused("invalid", "which is not in the trust folder", use="ctor_writes")
        self.assertFalse(os.path.exists(mark), "a refused plugin's constructor ran")
        # the same bundle signed by a trusted key loads, and its constructor does write: the check above could fail
        shutil.rmtree(os.path.join(self.plugdir, "ctor_writes"))
        bundle(self.plugdir, "ctor_writes", "1.0.0", {"ctor_writes.so": ctor}, signers=[self.key])
        self.run_town([self.entry("ctor_writes")])
        self.assertTrue(os.path.exists(mark))

    # --- the revocation list ---------------------------------------------------

    def test_rollback_is_refused_and_the_newer_list_kept(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        self.region.revocations(7)
        d = self.run_town()
        self.assertEqual(self.metric(d, "mestys_trust_revocation_serial"), 7)
        kept = os.path.join(d.dir, "state", "trust", "revocations.json")
        self.assertTrue(os.path.exists(kept) and os.path.exists(kept + ".minisig"))
        sh("minisign", "-V", "-p", self.region.root.pub, "-m", kept)
        d.stop()
        # an older list put in the trust folder (a rollback): refused, serial 7 stays in use
        self.region.revocations(6, keys=[])
        d.start()
        self.assertIn("rollback: serial 6 < 7", d.output())
        self.assertEqual(self.metric(d, "mestys_trust_revocation_serial"), 7)
        # a newer one is read at reload (SIGHUP) and kept
        self.region.revocations(8)
        d.send(signal.SIGHUP)
        eventually(lambda: self.assertEqual(self.metric(d, "mestys_trust_revocation_serial"), 8), timeout=10)
        with open(kept) as f:
            self.assertEqual(json.load(f)["serial"], 8)

    def test_reload_with_a_list_revoking_the_key_is_refused(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        d = self.run_town([self.entry(required=True)])
        self.region.revocations(9, keys=[self.key.id])
        status, _, body = d.request("POST", "/api/admin/reload", token="admin-token-0123456789")
        self.assertEqual(status, 400, body)
        self.assertIn(b"is revoked", body)
        _, health = d.json("/health")
        self.assertEqual(health["instances"][0]["state"], "running")  # all or nothing: untouched

    def test_expired_list_degrades_but_the_town_runs(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        self.region.revocations(5, expires="2020-01-01T00:00:00Z")
        d = self.run_town()
        _, health = d.json("/health")
        self.assertEqual(health["status"], "degraded")
        self.assertIn("revocation list (serial 5) expired at 2020-01-01T00:00:00Z", health["reasons"][0])
        self.assertEqual(health["instances"][0]["state"], "running")
        self.assertEqual(self.metric(d, "mestys_trust_revocations_expired"), 1)
        self.assertLess(self.metric(d, "mestys_trust_revocation_expires_seconds"), 0)

    def test_list_signed_by_another_key_stops_the_start(self):
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        path = self.region.revocations(2)
        self.key.sign(path)  # not the root key
        rc, out, _ = run_daemon_once(json.dumps(self.cfg([self.entry()])))
        self.assertEqual(rc, 2, out)
        self.assertIn("not by the root key %s" % self.region.root.id, out)

    # --- key rotation ------------------------------------------------------------

    def test_key_rotation(self):
        new = self.region.add_key("release-2027")
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key, new])
        for name in ("release", "release-2027"):  # either key alone suffices
            os.rename(os.path.join(self.region.trust, "keys"), os.path.join(self.region.trust, "all"))
            os.mkdir(os.path.join(self.region.trust, "keys"))
            for ext in (".pub", ".scope"):
                shutil.copy(os.path.join(self.region.trust, "all", name + ext),
                            os.path.join(self.region.trust, "keys", name + ext))
            d = self.run_town()
            _, health = d.json("/health")
            self.assertEqual(health["instances"][0]["trust_reason"],
                             "signed by key %s (%s)" % (name, self.region.keys[name].id))
            d.stop()
            shutil.rmtree(os.path.join(self.region.trust, "keys"))
            os.rename(os.path.join(self.region.trust, "all"), os.path.join(self.region.trust, "keys"))
        # the old key revoked: only the new signature counts
        self.region.revocations(10, keys=[self.key.id])
        d = self.run_town()
        _, health = d.json("/health")
        self.assertEqual(health["instances"][0]["trust_reason"], "signed by key release-2027 (%s)" % new.id)
        d.stop()
        # a bundle signed by the old key alone is refused
        shutil.rmtree(os.path.join(self.plugdir, "testplug"))
        bundle(self.plugdir, "testplug", "0.0.1", so_files(), signers=[self.key])
        self.assert_refused("revoked", "key release (%s) is revoked" % self.key.id)

    # --- Lua -----------------------------------------------------------------------

    BOARD = (b'local fmt = require("board.fmt")\n'
             b'local plugin = { name = "board", version = "1.0.0", publishes = { "board/note" } }\n'
             b'function plugin.init() mestys.route("GET", "hello", "public", function() '
             b'return 200, { text = fmt.hello() } end) end\nreturn plugin\n')
    FMT = b'return { hello = function() return "hello from a verified module" end }\n'

    def test_lua_bundle_signed_and_loaded(self):
        b = bundle(self.plugdir, "board", "1.0.0", {"board.lua": self.BOARD, "lua/board/fmt.lua": self.FMT},
                   kind="lua", signers=[self.key])
        d = self.run_town([self.entry("board")])
        _, health = d.json("/health")
        self.assertEqual((health["instances"][0]["state"], health["instances"][0]["trust"]), ("running", "signed"))
        status, answer = d.json("/api/board/hello")
        self.assertEqual((status, answer), (200, {"text": "hello from a verified module"}))
        d.stop()
        # a module changed after signing: the bundle is refused
        with open(os.path.join(b, "lua", "board", "fmt.lua"), "ab") as f:
            f.write(b"-- appended\n")
        self.assert_refused("modified", "lua/board/fmt.lua", use="board")

    def test_unsigned_lua_only_by_name(self):
        with open(os.path.join(self.plugdir, "board.lua"), "wb") as f:
            f.write(self.BOARD.replace(b'local fmt = require("board.fmt")\n',
                                       b'local fmt = { hello = function() return "unsigned" end }\n'))
        self.assert_refused("unsigned", "trust.allow_unsigned", use="board")
        d = self.run_town([self.entry("board")], allow_unsigned=["board"])
        _, health = d.json("/health")
        self.assertEqual(health["instances"][0]["trust"], "unsigned")
        self.assertIn("allowed by trust.allow_unsigned", health["instances"][0]["trust_reason"])
        # a .so is never loaded on a name's say-so
        rc, out, _ = run_daemon_once(json.dumps(self.cfg([self.entry(required=True)], allow_unsigned=["testplug"])))
        self.assertEqual(rc, 2, out)
        self.assertIn('unsigned (a single file, no bundle) and trust.require is "signed"', out)
        rc, out, _ = run_daemon_once(json.dumps(self.cfg([self.entry()], require="any", allow_unsigned=["testplug"])))
        self.assertEqual(rc, 2, out)
        self.assertIn('trust.allow_unsigned: "testplug" is a .so plugin: only Lua plugins may be loaded unsigned', out)


if __name__ == "__main__":
    main()

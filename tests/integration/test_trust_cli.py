"""`mestys trust status` and `mestys trust update FILE`: the region's
revocation list installed as the daemon accepts it, with real keys from
`minisign -G -W` and lists signed by `minisign -S` in the test.  An older
list is refused (rollback), an equal serial with other bytes too, a newer
one installed, an expired one shown; `minisign -V` and `cmp` check the kept
copy.  The folders live under the build folder: a trust folder under /tmp
is refused by the permission walk (/tmp is writable by others)."""
import filecmp
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, MESTYS, SANITIZER_MARKS, main


def sh(*args, cwd=None):
    p = subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=60)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr


def key_id(pub):
    """the id minisign prints in a .pub's first line ("%lX": leading zeros dropped), as 16 digits"""
    with open(pub) as f:
        return f.readline().split()[-1].rjust(16, "0")


class TrustCli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="trust-cli-", dir=BUILD)
        os.chmod(self.dir, 0o755)
        self.trust = os.path.join(self.dir, "trust")
        os.makedirs(os.path.join(self.trust, "keys"), mode=0o755)
        self.keys = os.path.join(self.dir, "secret")
        os.makedirs(self.keys, mode=0o700)
        for pub, sec in (("trust/root.pub", "secret/root.key"), ("trust/keys/vendor.pub", "secret/vendor.key"),
                         ("trust/keys/unscoped.pub", "secret/unscoped.key")):
            rc, out, err = sh("minisign", "-G", "-W", "-p", pub, "-s", sec, cwd=self.dir)
            self.assertEqual(rc, 0, err)
        with open(os.path.join(self.trust, "keys", "vendor.scope"), "w") as f:
            f.write('{"names":["lora","vendor-*"],"kinds":["so","lua"]}\n')
        self.config = os.path.join(self.dir, "mestys.json")
        with open(self.config, "w") as f:
            f.write('{\n  // the town\'s config: only these sections matter here\n'
                    '  "node": { "name": "lhota", "state_dir": "state" },\n'
                    '  "trust": { "dir": "trust" }\n}\n')
        self.state_copy = os.path.join(self.dir, "state", "trust", "revocations.json")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def revlist(self, name, serial, expires="2099-01-31T00:00:00Z", reason="corrupts the device registry",
                signer="root", revoked=()):
        body = {"format": 1, "serial": serial, "expires": expires, "revoked_keys": list(revoked),
                "plugins": {"lora": {"lowest_good_version": "1.2.0", "reason": reason}}}
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(json.dumps(body, sort_keys=True) + "\n")
        rc, out, err = sh("minisign", "-S", "-s", "secret/%s.key" % signer, "-m", name, cwd=self.dir)
        self.assertEqual(rc, 0, err)
        return path

    def trust_cmd(self, *args):
        return sh(MESTYS, "trust", *args, "-c", self.config)

    def test_status_without_a_list(self):
        rc, out, err = self.trust_cmd("status")
        self.assertEqual(rc, 0, err)
        self.assertIn("  vendor         %s  scope {\"names\":[\"lora\",\"vendor-*\"]" %
                      key_id(os.path.join(self.trust, "keys", "vendor.pub")), out)
        self.assertIn("  unscoped       %s  no scope file: covers nothing" %
                      key_id(os.path.join(self.trust, "keys", "unscoped.pub")), out)
        self.assertIn("revocation list no revocation list\n", out)
        self.assertRegex(out, r"problems:\n  key unscoped \(%s\) has no unscoped.scope file" %
                         key_id(os.path.join(self.trust, "keys", "unscoped.pub")))

    def test_update_rollback_equal_newer_expired(self):
        seven = self.revlist("rev7.json", 7)
        rc, out, err = self.trust_cmd("update", seven)
        self.assertEqual(rc, 0, err)
        self.assertIn("revocation list serial 7 installed (no list before), expires 2099-01-31T00:00:00Z", out)
        # the kept copy is the signed bytes, and minisign itself verifies it with root.pub
        self.assertTrue(filecmp.cmp(seven, self.state_copy, shallow=False))
        rc, out, err = sh("minisign", "-V", "-p", os.path.join(self.trust, "root.pub"), "-m", self.state_copy)
        self.assertEqual(rc, 0, err)
        rc, out, err = self.trust_cmd("status")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"revocation list serial 7, expires 2099-01-31T00:00:00Z \(in \d+ d \d+ h, \d+ s\)")
        self.assertIn("  lora           below 1.2.0 revoked: corrupts the device registry", out)

        # older: rollback, nothing changes
        six = self.revlist("rev6.json", 6)
        rc, out, err = self.trust_cmd("update", six)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "mestys trust update: %s refused: rollback: serial 6 < 7\n" % six)
        self.assertTrue(filecmp.cmp(seven, self.state_copy, shallow=False))

        # the same serial with other bytes: refused; the very same bytes: nothing to do
        other = self.revlist("rev7b.json", 7, reason="breaks the registry")
        rc, out, err = self.trust_cmd("update", other)
        self.assertEqual(rc, 1)
        self.assertIn("refused: serial 7 is the accepted list's, with other bytes", err)
        self.assertTrue(filecmp.cmp(seven, self.state_copy, shallow=False))
        rc, out, err = self.trust_cmd("update", seven)
        self.assertEqual(rc, 0, err)
        self.assertIn("serial 7 is the list in use already (same bytes): nothing to do", out)

        # signed by a release key, not the root: refused
        forged = self.revlist("rev9.json", 9, signer="vendor")
        rc, out, err = self.trust_cmd("update", forged)
        self.assertEqual(rc, 1)
        self.assertIn("rev9.json refused: ", err)
        self.assertTrue(filecmp.cmp(seven, self.state_copy, shallow=False))

        # newer: installed; it revokes the vendor's key
        vendor = key_id(os.path.join(self.trust, "keys", "vendor.pub"))
        eight = self.revlist("rev8.json", 8, reason="fixed in 1.2.0", revoked=[vendor])
        rc, out, err = self.trust_cmd("update", eight)
        self.assertEqual(rc, 0, err)
        self.assertIn("revocation list serial 8 installed (was serial 7)", out)
        self.assertIn("reload mestysd to use it", out)
        self.assertTrue(filecmp.cmp(eight, self.state_copy, shallow=False))
        rc, out, err = self.trust_cmd("status")
        self.assertIn("revocation list serial 8, expires", out)
        self.assertIn("revoked: fixed in 1.2.0", out)
        self.assertIn("  vendor         %s REVOKED  scope" % vendor, out)
        # and the older one is now a rollback too
        rc, out, err = self.trust_cmd("update", seven)
        self.assertEqual(rc, 1)
        self.assertIn("rollback: serial 7 < 8", err)

        # newer but expired: kept (the town keeps running), shown as expired
        old = self.revlist("rev10.json", 10, expires="2020-01-31T00:00:00Z")
        rc, out, err = self.trust_cmd("update", old)
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: this list expired at 2020-01-31T00:00:00Z already", out)
        rc, out, err = self.trust_cmd("status")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"revocation list serial 10, EXPIRED at 2020-01-31T00:00:00Z \(\d+ d \d+ h ago\): still used")

    def test_usage_and_config_errors(self):
        rc, out, err = sh(MESTYS, "trust")
        self.assertEqual(rc, 2)
        self.assertIn("usage: mestys trust status", err)
        rc, out, err = self.trust_cmd("update")
        self.assertEqual(rc, 2)
        self.assertIn("usage: mestys trust update FILE", err)
        rc, out, err = self.trust_cmd("update", os.path.join(self.dir, "missing.json"))
        self.assertEqual(rc, 1)
        self.assertIn("refused: no such file", err)
        with open(self.config, "w") as f:
            f.write('{"trust": {"require": "maybe"}}')
        rc, out, err = self.trust_cmd("status")
        self.assertEqual(rc, 2)
        self.assertIn("trust.require", err)

    def test_unsafe_trust_folder_is_refused(self):
        os.chmod(self.trust, 0o775)
        rc, out, err = self.trust_cmd("status")
        self.assertEqual(rc, 2)
        self.assertIn("error: trust.dir: unsafe folder %s: writable by its group (mode 0775)" %
                      os.path.realpath(self.trust), err)

    def test_config_named_relative_to_the_current_folder(self):
        self.revlist("rev3.json", 3)
        p = subprocess.run([MESTYS, "trust", "update", "rev3.json", "-c", "mestys.json"], capture_output=True,
                           text=True, cwd=self.dir, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(filecmp.cmp(os.path.join(self.dir, "rev3.json"), self.state_copy, shallow=False))
        p = subprocess.run([MESTYS, "trust", "status"], capture_output=True, text=True, cwd=self.dir, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("revocation list serial 3, expires 2099-01-31T00:00:00Z", p.stdout)


if __name__ == "__main__":
    main()

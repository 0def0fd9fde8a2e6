"""`mestys bundle pack|verify|list|deb` against independent tools: `cmp` for
reproducible manifests, `sha256sum -c` built from the manifest, `minisign
-S`/`-V` for signatures, `dpkg-deb -I`/`-c` for the package and `dpkg
--compare-versions` for the Depends the host range becomes."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, MESTYS, main

HEARTBEAT_SO = os.path.join(BUILD, "plugins", "heartbeat.so")
RANGE = ">= 0.1.0, < 0.2.0"


def run(*args, cwd=None, env=None, check=False):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=120,
                       env=dict(os.environ, **(env or {})))
    if check and p.returncode != 0:
        raise AssertionError("%s: rc %d\n%s%s" % (args, p.returncode, p.stdout, p.stderr))
    return p.returncode, p.stdout, p.stderr


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(path, mode)


class Bundle(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mestys-bundle-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def so_bundle(self, root=None, version="1.0.0"):
        """heartbeat NAME/VERSION/ with the real .so, a doc and a Lua-free layout."""
        d = os.path.join(root or self.tmp, "plugins", "heartbeat", version)
        os.makedirs(os.path.join(d, "doc"))
        shutil.copy(HEARTBEAT_SO, os.path.join(d, "heartbeat.so"))
        write(os.path.join(d, "doc", "README.md"), "# heartbeat\n")
        return d

    def lua_bundle(self, name="parking", version="0.3.0", host="0"):
        d = os.path.join(self.tmp, "lua", name, version)
        write(os.path.join(d, name + ".lua"), "return { name = '%s', version = '%s' }\n" % (name, version))
        write(os.path.join(d, "lua", "decode.lua"), "return function(x) return x end\n")
        run(MESTYS, "bundle", "pack", d, "--host", host, check=True)
        return d

    def manifest(self, d):
        with open(os.path.join(d, "manifest.json"), "rb") as f:
            return f.read()

    # --- pack ----------------------------------------------------------------

    def test_pack_twice_and_a_copy_with_new_mtimes_give_the_same_bytes(self):
        d = self.so_bundle()
        rc, out, err = run(MESTYS, "bundle", "pack", d, "--host", RANGE)
        self.assertEqual(rc, 0, err)
        self.assertIn("heartbeat 1.0.0 (so, amd64, host \"%s\"), 2 file(s)" % RANGE, out)
        first = os.path.join(self.tmp, "first.json")
        shutil.copy(os.path.join(d, "manifest.json"), first)
        _, out, _ = run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        self.assertIn("2 file(s), unchanged", out)
        self.assertEqual(subprocess.run(["cmp", first, os.path.join(d, "manifest.json")]).returncode, 0)
        # the same files made in another order, other modes and mtimes, in another place
        other = os.path.join(self.tmp, "copy", "heartbeat", "1.0.0")
        write(os.path.join(other, "doc", "README.md"), "# heartbeat\n", 0o600)
        shutil.copyfile(HEARTBEAT_SO, os.path.join(other, "heartbeat.so"))
        os.utime(os.path.join(other, "heartbeat.so"), (1, 1))
        os.utime(os.path.join(other, "doc", "README.md"), (2000000000, 2000000000))
        run(MESTYS, "bundle", "pack", other, "--host", RANGE, check=True)
        self.assertEqual(subprocess.run(["cmp", first, os.path.join(other, "manifest.json")]).returncode, 0)
        text = self.manifest(d).decode()
        self.assertTrue(text.endswith("}\n") and not text.endswith("\n\n"))
        self.assertEqual(text, json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n")
        m = json.loads(text)
        self.assertEqual(m["name"], "heartbeat")
        self.assertEqual(m["version"], "1.0.0")
        self.assertEqual(m["kind"], "so")
        self.assertEqual(m["host"], RANGE)
        self.assertEqual(m["abi"], 1)
        self.assertEqual(m["format"], 1)
        self.assertEqual(sorted(m["files"]), ["doc/README.md", "heartbeat.so"])

    def test_sha256sum_agrees_with_the_manifest(self):
        d = self.so_bundle()
        run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        files = json.loads(self.manifest(d))["files"]
        sums = "".join("%s  %s\n" % (h, p) for p, h in files.items())
        check = subprocess.run(["sha256sum", "-c", "--strict", "-"], input=sums, text=True, cwd=d,
                               capture_output=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout.count(": OK"), 2)
        # one flipped byte: sha256sum and `bundle verify` both see it, naming the same file
        with open(os.path.join(d, "heartbeat.so"), "r+b") as f:
            f.seek(100)
            b = f.read(1)
            f.seek(100)
            f.write(bytes([b[0] ^ 1]))
        check = subprocess.run(["sha256sum", "-c", "--quiet", "-"], input=sums, text=True, cwd=d,
                               capture_output=True)
        self.assertNotEqual(check.returncode, 0)
        self.assertIn("heartbeat.so: FAILED", check.stdout)
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertEqual(rc, 1)
        self.assertIn(": modified: heartbeat.so differs from the manifest (SHA-256 mismatch)", out)

    def test_pack_defaults_and_refusals(self):
        d = self.so_bundle()
        rc, _, err = run(MESTYS, "bundle", "pack", d)
        self.assertEqual(rc, 2)
        self.assertIn("say --host RANGE", err)
        rc, _, err = run(MESTYS, "bundle", "pack", d, "--host", ">= 0.1")
        self.assertEqual(rc, 1)
        self.assertIn('host: range ">= 0.1": clause 1: "0.1" is not a semantic version', err)
        rc, _, err = run(MESTYS, "bundle", "pack", d, "--host", RANGE, "--arch", "arm64")
        self.assertEqual(rc, 2)
        self.assertIn("--arch arm64, but heartbeat.so is built for amd64", err)
        # not NAME/VERSION/: name and version must be said
        flat = os.path.join(self.tmp, "flat")
        os.makedirs(flat)
        shutil.copy(HEARTBEAT_SO, os.path.join(flat, "heartbeat.so"))
        rc, _, err = run(MESTYS, "bundle", "pack", flat, "--host", RANGE)
        self.assertEqual(rc, 2)
        self.assertIn("say --version X.Y.Z", err)
        rc, out, err = run(MESTYS, "bundle", "pack", flat, "--host", RANGE, "--name", "heartbeat",
                           "--version", "2.0.0-rc.1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(self.manifest(flat))["version"], "2.0.0-rc.1")
        # both entry points: which one?
        write(os.path.join(d, "heartbeat.lua"), "return {}\n")
        rc, _, err = run(MESTYS, "bundle", "pack", d, "--host", RANGE)
        self.assertEqual(rc, 2)
        self.assertIn("both heartbeat.so and heartbeat.lua are there: say which with --kind so|lua", err)
        os.unlink(os.path.join(d, "heartbeat.lua"))
        # what a bundle cannot hold: a symlink, a FIFO, a name no manifest could list
        os.symlink("/etc/passwd", os.path.join(d, "doc", "passwd"))
        rc, _, err = run(MESTYS, "bundle", "pack", d, "--host", RANGE)
        self.assertEqual(rc, 1)
        self.assertIn("doc/passwd is a symbolic link: a bundle holds only regular files and folders", err)
        os.unlink(os.path.join(d, "doc", "passwd"))
        os.mkfifo(os.path.join(d, "fifo"))
        rc, _, err = run(MESTYS, "bundle", "pack", d, "--host", RANGE)
        self.assertIn("fifo is a FIFO", err)
        os.unlink(os.path.join(d, "fifo"))
        write(os.path.join(d, "doc", "read me.txt"), "x")
        rc, _, err = run(MESTYS, "bundle", "pack", d, "--host", RANGE)
        self.assertEqual(rc, 1)
        self.assertIn('"doc/read me.txt": a bundle\'s file names are', err)
        self.assertFalse(os.path.exists(os.path.join(d, "manifest.json")))

    def test_lua_bundle_is_arch_all(self):
        d = self.lua_bundle()
        m = json.loads(self.manifest(d))
        self.assertEqual((m["kind"], m["arch"], m["host"]), ("lua", "all", "0"))
        self.assertEqual(sorted(m["files"]), ["lua/decode.lua", "parking.lua"])

    # --- verify and list -------------------------------------------------------

    def test_minisign_signature_then_verify(self):
        d = self.so_bundle()
        run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertEqual(rc, 1)
        self.assertIn(": unsigned: no signature (manifest.json.minisig)", out)
        keys = os.path.join(self.tmp, "keys")
        os.makedirs(keys)
        run("minisign", "-G", "-W", "-p", os.path.join(keys, "release.pub"), "-s",
            os.path.join(keys, "release.key"), check=True)
        run("minisign", "-S", "-s", os.path.join(keys, "release.key"), "-m", os.path.join(d, "manifest.json"),
            check=True)
        rc, out, _ = run("minisign", "-V", "-p", os.path.join(keys, "release.pub"), "-m",
                         os.path.join(d, "manifest.json"))
        self.assertEqual(rc, 0, out)
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertEqual(rc, 0, out)
        self.assertIn(": signed: ", out)
        self.assertIn("  plugin     heartbeat 1.0.0 (so, amd64, abi 1)", out)
        # packed again with another range: the signature is for the old bytes, and pack says so
        _, out, _ = run(MESTYS, "bundle", "pack", d, "--host", ">= 0.1.0, < 0.3.0", check=True)
        self.assertIn("the signatures there (manifest.json.minisig) are for the old bytes: sign again", out)
        run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        # an edited manifest: minisign -V refuses it, and so does verify (its hashes no longer agree)
        m = self.manifest(d).replace(b'"version": "1.0.0"', b'"version": "1.0.1"')
        write(os.path.join(d, "manifest.json"), m)
        rc, _, _ = run("minisign", "-V", "-p", os.path.join(keys, "release.pub"), "-m",
                       os.path.join(d, "manifest.json"))
        self.assertNotEqual(rc, 0)
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertEqual(rc, 1)
        self.assertIn(": invalid: the manifest says heartbeat 1.0.1 but the folder is heartbeat/1.0.0/", out)

    def test_verify_says_why(self):
        d = self.so_bundle()
        run(MESTYS, "bundle", "pack", d, "--host", ">= 0.2.0", check=True)
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertEqual(rc, 1)
        self.assertIn(": incompatible: needs mestys >= 0.2.0: this one is 0.1.0", out)
        run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        write(os.path.join(d, "extra.txt"), "x")
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertIn(": modified: extra.txt is in the folder but not in the manifest", out)
        os.unlink(os.path.join(d, "extra.txt"))
        os.unlink(os.path.join(d, "doc", "README.md"))
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertIn(": modified: doc/README.md is listed in the manifest but missing", out)
        write(os.path.join(d, "manifest.json"), '{"format": 1}')
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertIn(': invalid: key "abi" is missing', out)
        os.unlink(os.path.join(d, "manifest.json"))
        rc, out, _ = run(MESTYS, "bundle", "verify", d)
        self.assertIn(": unsigned: no manifest.json", out)

    def test_list_names_the_candidate(self):
        for v in ("1.0.0", "1.10.0", "1.9.0"):
            d = self.so_bundle(version=v)
            run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        os.makedirs(os.path.join(self.tmp, "plugins", "heartbeat", "not-a-version"))
        rc, out, _ = run(MESTYS, "bundle", "list", os.path.join(self.tmp, "plugins"))
        lines = [l for l in out.splitlines() if l.startswith("  ")]
        self.assertEqual([l.split(":")[0].strip() for l in lines],
                         ["1.0.0", "1.10.0 (candidate)", "1.9.0"])
        self.assertTrue(all(": unsigned: no signature" in l for l in lines), out)
        self.assertEqual(rc, 1)  # the candidate would not load: unsigned

    # --- deb -------------------------------------------------------------------

    def test_deb_control_paths_and_reproducible_bytes(self):
        d = self.so_bundle()
        run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        write(os.path.join(d, "manifest.json.minisig"), "not checked by deb\n")
        outs = []
        for i in range(2):
            out = os.path.join(self.tmp, "deb%d" % i)
            os.makedirs(out)
            rc, text, err = run(MESTYS, "bundle", "deb", d, "--out", out, env={"SOURCE_DATE_EPOCH": "1700000000"})
            self.assertEqual(rc, 0, err)
            outs.append(os.path.join(out, "mestys-plugin-heartbeat_1.0.0-1_amd64.deb"))
            self.assertIn(outs[-1], text)
        self.assertEqual(subprocess.run(["cmp", outs[0], outs[1]]).returncode, 0)
        rc, info, _ = run("dpkg-deb", "-I", outs[0], check=True)
        for field in ("Package: mestys-plugin-heartbeat", "Version: 1.0.0-1", "Architecture: amd64",
                      "Depends: mestys (>= 0.1.0), mestys (<< 0.2.0)", "Section: misc", "Priority: optional",
                      "Maintainer: mestys region <region@mestys.invalid>", "Description: mestys plugin heartbeat"):
            self.assertIn(" " + field, info)
        rc, listing, _ = run("dpkg-deb", "-c", outs[0], check=True)
        files = sorted(l.split()[-1] for l in listing.splitlines() if l.startswith("-"))
        base = "./usr/lib/mestys/plugins/heartbeat/1.0.0/"
        self.assertEqual(files, [base + "doc/README.md", base + "heartbeat.so", base + "manifest.json",
                                 base + "manifest.json.minisig"])
        self.assertTrue(all(" root/root " in l for l in listing.splitlines()), listing)
        self.assertTrue(all(l.startswith("-rw-r--r--") or l.startswith("drwxr-xr-x")
                            for l in listing.splitlines()), listing)
        self.assertIn("2023-11-14 22:13", listing)  # SOURCE_DATE_EPOCH
        # the packaged bytes are the bundle's: unpack and verify
        root = os.path.join(self.tmp, "unpacked")
        run("dpkg-deb", "-x", outs[0], root, check=True)
        unpacked = os.path.join(root, base)
        self.assertEqual(self.manifest(unpacked), self.manifest(d))
        rc, out, _ = run(MESTYS, "bundle", "verify", unpacked)
        self.assertNotIn("modified", out)

    def test_deb_refuses_a_modified_bundle(self):
        d = self.so_bundle()
        run(MESTYS, "bundle", "pack", d, "--host", RANGE, check=True)
        write(os.path.join(d, "doc", "README.md"), "# changed\n")
        rc, _, err = run(MESTYS, "bundle", "deb", d, "--out", self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("doc/README.md differs from the manifest", err)
        self.assertEqual([f for f in os.listdir(self.tmp) if f.endswith(".deb")], [])

    def test_depends_agrees_with_the_range_under_dpkg(self):
        # for each range: the semver versions it holds (by the semver spec, worked out by hand) must be
        # exactly the Debian versions (VERSION-1, prerelease '-' as '~') that satisfy Depends
        versions = ["0.0.9", "0.1.0-rc.1", "0.1.0", "0.1.0+b1", "0.1.1", "0.2.0-rc.1", "0.2.0", "0.2.1", "0.3.0",
                    "1.0.0"]
        cases = {
            ">= 0.1.0, < 0.2.0": {"0.1.0", "0.1.0+b1", "0.1.1", "0.2.0-rc.1"},
            "> 0.1.0, <= 0.2.0": {"0.1.1", "0.2.0-rc.1", "0.2.0"},
            "== 0.2.0": {"0.2.0"},
            "0.2.0": {"0.2.0", "0.2.1", "0.3.0", "1.0.0"},
            "0": set(versions),
            ">= 0.1.0-rc.1, < 0.2.0-rc.1": {"0.1.0-rc.1", "0.1.0", "0.1.0+b1", "0.1.1"},
        }
        for i, (host, holds) in enumerate(cases.items()):
            d = self.lua_bundle(name="r%d" % i, host=host)
            rc, out, err = run(MESTYS, "bundle", "deb", d, "--out", self.tmp)
            self.assertEqual(rc, 0, err)
            deb = os.path.join(self.tmp, "mestys-plugin-r%d_0.3.0-1_all.deb" % i)
            _, depends, _ = run("dpkg-deb", "-f", deb, "Depends", check=True)
            relations = [r.strip() for r in depends.strip().split(",")]
            for v in versions:
                debv = v.replace("-", "~", 1) + "-1"
                ok = True
                for r in relations:
                    self.assertTrue(r.startswith("mestys"), r)
                    if "(" in r:
                        op, bound = r[r.index("(") + 1:-1].split()
                        ok &= subprocess.run(["dpkg", "--compare-versions", debv, {"<<": "lt", "<=": "le", "=": "eq",
                                              ">=": "ge", ">>": "gt"}[op], bound]).returncode == 0
                self.assertEqual(ok, v in holds, "%s: %s (%s) against Depends: %s" % (host, v, debv, depends))
        # != has no Depends form: left out, with a note
        d = self.lua_bundle(name="ne", host=">= 0.1.0, != 0.1.5")
        rc, out, err = run(MESTYS, "bundle", "deb", d, "--out", self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertIn('note: "!= 0.1.5" has no Debian Depends form', err)
        self.assertIn("Depends: mestys (>= 0.1.0)\n", out)


if __name__ == "__main__":
    main()

"""The CLI: `mestys check` says exactly what the daemon says; `mestys
plugins` says what each file is or why it is not a plugin."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, MESTYS, MESTYSD, SOURCE, TEST_PLUGINS, config, free_port, main, run_daemon_once, testplug

ENV = dict(os.environ, MESTYS_PLUGIN_PATH=TEST_PLUGINS)


def but_a_busy_port(err):
    """stderr without the warning that the default port is held by a daemon running on this machine:
    it is about the machine, not the config under test."""
    return "".join(l for l in err.splitlines(True)
                   if not re.search(r"warning: node\.http\.listen: cannot bind \S+ now: Address already in use$", l))


def run(*args, cwd=None):
    p = subprocess.run(list(args), capture_output=True, text=True, env=ENV, cwd=cwd, timeout=60)
    return p.returncode, p.stdout, p.stderr


BAD = """{
  "node": { "name": "lhota", "htpp": {} },
  "plugins": [
    { "use": "testplug", "config": { "label": 5 } },
    { "use": "testplug", "config": { "label": "b" } },
    { "use": "lorawan-ns" }
  ],
  "trust": { "require": "any" }
}
"""


class Cli(unittest.TestCase):
    def test_check_matches_the_daemon(self):
        # core and plugin sections are checked in one run: every error at once
        rc, out, path = run_daemon_once(BAD)
        self.assertEqual(rc, 2)
        errors = [l for l in out.splitlines() if ": error: " in l]
        rc2, out2, err2 = run(MESTYS, "check", path)
        self.assertEqual(rc2, 2)
        self.assertEqual(errors, [l for l in err2.splitlines() if ": error: " in l])
        self.assertEqual(errors[:3], [
            path + ':2:30: error: node.htpp: unknown key "htpp"; valid keys: name, state_dir, log_level, plugin_path, http, lua',
            path + ":4:47: error: plugins[0].config.label: expected a string, got a number",
            path + ':5:5: error: plugins[1].name: duplicate instance name "testplug" (also plugins[0]); give each instance its own "name"',
        ])
        self.assertTrue(errors[3].startswith(
            path + ':6:14: error: plugins[2].use: cannot load plugin "lorawan-ns": no plugin "lorawan-ns" (lorawan-ns/VERSION/, .so or .lua) in: ' + TEST_PLUGINS))
        self.assertEqual(len(errors), 4)
        self.assertIn("4 error(s)", out)
        self.assertIn("4 error(s)", err2)

    def test_check_writes_numbers_as_people_do(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "mestys.json")
        cfg = config(free_port(), [{"use": "heartbeat", "config": {"interval_ms": 864000000000}}])
        cfg["node"]["lua"] = {"instructions": 1e11}
        with open(path, "w") as f:
            json.dump(cfg, f)
        rc, out, err = run(MESTYS, "check", path)
        self.assertEqual(rc, 2, err)
        self.assertIn("node.lua.instructions: value 100000000000 is out of range [1000, 10000000000]", err)
        self.assertIn("plugins[0].config.interval_ms: value 864000000000 is out of range [10, 86400000]", err)
        self.assertNotIn("e+", err)
        rc, out, _ = run(MESTYS, "config-keys")
        self.assertIn("[1000..10000000000]", out)
        self.assertNotIn("e+", out)

    def test_check_compiles_lora_decoders(self):
        # no plugin loads from here: a short path, so Lua's chunk names are not shortened with "..."
        d = tempfile.mkdtemp(prefix="mestys-dec-", dir="/tmp")
        os.mkdir(os.path.join(d, "decoders"))
        with open(os.path.join(d, "decoders", "broken.lua"), "w") as f:
            f.write("function decodeUplink(input)\n  return { data = { x = 1 }\nend\n")
        with open(os.path.join(d, "decoders", "good.lua"), "w") as f:
            f.write("function decodeUplink(input) return { data = {} } end\n")
        decoders = ["lua:decoders/missing.lua", "lua:decoders/broken.lua", "lua:decoders/good.lua",
                    "lua:decoders/temperature-humidity.lua", "cayenne", "lua:"]
        devices = [{"dev_eui": "00AA00000000000%d" % i, "dev_addr": "2600000%d" % i,
                    "nwk_skey": "1f0e3d2c5b4ad3689786b5a4d3c25be0", "app_skey": "3e2f1c0d7a6bf249b6a79485f2e37ac1",
                    "decoder": dec} for i, dec in enumerate(decoders)]
        cfg = config(free_port(), [{"use": "lora", "config": {"port": 0, "devices": devices}}])
        cfg["node"]["htpp"] = 1
        path = os.path.join(d, "mestys.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=1)
        rc, out, err = run(MESTYS, "check", path)
        self.assertEqual(rc, 2, err)
        errors = [l.split(": error: ", 1)[1] for l in err.splitlines() if ": error: " in l]
        self.assertEqual(errors, [
            'node.htpp: unknown key "htpp"; valid keys: name, state_dir, log_level, plugin_path, http, lua',
            "plugins[0].config.devices[0].decoder: script decoders/missing.lua: not found in the lua/ folder "
            "(%s/lua) or next to the config (%s)" % (BUILD, d),
            "plugins[0].config.devices[1].decoder: script decoders/broken.lua: %s/decoders/broken.lua:3: "
            "'}' expected (to close '{' at line 2) near 'end'" % d,
            'plugins[0].config.devices[5].decoder: "lua:" needs the script\'s file name, e.g. "lua:decoders/meter.lua"',
        ])
        rc, out, err2 = run(MESTYSD, "-c", path)  # the daemon refuses the same, before anything starts
        self.assertEqual(rc, 2, err2)
        self.assertEqual(errors, [l.split(": error: ", 1)[1] for l in err2.splitlines() if ": error: " in l])

    def test_check_reads_the_tls_files(self):
        d = tempfile.mkdtemp(prefix="mestys-tls-")
        for n in ("1", "2"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            os.path.join(d, "key%s.pem" % n), "-out", os.path.join(d, "cert%s.pem" % n),
                            "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
        os.mkdir(os.path.join(d, "folder.pem"))
        path = os.path.join(d, "mestys.json")
        p = lambda name: os.path.join(d, name)
        cases = [
            ("cert1.pem", "key2.pem", "node.http.tls_key: the private key %s does not belong to the certificate %s"
             % (p("key2.pem"), p("cert1.pem"))),
            ("missing.pem", "key1.pem", "node.http.tls_cert: cannot read the certificate %s: No such file or directory"
             % p("missing.pem")),
            ("cert1.pem", "missing.pem", "node.http.tls_key: cannot read the private key %s: No such file or directory"
             % p("missing.pem")),
            ("folder.pem", "key1.pem", "node.http.tls_cert: %s holds no PEM certificate" % p("folder.pem")),
            ("key1.pem", "key1.pem", "node.http.tls_cert: %s holds no PEM certificate" % p("key1.pem")),
            ("cert1.pem", "cert1.pem", "node.http.tls_key: %s holds no PEM private key" % p("cert1.pem")),
        ]
        for cert, key, why in cases:
            cfg = config(free_port(), [testplug()])
            cfg["node"]["http"].update({"tls_cert": cert, "tls_key": key})
            with open(path, "w") as f:
                json.dump(cfg, f)
            rc, out, err = run(MESTYS, "check", path)
            self.assertEqual(rc, 2, err)
            self.assertIn(why, err)
            self.assertIn("1 error(s)", err)
        cfg["node"]["http"].update({"tls_cert": "cert2.pem", "tls_key": "key2.pem"})
        with open(path, "w") as f:
            json.dump(cfg, f)
        rc, out, err = run(MESTYS, "check", path)
        self.assertEqual(rc, 0, err)

    def test_check_ok(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "mestys.json")
        with open(path, "w") as f:
            json.dump(config(free_port(), [testplug()]), f)
        rc, out, err = run(MESTYS, "check", path)
        self.assertEqual((rc, out.strip(), err), (0, path + ": OK (1 plugin instance(s))", ""))

    def test_example_town_config_is_valid(self):
        rc, out, err = run(MESTYS, "check", os.path.join(SOURCE, "examples", "town", "mestys.json"))
        self.assertEqual(rc, 0, err)

    def test_plugins_describes_and_refuses(self):
        # by default (trust.* defaults) an unsigned .so outside the daemon's folders is refused, dlopen never runs
        rc, out, err = run(MESTYS, "plugins", TEST_PLUGINS)
        self.assertEqual(rc, 1)
        self.assertIn(TEST_PLUGINS + "/testplug.so: not loadable: unsigned (a single file, no bundle) and "
                      "trust.require is \"signed\"", out)
        self.assertIn("  trust      unsigned\n", out)
        self.assertNotIn("undefined symbol", out)
        # under a config that allows unsigned plugins they are described, with their status
        d = tempfile.mkdtemp()
        cfg = os.path.join(d, "mestys.json")
        with open(cfg, "w") as f:
            json.dump(config(free_port(), []), f)
        rc, out, err = run(MESTYS, "plugins", "-c", cfg, TEST_PLUGINS)
        self.assertEqual(rc, 1)  # some files here are not loadable, on purpose
        self.assertIn("  trust      unsigned: unsigned (a single file, no bundle), allowed by trust.require \"any\"", out)
        self.assertIn("name       testplug 0.0.1 (shared object, plugin ABI 1)", out)
        self.assertIn("publishes  test/out, test/echo-events/#", out)
        self.assertRegex(out, r"label\s+a string\s+required  - a label")
        self.assertRegex(out, r"nested.flag\s+true or false\s+default false")
        self.assertIn("abi_mismatch.so: not loadable: built for plugin ABI 99, this mestysd speaks ABI 1", out)
        self.assertIn("wrong_size.so: not loadable: struct mst_plugin is 16 bytes", out)
        self.assertIn("not_plugin.so: not loadable: does not export the symbol \"mestys_plugin\"", out)
        self.assertIn("missing_symbol.so: not loadable:", out)
        self.assertIn("undefined symbol: mestys_function_that_does_not_exist", out)

    def test_plugins_describes_lua(self):
        lua = os.path.join(SOURCE, "examples", "town", "lua", "noticeboard.lua")
        town = os.path.join(SOURCE, "examples", "town", "mestys.json")
        rc, out, err = run(MESTYS, "plugins", "-c", town, lua)  # the town names it in trust.allow_unsigned
        self.assertEqual(rc, 0, out + err)
        self.assertIn("trust      unsigned: unsigned (a single file, no bundle), allowed by trust.allow_unsigned", out)
        self.assertIn("name       noticeboard 1.0.0 (Lua, plugin ABI 1)", out)
        self.assertRegex(out, r"max_notices\s+an integer\s+default 100")

    def test_new_plugin_refuses_bad_names(self):
        d = tempfile.mkdtemp()
        rc, out, err = run(MESTYS, "new-plugin", "../evil", cwd=d)
        self.assertEqual(rc, 2)
        self.assertIn("must be 1-64 of [A-Za-z0-9_-]", err)

    def test_every_core_key_is_documented(self):
        rc, out, err = run(MESTYS, "config-keys")
        self.assertEqual(rc, 0)
        with open(os.path.join(SOURCE, "docs", "config.md")) as f:
            doc = f.read()
        keys = [line.split()[0] for line in out.splitlines() if line.strip()]
        self.assertIn("node.http.body_limit", keys)
        leaves = [k for k in keys if not any(o.startswith(k + ".") or o.startswith(k + "[]") for o in keys)]
        missing = [k for k in leaves if "`%s`" % k not in doc]
        self.assertEqual(missing, [], "keys missing from docs/config.md")

    def test_every_source_file_is_in_the_architecture(self):
        """docs/architecture.md names every .c file of core/, sdk/ and plugins/."""
        with open(os.path.join(SOURCE, "docs", "architecture.md")) as f:
            doc = f.read()
        missing = []
        for top in ("core", "sdk", "plugins"):
            for folder, _, files in os.walk(os.path.join(SOURCE, top)):
                if "template" in folder:
                    continue  # the plugin template is a template, not a part
                for name in files:
                    if not name.endswith(".c"):
                        continue
                    rel = os.path.relpath(os.path.join(folder, name), os.path.join(SOURCE, top))
                    if "`%s`" % rel not in doc and "`%s`" % name not in doc and rel not in doc:
                        missing.append(os.path.join(top, rel))
        self.assertEqual(missing, [], "source files missing from docs/architecture.md")

    def test_every_plugin_key_is_documented(self):
        """docs/plugins/<name>.md names every config key of <name> (its leaves)."""
        rc, out, err = run(MESTYS, "plugins", os.path.join(BUILD, "plugins"))
        self.assertEqual(rc, 0, err)
        plugins, name, in_keys = {}, None, False
        for line in out.splitlines():
            words = line.split()
            if not words:
                continue
            if words[0] == "name":
                name, in_keys = words[1], False
                plugins[name] = []
            elif words[0] == "config" and words[1:2] == ["keys:"]:
                in_keys = True
            elif in_keys and line.startswith("    "):
                plugins[name].append(words[0])
        self.assertIn("opendata", plugins)
        for name, keys in plugins.items():
            with open(os.path.join(SOURCE, "docs", "plugins", name + ".md")) as f:
                doc = f.read()
            leaves = [k for k in keys if not any(o.startswith(k + ".") or o.startswith(k + "[]") for o in keys)]
            missing = [k for k in leaves if "`%s`" % k not in doc and "`%s`" % k.split(".")[-1] not in doc]
            self.assertEqual(missing, [], "keys missing from docs/plugins/%s.md" % name)

    def test_usage(self):
        rc, out, err = run(MESTYS)
        self.assertEqual(rc, 2)
        self.assertIn("mestys check FILE", err)

    def test_version_both_ways(self):
        for prog, args in ((MESTYS, ["--version"]), (MESTYS, ["-V"]), (MESTYS, ["version"]),
                           (MESTYSD, ["--version"]), (MESTYSD, ["-V"])):
            rc, out, err = run(prog, *args)
            self.assertEqual((rc, err), (0, ""), (prog, args))
            self.assertRegex(out, r"^mestysd? \d+\.\d+\.\d+ \(plugin ABI 1\)\n$")

    def test_daemon_help_names_signals_and_files(self):
        rc, out, err = run(MESTYSD, "--help")
        self.assertEqual((rc, err), (0, ""))
        for text in ("SIGINT, SIGTERM    stop", "SIGHUP             reload the config, all or nothing",
                     "-c, --config FILE", "node.state_dir", ".lock", "node.plugin_path",
                     "MESTYS_PLUGIN_PATH", "mestys.json(5)", "exit status: 0 stopped cleanly, 1 start-up failed, 2"):
            self.assertIn(text, out)
        # the folders this build really searches, not a guess
        self.assertIn("  Lua modules        %s/lua " % BUILD, out)
        self.assertIn("                     %s/plugins\n" % BUILD, out)
        rc, out, err = run(MESTYS, "--help")
        self.assertEqual(rc, 0)
        self.assertIn("mestys version, mestys --version", out)


MAN_PAGES = ("mestys.1", "mestys.json.5", "mestysd.8")


class Packaging(unittest.TestCase):
    """What an operator installs: man pages, the systemd unit, an example config."""

    def test_man_pages_render_without_warnings(self):
        for page in MAN_PAGES:
            path = os.path.join(SOURCE, "docs", "man", page)
            p = subprocess.run(["groff", "-ww", "-man", "-z", path], capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)
            p = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)
            self.assertIn(page.split(".")[0].upper(), p.stdout)
        with open(os.path.join(SOURCE, "docs", "man", "mestysd.8")) as f:
            daemon = f.read()
        for text in ("SIGINT", "SIGTERM", "SIGHUP", "state_dir/.lock", "MESTYS_PLUGIN_PATH", "journalctl"):
            self.assertIn(text, daemon)

    def test_every_core_key_is_in_the_config_man_page(self):
        rc, out, err = run(MESTYS, "config-keys")
        keys = [line.split()[0] for line in out.splitlines() if line.strip()]
        leaves = [k for k in keys if not any(o.startswith(k + ".") or o.startswith(k + "[]") for o in keys)]
        with open(os.path.join(SOURCE, "docs", "man", "mestys.json.5")) as f:
            page = f.read().splitlines()
        self.assertEqual([k for k in leaves if ".B " + k not in page], [], "keys missing from mestys.json.5")

    def test_install_gives_man_pages_unit_and_example_config(self):
        prefix = tempfile.mkdtemp(prefix="mestys-install-")
        p = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        for rel in ("share/man/man1/mestys.1", "share/man/man5/mestys.json.5", "share/man/man8/mestysd.8",
                    "lib/systemd/system/mestysd.service", "lib/sysusers.d/mestys.conf",
                    "share/mestys/mestys.json.example",
                    # the pages, and the libraries copied from npm with their licences
                    "share/mestys/www/web/index.html", "share/mestys/www/web/lib/app.js",
                    "share/mestys/www/web/vendor/leaflet/leaflet-src.esm.js",
                    "share/mestys/www/web/vendor/leaflet/LICENSE.txt",
                    "share/mestys/www/web/vendor/uplot/uPlot.esm.js", "share/mestys/www/web/vendor/uplot/LICENSE.txt"):
            self.assertTrue(os.path.isfile(os.path.join(prefix, rel)), rel)
        # the example, checked by the installed mestys against the installed plugins:
        # only the tokens the operator must fill in are wrong
        example = os.path.join(prefix, "share", "mestys", "mestys.json.example")
        installed = os.path.join(prefix, "bin", "mestys")
        env = {k: v for k, v in os.environ.items() if k != "MESTYS_PLUGIN_PATH"}
        p = subprocess.run([installed, "check", example], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual([l.split(": error: ", 1)[1] for l in p.stderr.splitlines() if ": error: " in l], [
            "tokens[0].token: length 0 is out of range [16, 512]",
            "tokens[1].token: length 0 is out of range [16, 512]"])
        with open(example) as f:
            text = f.read()
        self.assertIn('"state_dir": "/var/lib/mestys"', text)
        filled = os.path.join(prefix, "mestys.json")
        with open(filled, "w") as f:
            f.write(text.replace('"token": ""', '"token": "%s"' % os.urandom(12).hex(), 1)
                    .replace('"token": ""', '"token": "%s"' % os.urandom(12).hex(), 1))
        p = subprocess.run([installed, "check", filled], capture_output=True, text=True, env=env)
        self.assertEqual((p.returncode, but_a_busy_port(p.stderr)), (0, ""))
        self.assertIn("OK (4 plugin instance(s)" + (", with warnings)" if p.stderr else ")"), p.stdout)
        # the unit as systemd reads it, pointed at this prefix's binaries
        with open(os.path.join(prefix, "lib", "systemd", "system", "mestysd.service")) as f:
            unit = f.read()
        for line in ("User=mestys", "StateDirectory=mestys", "ConfigurationDirectory=mestys",
                     "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ReadWritePaths=/var/lib/mestys", "PrivateTmp=yes", "RestartPreventExitStatus=2"):
            self.assertIn("\n" + line + "\n", unit)
        self.assertRegex(unit, r"\nExecStart=/\S+/mestysd -c /etc/mestys/mestys.json\n")
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        unit_dir = tempfile.mkdtemp(prefix="mestys-unit-")
        with open(os.path.join(unit_dir, "mestysd.service"), "w") as f:
            f.write(re.sub(r"ExecStart=\S+/mestysd", "ExecStart=%s/bin/mestysd" % prefix, unit))
        p = subprocess.run(["systemd-analyze", "verify", os.path.join(unit_dir, "mestysd.service")],
                           capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=os.path.join(prefix, "share", "man")))
        self.assertEqual((p.returncode, p.stderr), (0, ""))


if __name__ == "__main__":
    main()

"""Start, fail, stop: exit codes and messages a town's IT person sees."""
import json
import os
import signal
import socket
import subprocess
import time
import unittest

from harness import MESTYSD, OPERATOR, SOURCE, TEST_PLUGINS, Daemon, config, free_port, main, run_daemon_once, testplug


class Lifecycle(unittest.TestCase):
    def test_required_init_failure_stops_the_daemon(self):
        rc, out, _ = run_daemon_once(json.dumps(config(free_port(), [testplug(), {"use": "init_fail"}])))
        self.assertEqual(rc, 1, out)
        self.assertIn("[init_fail:init_fail] cannot reach the charging backend", out)
        self.assertIn("[init_fail:init_fail] init failed: input/output error (MST_EIO)", out)
        self.assertIn("start-up failed; stopping what was started", out)
        self.assertIn("[testplug:testplug] stopping", out)
        self.assertNotIn("fini called after a failed init", out)  # docs/sdk.md promises it

    def test_optional_init_failure_is_skipped(self):
        d = Daemon(config(free_port(), [testplug(), {"use": "init_fail", "required": False}])).start()
        status, health = d.json("/health")
        self.assertEqual(health["status"], "degraded")
        failed = health["instances"][1]
        self.assertEqual((failed["name"], failed["state"], failed["required"]), ("init_fail", "failed", False))
        self.assertIn("MST_EIO", failed["error"])
        d.stop()

    def test_abi_mismatch_names_file_and_abis(self):
        rc, out, path = run_daemon_once(json.dumps(config(free_port(), [{"use": "abi_mismatch"}])))
        self.assertEqual(rc, 2, out)
        self.assertIn('plugins[0].use: cannot load plugin "abi_mismatch": %s/abi_mismatch.so: '
                      'built for plugin ABI 99, this mestysd speaks ABI 1' % TEST_PLUGINS, out)
        self.assertIn("nothing was started", out)

    def test_not_a_plugin_and_missing_symbol(self):
        for use, why in (("not_a_library", "not_a_library.so"),
                         ("missing_symbol", "undefined symbol: mestys_function_that_does_not_exist"),
                         ("not_plugin", 'does not export the symbol "mestys_plugin"')):
            rc, out, _ = run_daemon_once(json.dumps(config(free_port(), [{"use": use}])))
            self.assertEqual(rc, 2, out)
            self.assertIn(why, out)

    def test_signals_stop_in_reverse_order(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            d = Daemon(config(free_port(), [testplug(), {"use": "heartbeat"}])).start()
            out = d.stop(sig)
            self.assertLess(out.index("[heartbeat:heartbeat] stopping"), out.index("[testplug:testplug] stopping"))
            self.assertIn("[core] stopped", out)
            self.assertNotIn("open handles", out)

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            rc, out, _ = run_daemon_once(json.dumps(config(port, [testplug()])))
        self.assertEqual(rc, 1, out)
        self.assertIn("cannot listen on 127.0.0.1:%d" % port, out)

    def test_udp_port_in_use_says_so(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            udp = s.getsockname()[1]
            lora = {"use": "lora", "config": {"listen": "127.0.0.1", "port": udp, "devices": []}}
            rc, out, _ = run_daemon_once(json.dumps(config(free_port(), [lora])))
        self.assertEqual(rc, 1, out)
        self.assertIn("[lora:lora] cannot listen on UDP 127.0.0.1:%d: Address already in use\n" % udp, out)
        self.assertIn("[lora:lora] start failed: address already in use (MST_EADDRINUSE)", out)
        self.assertNotIn("declared topics", out)

    def test_state_folder_that_cannot_be_created_says_why(self):
        d = Daemon(None, text="")
        blocker = os.path.join(d.dir, "not-a-folder")
        with open(blocker, "w") as f:
            f.write("a file where the state folder should go\n")
        cases = [(os.path.join(blocker, "state"), "Not a directory"), (blocker, "Not a directory")]
        if os.geteuid() != 0:  # root may write anywhere
            locked = os.path.join(d.dir, "locked")
            os.mkdir(locked, 0o500)
            cases.append((os.path.join(locked, "state"), "Permission denied"))
        for state_dir, why in cases:
            cfg = config(free_port(), [testplug()])
            cfg["node"]["state_dir"] = state_dir
            rc, out, _ = run_daemon_once(json.dumps(cfg))
            self.assertEqual(rc, 1, out)
            self.assertIn("ERROR [core] cannot create state folder %s: %s\n" % (state_dir, why), out)
            self.assertNotIn("declared topics", out)
            self.assertNotIn("input/output error", out)

    def test_instance_state_folder_that_cannot_be_created_says_why(self):
        d = Daemon(None, text="")
        os.makedirs(os.path.join(d.dir, "state"))
        with open(os.path.join(d.dir, "state", "lora"), "w") as f:
            f.write("a file where lora's folder should go\n")
        cfg = config(free_port(), [{"use": "lora", "config": {"listen": "127.0.0.1", "port": 0, "devices": []}}])
        cfg["node"]["state_dir"] = os.path.join(d.dir, "state")
        rc, out, _ = run_daemon_once(json.dumps(cfg))
        self.assertEqual(rc, 1, out)
        self.assertIn("[lora:lora] cannot create state folder %s/state/lora: Not a directory\n" % d.dir, out)

    def test_file_that_cannot_be_read_says_why(self):
        d = Daemon(None, text="")
        folder = os.path.join(d.dir, "board.lua")  # a folder where a file should be
        os.mkdir(folder)
        rc, out, path = run_daemon_once(json.dumps(config(free_port(), [{"use": folder}])))
        self.assertEqual(rc, 2, out)
        self.assertIn('cannot load plugin "%s": %s: cannot read %s: Is a directory\n' % (folder, folder, folder), out)
        env = dict(os.environ, MESTYS_PLUGIN_PATH=TEST_PLUGINS)
        p = subprocess.run([MESTYSD, "-c", d.dir], capture_output=True, text=True, env=env, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s: error: cannot read the config file: Is a directory\n" % d.dir, p.stderr)
        self.assertNotIn("Input/output error", p.stderr)

    def test_database_that_cannot_be_opened_says_why(self):
        d = Daemon(None, text="")
        os.makedirs(os.path.join(d.dir, "state", "lora", "lora.sqlite"))  # a folder where the file should be
        cfg = config(free_port(), [{"use": "lora", "config": {"listen": "127.0.0.1", "port": 0, "devices": []}}])
        cfg["node"]["state_dir"] = os.path.join(d.dir, "state")
        rc, out, _ = run_daemon_once(json.dumps(cfg))
        self.assertEqual(rc, 1, out)
        self.assertIn("[lora:lora] cannot open database %s/state/lora/lora.sqlite: unable to open database file: "
                      "Is a directory\n" % d.dir, out)

    def test_second_daemon_on_one_state_folder_is_refused(self):
        first = Daemon(config(free_port(), [testplug()])).start()
        state = os.path.join(first.dir, "state")
        with open(os.path.join(state, ".lock")) as f:
            self.assertEqual(f.read(), "%d\n" % first.proc.pid)
        # the same file, so the same state folder; another port, so only the lock can refuse it
        cfg = config(free_port(), [testplug()])
        cfg["node"]["state_dir"] = state
        rc, out, _ = run_daemon_once(json.dumps(cfg))
        self.assertEqual(rc, 1, out)
        self.assertIn("ERROR [core] state folder %s is in use by another mestysd (PID %d); stop that one, "
                      "or give this one its own node.state_dir\n" % (state, first.proc.pid), out)
        self.assertNotIn("HTTP on", out)
        self.assertNotIn("[testplug:testplug]", out)
        status, _ = first.json("/health")
        self.assertEqual(status, 200)
        first.stop()
        # the lock goes with the process: a new one starts on the same folder
        again = Daemon(cfg).start()
        self.assertEqual(again.json("/health")[0], 200)
        again.stop()

    def test_lock_does_not_outlive_kill_9(self):
        first = Daemon(config(free_port(), [testplug()])).start()
        first.proc.kill()
        first.proc.wait()
        first.log.close()
        cfg = config(free_port(), [testplug()])
        cfg["node"]["state_dir"] = os.path.join(first.dir, "state")
        again = Daemon(cfg).start()
        again.stop()

    def test_backup_while_running_and_restore(self):
        """docs/operations.md: sqlite3 .backup of a live WAL database, then a restore."""
        board = os.path.join(SOURCE, "examples", "town", "lua", "noticeboard.lua")
        cfg = config(free_port(), [{"use": board, "name": "noticeboard", "config": {"title": "Deska"}}])
        d = Daemon(cfg).start()
        post = lambda title: d.request("POST", "/api/noticeboard/notices",
                                       json.dumps({"title": title, "text": "t"}).encode(), token=OPERATOR)[0]
        self.assertEqual(post("before the backup"), 201)
        live = os.path.join(d.dir, "state", "noticeboard", "kv.sqlite")
        self.assertTrue(os.path.exists(live + "-wal"))  # WAL mode: committed pages wait there
        backup = os.path.join(d.dir, "backup.sqlite")
        p = subprocess.run(["sqlite3", live, ".backup '%s'" % backup], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(post("after the backup"), 201)
        check = subprocess.run(["sqlite3", backup, "PRAGMA integrity_check"], capture_output=True, text=True)
        self.assertEqual(check.stdout.strip(), "ok")
        d.stop()
        # restore: daemon stopped, the old WAL removed, the copy put in place
        for suffix in ("-wal", "-shm"):
            if os.path.exists(live + suffix):
                os.remove(live + suffix)
        os.replace(backup, live)
        again = Daemon(cfg)
        again.dir, again.path, again.log_path = d.dir, d.path, d.log_path + ".2"
        again.start()
        status, board_now = again.json("/api/noticeboard")
        self.assertEqual([n["title"] for n in board_now["notices"]], ["before the backup"])
        again.stop()

    def test_lua_state_survives_restart(self):
        board = os.path.join(SOURCE, "examples", "town", "lua", "noticeboard.lua")
        cfg = config(free_port(), [{"use": board, "name": "noticeboard", "config": {"title": "Deska"}}])
        d = Daemon(cfg).start()
        notice = {"title": "Uzavírka Hlavní ulice", "text": "3.–5. prosince"}
        status, _, body = d.request("POST", "/api/noticeboard/notices", json.dumps(notice).encode(), token=OPERATOR)
        self.assertEqual(status, 201, body)
        d.stop()
        again = Daemon(cfg)
        again.dir, again.path, again.log_path = d.dir, d.path, d.log_path + ".2"
        again.start()
        status, board_now = again.json("/api/noticeboard")
        self.assertEqual(status, 200)
        self.assertEqual(board_now["title"], "Deska")
        self.assertEqual([(n["title"], n["text"]) for n in board_now["notices"]], [(notice["title"], notice["text"])])
        status, _, body = again.request("POST", "/api/noticeboard/notices", b"{}", token=OPERATOR)
        self.assertEqual(status, 400)
        # a text that is not a string is refused, never shown as tostring() (a heap address)
        for text in ({"a": 1}, [1], 5, True):
            status, _, body = again.request("POST", "/api/noticeboard/notices",
                                            json.dumps({"title": "x", "text": text}).encode(), token=OPERATOR)
            self.assertEqual(status, 400, body)
        status, _, body = again.request("GET", "/api/noticeboard")
        self.assertNotRegex(body.decode(), r"(table|function|userdata|thread): ?0x")
        again.stop()


if __name__ == "__main__":
    main()

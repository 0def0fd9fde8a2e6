"""Static files for plugins (host->http_static, mestys.http.pages): the real
daemon serving folders mounted by a Lua plugin (tests/lua/pages.lua) and a
C one (testplug's `pages` key), asked by a raw HTTP client so that no path
is cleaned up on the way."""
import gzip
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Daemon, config, free_port, TEST_LUA  # noqa: E402

SECRET = b"SECRET-7f3a-never-served"
TILES = "https://tile.openstreetmap.org"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: %s; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'; worker-src 'self'; manifest-src 'self'")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def make_site(root):
    """The folder beside pages.lua, and secrets around and inside it."""
    shutil.copy(os.path.join(TEST_LUA, "pages.lua"), os.path.join(root, "pages.lua"))
    www = os.path.join(root, "www")
    js = "".join("export const x%d = %d; // a line of a module\n" % (i, i) for i in range(300))
    write(os.path.join(www, "index.html"), "<!doctype html><title>Město</title><h1>Vítejte</h1>\n")
    write(os.path.join(www, "lib/app.js"), js)
    write(os.path.join(www, "lib/mod.mjs"), "export default 1;\n")
    write(os.path.join(www, "lib/site.css"), "body { color: #222; }\n" * 50)
    write(os.path.join(www, "pages.json"), '{"pages": []}\n')
    write(os.path.join(www, "map.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    write(os.path.join(www, "marker.png"), PNG)
    write(os.path.join(www, "app.webmanifest"), '{"name": "x"}\n')
    write(os.path.join(www, "font.woff2"), b"wOF2" + bytes(60))
    write(os.path.join(www, "notes.unknownext"), "?\n")
    write(os.path.join(www, "sub/index.html"), "<p>sub</p>\n")
    write(os.path.join(www, "empty/.keep"), "")
    write(os.path.join(www, "health"), "a file the core's route hides\n")
    write(os.path.join(www, "api/pages"), "a file under /api: never served\n")
    write(os.path.join(www, ".env"), SECRET)
    write(os.path.join(www, ".git/config"), SECRET)
    write(os.path.join(root, "outside.txt"), SECRET)
    write(os.path.join(root, "outside/index.html"), SECRET)
    os.symlink(os.path.join(root, "outside.txt"), os.path.join(www, "link-out.txt"))
    os.symlink(os.path.join(root, "outside"), os.path.join(www, "dir-out"))
    os.symlink(".env", os.path.join(www, "link-dot.txt"))
    os.symlink("lib/app.js", os.path.join(www, "link-in.js"))  # inside: served
    return www


class Raw:
    """One keep-alive connection; paths go out exactly as written."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def req(self, method, path, headers=None):
        self.c.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            self.c.putheader(k, v)
        self.c.endheaders()
        r = self.c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def close(self):
        self.c.close()


def metric(d, line_start):
    _, _, body = d.get("/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(line_start):
            total += float(line.rsplit(" ", 1)[1])
    return total


class StaticFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="mestys-static-")
        cls.www = make_site(cls.root)
        os.makedirs(os.path.join(cls.root, "c-pages"))
        write(os.path.join(cls.root, "c-pages/index.html"), "<p>from C</p>\n")
        port = free_port()
        lua = os.path.join(cls.root, "pages.lua")
        cls.d = Daemon(config(port, [
            {"use": lua, "name": "site", "config": {"prefix": "", "img_src": TILES}},
            {"use": lua, "name": "second", "config": {"prefix": "/"}},
            {"use": lua, "name": "bad", "required": False, "config": {"prefix": "bad", "dir": "../outside"}},
            {"use": "testplug", "name": "cplug", "config": {
                "label": "c", "pages": os.path.join(cls.root, "c-pages"),
                "pages_img_src": "https://*.tiles.example.org:8443 " + TILES}},
        ])).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        self.raw = Raw(self.d.port)

    def tearDown(self):
        self.raw.close()

    def get(self, path, headers=None, method="GET"):
        return self.raw.req(method, path, headers)

    def file(self, rel):
        with open(os.path.join(self.www, rel), "rb") as f:
            return f.read()

    # --- what a file answer carries --------------------------------------

    def test_content_types(self):
        want = {"/index.html": "text/html; charset=utf-8",
                "/lib/app.js": "text/javascript; charset=utf-8",
                "/lib/mod.mjs": "text/javascript; charset=utf-8",
                "/lib/site.css": "text/css; charset=utf-8",
                "/pages.json": "application/json",
                "/map.svg": "image/svg+xml",
                "/marker.png": "image/png",
                "/app.webmanifest": "application/manifest+json",
                "/font.woff2": "font/woff2",
                "/notes.unknownext": "application/octet-stream"}
        for path, ctype in want.items():
            status, h, body = self.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(h["content-type"], ctype, path)
            self.assertEqual(body, self.file(path[1:]), path)
            self.assertEqual(h["x-content-type-options"], "nosniff")
            self.assertEqual(h["referrer-policy"], "same-origin")
            self.assertEqual(h["cache-control"], "no-cache")

    def test_csp_is_the_union_of_the_mounts_img_src(self):
        status, h, _ = self.get("/index.html")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-security-policy"], CSP % (TILES + " https://*.tiles.example.org:8443"))
        # the C plugin's pages and the core's own routes get the same
        status, h2, body = self.get("/cplug/")
        self.assertEqual((status, body), (200, b"<p>from C</p>\n"))
        self.assertEqual(h2["content-security-policy"], h["content-security-policy"])

    def test_etag_and_304(self):
        status, h, body = self.get("/lib/app.js")
        tag = h["etag"]
        self.assertFalse(tag.startswith("W/"))
        self.assertEqual(tag, '"%s"' % hashlib.sha256(body).hexdigest()[:32])
        status, h2, body2 = self.get("/lib/app.js", {"If-None-Match": tag})
        self.assertEqual((status, body2), (304, b""))
        self.assertEqual(h2["etag"], tag)
        self.assertEqual(h2["cache-control"], "no-cache")
        status, _, _ = self.get("/lib/app.js", {"If-None-Match": '"other", W/' + tag})
        self.assertEqual(status, 304)
        status, _, body3 = self.get("/lib/app.js", {"If-None-Match": '"other"'})
        self.assertEqual((status, body3), (200, body))
        # the same connection goes on after a 304
        self.assertEqual(self.get("/pages.json")[0], 200)

    def test_gzip_for_text_when_accepted(self):
        status, h, body = self.get("/lib/app.js", {"Accept-Encoding": "br, gzip;q=0.8"})
        self.assertEqual(status, 200)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(h["vary"], "Accept-Encoding")
        self.assertLess(len(body), len(self.file("lib/app.js")))
        self.assertEqual(gzip.decompress(body), self.file("lib/app.js"))
        self.assertEqual(int(h["content-length"]), len(body))
        # another representation, another tag; its 304 too
        plain = self.get("/lib/app.js")[1]["etag"]
        self.assertNotEqual(h["etag"], plain)
        self.assertEqual(self.get("/lib/app.js", {"Accept-Encoding": "gzip",
                                                  "If-None-Match": h["etag"]})[0], 304)
        # refused with q=0, not asked for, or not text: as it is
        for headers in ({"Accept-Encoding": "gzip;q=0"}, {}, {"Accept-Encoding": "identity"}):
            status, h, body = self.get("/lib/app.js", headers)
            self.assertNotIn("content-encoding", h)
            self.assertEqual(body, self.file("lib/app.js"))
        status, h, body = self.get("/marker.png", {"Accept-Encoding": "gzip"})
        self.assertNotIn("content-encoding", h)
        self.assertNotIn("vary", h)
        self.assertEqual(body, PNG)

    def test_head_has_the_headers_of_get(self):
        _, g, gbody = self.get("/lib/site.css")
        status, h, body = self.get("/lib/site.css", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        for k in ("content-type", "etag", "content-length", "content-security-policy", "cache-control"):
            self.assertEqual(h[k], g[k], k)
        self.assertEqual(int(h["content-length"]), len(gbody))
        # the connection is still good for the next request
        status, _, body = self.get("/pages.json")
        self.assertEqual((status, body), (200, self.file("pages.json")))

    def test_other_methods_are_405(self):
        status, h, body = self.get("/index.html", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(h["allow"], "GET, HEAD")
        self.assertEqual(json.loads(body)["status"], 405)

    # --- folders ---------------------------------------------------------

    def test_root_and_folders(self):
        status, h, body = self.get("/")
        self.assertEqual((status, body), (200, self.file("index.html")))
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        status, _, body = self.get("/sub/")
        self.assertEqual((status, body), (200, self.file("sub/index.html")))
        status, h, _ = self.get("/sub")
        self.assertEqual((status, h["location"]), (301, "/sub/"))
        status, h, _ = self.get("/sub?lang=cs")
        self.assertEqual((status, h["location"]), (301, "/sub/?lang=cs"))
        status, h, _ = self.get("/cplug")
        self.assertEqual((status, h["location"]), (301, "/cplug/"))

    def test_no_listing(self):
        for path in ("/empty/", "/lib/", "/empty"):
            status, _, body = self.get(path)
            self.assertIn(status, (301, 404), path)
            if status == 404:
                self.assertNotIn(b".keep", body)
                self.assertNotIn(b"app.js", body)
        self.assertEqual(self.get("/empty/")[0], 404)

    def test_files_over_the_limit_are_404_logged_once(self):
        big = os.path.join(self.www, "huge.bin")
        with open(big, "wb") as f:
            f.truncate((64 << 20) + 1)  # sparse: costs no disk
        try:
            for _ in range(3):
                status, _, body = self.get("/huge.bin")
                self.assertEqual(status, 404)
            self.assertEqual(self.d.output().count("huge.bin is not served: 67108865 bytes"), 1)
        finally:
            os.remove(big)

    def test_symlink_inside_is_served(self):
        status, _, body = self.get("/link-in.js")
        self.assertEqual((status, body), (200, self.file("lib/app.js")))

    # --- what is never served -------------------------------------------

    ESCAPES = [
        "/../outside.txt", "/../../../../etc/passwd", "/sub/../../outside.txt",
        "/%2e%2e/outside.txt", "/%2E%2E/%2e%2e/etc/passwd", "/.%2e/outside.txt",
        "/%252e%252e/outside.txt", "/%252e%252e%252foutside.txt", "/..%252foutside.txt",
        "/sub/%252e%252e/%252e%252e/outside.txt", "/%2500", "/index.html%2500.js",
        "/..%5coutside.txt", "/a%5c..%5c..%5coutside.txt",
        "/.env", "/%2eenv", "/.git/config", "/.git/", "/sub/.%2e/.env",
        "/link-out.txt", "/dir-out/", "/dir-out/index.html", "/link-dot.txt",
        "//outside.txt",
    ]

    def test_escapes_are_404_and_logged_once(self):
        refused_before = metric(self.d, 'mestys_http_static_total{result="refused"}')
        for path in self.ESCAPES:
            status, _, body = self.get(path)
            self.assertNotIn(SECRET, body, path)
            self.assertEqual(status, 404, path)
        self.assertGreater(metric(self.d, 'mestys_http_static_total{result="refused"}'), refused_before + 10)
        # a refused path is logged once per mount, however many came
        self.assertEqual(self.d.output().count("further refusals on / are only counted"), 1)

    def test_nul_byte_never_reaches_a_file(self):
        # lws closes the connection on a decoded NUL; nothing is served either way
        s = socket.create_connection(("127.0.0.1", self.d.port), timeout=5)
        s.sendall(b"GET /index.html%00.js HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        except OSError:
            pass
        s.close()
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertEqual(self.d.get("/health")[0], 200)  # and the daemon goes on

    def test_routes_win_over_files(self):
        status, h, body = self.get("/health")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["node"], "testtown")
        status, _, body = self.get("/api/pages")
        self.assertEqual(status, 200)
        self.assertIn("mounts", json.loads(body))
        status, _, body = self.get("/api/nothing-here")
        self.assertEqual(status, 404)
        self.assertIn(b"no route", body)

    # --- mounts ----------------------------------------------------------

    def test_second_root_mount_is_eexist(self):
        status, _, body = self.get("/api/second/mounted")
        self.assertEqual(json.loads(body), {"ok": False, "error": "already exists"})
        self.assertIn("cannot serve files: / is mounted already by instance site", self.d.output())

    def test_lua_folder_must_stay_below_the_script(self):
        # "../outside" is refused: the instance's init fails, the others run on
        _, health = self.d.json("/health")
        states = {i["name"]: i["state"] for i in health["instances"]}
        self.assertEqual(states["site"], "running")
        self.assertNotEqual(states["bad"], "running")
        self.assertIn("must be a folder below the script", self.d.output())
        self.assertEqual(self.get("/bad/")[0], 404)

    def test_api_pages_lists_the_mounts(self):
        status, h, body = self.get("/api/pages")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"mounts": [
            {"prefix": "/", "instance": "site", "plugin": "pages"},
            {"prefix": "/cplug/", "instance": "cplug", "plugin": "testplug"}]})

    def test_repeats_come_from_memory_and_edits_show_at_once(self):
        self.get("/lib/mod.mjs")
        misses = metric(self.d, 'mestys_http_static_cache_total{result="miss"}')
        hits = metric(self.d, 'mestys_http_static_cache_total{result="hit"}')
        for _ in range(20):
            self.assertEqual(self.get("/lib/mod.mjs")[0], 200)
        self.assertEqual(metric(self.d, 'mestys_http_static_cache_total{result="miss"}'), misses)
        self.assertGreaterEqual(metric(self.d, 'mestys_http_static_cache_total{result="hit"}'), hits + 20)
        path = os.path.join(self.www, "lib/mod.mjs")
        write(path, "export default 2; // edited\n")
        status, _, body = self.get("/lib/mod.mjs")
        self.assertEqual(body, b"export default 2; // edited\n")
        self.assertLessEqual(metric(self.d, "mestys_http_static_cache_bytes"), 32 << 20)


class FrontPage(unittest.TestCase):
    """No mount at "/": GET / is the core's page, with the pages' headers."""

    def test_core_front_page_without_a_root_mount(self):
        root = tempfile.mkdtemp(prefix="mestys-static-")
        try:
            make_site(root)
            d = Daemon(config(free_port(), [
                {"use": os.path.join(root, "pages.lua"), "name": "town", "config": {"prefix": "town"}}])).start()
            try:
                status, h, body = d.get("/")
                self.assertEqual(status, 200)
                self.assertIn(b"A m\xc4\x9bstys node", body)
                self.assertEqual(h["content-security-policy"], CSP[:CSP.index(" %s")] + CSP[CSP.index("%s") + 2:])
                self.assertEqual(h["x-content-type-options"], "nosniff")
                status, _, body = d.get("/town/")
                self.assertIn("Vítejte".encode(), body)
                self.assertEqual(d.get("/index.html")[0], 404)  # nothing at /
            finally:
                d.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


class Reload(unittest.TestCase):
    """A reload restarts the instances: their mounts go with them and come
    back with the new config (the CSP follows)."""

    def test_mounts_follow_a_reload(self):
        root = tempfile.mkdtemp(prefix="mestys-static-")
        try:
            make_site(root)
            lua = os.path.join(root, "pages.lua")
            port = free_port()
            cfg = config(port, [{"use": lua, "name": "site", "config": {"prefix": "", "img_src": TILES}}])
            d = Daemon(cfg).start()
            try:
                self.assertIn(TILES, d.get("/")[1]["content-security-policy"])
                other = "https://tiles.example.cz"
                cfg["plugins"] = [{"use": lua, "name": "town", "config": {"prefix": "town", "img_src": other}}]
                d.write(cfg)
                status, _, body = d.request("POST", "/api/admin/reload", token=harness.ADMIN)
                self.assertEqual(status, 200, body)
                _, pages = d.json("/api/pages")
                self.assertEqual(pages, {"mounts": [{"prefix": "/town/", "instance": "town", "plugin": "pages"}]})
                status, h, body = d.get("/town/")
                self.assertEqual(status, 200)
                self.assertEqual(h["content-security-policy"], CSP % other)
                status, h, body = d.get("/")  # no mount at "/" any more: the core's page
                self.assertIn(b"A m\xc4\x9bstys node", body)
                self.assertEqual(d.get("/index.html")[0], 404)
            finally:
                d.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


class InstalledWwwFolder(unittest.TestCase):
    """A relative folder is looked up in <prefix>/share/mestys/www of an
    installed tree (the daemon copied to <prefix>/bin)."""

    def test_relative_folder_in_the_installed_www(self):
        prefix = tempfile.mkdtemp(prefix="mestys-prefix-")
        try:
            os.makedirs(os.path.join(prefix, "bin"))
            shutil.copy(harness.MESTYSD, os.path.join(prefix, "bin", "mestysd"))
            write(os.path.join(prefix, "share/mestys/www/testplug/index.html"), "<p>installed</p>\n")
            installed = os.path.join(prefix, "bin", "mestysd")
            entry = {"use": "testplug", "name": "tp", "config": {"label": "x", "pages": "testplug"}}
            d = Daemon(config(free_port(), [entry]))
            saved, harness.MESTYSD = harness.MESTYSD, installed
            try:
                d.start()
                status, _, body = d.get("/tp/")
                self.assertEqual((status, body), (200, b"<p>installed</p>\n"))
                d.stop()
                # a folder that is not there: the instance does not start
                entry["config"]["pages"] = "no-such-folder"
                rc, out, _ = harness.run_daemon_once(json.dumps(config(free_port(), [entry])))
            finally:
                harness.MESTYSD = saved
            self.assertNotEqual(rc, 0)
            self.assertIn("no folder %s/share/mestys/www/no-such-folder" % os.path.realpath(prefix), out)
        finally:
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    harness.main()

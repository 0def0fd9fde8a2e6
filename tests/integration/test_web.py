"""The web plugin on the real daemon: its config refused at the key's line
when the header's text could not be read (contrast) or the map's tile server
is unusable, /api/web/config, theme.css, the logo (types by content, size,
ETag and 304), the session check for the clerk's token, and the shell
mounted at / with the tile server in every page's CSP."""
import json
import os
import re
import subprocess
import tempfile
import unittest

from harness import ADMIN, MESTYS, OPERATOR, PUBLIC, Daemon, config, free_port, main

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>\n'


def web(**extra):
    c = {"town": {"name": {"cs": "Horní Lhota", "en": "Upper Lhota"}}}
    c.update(extra)
    return {"use": "web", "name": "web", "config": c}


def check(plugin_entry):
    """`mestys check` on a config with this web entry: (exit status, output)."""
    d = tempfile.mkdtemp(prefix="mestys-web-check-")
    path = os.path.join(d, "mestys.json")
    with open(path, "w") as f:
        json.dump(config(free_port(), [plugin_entry]), f, indent=2)
    p = subprocess.run([MESTYS, "check", path], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


class Refusals(unittest.TestCase):
    def refused(self, entry, key, *words):
        rc, out = check(entry)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("plugins[0].config.%s" % key, out)
        for w in words:
            self.assertIn(w, out)
        # at the key's line of the file, as every config error
        self.assertRegex(out, r"mestys\.json:\d+:\d+: error:")
        return out

    def test_the_example_configs_pass(self):
        rc, out = check(web())
        self.assertEqual(rc, 0, out)

    def test_brand_text_below_4_5_to_1_is_refused_naming_both_and_the_ratio(self):
        # #777777 on white is 4.48:1: close, and still not enough
        out = self.refused(web(colors={"brand": "#777777", "brand_text": "#ffffff"}), "colors.brand_text",
                           "colors.brand #777777", "colors.brand_text #ffffff", "4.48:1", "4.5:1")
        self.assertNotIn("4.50:1", out)
        # the same pair the other way round, in #rgb
        self.refused(web(colors={"brand": "#FFF", "brand_text": "#777"}), "colors.brand_text", "4.48:1")
        # yellow on white: 1.07:1
        self.refused(web(colors={"brand": "#ffff00", "brand_text": "#ffffff"}), "colors.brand_text", "1.07:1")
        # 4.5:1 and above passes: #767676 on white is 4.54:1
        rc, out = check(web(colors={"brand": "#767676", "brand_text": "#ffffff"}))
        self.assertEqual(rc, 0, out)
        # dark text on a light brand is fine too
        rc, out = check(web(colors={"brand": "#ffd400", "brand_text": "#1b1b1b"}))
        self.assertEqual(rc, 0, out)

    def test_a_pale_accent_and_a_colour_that_is_none_are_refused(self):
        self.refused(web(colors={"accent": "#ffcc99"}), "colors.accent", "#ffcc99", "3:1")
        self.refused(web(colors={"brand": "blue"}), "colors.brand", '"blue" is not a colour', "#rrggbb")
        self.refused(web(colors={"brand": "#12345"}), "colors.brand", "#rrggbb")
        self.refused(web(colors={"accent": "#12345g"}), "colors.accent", "#rrggbb")

    def test_tile_server_refusals(self):
        self.refused(web(tiles={"url": "https://tiles.example.org/{z}/{x}/{y}.png"}), "tiles.attribution",
                     "tiles.attribution is required")
        self.refused(web(tiles={"url": "http://tiles.example.org/{z}/{x}/{y}.png", "attribution": "x"}),
                     "tiles.url", "must use https://")
        self.refused(web(tiles={"url": "https://tiles.example.org/{z}/{x}.png", "attribution": "x"}),
                     "tiles.url", "needs {z}, {x} and {y}")
        self.refused(web(tiles={"url": "https://tiles.example.org/{z}/{x}/{y}.png?k={key}", "attribution": "x"}),
                     "tiles.url", "may only hold the placeholders")
        self.refused(web(tiles={"url": "https://tile-{s}.example.org/{z}/{x}/{y}.png", "attribution": "x"}),
                     "tiles.url", "{s} may only be the first label")
        self.refused(web(tiles={"url": "https://tiles.example.org\"/{z}/{x}/{y}.png", "attribution": "x"}),
                     "tiles.url", "quotes")
        self.refused(web(tiles={"url": "ftp://tiles.example.org/{z}/{x}/{y}.png", "attribution": "x"}),
                     "tiles.url", "must start with https://")
        self.refused(web(tiles={"max_zoom": 30}), "tiles.max_zoom")
        # a tile server on this machine may be http (a cache, the browser tests' stand-in)
        rc, out = check(web(tiles={"url": "http://127.0.0.1:8111/{z}/{x}/{y}.png", "attribution": "local"}))
        self.assertEqual(rc, 0, out)

    def test_other_refusals(self):
        self.refused({"use": "web", "name": "web", "config": {}}, "town", "town")
        self.refused(web(logo="/etc/mestys/logo.gif"), "logo", ".png, .svg, .jpg or .webp")
        self.refused(web(default_lang="de"), "default_lang")


class Routes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mestys-web-logo-")
        cls.logo = os.path.join(cls.tmp, "znak.svg")
        with open(cls.logo, "wb") as f:
            f.write(SVG)
        port = free_port()
        cls.d = Daemon(config(port, [web(
            colors={"brand": "#0B3D2E", "brand_text": "#FFF", "accent": "#8a4b00"},
            logo=cls.logo, default_lang="en",
            tiles={"url": "https://{s}.tiles.example.org/base/{z}/{x}/{y}{r}.png",
                   "attribution": "© Example Maps, © OpenStreetMap contributors", "max_zoom": 18})])).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_config(self):
        status, headers, body = self.d.get("/api/web/config")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        c = json.loads(body)
        self.assertEqual(c["town"], {"name": {"cs": "Horní Lhota", "en": "Upper Lhota"}})
        self.assertEqual(c["colors"], {"brand": "#0b3d2e", "brand_text": "#ffffff", "accent": "#8a4b00"})
        self.assertEqual(c["tiles"], {"url": "https://{s}.tiles.example.org/base/{z}/{x}/{y}{r}.png",
                                      "attribution": "© Example Maps, © OpenStreetMap contributors",
                                      "attribution_url": None, "max_zoom": 18})
        self.assertEqual(c["default_lang"], "en")
        self.assertEqual(c["languages"], ["cs", "en"])
        self.assertRegex(c["logo"], r"^/api/web/logo\?v=[0-9a-f]{16}$")

    def test_theme_css(self):
        status, headers, body = self.d.get("/api/web/theme.css")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/css; charset=utf-8")
        css = body.decode()
        self.assertIn("--brand: #0b3d2e;", css)
        self.assertIn("--brand-text: #ffffff;", css)
        self.assertIn("--accent: #8a4b00;", css)
        self.assertTrue(css.rstrip().endswith("}"))
        # revalidated, cheaply
        self.assertEqual(headers["cache-control"], "no-cache")
        status, _, body = self.d.request("GET", "/api/web/theme.css", headers={"If-None-Match": headers["etag"]})
        self.assertEqual((status, body), (304, b""))

    def test_logo(self):
        status, headers, body = self.d.get("/api/web/logo")
        self.assertEqual(status, 200)
        self.assertEqual(body, SVG)
        self.assertEqual(headers["content-type"], "image/svg+xml")
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        # an SVG opened on its own runs no script on the daemon's origin
        self.assertIn("sandbox", headers["content-security-policy"])
        self.assertIn("default-src 'none'", headers["content-security-policy"])
        etag = headers["etag"]
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        # the URL the config gives names this ETag
        _, cfg = self.d.json("/api/web/config")
        self.assertEqual(cfg["logo"], "/api/web/logo?v=" + etag.strip('"'))
        status, _, body = self.d.request("GET", "/api/web/logo", headers={"If-None-Match": etag})
        self.assertEqual((status, body), (304, b""))
        status, _, body = self.d.request("GET", "/api/web/logo", headers={"If-None-Match": '"0000000000000000"'})
        self.assertEqual((status, body), (200, SVG))
        metrics = self.d.get("/metrics")[2].decode()
        self.assertRegex(metrics, r'mestys_web_not_modified_total\{plugin="web",instance="web"\} [1-9]')

    def test_session_says_whether_the_token_is_an_operators(self):
        self.assertEqual(self.d.get("/api/web/session")[0], 401)
        self.assertEqual(self.d.get("/api/web/session", token="not-a-token-at-all-000")[0], 401)
        self.assertEqual(self.d.get("/api/web/session", token=PUBLIC)[0], 403)
        status, headers, body = self.d.get("/api/web/session", token=OPERATOR)
        self.assertEqual((status, json.loads(body)), (200, {"role": "operator"}))
        self.assertEqual(headers["cache-control"], "no-store")
        self.assertEqual(json.loads(self.d.get("/api/web/session", token=ADMIN)[2]), {"role": "admin"})

    def test_the_shell_is_at_the_root_with_the_tile_server_in_the_csp(self):
        status, headers, body = self.d.get("/")
        self.assertEqual(status, 200)
        self.assertIn(b'<script type="module" src="/home.js"></script>', body)
        # {s}.tiles.example.org becomes *.tiles.example.org: every page may show its tiles
        self.assertRegex(headers["content-security-policy"],
                         r"img-src 'self' data: blob: https://\*\.tiles\.example\.org;")
        self.assertIn("script-src 'self';", headers["content-security-policy"])
        for path, kind in (("/lib/app.js", "text/javascript"), ("/lib/site.css", "text/css"),
                           ("/sw.js", "text/javascript"), ("/vendor/leaflet/leaflet-src.esm.js", "text/javascript"),
                           ("/vendor/uplot/uPlot.esm.js", "text/javascript"),
                           ("/vendor/leaflet/images/marker-icon.png", "image/png"),
                           ("/vendor/leaflet/LICENSE.txt", "text/plain"), ("/favicon.ico", None)):
            status, headers, _ = self.d.get(path)
            self.assertEqual(status, 200, path)
            if kind:
                self.assertTrue(headers["content-type"].startswith(kind), (path, headers["content-type"]))
        status, mounts = self.d.json("/api/pages")
        self.assertIn({"prefix": "/", "instance": "web", "plugin": "web"}, mounts["mounts"])


class StartUp(unittest.TestCase):
    def run_once(self, entry):
        d = Daemon(config(free_port(), [entry]))
        p = subprocess.run([os.path.join(os.path.dirname(MESTYS), "mestysd"), "-c", d.path],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def test_a_logo_that_is_missing_too_big_or_not_what_it_says_stops_the_start(self):
        tmp = tempfile.mkdtemp(prefix="mestys-web-badlogo-")
        big = os.path.join(tmp, "big.png")
        with open(big, "wb") as f:
            f.write(PNG + b"\0" * (256 * 1024))
        liar = os.path.join(tmp, "liar.png")
        with open(liar, "wb") as f:
            f.write(SVG)
        for path, words in ((os.path.join(tmp, "none.svg"), "No such file"), (big, "larger than 256 KiB"),
                            (liar, "is a file of type image/svg+xml")):
            rc, out = self.run_once(web(logo=path))
            self.assertNotEqual(rc, 0, out)
            self.assertIn("[web:web] logo: ", out)
            self.assertIn(words, out)

    def test_the_instance_must_be_named_web(self):
        entry = web()
        entry["name"] = "pages"
        rc, out = self.run_once(entry)
        self.assertNotEqual(rc, 0, out)
        self.assertIn('the web plugin\'s instance must be named "web"', out)

    def test_a_png_logo(self):
        tmp = tempfile.mkdtemp(prefix="mestys-web-png-")
        logo = os.path.join(tmp, "logo.PNG")
        with open(logo, "wb") as f:
            f.write(PNG)
        d = Daemon(config(free_port(), [web(logo=logo)])).start()
        try:
            status, headers, body = d.get("/api/web/logo")
            self.assertEqual((status, headers["content-type"], body), (200, "image/png", PNG))
            # without tiles in the config: OpenStreetMap's server, its attribution and link
            _, cfg = d.json("/api/web/config")
            self.assertEqual(cfg["tiles"], {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                                            "attribution": "© OpenStreetMap contributors",
                                            "attribution_url": "https://www.openstreetmap.org/copyright",
                                            "max_zoom": 19})
            self.assertEqual(cfg["colors"], {"brand": "#1f4e79", "brand_text": "#ffffff", "accent": "#b3470b"})
            self.assertEqual(cfg["default_lang"], "cs")
            self.assertIn("https://tile.openstreetmap.org;", d.get("/")[1]["content-security-policy"])
        finally:
            d.stop()
        # no logo: null in the config, 404 with a sentence
        d = Daemon(config(free_port(), [web()])).start()
        try:
            self.assertIsNone(d.json("/api/web/config")[1]["logo"])
            status, _, body = d.get("/api/web/logo")
            self.assertEqual(status, 404)
            self.assertIn("no logo configured", json.loads(body)["error"])
        finally:
            d.stop()


if __name__ == "__main__":
    main()

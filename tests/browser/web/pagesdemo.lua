-- pagesdemo: a Lua plugin that adds pages to the shell, for web.test.mjs
-- (and the way docs/web.md shows): a citizen page with a map, a chart and
-- its table, and a clerk page that reads an operator route.
local mestys = require("mestys")

local plugin = {
  name = "pagesdemo",
  version = "1.0.0",
  description = "pages for the web plugin's browser test",
  config = {},
}

local places = {
  { id = "namesti", name = "Náměstí", lat = 49.5938, lon = 17.2509, value = 21.3, status = "ok" },
  { id = "skola", name = "Škola", lat = 49.5951, lon = 17.2487, value = 19.8, status = "ok" },
  { id = "hriste", name = "Hřiště", lat = 49.5922, lon = 17.2544, status = "off" },
}

function plugin.init(config)
  assert(mestys.http.pages(mestys.instance, "www"))
  mestys.route("GET", "/places", "public", function(req) return 200, { places = places } end)
  mestys.route("GET", "/secret", "operator", function(req) return 200, { note = "jen pro úřad" } end)
end

return plugin

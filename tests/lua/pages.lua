-- pages.lua: mounts a folder beside it with mestys.http.pages, for
-- tests/integration/test_static.py.  What the mount answered is kept for
-- GET /api/<instance>/mounted: {"ok": true} or {"ok": false, "error": "..."}.
local mestys = require("mestys")
local plugin = {
  name = "pages", version = "0.1.0",
  config = {
    prefix = { type = "string", default = "" },
    dir = { type = "string", default = "www" },
    img_src = { type = "string", default = "" },
  },
}
function plugin.init(config)
  local opts = nil
  if config.img_src ~= "" then opts = { img_src = config.img_src } end
  local ok, err = mestys.http.pages(config.prefix, config.dir, opts)
  local result = { ok = ok == true, error = err }
  mestys.route("GET", "mounted", "public", function(req) return 200, result end)
end
return plugin

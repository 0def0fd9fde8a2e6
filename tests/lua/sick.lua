-- sick.lua: a plugin that says what is wrong with it (mestys.health) for tests/integration/test_lua.py.
local mestys = require("mestys")
local plugin = { name = "sick", version = "0.1.0" }
function plugin.init()
  mestys.health("the feed answers 500")
  mestys.route("POST", "well", "public", function() mestys.health(nil); return 204, "" end)
end
return plugin

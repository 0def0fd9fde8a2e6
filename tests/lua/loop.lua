-- loop.lua: an endless loop in a handler, and one inside pcall.
local mestys = require("mestys")
local plugin = { name = "loop", version = "0.1.0", subscribes = { "lua/spin", "lua/ok" }, publishes = { "lua/alive" } }
function plugin.init()
  mestys.subscribe("lua/spin", function() while true do end end)
  mestys.subscribe("lua/ok", function() mestys.publish("lua/alive", "yes") end)
  mestys.subscribe("lua/spin", function() while true do pcall(function() while true do end end) end end)
end
return plugin

-- bomb.lua: tries to take all memory, two ways.
local mestys = require("mestys")
local plugin = { name = "bomb", version = "0.1.0", subscribes = { "lua/bomb", "lua/ok" }, publishes = { "lua/alive" } }
function plugin.init()
  mestys.subscribe("lua/bomb", function()
    local t = {}
    for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end
  end)
  mestys.subscribe("lua/bomb", function() local s = string.rep("y", 1 << 30) end)
  mestys.subscribe("lua/ok", function() mestys.publish("lua/alive", "yes") end)
end
return plugin

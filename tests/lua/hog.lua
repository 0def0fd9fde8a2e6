-- hog.lua: holds most of its memory cap (4 MiB in test_lua.c), then is
-- handed more than fits: a big bus message, a big request, a big reply.
-- Each must fail inside the sandbox (counted), never abort the daemon.
local mestys = require("mestys")
local plugin = { name = "hog", version = "0.1.0", subscribes = { "lua/big", "lua/ok", "lua/fill" },
                 publishes = { "lua/hog" }, serves = { "lua/bigask" } }
local held
function plugin.init()
  mestys.subscribe("lua/fill", function()
    held = {}
    collectgarbage()
    -- leave less than 64 KiB of the cap free, 8 KiB at a time
    -- (collected as it goes: the count includes garbage)
    while collectgarbage("count") < 4 * 1024 - 64 do
      for i = 1, 16 do held[#held + 1] = string.rep("h", 8000) .. #held end
      collectgarbage()
    end
  end)
  mestys.subscribe("lua/big", function(topic, body) held[#held + 1] = body end)
  mestys.serve("lua/bigask", function(body) return { body = body } end)
  mestys.subscribe("lua/ok", function() mestys.publish("lua/hog", "alive") end)
end
return plugin

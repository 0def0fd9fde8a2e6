-- hog.lua: holds most of its memory cap (4 MiB: test_lua.c and
-- test_lua.py set it), then is handed more than fits: a big bus message,
-- a big bus request, a big HTTP request.  Each must fail inside the
-- sandbox, counted, and never abort the daemon.
local mestys = require("mestys")
local plugin = { name = "hog", version = "0.1.0", subscribes = { "lua/big", "lua/ok", "lua/fill", "lua/deep" },
                 publishes = { "lua/hog" }, serves = { "lua/bigask" } }
local held

-- leaves less than 64 KiB of the cap free, 8 KiB at a time (collected as
-- it goes: the count includes garbage).  Each full collection is charged
-- to the budget by the heap's size: the tests give hog a large budget.
local function fill()
  held = {}
  collectgarbage()
  while collectgarbage("count") < 4 * 1024 - 64 do
    for i = 1, 16 do held[#held + 1] = string.rep("h", 8000) .. #held end
    collectgarbage()
  end
end

function plugin.init()
  mestys.subscribe("lua/fill", fill)
  mestys.subscribe("lua/big", function(topic, body) held[#held + 1] = body end)
  mestys.serve("lua/bigask", function(body) return { body = body } end)
  mestys.subscribe("lua/ok", function() mestys.publish("lua/hog", "alive") end)
  -- 150 levels into the kv store: refused with the limit, never past the stack
  mestys.subscribe("lua/deep", function()
    local t = {}
    for i = 1, 150 do t = { t } end
    local ok, err = pcall(mestys.kv.set, "deep", t)
    mestys.publish("lua/hog", tostring(ok) .. ": " .. tostring(err))
  end)
  mestys.route("POST", "fill", "public", function() pcall(fill) return 204, "" end)
  mestys.route("POST", "keep", "public", function(req) held[#held + 1] = req.body return 200, "kept" end)
  mestys.route("GET", "alive", "public", function() return 200, { alive = true } end)
end
return plugin

-- echo.lua: exercises the host API from Lua for tests/unit/test_lua.c.
local mestys = require("mestys")
local plugin = {
  name = "echo", version = "0.1.0",
  config = { prefix = { type = "string", default = "echo:" } },
  publishes = { "lua/out", "lua/reply" }, subscribes = { "lua/in" },
  serves = { "lua/ask" }, requests = { "test/echo" },
}
function plugin.init(config)
  mestys.subscribe("lua/in", function(topic, body)
    mestys.publish("lua/out", config.prefix .. body)
    mestys.kv.set("last", { body = body, n = (mestys.kv.get("last") or { n = 0 }).n + 1 })
  end)
  mestys.serve("lua/ask", function(body) return { answer = tonumber(body) * 2 } end)
  mestys.route("GET", "state", "public", function(req) return 200, mestys.kv.get("last") end)
  mestys.route("GET", "params", "public", function(req) return 200, req.params end)
  mestys.timer(5, function()
    mestys.request("test/echo", "ping", function(reply, err)
      mestys.publish("lua/reply", reply or ("error: " .. tostring(err)))
    end)
  end)
end
return plugin

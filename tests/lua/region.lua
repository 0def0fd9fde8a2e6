-- region.lua: two nodes of a region talking over the bus (test_two_nodes.py).
local mestys = require("mestys")
local p = {
  name = "region", version = "0.1.0",
  config = { role = { type = "string", choices = "sender|receiver", required = true } },
  publishes = { "region/hello" }, subscribes = { "region/hello" },
  serves = { "region/ask" }, requests = { "region/ask" },
}
local seen, last, answer, err = 0, nil, nil, nil
function p.init(cfg)
  if cfg.role == "sender" then
    mestys.every(20, function() mestys.publish("region/hello", { from = mestys.node }) end)
    mestys.serve("region/ask", function(body) return { node = mestys.node, echo = body } end)
  else
    mestys.subscribe("region/hello", function(topic, body) seen = seen + 1; last = body end)
    mestys.every(50, function()
      mestys.request("region/ask", "from " .. mestys.node, function(reply, e) answer, err = reply, e end, 1000)
    end)
  end
  mestys.route("GET", "state", "public", function()
    return 200, { seen = seen, last = last, answer = answer, error = err }
  end)
end
return p

-- capture.lua: remembers what goes over the bus so a test can look at it
-- over HTTP (GET /api/capture/messages?topic=reading).  Tests only.
local mestys = require("mestys")
local p = { name = "capture", version = "0.1.0", subscribes = { "#" },
            config = { keep = { type = "int", default = 10000 } } }
local seen = {}
function p.init(cfg)
  mestys.subscribe("#", function(topic, body)
    local list = seen[topic] or {}
    seen[topic] = list
    if #list < cfg.keep then list[#list + 1] = body end
  end)
  mestys.route("GET", "messages", "public", function(req)
    local list = seen[req.params.topic or ""] or {}
    return 200, "[" .. table.concat(list, ",") .. "]", "application/json"
  end)
  mestys.route("POST", "clear", "public", function() seen = {}; return 204, "" end)
end
return p

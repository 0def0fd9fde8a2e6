-- asker.lua: lets a test send bus requests over HTTP (tests only).
-- POST /api/asker/ask/<topic> with the body -> {"id": n};
-- GET /api/asker/answer?id=n -> the reply, once it came.
local mestys = require("mestys")
local p = { name = "asker", version = "0.1.0", requests = { "#" } }
local answers, next_id = {}, 0
function p.init()
  mestys.route("POST", "ask/*", "public", function(req)
    next_id = next_id + 1
    local id = next_id
    local ok, err = mestys.request(req.subpath, req.body, function(reply, e)
      answers[id] = { reply = reply, error = e }
    end, 10000)
    if not ok then return 400, { error = err } end
    return 202, { id = id }
  end)
  mestys.route("GET", "answer", "public", function(req)
    local a = answers[tonumber(req.params.id)]
    if not a then return 404, { pending = true } end
    if a.error then return 502, a.error, "application/json" end
    return 200, a.reply, "application/json"
  end)
end
return p

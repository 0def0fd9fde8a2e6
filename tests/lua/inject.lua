-- inject.lua: lets a test publish any event over HTTP (never in a real town).
local mestys = require("mestys")
local p = { name = "inject", version = "0.1.0", publishes = { "#" } }
function p.init()
  mestys.route("POST", "publish/*", "operator", function(req)
    local ok, err = mestys.publish(req.subpath, req.body)
    if ok then return 202, { published = req.subpath } end
    return 400, { error = err, status = 400 }
  end)
end
return p

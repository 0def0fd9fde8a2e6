-- noticeboard: the town's electronic notice board (úřední deska), in Lua.
--
-- Clerks post notices over HTTP (operator role); anyone can read them.
-- Notices survive restarts (mestys.kv), each new one is announced on the
-- bus as `noticeboard/notice`, and the board counts heartbeats it sees so
-- /api/noticeboard/ shows the node is alive.
local mestys = require("mestys")

local board = {
  name = "noticeboard",
  version = "1.0.0",
  description = "the town's notice board: post and read notices over HTTP",
  config = {
    title = { type = "string", default = "Notice board", description = "shown on the board" },
    max_notices = { type = "int", default = 100, min = 1, max = 10000,
                    description = "oldest notices drop off past this many" },
  },
  publishes = { "noticeboard/notice" },
  subscribes = { "node/heartbeat" },
}

local notices, beats = {}, 0

local function list(req)
  return 200, { title = mestys.config.title, heartbeats_seen = beats, notices = notices }
end

local function post(req)
  local notice = mestys.json.decode(req.body)
  -- only strings are taken: tostring() of anything else could publish a
  -- heap address ("table: 0x55d0...")
  if type(notice) ~= "table" or type(notice.title) ~= "string" or notice.title == ""
      or (notice.text ~= nil and type(notice.text) ~= "string") then
    return 400, { error = "send JSON with a non-empty string \"title\" (and optionally a string \"text\")",
                  status = 400 }
  end
  local entry = { title = notice.title, text = notice.text or "", posted_ms = os.time() * 1000 }
  table.insert(notices, 1, entry)
  while #notices > mestys.config.max_notices do
    table.remove(notices)
  end
  mestys.kv.set("notices", notices)
  mestys.publish("noticeboard/notice", entry)
  return 201, entry
end

function board.init(config)
  notices = mestys.kv.get("notices") or {}
  mestys.route("GET", "/", "public", list)
  mestys.route("POST", "/notices", "operator", post)
  mestys.subscribe("node/heartbeat", function(topic, body) beats = beats + 1 end)
  mestys.info(string.format("%d notice(s) restored", #notices))
end

return board

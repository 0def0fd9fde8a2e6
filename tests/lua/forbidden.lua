-- forbidden.lua: tries what the sandbox forbids; publishes which attempts
-- failed, so the test can check that every one of them did.
local mestys = require("mestys")
local plugin = { name = "forbidden", version = "0.1.0", publishes = { "lua/verdict" }, subscribes = { "lua/check" } }
local attempts = {
  io_open = function() return io.open("/etc/passwd") end,
  os_execute = function() return os.execute("true") end,
  os_exit = function() return os.exit(1) end,
  os_getenv = function() return os.getenv("HOME") end,
  os_remove = function() return os.remove("/tmp/x") end,
  package_loadlib = function() return package.loadlib("libc.so.6", "puts") end,
  debug_getinfo = function() return debug.getinfo(1) end,
  dofile = function() return dofile("/etc/passwd") end,
  loadfile = function() return loadfile("/etc/passwd") end,
  require_outside = function() return require("os") end,
  require_traversal = function() return require("..etc.passwd") end,
  load_bytecode = function()
    local f = assert(load(string.dump and "return 1" or "return 1"))
    local bc = "\27Lua" .. string.rep("\0", 32)
    local chunk, err = load(bc)
    if not chunk then error(err) end
    return chunk
  end,
  string_dump = function() return string.dump(function() end) end,
  collectgarbage_stop = function() return collectgarbage("stop") end,
}
local function check()
  local verdict = {}
  for name, fn in pairs(attempts) do
    local ok = pcall(fn)
    verdict[name] = ok and "ALLOWED" or "refused"
  end
  verdict.allowed_math = pcall(function() return math.floor(os.time() / 2) end) and "ok" or "broken"
  mestys.publish("lua/verdict", verdict)
end

function plugin.start()
  mestys.subscribe("lua/check", check)
end
return plugin

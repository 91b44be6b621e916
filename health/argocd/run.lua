-- Runs an Argo CD health script the way Argo CD does, for tests and for trying it by hand:
--   kubectl get md NAME -o json | lua5.4 health/argocd/run.lua [SCRIPT]
-- reads the object's JSON from stdin, binds it to the global `obj`, runs SCRIPT (default:
-- modeldeployment.lua beside this file) and prints "<status>\t<message>".
-- Needs lua-cjson. The script sees only what Argo CD's Lua VM offers it (base functions,
-- string, table, math), so a script that reaches for io or os fails here as it would there.
local cjson = require("cjson")

local here = (arg and arg[0] or ""):match("^(.*[/\\])") or "./"
local script = arg[1] or (here .. "modeldeployment.lua")

local input = io.read("a")
local ok, obj = pcall(cjson.decode, input)
if not ok or type(obj) ~= "table" then
  io.stderr:write("run.lua: stdin is not a JSON object: " .. tostring(obj) .. "\n")
  os.exit(2)
end

-- JSON null decodes to cjson.null; Argo CD hands the script nil for it.
local function dropNulls(v)
  if type(v) ~= "table" then
    return v
  end
  for k, x in pairs(v) do
    if x == cjson.null then
      v[k] = nil
    else
      dropNulls(x)
    end
  end
  return v
end

local env = {
  obj = dropNulls(obj),
  string = string,
  table = table,
  math = math,
}
for _, name in ipairs({
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select",
  "tonumber", "tostring", "type", "unpack", "xpcall",
}) do
  env[name] = _G[name]
end
env.unpack = env.unpack or table.unpack

local chunk, err = loadfile(script, "t", env)
if not chunk then
  io.stderr:write("run.lua: " .. tostring(err) .. "\n")
  os.exit(2)
end
local ran, hs = pcall(chunk)
if not ran then
  io.stderr:write("run.lua: the health script failed: " .. tostring(hs) .. "\n")
  os.exit(1)
end

local valid = { Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true }
if type(hs) ~= "table" or not valid[hs.status] then
  io.stderr:write("run.lua: the health script returned no valid hs.status\n")
  os.exit(1)
end
if type(hs.message) ~= "string" then
  io.stderr:write("run.lua: the health script returned no hs.message string\n")
  os.exit(1)
end
io.write(hs.status, "\t", hs.message, "\n")

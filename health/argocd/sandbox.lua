-- What run.lua and run-action.lua share (loaded with dofile; Argo CD never sees this file): the
-- object from stdin as Argo CD hands it to a script, and a run of a script with only the
-- libraries Argo CD's VM opens for argocd-cm scripts (base functions and table; no string
-- library, no string methods, no math, io or global os). Needs lua-cjson.
local cjson = require("cjson")

local M = {}

-- JSON null decodes to cjson.null; Argo CD hands the script nil for it. cjson decodes every
-- number as a float, and Lua 5.4 writes 3.0 where gopher-lua writes 3: whole numbers become
-- integers, so `"generation " .. n` reads the same here as there.
function M.normalize(v)
  if type(v) ~= "table" then
    return v
  end
  for k, x in pairs(v) do
    if x == cjson.null then
      v[k] = nil
    elseif math.type(x) == "float" and math.tointeger(x) ~= nil then
      v[k] = math.tointeger(x)
    else
      M.normalize(x)
    end
  end
  return v
end

--- The JSON object on stdin, normalized; nil and the reason when stdin holds none.
function M.readObject()
  local ok, obj = pcall(cjson.decode, io.read("a"))
  if not ok or type(obj) ~= "table" then
    return nil, "stdin is not a JSON object: " .. tostring(obj)
  end
  return M.normalize(obj)
end

--- An environment with Lua's base functions plus `extra` (obj, table, require, …).
function M.env(extra)
  local env = {}
  for _, f in ipairs({
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
    "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall",
  }) do
    env[f] = _G[f]
  end
  env.unpack = env.unpack or table.unpack
  env._G = env
  for k, v in pairs(extra) do
    env[k] = v
  end
  return env
end

--- Loads and runs `script` in `env`, with strings stripped of their methods meanwhile (without
--- Argo CD's string library, ("x"):upper() fails there). Returns loaded, ran, result.
function M.run(script, env)
  local chunk, err = loadfile(script, "t", env)
  if not chunk then
    return false, false, err
  end
  local stringMeta = getmetatable("")
  local stringMethods = stringMeta.__index
  stringMeta.__index = nil
  local ran, result = pcall(chunk)
  stringMeta.__index = stringMethods
  return true, ran, result
end

return M

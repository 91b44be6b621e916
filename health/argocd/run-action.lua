-- Runs the Argo CD resource actions in actions/ the way Argo CD does, for tests and by hand:
--   kubectl get md NAME -o json | lua5.4 health/argocd/run-action.lua discover
--   kubectl get md NAME -o json | lua5.4 health/argocd/run-action.lua approve|retry [--now EPOCH]
-- reads the object's JSON from stdin and binds it to the global `obj`. `discover` runs
-- actions/discovery.lua and prints the actions as Argo CD lists them: a JSON array of
-- {name, disabled, displayName, iconClass}, sorted by name. An action name runs
-- actions/NAME/action.lua and prints the object it returns as JSON; Argo CD would patch the live
-- object with the difference. A script that raises an error exits 3 with the error on stderr
-- (Argo CD shows it and changes nothing). --now fixes the clock os.date and os.time read;
-- --dir DIR reads the scripts from DIR instead of actions/ beside this file.
-- Needs lua-cjson. The scripts see only what Argo CD gives an argocd-cm action: its Lua VM opens
-- the base functions and table, and `require("os")` returns a safe os with only date and time;
-- there is no string library (nor string methods), math, io or global os, so a script that reaches
-- for them fails here too.
local cjson = require("cjson")

local here = (arg and arg[0] or ""):match("^(.*[/\\])") or "./"
local sandbox = dofile(here .. "sandbox.lua")

local function fail(code, message)
  io.stderr:write("run-action.lua: ", message, "\n")
  os.exit(code)
end

local usage = "usage: run-action.lua discover|ACTION [--now EPOCH] [--dir DIR] < object.json"
local name = arg[1]
if name == nil or not name:match("^[%w-]+$") then
  fail(2, usage)
end
local now = nil
local dir = here .. "actions"
local i = 2
while arg[i] ~= nil do
  if arg[i] == "--now" and tonumber(arg[i + 1]) ~= nil then
    now = tonumber(arg[i + 1])
  elseif arg[i] == "--dir" and arg[i + 1] ~= nil then
    dir = arg[i + 1]
  else
    fail(2, usage)
  end
  i = i + 2
end
local script = dir .. "/" .. name .. "/action.lua"
if name == "discover" then
  script = dir .. "/discovery.lua"
end

local obj, why = sandbox.readObject()
if obj == nil then
  fail(2, why)
end

-- Argo CD's safe os: date and time, reading a fixed clock with --now.
local safeOs = {
  date = function(format, t)
    return os.date(format, t or now)
  end,
  time = function(t)
    if t == nil then
      return now or os.time()
    end
    return os.time(t)
  end,
}

local env = sandbox.env({
  obj = obj,
  actionParams = {},
  table = {
    concat = table.concat,
    insert = table.insert,
    remove = table.remove,
    sort = table.sort,
    getn = function(t)
      return #t
    end,
  },
  require = function(module)
    if module == "os" then
      return safeOs
    end
    error("module " .. tostring(module) .. " not found (Argo CD's action VM preloads only os)", 2)
  end,
})

local loaded, ran, result = sandbox.run(script, env)
if not loaded then
  fail(2, tostring(result))
end
if not ran then
  fail(3, name .. " failed: " .. tostring(result))
end
if type(result) ~= "table" then
  fail(1, script .. " returned " .. type(result) .. ", not a table")
end

if name ~= "discover" then
  if type(result.metadata) ~= "table" then
    fail(1, script .. " returned no object (no metadata table)")
  end
  io.write(cjson.encode(result), "\n")
  os.exit(0)
end

-- Argo CD reads each entry of the discovery table as a ResourceAction; disabled defaults to false.
local names = {}
for action, spec in pairs(result) do
  if type(action) ~= "string" or type(spec) ~= "table" then
    fail(1, "discovery.lua must return a table of name = {disabled = …} entries")
  end
  if spec.disabled ~= nil and type(spec.disabled) ~= "boolean" then
    fail(1, "discovery.lua: " .. action .. ".disabled is a " .. type(spec.disabled) .. ", not a boolean")
  end
  names[#names + 1] = action
end
table.sort(names)
local list = {}
for i, action in ipairs(names) do
  local spec = result[action]
  list[i] = {
    name = action,
    disabled = spec.disabled == true,
    displayName = spec.displayName,
    iconClass = spec.iconClass,
  }
end
if #list == 0 then
  io.write("[]\n")
else
  io.write(cjson.encode(list), "\n")
end

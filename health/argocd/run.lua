-- Runs an Argo CD health script the way Argo CD does, for tests and for trying it by hand:
--   kubectl get md NAME -o json | lua5.4 health/argocd/run.lua [SCRIPT]
-- reads the object's JSON from stdin, binds it to the global `obj`, runs SCRIPT (default:
-- modeldeployment.lua beside this file) and prints "<status>\t<message>".
-- Needs lua-cjson. The script sees only what Argo CD's Lua VM offers an argocd-cm health check
-- (base functions and table: no string or math library, no string methods, no io or os), so a
-- script that reaches for them fails here as it would there.

local here = (arg and arg[0] or ""):match("^(.*[/\\])") or "./"
local script = arg[1] or (here .. "modeldeployment.lua")
local sandbox = dofile(here .. "sandbox.lua")

local obj, why = sandbox.readObject()
if obj == nil then
  io.stderr:write("run.lua: " .. why .. "\n")
  os.exit(2)
end

local loaded, ran, hs = sandbox.run(script, sandbox.env({ obj = obj, table = table }))
if not loaded then
  io.stderr:write("run.lua: " .. tostring(hs) .. "\n")
  os.exit(2)
end
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

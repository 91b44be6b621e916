-- Argo CD action "retry" for ModelDeployment (docs/health.md): deploys again the version whose run
-- failed (phase Failed) or failed and was rolled back (phase RolledBack). The operator remembers a
-- failed run and starts it again only for a new value of the annotation mlops.healthpredict.io/retry,
-- so this sets it to the current UTC time (as Argo CD's own restart actions do), made unique
-- against the value there and the one the last run answered. Changes nothing else. Refuses (an
-- error, so Argo CD patches nothing) in any other phase: Argo CD runs an action even when
-- discovery.lua disabled it, and a value set during a run would retry that run as soon as it failed.
-- Plain Lua 5.1 with only base functions, table and Argo CD's safe os (date, time).
local os = require("os")
local ANNOTATION = "mlops.healthpredict.io/retry"

local status = obj.status
if type(status) ~= "table" then
  status = {}
end
if status.phase ~= "Failed" and status.phase ~= "RolledBack" then
  error("Nothing to retry: status.phase is " .. tostring(status.phase) .. ", not Failed or RolledBack; "
    .. "retry deploys again a version whose run failed", 0)
end

if type(obj.metadata) ~= "table" then
  obj.metadata = {}
end
if type(obj.metadata.annotations) ~= "table" then
  obj.metadata.annotations = {}
end
local previous = obj.metadata.annotations[ANNOTATION]
local answered = nil
if type(status.currentRun) == "table" then
  answered = status.currentRun.retryToken
end

local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
local value = now
local n = 1
while value == previous or value == answered do
  n = n + 1
  value = now .. "-" .. tostring(n)
end
obj.metadata.annotations[ANNOTATION] = value
return obj

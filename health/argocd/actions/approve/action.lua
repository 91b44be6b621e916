-- Argo CD action "approve" for ModelDeployment (docs/health.md): lets the run that waits in phase
-- AwaitingApproval (spec.approval.required) go on, by setting the annotation
-- mlops.healthpredict.io/approve to the run's version, status.currentRun.version. Changes nothing
-- else. Refuses (an error, so Argo CD patches nothing) when no run waits: Argo CD runs an action
-- even when discovery.lua disabled it. Plain Lua 5.1 with only base functions and table.
local ANNOTATION = "mlops.healthpredict.io/approve"

local status = obj.status
if type(status) ~= "table" then
  status = {}
end
local version = nil
if type(status.currentRun) == "table" and type(status.currentRun.version) == "string" and status.currentRun.version ~= "" then
  version = status.currentRun.version
end
if status.phase ~= "AwaitingApproval" or version == nil then
  error("Nothing to approve: status.phase is " .. tostring(status.phase) .. ", not AwaitingApproval with a "
    .. "status.currentRun.version; a run waits there only with spec.approval.required true, after build and scan", 0)
end

if type(obj.metadata) ~= "table" then
  obj.metadata = {}
end
if type(obj.metadata.annotations) ~= "table" then
  obj.metadata.annotations = {}
end
obj.metadata.annotations[ANNOTATION] = version
return obj

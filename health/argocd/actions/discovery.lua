-- Argo CD resource actions for mlops.healthpredict.io/ModelDeployment (docs/health.md): which of
-- them the current status allows. Both are always listed, disabled when they would not help:
--   approve  while a run waits in phase AwaitingApproval for its version (status.currentRun.version)
--   retry    once a run failed (phase Failed) or failed and was rolled back (phase RolledBack)
-- Each action.lua checks the same rule again, since Argo CD runs an action even when disabled.
-- Plain Lua 5.1 with only what Argo CD gives actions (gopher-lua: base functions and table).
local status = obj.status
if type(status) ~= "table" then
  status = {}
end
local version = nil
if type(status.currentRun) == "table" and type(status.currentRun.version) == "string" and status.currentRun.version ~= "" then
  version = status.currentRun.version
end

local actions = {}
actions["approve"] = {
  disabled = not (status.phase == "AwaitingApproval" and version ~= nil),
  displayName = "Approve version",
  iconClass = "fa fa-fw fa-check",
}
actions["retry"] = {
  disabled = not (status.phase == "Failed" or status.phase == "RolledBack"),
  displayName = "Retry failed version",
  iconClass = "fa fa-fw fa-redo",
}
return actions

-- Argo CD health check for mlops.healthpredict.io/ModelDeployment (docs/health.md).
-- Reads the kstatus conditions the operator writes: Ready, Reconciling, Stalled and
-- status.observedGeneration. Plain Lua 5.1, as Argo CD runs it (gopher-lua) for argocd-cm
-- checks: base functions and table only, no string or math library.
local function verdict(health, message)
  return { status = health, message = message }
end

local function findCondition(status, conditionType)
  if type(status) ~= "table" or type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == conditionType then
      return c
    end
  end
  return nil
end

local function messageOf(c)
  if type(c.message) == "string" and c.message ~= "" then
    return c.message
  end
  if type(c.reason) == "string" and c.reason ~= "" then
    return c.reason
  end
  return c.type .. " is " .. tostring(c.status)
end

-- Suspended first: a suspended object is not reconciled, so its status never catches up with
-- the generation that set spec.suspend.
if type(obj.spec) == "table" and obj.spec.suspend == true then
  return verdict("Suspended", "Reconciliation is suspended (spec.suspend is true)")
end

-- A status computed for an older spec says nothing about the current one.
local status = obj.status
local generation = nil
if type(obj.metadata) == "table" and type(obj.metadata.generation) == "number" then
  generation = obj.metadata.generation
end
local observed = nil
if type(status) == "table" and type(status.observedGeneration) == "number" then
  observed = status.observedGeneration
end
if observed == nil or (generation ~= nil and observed < generation) then
  if generation ~= nil then
    return verdict("Progressing", "Waiting for the operator to observe generation " .. generation)
  end
  return verdict("Progressing", "Waiting for the operator to report a status")
end

local stalled = findCondition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  return verdict("Degraded", messageOf(stalled))
end

local ready = findCondition(status, "Ready")
if ready ~= nil and ready.status == "True" then
  return verdict("Healthy", messageOf(ready))
end

-- A run waiting for a person to approve its version (spec.approval.required) is progressing but
-- will not move by itself: Suspended, as Argo CD shows a paused Rollout, not a spinning Progressing.
local approved = findCondition(status, "Approved")
if status.phase == "AwaitingApproval" and approved ~= nil and approved.status == "False" then
  return verdict("Suspended", messageOf(approved))
end

local reconciling = findCondition(status, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  return verdict("Progressing", messageOf(reconciling))
end

-- Ready=False with neither Reconciling nor Stalled: the operator is not working on it, so the
-- False is a verdict, not a step on the way.
if ready ~= nil and ready.status == "False" then
  return verdict("Degraded", messageOf(ready))
end

if ready ~= nil then
  return verdict("Progressing", messageOf(ready))
end
return verdict("Progressing", "Waiting for the operator to report the Ready condition")

-- Argo CD health check for slo.dev ServiceLevelObjective and ServiceLevelAgreement
-- (docs/gitops.md). Argo CD runs it with the live object as `obj` (gopher-lua, Lua 5.1).
--   Progressing: the slo-operator has not yet observed the current generation, or has not said
--                whether it is Ready.
--   Degraded:    Stalled=True (it cannot progress), or Ready=False for any reason but NoData.
--   Healthy:     Ready=True; or Ready=False with reason NoData (the rules are in place and the
--                series simply have no samples yet: a sync should not wait for traffic).
-- Domain conditions (ErrorBudgetExhausted, ReleaseFreeze, Compliant, AtRisk, Unbacked) describe
-- the service, not the deployment, and never change the health.
local hs = {}

local function find(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == wanted then
      return condition
    end
  end
  return nil
end

local function describe(condition)
  local text = condition.reason or condition.type
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

local status = obj.status
if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the slo-operator to reconcile"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the slo-operator to observe generation %d (observed %d)",
    generation, status.observedGeneration)
  return hs
end

local stalled = find(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local ready = find(status.conditions, "Ready")
if ready == nil or (ready.status ~= "True" and ready.status ~= "False") then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

if ready.status == "True" or ready.reason == "NoData" then
  hs.status = "Healthy"
else
  hs.status = "Degraded"
end
hs.message = describe(ready)
return hs

-- Argo Rollouts: pods of a Rollout are owned by a ReplicaSet whose name is
-- "<rollout>-<hash>", with the hash in the label rollouts-pod-template-hash.
-- DeepFlow's built-in rules would call them "ReplicaSet <rollout>"; group
-- them as the Deployment-like workload they are.
package.path = package.path..";/bin/?.lua"
local dkjson = require("dkjson")

function GetWorkloadTypeAndName(metaJsonStr)
    local meta = dkjson.decode(metaJsonStr, 1, nil)
    if type(meta) ~= "table" then
        return "", ""
    end
    local labels = meta["labels"] or {}
    local hash = labels["rollouts-pod-template-hash"]
    local owner = (meta["ownerReferences"] or {})[1] or {}
    if type(hash) ~= "string" or hash == "" or owner["kind"] ~= "ReplicaSet" then
        return "", ""
    end
    local rsName = tostring(owner["name"] or "")
    local suffix = "-" .. hash
    if #rsName <= #suffix or rsName:sub(-#suffix) ~= suffix then
        return "", ""
    end
    return "Deployment", rsName:sub(1, #rsName - #suffix)
end

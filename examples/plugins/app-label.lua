-- Bare pods (no ownerReferences, e.g. started with `kubectl run`) are
-- unresolved by the built-in rules.  Group them by their app label into a
-- Deployment-like workload: label "app", else "app.kubernetes.io/name".
package.path = package.path..";/bin/?.lua"
local dkjson = require("dkjson")

function GetWorkloadTypeAndName(metaJsonStr)
    local meta = dkjson.decode(metaJsonStr, 1, nil)
    if type(meta) ~= "table" then
        return "", ""
    end
    local owners = meta["ownerReferences"]
    if type(owners) == "table" and #owners > 0 then
        return "", ""   -- owned pods are for the built-in rules
    end
    local labels = meta["labels"] or {}
    local app = labels["app"] or labels["app.kubernetes.io/name"]
    if type(app) ~= "string" or app == "" then
        return "", ""
    end
    return "Deployment", app
end

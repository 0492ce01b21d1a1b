-- Strimzi (Kafka on Kubernetes) runs brokers from StrimziPodSets instead of
-- StatefulSets.  They behave like StatefulSets (stable names, one pod per
-- ordinal), so report them as such, named after the pod set.
package.path = package.path..";/bin/?.lua"
local dkjson = require("dkjson")

function GetWorkloadTypeAndName(metaJsonStr)
    local meta = dkjson.decode(metaJsonStr, 1, nil)
    if type(meta) ~= "table" then
        return "", ""
    end
    for _, owner in ipairs(meta["ownerReferences"] or {}) do
        if owner["kind"] == "StrimziPodSet" and owner["controller"] then
            return "StatefulSet", tostring(owner["name"] or "")
        end
    end
    return "", ""
end

-- __eq compares tables that share it.
local eqmt = {__eq = function(x, y) return x.v == y.v end}
print(setmetatable({v = 1}, eqmt) == setmetatable({v = 1}, eqmt), setmetatable({v = 1}, eqmt) == {v = 1})
-- expect: true	true

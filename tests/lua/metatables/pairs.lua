-- __pairs.
local pairs_mt = setmetatable({}, {__pairs = function(t) return function(_, k) if not k then return 1, 'one' end end, t, nil end})
for k, v in pairs(pairs_mt) do print(k, v) end  -- expect: 1	one

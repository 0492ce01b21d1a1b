-- table.concat honours __index and __len, and refuses non-strings.
do local log = {} local p = setmetatable({}, {__index = function(_, k) return k * 2 end, __len = function() return 3 end}) print(table.concat(p, ',')) end
-- expect: 2,4,6
print(pcall(function() table.concat({1, {}, 3}) end))
-- expect: false	lib/table/concat.lua:4: invalid value (table) at index 2 in table for 'concat'

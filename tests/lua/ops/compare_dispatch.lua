-- Comparison: __eq only between two tables (or two full userdata), __lt and
-- __le results become booleans, and 5.4 no longer derives __le from __lt.
local eq = {__eq = function() return true end}
print(setmetatable({}, eq) == 1, 1 == setmetatable({}, eq))  -- expect: false	false
print(setmetatable({}, eq) == setmetatable({}, {}), setmetatable({}, {}) == setmetatable({}, eq))
-- expect: true	true
local same = setmetatable({}, {__eq = function() error('never called') end})
print(same == same, rawequal(same, same))  -- expect: true	true
local lt = setmetatable({}, {__lt = function() return 'yes' end, __le = function() return nil end})
print(lt < 1, 1 < lt, lt <= 1, lt > 1, lt >= 1)  -- expect: true	true	false	true	false
print(pcall(function() return setmetatable({}, {__lt = function() return true end}) <= {} end))
-- expect: false	ops/compare_dispatch.lua:11: attempt to compare two table values
print(pcall(function() return 1 < '2' end))
-- expect: false	ops/compare_dispatch.lua:13: attempt to compare number with string
print(pcall(function() return {} < {} end))
-- expect: false	ops/compare_dispatch.lua:15: attempt to compare two table values
print(pcall(function() return nil >= 1 end))
-- expect: false	ops/compare_dispatch.lua:17: attempt to compare number with nil
print('a' < 'b', 'a\0b' < 'a\0c', 'Z' < 'a', '' < 'a', '10' < '9')
-- expect: true	true	true	true	true

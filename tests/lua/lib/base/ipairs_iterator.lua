-- The iterator ipairs returns checks its control value and wraps like lua_Integer.
local step = ipairs({})
print(step({1, 2, 3}, 2.0))                 -- expect: 3	3
print(step({1, 2, 3}, "1"))                 -- expect: 2	2
print(step({1, 2, 3}, 3))                   -- expect: nil
print(pcall(step, {}, "x"))                 -- expect: false	bad argument #2 to '?' (number expected, got string)
print(pcall(step))                          -- expect: false	bad argument #2 to '?' (number expected, got no value)
print(pcall(step, {}, 1.5))                 -- expect: false	bad argument #2 to '?' (number has no integer representation)
print(pcall(step, 1, 1))                    -- expect: false	attempt to index a number value
local echo = setmetatable({}, {__index = function(_, k) return k end})
print(step(echo, math.maxinteger))          -- expect: -9223372036854775808	-9223372036854775808
print(math.type((step({1, 2}, 1.0))))       -- expect: integer

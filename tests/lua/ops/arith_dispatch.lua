-- Binary operators try the first operand's metamethod, then the second's,
-- pass the operands in their original order and keep one result.
local A = setmetatable({}, {__add = function(a, b) return 'A' end})
local B = setmetatable({}, {__add = function(a, b) return 'B' end})
print(A + B, B + A, 1 + B, A + 1)  -- expect: A	B	B	A
local order = setmetatable({}, {__sub = function(a, b) return type(a) .. '-' .. type(b) end})
print(order - 1, 1 - order)  -- expect: table-number	number-table
local multi = setmetatable({}, {__mul = function() return 1, 2, 3 end})
print(multi * 2)  -- expect: 1
local none = setmetatable({}, {__mul = function() end})
print(none * 2)  -- expect: nil
-- A string that doesn't convert defers to the other operand's metamethod.
print("abc" + B, B + "abc")  -- expect: B	B
print(pcall(function() return "abc" + {} end))
-- expect: false	ops/arith_dispatch.lua:14: attempt to add a 'string' with a 'table'
print(pcall(function() return {} + "abc" end))
-- expect: false	ops/arith_dispatch.lua:16: attempt to add a 'table' with a 'string'
-- Unary minus and length pass their operand twice, as a binary event.
local unary = setmetatable({}, {__unm = function(a, b) return rawequal(a, b) end,
                                __len = function(a, b) return select('#', a, b) end})
print(-unary, #unary)  -- expect: true	2
-- A metamethod that is not a function is called through its own __call.
local callable = setmetatable({}, {__call = function() return 'called' end})
local via_call = setmetatable({}, {__add = callable})
print(pcall(function() return via_call + 1 end))  -- expect: true	called

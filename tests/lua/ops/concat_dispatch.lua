-- Concatenation converts numbers, calls __concat of either operand, and
-- names the operand that is neither a string nor a number.
print(1 .. 2, 1.5 .. '', -0.0 .. '', 2^63 .. '', math.mininteger .. '')
-- expect: 12	1.5	-0.0	9.2233720368548e+18	-9223372036854775808
local C = setmetatable({}, {__concat = function(a, b)
  return (type(a) == 'table' and 'C' or tostring(a)) .. '+' .. (type(b) == 'table' and 'C' or tostring(b))
end})
print(C .. 1, 1 .. C, 'x' .. C .. 'y', C .. C)  -- expect: C+1	1+C	xC+y	C+C
print(pcall(function() local t = {} return 'a' .. t end))
-- expect: false	ops/concat_dispatch.lua:9: attempt to concatenate a table value (local 't')
print(pcall(function() local t = {} return t .. 'a' end))
-- expect: false	ops/concat_dispatch.lua:11: attempt to concatenate a table value (local 't')
print(pcall(function() return 'a' .. nil end))
-- expect: false	ops/concat_dispatch.lua:13: attempt to concatenate a nil value
print(pcall(function() local t = {f = true} return t.f .. 'a' end))
-- expect: false	ops/concat_dispatch.lua:15: attempt to concatenate a boolean value (field 'f')
print(pcall(function() return 1 .. {} .. 2 end))
-- expect: false	ops/concat_dispatch.lua:17: attempt to concatenate a table value

-- Strings convert to numbers in arithmetic (not in bitwise operations or
-- comparisons); a string that doesn't convert is named with its position.
print('10' + 1, '0x10' + 0, '1e2' * 1, ' 10 ' + 0, '10' // '3', '7' % '2', -'2')
-- expect: 11	16	100.0	10	3	1	-2
print(math.type('10' + 0), math.type('10.0' + 0), math.type('1e1' + 0))
-- expect: integer	float	float
print(pcall(function() return 'abc' + 1 end))
-- expect: false	ops/string_coercion.lua:7: attempt to add a 'string' with a 'number'
print(pcall(function() local s = 'x' return s * 2 end))
-- expect: false	ops/string_coercion.lua:9: attempt to mul a 'string' with a 'number'
print(pcall(function() local t = {k = 'v'} return 1 - t.k end))
-- expect: false	ops/string_coercion.lua:11: attempt to sub a 'number' with a 'string'
print(pcall(function() return -'z' end))
-- expect: false	ops/string_coercion.lua:13: attempt to unm a 'string' with a 'string'
print(pcall(function() return '3' & 1 end))
-- expect: false	ops/string_coercion.lua:15: attempt to perform bitwise operation on a string value (constant '3')
print(pcall(function() return '10' // '0' end))  -- expect: false	attempt to divide by zero
print(pcall(function() return '5' % '0' end))  -- expect: false	attempt to perform 'n%0'
print(pcall(function() return 10 // 0 end))
-- expect: false	ops/string_coercion.lua:19: attempt to divide by zero
print(pcall(function() return '10' < 5 end))
-- expect: false	ops/string_coercion.lua:21: attempt to compare string with number
print(pcall(function() return 1.5 | 0 end))
-- expect: false	ops/string_coercion.lua:23: number has no integer representation
print(pcall(function() return 2^63 & 1 end))
-- expect: false	ops/string_coercion.lua:25: number has no integer representation
local s = 'not a number'
local n = s + 1  -- error: ops/string_coercion.lua:28: attempt to add a 'string' with a 'number'

-- lua5.4 folds arithmetic on numerals into constants (lcode.c constfolding),
-- so 'k and x' with such a k names x in an error, as with a plain literal;
-- what it leaves unfolded (division by zero, NaN, 0.0, a bitwise operation
-- on a float without an integer value) is loaded into a register, unnamed.
local function try(f) print(select(2, pcall(f))) end
try(function() return ~(-1 and 'abc') end)
-- expect: errors/folded_constant_names.lua:6: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~(2^53 and 'abc') end)
-- expect: errors/folded_constant_names.lua:8: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((1 + 2) and 'abc') end)
-- expect: errors/folded_constant_names.lua:10: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((1 // 0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:12: attempt to divide by zero
try(function() return ~((0.5 - 0.5) and 'abc') end)
-- expect: errors/folded_constant_names.lua:14: attempt to perform bitwise operation on a string value
try(function() return ~((1 / 0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:16: attempt to perform bitwise operation on a string value
try(function() return ~((3 & 1.5) and 'abc') end)
-- expect: errors/folded_constant_names.lua:18: number has no integer representation
try(function() return ~((3 & 1.0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:20: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((~0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:22: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((-(-1)) and 'abc') end)
-- expect: errors/folded_constant_names.lua:24: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((1 % 0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:26: attempt to perform 'n%0'
try(function() return ~((1.0 % 0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:28: attempt to perform bitwise operation on a string value
try(function() return ~((0/0) or 'abc') end)
-- expect: errors/folded_constant_names.lua:30: number has no integer representation
try(function() return ~((-1) or 'abc') end)  -- expect: 0
try(function() return ~(nil or 'abc') end)
-- expect: errors/folded_constant_names.lua:33: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((7 >> 1) and 'abc') end)
-- expect: errors/folded_constant_names.lua:35: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((2^1024) and 'abc') end)
-- expect: errors/folded_constant_names.lua:37: attempt to perform bitwise operation on a string value (constant 'abc')
try(function() return ~((-0.0) and 'abc') end)
-- expect: errors/folded_constant_names.lua:39: attempt to perform bitwise operation on a string value
try(function() return ~((1 << 63) and 'abc') end)
-- expect: errors/folded_constant_names.lua:41: attempt to perform bitwise operation on a string value (constant 'abc')

-- Unary operators on bad operands name the value's type.
print(pcall(function() return ~(0 and 'abc') end))
-- expect: false	arithmetic/operand_errors.lua:2: attempt to perform bitwise operation on a string value (constant 'abc')
print(pcall(function() return -(nil or {}) end))
-- expect: false	arithmetic/operand_errors.lua:4: attempt to perform arithmetic on a table value

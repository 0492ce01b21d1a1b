-- Operations on values of the wrong type name the type.
print(pcall(function() return 'abc' + 1 end))
-- expect: false	errors/operand_types.lua:2: attempt to add a 'string' with a 'number'
print(pcall(function() return {} .. 'x' end))
-- expect: false	errors/operand_types.lua:4: attempt to concatenate a table value
print(pcall(function() local a = 'x' return -a end))
-- expect: false	errors/operand_types.lua:6: attempt to unm a 'string' with a 'string'
print(pcall(function() return #5 end))
-- expect: false	errors/operand_types.lua:8: attempt to get length of a number value
print(pcall(function() return 1 < {} end))
-- expect: false	errors/operand_types.lua:10: attempt to compare number with table
print(pcall(function() return {} < {} end))
-- expect: false	errors/operand_types.lua:12: attempt to compare two table values

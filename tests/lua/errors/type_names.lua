-- __name names a value's type in error messages.
local o = setmetatable({}, {__name = "MyType"})
print(pcall(function() return o + 1 end))
-- expect: false	errors/type_names.lua:3: attempt to perform arithmetic on a MyType value (upvalue 'o')
print(pcall(function() return o < 1 end))
-- expect: false	errors/type_names.lua:5: attempt to compare MyType with number
print(pcall(function() return o .. "x" end))
-- expect: false	errors/type_names.lua:7: attempt to concatenate a MyType value (upvalue 'o')
print(pcall(function() return #o < o end))
-- expect: false	errors/type_names.lua:9: attempt to compare number with MyType

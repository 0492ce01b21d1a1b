-- Argument checks in lua5.4's order.
print(pcall(function() return math.fmod('x') end))
-- expect: false	errors/argument_order.lua:2: bad argument #2 to 'fmod' (number expected, got no value)
print(pcall(function() return math.fmod('x', {}) end))
-- expect: false	errors/argument_order.lua:4: bad argument #2 to 'fmod' (number expected, got table)
print(pcall(function() return rawlen(5) end))
-- expect: false	errors/argument_order.lua:6: bad argument #1 to 'rawlen' (table or string expected, got number)

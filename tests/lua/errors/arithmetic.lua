-- Integer division by zero and numbers without an integer representation.
print(pcall(function() return 1 // 0 end))
-- expect: false	errors/arithmetic.lua:2: attempt to divide by zero
print(pcall(function() return 1 % 0 end))
-- expect: false	errors/arithmetic.lua:4: attempt to perform 'n%0'
print(pcall(function() return 2^63 | 0 end))
-- expect: false	errors/arithmetic.lua:6: number has no integer representation
print(pcall(function() return math.huge // 1 end))  -- expect: true	inf

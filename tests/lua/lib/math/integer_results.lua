-- floor, max, min, tointeger, abs and ult keep integers and floats apart.
print(math.type(math.floor(3.7)) .. math.type(math.floor(2^70)) .. tostring(math.floor(-3.5)))
-- expect: integerfloat-4
print(tostring(math.max(2, 2.0)) .. ' ' .. tostring(math.min(1.0, 1)))  -- expect: 2 1.0
print(tostring(math.huge) .. tostring(-math.huge) .. tostring(math.pi))
-- expect: inf-inf3.1415926535898
print(math.tointeger('8') .. ' ' .. tostring(math.tointeger(3.5)))  -- expect: 8 nil
print(pcall(function() return math.floor('x') end))
-- expect: false	lib/math/integer_results.lua:8: bad argument #1 to 'floor' (number expected, got string)
print(tostring(math.abs(math.mininteger)) .. ' ' .. tostring(math.ult(1, -1)))
-- expect: -9223372036854775808 true

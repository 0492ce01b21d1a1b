-- Integers and floats compare by mathematical value, exactly, and a float
-- key with an integer value is the same key as that integer.
print(1 == 1.0, -0.0 == 0, 0/0 == 0/0, 2^53 == 2^53 + 1)  -- expect: true	true	false	true
print(9007199254740993 == 2^53, 9007199254740993 < 2^53 + 2, 9007199254740993 > 2^53)
-- expect: false	true	true
print(math.maxinteger == 2^63, math.maxinteger < 2^63, math.mininteger == -2^63)
-- expect: false	true	true
print(math.maxinteger + 0.0 == math.maxinteger, 2^63 > math.maxinteger)  -- expect: false	true
print(1 < 1.5, -1 > -1.5, math.huge > math.maxinteger, -math.huge < math.mininteger)
-- expect: true	true	true	true
print(1 < 0/0, 1 > 0/0, 0/0 <= 0/0)  -- expect: false	false	false
local t = {}
t[1] = 'int' t[1.0] = 'float' t[2^53] = 'big'
print(t[1], #t, t[9007199254740992], math.type(next({[3.0] = true})))
-- expect: float	1	big	integer
print(pcall(function() t[0/0] = 1 end))
-- expect: false	ops/float_int_equality.lua:16: table index is NaN
print(rawequal(1, 1.0), rawequal('1', 1), '1' == 1, 0x10 == 16.0)  -- expect: true	false	false	true
print(math.type(3 // 1), math.type(3 / 1), math.type(2^2), math.type(7 // 2.0))
-- expect: integer	float	float	float

-- Floats and integers: equality, printing, inf and nan, exponentiation.
print(1 == 1.0, "1" == 1, 0.1 + 0.2, 1e15, 1e16, 2^53, -0.0, 100000000000000)
-- expect: true	false	0.3	1e+15	1e+16	9.007199254741e+15	-0.0	100000000000000
print(2^63, -(2^63), math.type(1), math.type(1.0), math.type("1"))
-- expect: 9.2233720368548e+18	-9.2233720368548e+18	integer	float	nil
print(3 == 3.0000000000000001, math.maxinteger < math.huge, math.mininteger <= -2^63)
-- expect: true	true	true
print(tostring(1/0), tostring(-1/0), tostring(0/0), tostring(-(0/0)), math.huge, -math.huge)
-- expect: inf	-inf	-nan	nan	inf	-inf
print((0/0)^1, (0/0)^2, 2^(0/0), (-3)^2, 2^0.5, -math.huge % 2, 5.5 % math.huge)
-- expect: nan	-nan	-nan	9.0	1.4142135623731	-nan	5.5

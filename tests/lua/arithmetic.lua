-- Integer and float arithmetic, wraparound, division and modulo rules.
print(1 + 2, 7 // 2, 7 % 3, -7 // 2, -7 % 2, 7 / 2, 2^10)
print(1 << 62, 5 & 3, 5 | 3, 5 ~ 3, ~5, 256 >> 4, 1 << 63, 1 << 64, -1 >> 1)
print(math.maxinteger + 1 == math.mininteger, math.mininteger - 1, math.maxinteger * 2)
print(math.mininteger // -1, math.mininteger % -1, 5 // -2, 5 % -2, -5 // 2)
print(7 // 0.0, -7 // 0.0, 0/0 ~= 0/0, 7 % -3, -7 % 3, 7.5 % -2, 5 % math.huge, -5 % math.huge)
print(1 == 1.0, "1" == 1, 0.1 + 0.2, 1e15, 1e16, 2^53, -0.0, 100000000000000)
print(2^63, -(2^63), math.type(1), math.type(1.0), math.type("1"))
print(2^-1, -2^2, - - 2, 2^3^2, -2 ^ 2)
print('10' + 1, '0x10' * 2, '1e1' + 0, ' 5 ' * 2, 10 .. 20, 1.5 .. "")
print(1 < 2 == true, "a" .. 1 + 2, 2 .. 3 ^ 2)
print(3 == 3.0000000000000001, math.maxinteger < math.huge, math.mininteger <= -2^63)
print(tostring(1/0), tostring(-1/0), tostring(0/0), tostring(-(0/0)), math.huge, -math.huge)
print(0xff, 0x7fffffffffffffff, 0xffffffffffffffff, 0x10p-1, 1e308 * 10, 9007199254740993)
print(123456789012345678901234567890, 3., .5, 1e-3, 0xA.8p1)
local x = 1
for i = 1, 70 do x = x * 3 end
print(x)
print((0/0)^1, (0/0)^2, 2^(0/0), (-3)^2, 2^0.5, -math.huge % 2, 5.5 % math.huge)
print(pcall(function() return ~(0 and 'abc') end))
print(pcall(function() return -(nil or {}) end))

-- expect: 3	3	1	-4	1	3.5	1024.0
-- expect: 4611686018427387904	1	7	6	-6	16	-9223372036854775808	0	9223372036854775807
-- expect: true	9223372036854775807	-2
-- expect: -9223372036854775808	0	-3	-1	-3
-- expect: inf	-inf	true	-2	2	-0.5	5.0	inf
-- expect: true	false	0.3	1e+15	1e+16	9.007199254741e+15	-0.0	100000000000000
-- expect: 9.2233720368548e+18	-9.2233720368548e+18	integer	float	nil
-- expect: 0.5	-4.0	2	512.0	-4.0
-- expect: 11	32	10.0	10	1020	1.5
-- expect: true	a3	29.0
-- expect: true	true	true
-- expect: inf	-inf	-nan	nan	inf	-inf
-- expect: 255	9223372036854775807	-1	8.0	inf	9007199254740993
-- expect: 1.2345678901235e+29	3.0	0.5	0.001	21.0
-- expect: 2293070008301402073
-- expect: nan	-nan	-nan	9.0	1.4142135623731	-nan	5.5
-- expect: false	arithmetic.lua:20: attempt to perform bitwise operation on a string value (constant 'abc')
-- expect: false	arithmetic.lua:21: attempt to perform arithmetic on a table value

-- Integer arithmetic wraps around modulo 2^64; floats don't.
print(math.maxinteger + 1 == math.mininteger, math.mininteger - 1 == math.maxinteger)
-- expect: true	true
print(math.maxinteger * math.maxinteger, math.mininteger * -1, -math.mininteger)
-- expect: 1	-9223372036854775808	-9223372036854775808
print(math.mininteger // -1, math.mininteger % -1, math.abs(math.mininteger))
-- expect: -9223372036854775808	0	-9223372036854775808
print(1 << 63, 1 << 64, -1 >> 63, -1 >> 64, 1 << -1, 2 >> -1, -1 << 0)
-- expect: -9223372036854775808	0	1	0	0	4	-1
print(~math.maxinteger == math.mininteger, math.maxinteger ~ -1)
-- expect: true	-9223372036854775808
print(math.maxinteger + 1.0, math.maxinteger + 0.0 == 2^63, math.mininteger + 0.0 == -2^63)
-- expect: 9.2233720368548e+18	true	true
print(0x7fffffffffffffff + 1, 0xffffffffffffffff, 0x1ffffffffffffffff)
-- expect: -9223372036854775808	-1	-1
print(9223372036854775807, 9223372036854775808, -9223372036854775808)
-- expect: 9223372036854775807	9.2233720368548e+18	-9.2233720368548e+18
print(math.tointeger(2^63), math.tointeger(-2^63), math.ult(1, -1))
-- expect: nil	-9223372036854775808	true
local n = 0
for i = math.maxinteger - 1, math.maxinteger do n = n + 1 end
for i = math.mininteger, math.mininteger + 2, 2 do n = n + 1 end
print(n)  -- expect: 4

-- Integers are 64-bit and wrap around; shifts past 63 bits give 0.
print(1 << 62, 5 & 3, 5 | 3, 5 ~ 3, ~5, 256 >> 4, 1 << 63, 1 << 64, -1 >> 1)
-- expect: 4611686018427387904	1	7	6	-6	16	-9223372036854775808	0	9223372036854775807
print(math.maxinteger + 1 == math.mininteger, math.mininteger - 1, math.maxinteger * 2)
-- expect: true	9223372036854775807	-2
local x = 1
for i = 1, 70 do x = x * 3 end
print(x)  -- expect: 2293070008301402073

-- Integer and float division and modulo: floor rules, signs, zero, infinity.
print(1 + 2, 7 // 2, 7 % 3, -7 // 2, -7 % 2, 7 / 2, 2^10)  -- expect: 3	3	1	-4	1	3.5	1024.0
print(math.mininteger // -1, math.mininteger % -1, 5 // -2, 5 % -2, -5 // 2)
-- expect: -9223372036854775808	0	-3	-1	-3
print(7 // 0.0, -7 // 0.0, 0/0 ~= 0/0, 7 % -3, -7 % 3, 7.5 % -2, 5 % math.huge, -5 % math.huge)
-- expect: inf	-inf	true	-2	2	-0.5	5.0	inf

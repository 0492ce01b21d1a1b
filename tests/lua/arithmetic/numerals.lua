-- Numerals: hex, hex floats, integer overflow into floats.
print(0xff, 0x7fffffffffffffff, 0xffffffffffffffff, 0x10p-1, 1e308 * 10, 9007199254740993)
-- expect: 255	9223372036854775807	-1	8.0	inf	9007199254740993
print(123456789012345678901234567890, 3., .5, 1e-3, 0xA.8p1)
-- expect: 1.2345678901235e+29	3.0	0.5	0.001	21.0

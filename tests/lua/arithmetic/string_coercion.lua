-- Strings convert to numbers in arithmetic, numbers to strings in '..'.
print('10' + 1, '0x10' * 2, '1e1' + 0, ' 5 ' * 2, 10 .. 20, 1.5 .. "")
-- expect: 11	32	10.0	10	1020	1.5

-- Operator precedence and associativity.
print(2^-1, -2^2, - - 2, 2^3^2, -2 ^ 2)  -- expect: 0.5	-4.0	2	512.0	-4.0
print(1 < 2 == true, "a" .. 1 + 2, 2 .. 3 ^ 2)  -- expect: true	a3	29.0

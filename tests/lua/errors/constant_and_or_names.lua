-- lua5.4 folds `truthy-constant and x` and `nil/false or x` while compiling,
-- so an error names `x`; any other constant on the left of `and`/`or` goes
-- through a register first, and a register has no name.
print(pcall(load("return 0 & (1 and 'abc')", "=c")))
-- expect: false	c:1: attempt to perform bitwise operation on a string value (constant 'abc')
print(pcall(load("return 0 & (nil or 'abc')", "=c")))
-- expect: false	c:1: attempt to perform bitwise operation on a string value (constant 'abc')
print(pcall(load("return 0 & ('abc' or 'xyz')", "=c")))
-- expect: false	c:1: attempt to perform bitwise operation on a string value
print(pcall(load("return ('abc' or {})()", "=c")))
-- expect: false	c:1: attempt to call a string value
print(pcall(load("return #(false and 'x')", "=c")))
-- expect: false	c:1: attempt to get length of a boolean value

-- The inline integer paths wrap around at the 64-bit bounds exactly, in
-- every form the compiler emits (a constant operand, two variables).
local max, min = math.maxinteger, math.mininteger
local function sub1(x) return x - 1 end
local function add1(x) return x + 1 end
local function add(a, b) return a + b end
local function sub(a, b) return a - b end
local function mul(a, b) return a * b end
print(sub1(min) == max, add1(max) == min)  -- expect: true	true
print(sub1(min + 1) == min, add1(max - 1) == max)  -- expect: true	true
print(add(min, 0) == min, add(max, 1) == min)  -- expect: true	true
print(add(min, -1) == max, sub(min, 1) == max)  -- expect: true	true
print(sub(0, min) == min, sub(-1, max) == min)  -- expect: true	true
print(mul(max, 2), mul(min, -1) == min)  -- expect: -2	true
print(mul(3037000500, 3037000500))  -- expect: -9223372036709301616
print(sub1(2.5), add1("10"), add(1, 2.0))  -- expect: 1.5	11	3.0
print(pcall(sub1, {}))
-- expect: false	arithmetic/wrap_at_bounds_fast_paths.lua:4: attempt to perform arithmetic on a table value (local 'x')
print(pcall(add, true, 1))
-- expect: false	arithmetic/wrap_at_bounds_fast_paths.lua:6: attempt to perform arithmetic on a boolean value (local 'a')
local s = 0
for i = max - 2, max do s = s + (i - max) end
print(s)  -- expect: -3

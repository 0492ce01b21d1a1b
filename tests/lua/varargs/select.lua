-- select with negative and out-of-range indices; empty varargs.
local function pass(...) return ... end
print(pass())  -- expect: 
print(select(-1, 1, 2, 3), select(2, 'a', 'b', 'c'))  -- expect: 3	b	c
print(pcall(select, 0))  -- expect: false	bad argument #1 to 'select' (index out of range)

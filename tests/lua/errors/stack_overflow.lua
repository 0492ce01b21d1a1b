-- Runaway recursion is a catchable stack overflow.
local function overflow() return 1 + overflow() end
local ok, err = pcall(overflow)
print(ok, err)  -- expect: false	errors/stack_overflow.lua:2: stack overflow

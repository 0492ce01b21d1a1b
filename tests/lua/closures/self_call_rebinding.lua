-- A local function calling itself goes straight to its own compiled code,
-- but only while the local still holds it: every way of rebinding it counts.
local function count(n) if n == 0 then return "done" end return (count(n - 1)) end
print(count(3))  -- expect: done

-- Rebinding the local from another closure that shares it.
local function down(n) if n == 0 then return "" end return "d" .. down(n - 1) end
local function rebind(f) down = f end
local original = down
rebind(function(n) return "other " .. n end)
print(original(5))  -- expect: dother 4

-- Through debug.setupvalue.
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
print(fact(5))  -- expect: 120
print(debug.setupvalue(fact, 1, function(n) return 100 end))  -- expect: fact
print(fact(5))  -- expect: 100

-- To a table with __call, and to nil.
local function walk(n) if n == 0 then return "end" end return (walk(n - 1)) end
local keep = walk
walk = setmetatable({}, {__call = function(self, n) return "called " .. n end})
print(keep(2))  -- expect: called 1
walk = nil
print(pcall(keep, 2))
-- expect: false	closures/self_call_rebinding.lua:20: attempt to call a nil value (upvalue 'walk')

-- Each closure of the same function calls itself, not a sibling.
local makers = {}
for i = 1, 2 do
  local function again(n) if n == 0 then return i end return again(n - 1) + 0 end
  makers[i] = again
end
print(makers[1](3), makers[2](3))  -- expect: 1	2

-- Extra arguments and missing ones, as any call.
local function args(n, x) if n == 0 then return x end return args(n - 1, x, "extra") end
print(args(2, "x"), args(2))  -- expect: x	nil

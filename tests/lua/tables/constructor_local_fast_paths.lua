-- A local only ever set by a constructor skips the table type test, never
-- the metatable test: a metatable set later is honoured everywhere.
local t = {}
for i = 1, 3 do t[i] = i * 10 end
print(#t, t[2])  -- expect: 3	20
setmetatable(t, {
  __index = function(_, k) return "missing " .. tostring(k) end,
  __newindex = function(self, k, v) rawset(self, k, v * 2) end,
  __len = function() return 99 end,
})
print(t[7], t.name, #t)  -- expect: missing 7	missing name	99
for i = 4, 5 do t[i] = i end
print(rawget(t, 4), rawget(t, 5))  -- expect: 8	10
local u = {1, 2, 3}
local sum = 0
for i = 1, #u do sum = sum + u[i] end
print(sum, u[0], u[-1], u[4])  -- expect: 6	nil	nil	nil
-- A loop counting up from a negative start still reads index 0 and below.
local v = {[0] = "zero", [-1] = "minus one", "one"}
for i = -1, 1 do io.write(v[i], " ") end print()  -- expect: minus one zero one 

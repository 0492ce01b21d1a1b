-- Numeric for: steps, float loops, limits near maxinteger, empty and endless loops.
local x = 0
for i = 1, 10 do x = x + i end
print(x)  -- expect: 55
x = 0
for i = 10, 1, -2 do x = x + i end
print(x)  -- expect: 30
x = 0
for i = 1.0, 2.0, 0.5 do x = x + i end
print(x)  -- expect: 4.5
local n = 0
for i = math.maxinteger - 2, math.maxinteger do n = n + 1 end
print(n)  -- expect: 3
n = 0
for i = 1, 0 do n = n + 1 end
print(n)  -- expect: 0
for i = 3, 1, -1 do io.write(i, ' ') end print()  -- expect: 3 2 1 
local f = 0
for i = 1, math.huge do f = f + 1 if f == 5 then break end end
print(f)  -- expect: 5

-- coroutine.wrap makes a generator for a generic for.
local function range(n)
  return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end)
end
local sum, count = 0, 0
for i in range(100) do sum = sum + i; count = count + 1 end
print(sum, count)  -- expect: 5050	100

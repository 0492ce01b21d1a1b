-- A yield from deep inside recursion, resumed many times: the depth of the
-- -- resumer and of the coroutine are each restored, never accumulated.
local function deep(n) if n == 0 then coroutine.yield(n) return 0 end return deep(n - 1) + 1 end
local total = 0
for round = 1, 300 do
  local co = coroutine.wrap(function() return deep(150) end)
  co()
  total = total + co()
end
local function outer(n) if n == 0 then return 0 end return outer(n - 1) + 1 end
print(total, outer(190))  -- expect: 45000	190

-- Yields cross pcall, metamethods (__index, __add, __lt, __concat) and for iterators.
local mt = {
  __index = function(t, k) return coroutine.yield('index ' .. k) end,
  __add = function(a, b) return coroutine.yield('add') end,
  __lt = function(a, b) return coroutine.yield('lt') end,
  __concat = function(a, b) return coroutine.yield('concat') end,
}
local obj = setmetatable({}, mt)
local function iter(_, i)
  if i < 3 then return i + 1, coroutine.yield('iter ' .. i) end
end
local co = coroutine.wrap(function()
  local results = {}
  local ok, v = pcall(function() return coroutine.yield('in pcall') end)
  results[#results+1] = tostring(ok) .. ':' .. v
  results[#results+1] = obj.field
  results[#results+1] = obj + 1
  results[#results+1] = tostring(obj < obj)
  results[#results+1] = obj .. 'x'
  for i, v in iter, nil, 0 do results[#results+1] = i .. '=' .. v end
  return table.concat(results, ',')
end)
local seen = {}
local answer = {'P', 'F', 42, true, 'C', 'a', 'b', 'c'}
local value = co()
local i = 0
while true do
  seen[#seen+1] = value
  i = i + 1
  value = co(answer[i])
  if i == #answer then break end
end
print(table.concat(seen, ';') .. ' -> ' .. value)
-- expect: in pcall;index field;add;lt;concat;iter 0;iter 1;iter 2 -> true:P,F,42,true,C,1=a,2=b,3=c

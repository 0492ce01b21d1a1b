-- A producer, a filter and a consumer chained by resume and yield.
local function producer()
  return coroutine.create(function()
    for _, word in ipairs({'alpha', 'beta', 'gamma'}) do coroutine.yield(word) end
    return nil
  end)
end
local function filter(source)
  return coroutine.create(function()
    while true do
      local ok, item = coroutine.resume(source)
      if not item then return nil end
      coroutine.yield(item:upper())
    end
  end)
end
local out = {}
local pipe = filter(producer())
while true do
  local ok, item = coroutine.resume(pipe)
  if not item then break end
  out[#out+1] = item
end
print(table.concat(out, ' '), coroutine.status(pipe))  -- expect: ALPHA BETA GAMMA	dead

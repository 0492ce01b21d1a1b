-- coroutine.close runs pending <close> variables and reports their error.
local log = {}
local function closer(name, fail)
  return setmetatable({}, {__close = function(_, err)
    log[#log+1] = name .. ':' .. tostring(err)
    if fail then error(fail, 0) end
  end})
end
local co = coroutine.create(function()
  local a <close> = closer('a')
  local b <close> = closer('b', 'b failed')
  local c <close> = closer('c')
  coroutine.yield(1)
  log[#log+1] = 'not reached'
end)
coroutine.resume(co)
local ok, err = coroutine.close(co)
local again = coroutine.close(co)
local fresh = coroutine.create(function() end)
local r = {tostring(ok), err, tostring(again), coroutine.status(co),
           tostring(coroutine.close(fresh)), coroutine.status(fresh),
           select(2, coroutine.resume(fresh))}
local clean = coroutine.create(function() local x <close> = closer('x') coroutine.yield() end)
coroutine.resume(clean)
r[#r+1] = tostring(coroutine.close(clean))
print(table.concat(log, ' ') .. ' | ' .. table.concat(r, ','))
-- expect: c:nil b:nil a:b failed x:nil | false,b failed,true,dead,true,dead,cannot resume dead coroutine,true

-- <close> variables see the error, and a yield inside pcall keeps them pending.
local log = {}
local co = coroutine.wrap(function()
  local ok, e = pcall(function()
    local v <close> = setmetatable({}, {__close = function(_, err) log[#log+1] = 'closed ' .. tostring(err) end})
    coroutine.yield('paused')
    error('fail', 0)
  end)
  log[#log+1] = tostring(ok) .. ' ' .. e
  return 'end'
end)
local first = co()
log[#log+1] = first
local second = co()
log[#log+1] = second
print(table.concat(log, ';'))  -- expect: paused;closed fail;false fail;end

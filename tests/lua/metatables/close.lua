-- __close runs at block end in reverse order, on error and on return.
local closed = {}
do
  local x <close> = setmetatable({}, {__close = function(o, e) closed[#closed + 1] = 'x' end})
  local y <close> = setmetatable({}, {__close = function(o, e) closed[#closed + 1] = 'y' end})
end
print(table.concat(closed, ','))  -- expect: y,x
print(pcall(function()
  local z <close> = setmetatable({}, {__close = function(o, e) print('closing with', e) end})
  error('E', 0)
end))
-- expect: closing with	E
-- expect: false	E
local function with_close()
  local h <close> = setmetatable({}, {__close = function() print('closed on return') end})
  return 'returned'
end
print(with_close())
-- expect: closed on return
-- expect: returned

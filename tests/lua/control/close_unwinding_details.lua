-- coroutine.close keeps closing a block's variables after one of them
-- yielded.
local co = coroutine.create(function()
  local a <close> = setmetatable({}, {__close = function() print("close a") end})
  local b <close> = setmetatable({}, {__close = function() coroutine.yield("in b") end})
end)
print(coroutine.resume(co))  -- expect: true	in b
print(coroutine.close(co))
-- expect: close a
-- expect: true

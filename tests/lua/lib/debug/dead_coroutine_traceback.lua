-- A coroutine that died from an error keeps the stack it died in, for
-- debug.traceback; a running one's function is its level's func.
function f(i)
  if i == 0 then error(i)
  else coroutine.yield(); f(i - 1)
  end
end
local co = coroutine.create(function (x) f(x) end)
coroutine.resume(co, 1)
print(debug.traceback(co))
-- expect: stack traceback:
-- expect: 	[C]: in function 'coroutine.yield'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:5: in function 'f'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:8: in function <lib/debug/dead_coroutine_traceback.lua:8>
coroutine.resume(co)
print(coroutine.status(co))  -- expect: dead
print(debug.traceback(co))
-- expect: stack traceback:
-- expect: 	[C]: in function 'error'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:4: in function 'f'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:5: in function 'f'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:8: in function <lib/debug/dead_coroutine_traceback.lua:8>
print(debug.traceback(co, "msg", 1))
-- expect: msg
-- expect: stack traceback:
-- expect: 	lib/debug/dead_coroutine_traceback.lua:4: in function 'f'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:5: in function 'f'
-- expect: 	lib/debug/dead_coroutine_traceback.lua:8: in function <lib/debug/dead_coroutine_traceback.lua:8>

local body
body = function () coroutine.yield(debug.getinfo(1, "f").func == body) end
local co2 = coroutine.create(body)
print(coroutine.resume(co2))  -- expect: true	true
print(debug.getinfo(co2, 0, "f").func == body)  -- expect: false

-- Closing it frees that stack, as lua_closethread does.
print(coroutine.close(co))  -- expect: false	0
print(debug.traceback(co))  -- expect: stack traceback:

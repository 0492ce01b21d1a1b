-- Closing a coroutine that died reports its error once.
local co = coroutine.create(function() error('x') end)
coroutine.resume(co)
local ok, e = coroutine.close(co)
print(ok, e, coroutine.close(co), coroutine.status(co))
-- expect: false	lib/coroutine/close_dead_with_error.lua:2: x	true	dead

-- coroutine.wrap re-raises errors, adding the caller's position to strings.
local co = coroutine.wrap(function() error('boom') end)
local ok, e = pcall(function()
  co()
end)
local t = {}
local ok2, e2 = pcall(coroutine.wrap(function() error(t) end))
local ok3, e3 = pcall(coroutine.wrap(function() error('bare', 0) end))
local dead = coroutine.wrap(function() end)
dead()
local ok4, e4 = pcall(function()
  local x = dead()
  return x
end)
print(e, e2 == t, e3, e4)
-- expect: lib/coroutine/wrap_errors.lua:4: lib/coroutine/wrap_errors.lua:2: boom	true	bare	lib/coroutine/wrap_errors.lua:12: cannot resume dead coroutine

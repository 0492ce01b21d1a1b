-- coroutine.close unwinds past a pcall inside the coroutine: an error a
-- __close raises on the way is close's result, and no code after the pcall runs.
local co = coroutine.create(function()
  print("pcall ->", pcall(function()
    local b <close> = setmetatable({}, {__close = function(_, e) print("b", e); error("berr", 0) end})
    local c <close> = setmetatable({}, {__close = function(_, e) print("c", e) end})
    coroutine.yield(1)
  end))
  print("still running after close")
  coroutine.yield(2)
end)
print(coroutine.resume(co))  -- expect: true	1
print(coroutine.close(co))
-- expect: c	nil
-- expect: b	nil
-- expect: false	berr
print(coroutine.status(co))  -- expect: dead
-- xpcall's handler is not run either
local handled = 0
co = coroutine.create(function()
  xpcall(function()
    local a <close> = setmetatable({}, {__close = function(_, e) print("a", e) end})
    local b <close> = setmetatable({}, {__close = function() error("berr2", 0) end})
    coroutine.yield(1)
  end, function(m) handled = handled + 1 return m end)
  print("still running after close")
end)
coroutine.resume(co)
print(coroutine.close(co), handled)
-- expect: a	berr2
-- expect: false	0

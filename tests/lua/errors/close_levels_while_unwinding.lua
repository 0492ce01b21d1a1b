-- While an error unwinds, lua5.4 has popped every level up to the protected
-- call before a __close runs: level 2 is pcall (no position), level 3 its caller.
local function f()
  local x <close> = setmetatable({}, {__close = function() error("level 2", 2) end})
  error("orig")
end
local function g() f() end
print(pcall(g))  -- expect: false	level 2
local function f3()
  local x <close> = setmetatable({}, {__close = function() error("level 3", 3) end})
  error("orig")
end
local function g3() f3() end
print(pcall(g3))  -- expect: false	errors/close_levels_while_unwinding.lua:14: level 3
-- On a normal exit the closing function is level 2, at its current line.
local function normal()
  local x <close> = setmetatable({}, {__close = function() error("normal", 2) end})
  return 1
end
print(pcall(normal))  -- expect: false	errors/close_levels_while_unwinding.lua:18: normal
-- The traceback and getinfo see no unwound level, and no metamethod name.
local function h()
  local x <close> = setmetatable({}, {__close = function()
    print((debug.traceback("tb"):gsub("\n[^\n]*main chunk.*", "")))
    print(debug.getinfo(1, "n").namewhat == "", debug.getinfo(2, "n").name, debug.getinfo(2, "S").what)
  end})
  error("orig")
end
local function k() h() end
print(pcall(k))
-- expect: tb
-- expect: stack traceback:
-- expect: 	errors/close_levels_while_unwinding.lua:24: in function <errors/close_levels_while_unwinding.lua:23>
-- expect: 	[C]: in function 'pcall'
-- expect: true	pcall	C
-- expect: false	errors/close_levels_while_unwinding.lua:27: orig
-- The same when the __close yields inside a coroutine.
local co = coroutine.wrap(function()
  return pcall(function()
    local x <close> = setmetatable({}, {__close = function()
      coroutine.yield("yielded")
      error("after yield", 2)
    end})
    error("orig")
  end)
end)
print(co())  -- expect: yielded
print(co())  -- expect: false	after yield

-- A message handler that raises is called again on its own error (luaG_errormsg),
-- until its C stack overflows: "C stack overflow", then "error in error handling".
local n = 0
print(xpcall(error, function(m)
  n = n + 1
  if n < 3 then error("again " .. n) end
  return "handled: " .. m
end, "first"))  -- expect: false	handled: errors/xpcall_handler_errors.lua:6: again 2
print(n)  -- expect: 3

-- The values it raises reach it as they are.
n = 0
print(xpcall(error, function(m) n = n + 1; if n < 5 then error(m .. n, 0) end return m end, "e"))
-- expect: false	e1234
n = 0
print(select(2, xpcall(error, function(m)
  n = n + 1
  if n == 1 then error({n}) end
  return type(m) .. " " .. m[1]
end, "e")))  -- expect: table 1

-- An error raised by a metamethod inside the handler is handled too.
n = 0
print(xpcall(error, function(m)
  n = n + 1
  if n == 1 then return setmetatable({}, {__index = function() error("no field") end}).x end
  return "second: " .. m
end, "e"))  -- expect: false	second: errors/xpcall_handler_errors.lua:26: no field

-- A handler that always fails is told of the overflow 18 calls before the
-- result is "error in error handling" (about 200 calls: the exact count
-- depends on how many C levels are already in use).
n = 0
local seen = {}
print(xpcall(error, function(m) n = n + 1; seen[n] = m; error("x") end, "e"))
-- expect: false	error in error handling
local told
for i, m in ipairs(seen) do if m == "C stack overflow" then told = told or i end end
print(n > 190 and n <= 216, n - told, seen[1], seen[2], seen[told + 1])
-- expect: true	18	e	errors/xpcall_handler_errors.lua:35: x	errors/xpcall_handler_errors.lua:35: x
n = 0
print(xpcall(error, function(m)
  n = n + 1
  if m == "C stack overflow" then return "overflow" end
  error("x")
end, "e"))  -- expect: false	overflow
print(n == told)  -- expect: true

-- The same for an error raised in Lua code, and inside a coroutine.
print(xpcall(function() local x = nil; return x.y end, function(m) error("in handler") end))
-- expect: false	error in error handling
print(coroutine.wrap(function()
  local k = 0
  return xpcall(error, function(m) k = k + 1; if k < 3 then error("c" .. k, 0) end return m .. k end, "e")
end)())  -- expect: false	c23

-- A handler that overflows the stack: on a stack overflow lua5.4 runs it on
-- top of the full stack, and overflowing again is "error in error handling"
-- at once; on another error it is called again on the overflow.
local function loop() return 1 + loop() end
n = 0
print(xpcall(loop, function(m) n = n + 1; return loop() end), n)  -- expect: false	1
print(xpcall(loop, loop))  -- expect: false	error in error handling
n = 0
print(xpcall(error, function(m) n = n + 1; return loop() end, "e"), n)  -- expect: false	2
n = 0
print(xpcall(error, function(m)
  n = n + 1
  if tostring(m):find("stack overflow") then return "told " .. n end
  return loop()
end, "e"))  -- expect: false	told 2

-- error(m, 2) in a handler names the level above it where the error was
-- raised: the Lua function for an operator's error, nothing for `error`.
local function fails_once(level)
  local k = 0
  return function(m) k = k + 1; if k == 1 then error("again", level) end return "H(" .. m .. ")" end
end
print(xpcall(function() local y = nil + 1 end, fails_once(2)))
-- expect: false	H(errors/xpcall_handler_errors.lua:79: again)
print(xpcall(function() error("e", 0) end, fails_once(2)))  -- expect: false	H(again)
print(xpcall(function() local y = nil + 1 end, fails_once(3)))  -- expect: false	H(again)
print(xpcall(function()
  local x <close> = setmetatable({}, {__close = function() end})
  error("e", 0)
end, fails_once(2)))  -- expect: false	H(again)

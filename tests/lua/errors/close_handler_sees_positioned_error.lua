-- A __close handler run by an error unwinding its frame gets the message
-- already positioned, as lua5.4 gives it (the position is the frame's).
local function closer(tag)
  return setmetatable({}, {__close = function(_, e) print(tag, e) end})
end
local function raise() local c <close> = closer("error") error("E") end
print(pcall(raise))
-- expect: error	errors/close_handler_sees_positioned_error.lua:6: E
-- expect: false	errors/close_handler_sees_positioned_error.lua:6: E
local function arith() local c <close> = closer("arith") local x = nil + 1 end
print(select(2, pcall(arith)))
-- expect: arith	errors/close_handler_sees_positioned_error.lua:10: attempt to perform arithmetic on a nil value
-- expect: errors/close_handler_sees_positioned_error.lua:10: attempt to perform arithmetic on a nil value
local function index() local c <close> = closer("index") local t = nil; t.x = 1 end
print(select(2, pcall(index)))
-- expect: index	errors/close_handler_sees_positioned_error.lua:14: attempt to index a nil value (local 't')
-- expect: errors/close_handler_sees_positioned_error.lua:14: attempt to index a nil value (local 't')
local function argument() local c <close> = closer("argument") string.rep() end
print(select(2, pcall(argument)))
-- expect: argument	errors/close_handler_sees_positioned_error.lua:18: bad argument #1 to 'rep' (string expected, got no value)
-- expect: errors/close_handler_sees_positioned_error.lua:18: bad argument #1 to 'rep' (string expected, got no value)
local function level2() local c <close> = closer("level2") error("E", 2) end
print(select(2, pcall(level2)))  -- level 2 is pcall: no position
-- expect: level2	E
-- expect: E
local function nested() local c <close> = closer("nested")
  for i = 1, 3 do for j = 1, 3 do if j == 2 then error("deep") end end end end
print(select(2, pcall(nested)))
-- expect: nested	errors/close_handler_sees_positioned_error.lua:27: deep
-- expect: errors/close_handler_sees_positioned_error.lua:27: deep
local function replaced() local a <close> = closer("a")
  local b <close> = setmetatable({}, {__close = function(_, e) print("b", e) error("from b") end})
  error("orig") end
print(select(2, pcall(replaced)))
-- expect: b	errors/close_handler_sees_positioned_error.lua:33: orig
-- expect: a	errors/close_handler_sees_positioned_error.lua:32: from b
-- expect: errors/close_handler_sees_positioned_error.lua:32: from b

-- Errors raised inside builtins: an operation that fails inside one has no
-- position (luaG_runerror sees a C function), luaL_error ones name the line.
print(pcall(function() return table.unpack(nil) end))
print(pcall(function() return math.max({}, 'x') end))
print(pcall(function() return rawset({}, nil, 1) end))
print(pcall(function() return next({}, 'nokey') end))
print(pcall(function() table.sort({1, 'x', 2}) end))
print(pcall(function() return table.concat({1, {}, 3}) end))
print(pcall(function() local t = nil; return #t end))
-- Argument checks in lua5.4's order.
print(pcall(function() return math.fmod('x') end))
print(pcall(function() return math.fmod('x', {}) end))
print(pcall(function() return rawlen(5) end))
-- load: numbers load as strings, a reader's values are checked, env may be nil.
print(load(1))
print(load("x =", 5))
print(load("return 1", nil, "b"))
print(pcall(load, {}, {}))
print(pcall(load, true))
local n = 0
print(load(function() n = n + 1 if n == 1 then return 42 end end))
n = 0
print(load(function() n = n + 1 if n == 1 then return "return " elseif n == 2 then return 7 end end)())
print(pcall(load("x = 1", "=nilenv", "t", nil)))
print(pcall(load("return y", "=nilenv", "t", nil)))
print((select(2, load(function() return {} end))):match("^[^\n]*"))
print(pcall(load, function() return {} end))
print(load(function() return 1 end, "reader", "b"))
local o = setmetatable({}, {__name = "MyType"})
print(pcall(function() return o + 1 end))
print(pcall(function() return o < 1 end))
print(pcall(function() return o .. "x" end))
print(pcall(function() return #o < o end))

-- expect: false	attempt to get length of a nil value
-- expect: false	attempt to compare table with string
-- expect: false	table index is nil
-- expect: false	invalid key to 'next'
-- expect: false	attempt to compare string with number
-- expect: false	library_errors.lua:8: invalid value (table) at index 2 in table for 'concat'
-- expect: false	library_errors.lua:9: attempt to get length of a nil value (local 't')
-- expect: false	library_errors.lua:11: bad argument #2 to 'fmod' (number expected, got no value)
-- expect: false	library_errors.lua:12: bad argument #2 to 'fmod' (number expected, got table)
-- expect: false	library_errors.lua:13: bad argument #1 to 'rawlen' (table or string expected, got number)
-- expect: nil	[string "1"]:1: unexpected symbol near '1'
-- expect: nil	[string "5"]:1: unexpected symbol near <eof>
-- expect: nil	attempt to load a text chunk (mode is 'b')
-- expect: false	bad argument #2 to 'load' (string expected, got table)
-- expect: false	bad argument #1 to 'load' (function expected, got boolean)
-- expect: nil	(load):1: unexpected symbol near '42'
-- expect: 7
-- expect: false	nilenv:1: attempt to index a nil value (upvalue '_ENV')
-- expect: false	nilenv:1: attempt to index a nil value (upvalue '_ENV')
-- expect: library_errors.lua:26: reader function must return a string
-- expect: true	nil	reader function must return a string
-- expect: nil	attempt to load a text chunk (mode is 'b')
-- expect: false	library_errors.lua:30: attempt to perform arithmetic on a MyType value (upvalue 'o')
-- expect: false	library_errors.lua:31: attempt to compare MyType with number
-- expect: false	library_errors.lua:32: attempt to concatenate a MyType value (upvalue 'o')
-- expect: false	library_errors.lua:33: attempt to compare number with MyType

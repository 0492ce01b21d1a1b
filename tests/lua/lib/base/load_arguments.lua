-- load: numbers load as strings, a reader's values are checked, env may be nil.
print(load(1))  -- expect: nil	[string "1"]:1: unexpected symbol near '1'
print(load("x =", 5))  -- expect: nil	[string "5"]:1: unexpected symbol near <eof>
print(load("return 1", nil, "b"))  -- expect: nil	attempt to load a text chunk (mode is 'b')
print(pcall(load, {}, {}))  -- expect: false	bad argument #2 to 'load' (string expected, got table)
print(pcall(load, true))
-- expect: false	bad argument #1 to 'load' (function expected, got boolean)
local n = 0
print(load(function() n = n + 1 if n == 1 then return 42 end end))
-- expect: nil	(load):1: unexpected symbol near '42'
n = 0
print(load(function() n = n + 1 if n == 1 then return "return " elseif n == 2 then return 7 end end)())
-- expect: 7
print(pcall(load("x = 1", "=nilenv", "t", nil)))
-- expect: false	nilenv:1: attempt to index a nil value (upvalue '_ENV')
print(pcall(load("return y", "=nilenv", "t", nil)))
-- expect: false	nilenv:1: attempt to index a nil value (upvalue '_ENV')
print((select(2, load(function() return {} end))):match("^[^\n]*"))
-- expect: lib/base/load_arguments.lua:18: reader function must return a string
print(pcall(load, function() return {} end))
-- expect: true	nil	reader function must return a string
print(load(function() return 1 end, "reader", "b"))
-- expect: nil	attempt to load a text chunk (mode is 'b')

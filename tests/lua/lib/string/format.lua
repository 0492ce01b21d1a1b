-- string.format: conversions, widths, %q, __tostring, and errors.
print(pcall(function() return string.format("item-%05d:%s:%.2f", 7, "x", 2.345) end))
-- expect: true	item-00007:x:2.35
print(pcall(function() return string.format("%q", "a\nb\0c\"") end))
-- expect: true	"a\
-- expect: b\0c\""
print(pcall(function() return string.format("%s|%10s|%-10s|", {} ~= nil, "x", "y") end))
-- expect: true	true|         x|y         |
print(pcall(function() return string.format("%d", 1.5) end))
-- expect: false	lib/string/format.lua:9: bad argument #2 to 'format' (number has no integer representation)
print(pcall(function() return string.format("%d") end))
-- expect: false	lib/string/format.lua:11: bad argument #2 to 'format' (no value)
print(pcall(function() return string.format("%123d", 1) end))
-- expect: false	lib/string/format.lua:13: invalid conversion specification: '%123d'
print(pcall(function() return string.format("%s", setmetatable({}, {__tostring = function() return "T!" end})) end))
-- expect: true	T!
print(pcall(function() return string.format("%x %X %o %5.1f %g", 255, 255, 8, 3.14159, 1e20) end))
-- expect: true	ff FF 10   3.1 1e+20
print(pcall(function() return string.format("%c%c%c", 76, 117, 97) end))  -- expect: true	Lua

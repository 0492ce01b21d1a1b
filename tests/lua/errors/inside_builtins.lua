-- Errors raised inside builtins: an operation that fails inside one has no
-- position (luaG_runerror sees a C function), luaL_error ones name the line.
print(pcall(function() return table.unpack(nil) end))
-- expect: false	attempt to get length of a nil value
print(pcall(function() return math.max({}, 'x') end))
-- expect: false	attempt to compare table with string
print(pcall(function() return rawset({}, nil, 1) end))  -- expect: false	table index is nil
print(pcall(function() return next({}, 'nokey') end))  -- expect: false	invalid key to 'next'
print(pcall(function() table.sort({1, 'x', 2}) end))
-- expect: false	attempt to compare string with number
print(pcall(function() return table.concat({1, {}, 3}) end))
-- expect: false	errors/inside_builtins.lua:11: invalid value (table) at index 2 in table for 'concat'
print(pcall(function() local t = nil; return #t end))
-- expect: false	errors/inside_builtins.lua:13: attempt to get length of a nil value (local 't')

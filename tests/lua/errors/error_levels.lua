-- error(msg, level) counts every function, Lua or builtin, like luaL_where;
-- a builtin at that level gives no position.
print(pcall(function() return error('a', 1) end))  -- expect: false	errors/error_levels.lua:3: a
print(pcall(function() return error('b', 2) end))  -- expect: false	b
print(pcall(function() return error('c', 3) end))  -- expect: false	errors/error_levels.lua:5: c
print(pcall(function() local function f() error('e', 2) end f() end))
-- expect: false	errors/error_levels.lua:6: e
print(pcall(function() local function f() error('g', 3) end local function h() f() end h() end))
-- expect: false	errors/error_levels.lua:8: g
print(pcall(error, 'i', 2))  -- expect: false	errors/error_levels.lua:10: i
print(pcall(function() local function f() error('j', 3) end f() end))  -- expect: false	j
print(pcall(function() error('k', 99) end))  -- expect: false	k
print(pcall(function() table.sort({3, 2, 1}, function() error('l', 2) end) end))  -- expect: false	l

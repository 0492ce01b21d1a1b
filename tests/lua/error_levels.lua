-- error(msg, level) counts every function, Lua or builtin, like luaL_where;
-- a builtin at that level gives no position.  assert positions its message.
print(pcall(function() return error('a', 1) end))
print(pcall(function() return error('b', 2) end))
print(pcall(function() return error('c', 3) end))
print(pcall(function() local function f() error('e', 2) end f() end))
print(pcall(function() local function f() error('g', 3) end local function h() f() end h() end))
print(pcall(error, 'i', 2))
print(pcall(function() local function f() error('j', 3) end f() end))
print(pcall(function() error('k', 99) end))
print(pcall(function() table.sort({3, 2, 1}, function() error('l', 2) end) end))
print(pcall(function() assert(false, 'm') end))
print(pcall(function() assert(nil) end))
print(type(select(2, pcall(function() assert(false, {}) end))))
print(pcall(assert, false, 'n'))
print(select(2, pcall(assert, false, 42)) == 42)

-- expect: false	error_levels.lua:3: a
-- expect: false	b
-- expect: false	error_levels.lua:5: c
-- expect: false	error_levels.lua:6: e
-- expect: false	error_levels.lua:7: g
-- expect: false	error_levels.lua:8: i
-- expect: false	j
-- expect: false	k
-- expect: false	l
-- expect: false	error_levels.lua:12: m
-- expect: false	error_levels.lua:13: assertion failed!
-- expect: table
-- expect: false	n
-- expect: true

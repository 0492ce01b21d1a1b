-- __index and __newindex: functions are called, tables are indexed again
-- (raw access skips them), and a loop of tables is stopped.
local base = {inherited = 'from base'}
local t = setmetatable({own = 'mine'}, {__index = base})
print(t.own, t.inherited, t.missing, rawget(t, 'inherited'))  -- expect: mine	from base	nil	nil
local log = {}
local proxy = setmetatable({}, {__newindex = function(t, k, v) log[#log + 1] = k .. '=' .. tostring(v) end})
proxy.a = 1
proxy.b = nil
print(table.concat(log, ' '), rawget(proxy, 'a'))  -- expect: a=1 b=nil	nil
local store = {}
local redirect = setmetatable({present = 1}, {__newindex = store})
redirect.x = 'to store'
redirect.present = 2
print(rawget(redirect, 'x'), store.x, redirect.present, store.present)
-- expect: nil	to store	2	nil
print(("abc"):upper(), ("x").len == string.len, #"abc")  -- expect: ABC	true	3
local loop = {}
setmetatable(loop, {__index = loop})
print(pcall(function() return loop.x end))
-- expect: false	ops/index_dispatch.lua:20: '__index' chain too long; possible loop
local wloop = {}
setmetatable(wloop, {__newindex = wloop})
print(pcall(function() wloop.x = 1 end))
-- expect: false	ops/index_dispatch.lua:24: '__newindex' chain too long; possible loop
print(pcall(function() local n = 5 return n.x end))
-- expect: false	ops/index_dispatch.lua:26: attempt to index a number value (local 'n')
print(pcall(function() local up = true return (function() return up[1] end)() end))
-- expect: false	ops/index_dispatch.lua:28: attempt to index a boolean value (upvalue 'up')
print(pcall(function() return math.nothing.x end))
-- expect: false	ops/index_dispatch.lua:30: attempt to index a nil value (field 'nothing')
print(pcall(function() undefined_global.x = 1 end))
-- expect: false	ops/index_dispatch.lua:32: attempt to index a nil value (global 'undefined_global')
print(pcall(function() local s = 'abc' return s.x.y end))
-- expect: false	ops/index_dispatch.lua:34: attempt to index a nil value (field 'x')

-- string.dump keeps the chunk's source as load was given it; a stripped
-- dump keeps none ("=?"), and its functions can be dumped again.
local prog = "return function (x) return function (y) return x + y end end"
local name = string.rep("x", 100)
local p = assert(load(prog, name))
local c = string.dump(p)
print(#c > 100 and #c < 300)  -- expect: true
local g = assert(load(c))()
print(debug.getinfo(g).source == name, g(3)(5))  -- expect: true	8

local s = assert(load(string.dump(p, true)))
local sg = s()
print(debug.getinfo(sg).source, debug.getinfo(sg).short_src)  -- expect: =?	?
print(debug.getupvalue(sg(1), 1))  -- expect: (no name)	1
local again = assert(load(string.dump(sg)))
print(again(30)(12))  -- expect: 42

-- error and assert position by luaL_where: nothing where there are no lines.
print(pcall(load(string.dump(function() error("x") end, true))))  -- expect: false	x
print(pcall(load(string.dump(function() assert(false) end, true))))
-- expect: false	assertion failed!
print(pcall(load(string.dump(function() local function g() error("y", 2) end g() end, true))))
-- expect: false	y

-- __index (function, table, chain) and __newindex.
local idx = setmetatable({}, {__index = function(t, k) return k .. '!' end})
print(idx.foo, idx[1])  -- expect: foo!	1!
local ni = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end})
ni.x = 5
print(ni.x)  -- expect: 10
local inherit = setmetatable({}, {__index = {a = 1, b = 2}})
print(inherit.a, inherit.b, inherit.c)  -- expect: 1	2	nil
local chain = {}
local cur = chain
for i = 1, 10 do local nxt = {} setmetatable(cur, {__index = nxt}) cur = nxt end
cur.deep = 'found'
print(chain.deep)  -- expect: found

-- Every metamethod.
local mt = {
  __add = function(a, b) return 'add' end, __sub = function() return 'sub' end,
  __mul = function() return 'mul' end, __div = function() return 'div' end,
  __mod = function() return 'mod' end, __pow = function() return 'pow' end,
  __idiv = function() return 'idiv' end, __band = function() return 'band' end,
  __bor = function() return 'bor' end, __bxor = function() return 'bxor' end,
  __shl = function() return 'shl' end, __shr = function() return 'shr' end,
  __bnot = function() return 'bnot' end, __unm = function() return 'unm' end,
  __eq = function() return true end, __lt = function() return true end,
  __le = function() return false end, __concat = function(a, b) return 'cat' end,
  __len = function() return 42 end, __call = function(self, v) return 'called ' .. v end,
}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
print(a + 1, 1 - a, a * a, a / 2, a % 2, a ^ 2, a // 2)
print(a & 1, a | 1, a ~ 1, a << 1, a >> 1, ~a, -a)
print(a == b, a ~= b, a < b, a <= b, a > b, a >= b, a .. 'x', 'x' .. a, 1 .. a, #a, a(5))
print(rawequal(a, b), rawlen(a))
local idx = setmetatable({}, {__index = function(t, k) return k .. '!' end})
print(idx.foo, idx[1])
local ni = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end})
ni.x = 5
print(ni.x)
local ts = setmetatable({}, {__tostring = function() return 'TT' end})
print(tostring(ts), ts)
local named = setmetatable({}, {__name = 'MyType'})
print((tostring(named):gsub('0x%x+', 'ADDR')))
local inherit = setmetatable({}, {__index = {a = 1, b = 2}})
print(inherit.a, inherit.b, inherit.c)
local chain = {}
local cur = chain
for i = 1, 10 do local nxt = {} setmetatable(cur, {__index = nxt}) cur = nxt end
cur.deep = 'found'
print(chain.deep)
local protected = setmetatable({}, {__metatable = 'locked'})
print(getmetatable(protected), pcall(setmetatable, protected, {}))
print(getmetatable('abc').__index == string)
local pairs_mt = setmetatable({}, {__pairs = function(t) return function(_, k) if not k then return 1, 'one' end end, t, nil end})
for k, v in pairs(pairs_mt) do print(k, v) end
local closed = {}
do
  local x <close> = setmetatable({}, {__close = function(o, e) closed[#closed + 1] = 'x' end})
  local y <close> = setmetatable({}, {__close = function(o, e) closed[#closed + 1] = 'y' end})
end
print(table.concat(closed, ','))
print(pcall(function()
  local z <close> = setmetatable({}, {__close = function(o, e) print('closing with', e) end})
  error('E', 0)
end))
local function with_close()
  local h <close> = setmetatable({}, {__close = function() print('closed on return') end})
  return 'returned'
end
print(with_close())
local eqmt = {__eq = function(x, y) return x.v == y.v end}
print(setmetatable({v = 1}, eqmt) == setmetatable({v = 1}, eqmt), setmetatable({v = 1}, eqmt) == {v = 1})

-- expect: add	sub	mul	div	mod	pow	idiv
-- expect: band	bor	bxor	shl	shr	bnot	unm
-- expect: true	false	true	false	true	false	cat	cat	cat	42	called 5
-- expect: false	0
-- expect: foo!	1!
-- expect: 10
-- expect: TT	TT
-- expect: MyType: ADDR
-- expect: 1	2	nil
-- expect: found
-- expect: locked	false	cannot change a protected metatable
-- expect: true
-- expect: 1	one
-- expect: y,x
-- expect: closing with	E
-- expect: false	E
-- expect: closed on return
-- expect: returned
-- expect: true	true

-- Every arithmetic and bitwise metamethod.
local mt = {
  __add = function(a, b) return 'add' end, __sub = function() return 'sub' end,
  __mul = function() return 'mul' end, __div = function() return 'div' end,
  __mod = function() return 'mod' end, __pow = function() return 'pow' end,
  __idiv = function() return 'idiv' end, __band = function() return 'band' end,
  __bor = function() return 'bor' end, __bxor = function() return 'bxor' end,
  __shl = function() return 'shl' end, __shr = function() return 'shr' end,
  __bnot = function() return 'bnot' end, __unm = function() return 'unm' end,
}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
print(a + 1, 1 - a, a * a, a / 2, a % 2, a ^ 2, a // 2)  -- expect: add	sub	mul	div	mod	pow	idiv
print(a & 1, a | 1, a ~ 1, a << 1, a >> 1, ~a, -a)  -- expect: band	bor	bxor	shl	shr	bnot	unm

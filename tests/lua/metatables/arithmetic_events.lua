-- Every arithmetic and bitwise metamethod.
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
print(a + 1, 1 - a, a * a, a / 2, a % 2, a ^ 2, a // 2)  -- expect: add	sub	mul	div	mod	pow	idiv
print(a & 1, a | 1, a ~ 1, a << 1, a >> 1, ~a, -a)  -- expect: band	bor	bxor	shl	shr	bnot	unm

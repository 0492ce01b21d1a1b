-- __eq, __lt, __le, __concat, __len, __call; raw functions skip them.
local mt = {
  __eq = function() return true end, __lt = function() return true end,
  __le = function() return false end, __concat = function(a, b) return 'cat' end,
  __len = function() return 42 end, __call = function(self, v) return 'called ' .. v end,
}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
print(a == b, a ~= b, a < b, a <= b, a > b, a >= b, a .. 'x', 'x' .. a, 1 .. a, #a, a(5))
-- expect: true	false	true	false	true	false	cat	cat	cat	42	called 5
print(rawequal(a, b), rawlen(a))  -- expect: false	0

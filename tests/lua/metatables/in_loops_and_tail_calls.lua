-- __index in a loop and __call in a tail call.
print((function() local t = setmetatable({}, {__index = function(_, k) return k * 2 end}) local s = 0 for i = 1, 5 do s = s + t[i] end return s end)())
-- expect: 30
print((function() local mt = {__call = function(self, a, b) return a + b end} local o = setmetatable({}, mt) local function tail() return o(1, 2) end return tail() end)())
-- expect: 3

-- Nested fields and method calls with self.
local nested = {x = {y = {z = 1}}}
print(nested.x.y.z, nested["x"]["y"].z)  -- expect: 1	1
local o = {n = 0}
function o:inc(step) self.n = self.n + (step or 1) return self end
o:inc():inc(5)
print(o.n)  -- expect: 6

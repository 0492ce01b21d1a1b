-- Evaluation order of table constructors and multiple assignment.
print((function() local x = 0 local function inc() x = x + 1 return x end local t = {inc(), inc(), [inc()] = inc(), inc()} return t[1], t[2], t[3], t[4], x end)())
-- expect: 1	2	5	nil	5
print((function() local a = {} local i = 1 i, a[i] = i + 1, 20 return i, a[1], a[2] end)())
-- expect: 2	20	nil

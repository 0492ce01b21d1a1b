-- select('#'), table.unpack with nils, varargs in table constructors.
print((function() return select('#', table.unpack({1, nil, 3}, 1, 3)), (function(...) local a, b = ... return b end)(1, 2) end)())
-- expect: 3	2
print((function() local function v(...) local t = {..., 'end'} return #t, t[1] end return v(1, 2, 3) end)())
-- expect: 2	1
print((function() return (function(...) return select('#', ...) end)(nil, nil, nil), #{n = 1} end)())
-- expect: 3	0

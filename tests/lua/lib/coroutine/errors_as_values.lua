-- An error inside a coroutine comes back from resume as a value.
local t = {}
local co = coroutine.create(function() error(t) end)
local ok, e = coroutine.resume(co)
local co2 = coroutine.create(function() local x = nil; return x.y end)
local ok2, e2 = coroutine.resume(co2)
local co3 = coroutine.create(function() error('plain', 0) end)
print(ok, e == t, coroutine.status(co), ok2, e2, select(2, coroutine.resume(co3)))
-- expect: false	true	dead	false	lib/coroutine/errors_as_values.lua:5: attempt to index a nil value (local 'x')	plain

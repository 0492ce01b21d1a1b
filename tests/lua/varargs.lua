-- Varargs and the adjustment of multiple results.
local function f(...) return select('#', ...), ... end
print(f(1, nil, 3, nil))
local function two() return 1, 2 end
local t = {two(), two()}
print(#t, t[1], t[2], t[3])
print((two()))
print(two(), 10)
print(10, two())
local a, b, c = two()
print(a, b, c)
local function pass(...) return ... end
print(pass())
print(select(-1, 1, 2, 3), select(2, 'a', 'b', 'c'))
print(pcall(select, 0))
local packed = table.pack(pass(1, nil, nil))
print(packed.n, #{pass(nil, nil)})
local function count(...) local n = select('#', ...) return n end
print(count(nil, nil), count(two()), count((two())))
print(string.format('%s %s', two()))
local m = {f = function(...) return select('#', ...) end}
print(m.f(), m.f(nil), m.f(nil, nil))
local function va_table(...) local t = {...} return #t end
print(va_table(1, 2, 3))
local function tail(...) return select('#', ...) end
local function forward(...) return tail(...) end
print(forward(nil, nil, nil))

-- expect: 4	1	nil	3	nil
-- expect: 3	1	1	2
-- expect: 1
-- expect: 1	10
-- expect: 10	1	2
-- expect: 1	2	nil
-- expect: 
-- expect: 3	b	c
-- expect: false	bad argument #1 to 'select' (index out of range)
-- expect: 3	0
-- expect: 2	2	1
-- expect: 1 2
-- expect: 0	1	2
-- expect: 3
-- expect: 3
